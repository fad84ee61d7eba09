/** One row of the config page: a leaf of the merged config and the file it came from. */
export interface ConfigRow {
  /** JSON pointer of the leaf. */
  pointer: string;
  /** The value; absent for a secret (never sent with the values). */
  value?: unknown;
  /** `config/<app>/base.yaml`, `…/<env>.yaml`, `…/<env>/<cluster>.yaml` or the secrets file. */
  file: string;
  /** The key of the secrets file the leaf comes from. */
  secretKey?: string;
}

/**
 * The rows of a merged config, sorted by pointer: every leaf the server names a file for (scalars,
 * lists, empty maps), and every secret key at the pointer it lands on (a secret wins over a plain
 * value at the same place, as when the server merges them).
 */
export function configRows(
  values: Record<string, unknown>,
  sources: Record<string, string>,
  secrets?: { file: string; keys: ReadonlyArray<{ key: string; pointer: string }> },
): ConfigRow[] {
  const rows = new Map<string, ConfigRow>();
  for (const [pointer, file] of Object.entries(sources)) rows.set(pointer, { pointer, value: readPointer(values, pointer), file });
  for (const { key, pointer } of secrets?.keys ?? []) {
    // A secret replaces whatever the plain layers had at its place, and everything under it.
    for (const existing of [...rows.keys()]) if (existing === pointer || existing.startsWith(`${pointer}/`)) rows.delete(existing);
    rows.set(pointer, { pointer, file: secrets!.file, secretKey: key });
  }
  return [...rows.values()].sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0));
}

/** The value at a JSON pointer (RFC 6901), or undefined. */
export function readPointer(values: unknown, pointer: string): unknown {
  if (pointer === '') return values;
  let node = values;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The file name people read for a config file: `config/billing/prod/eu.yaml` → `prod/eu.yaml`. */
export function shortFile(file: string, app: string): string {
  const prefix = `config/${app}/`;
  return file.startsWith(prefix) ? file.slice(prefix.length) : file;
}
