import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, sep } from 'node:path';
import { createAssetSkeleton, DNS_LABEL, EstateError } from '@estate/core';
import type { CliContext } from '../context.js';

/**
 * `estate new <kind> <name>`: writes a skeleton asset file from the kind's schema, at
 * `assets/<kinds>/<name>.yaml` unless `--file` says where. Never overwrites a file or reuses an id.
 */
export async function newCommand(ctx: CliContext, kindName: string, name: string, options: { repo?: string; file?: string; stdout?: boolean }): Promise<number> {
  const { estate } = await ctx.loadEstate(options.repo, undefined);
  const kind = estate.kinds.get(kindName) ?? estate.kinds.byIdPrefix(kindName.toLowerCase());
  if (!kind) {
    throw new EstateError('E_USAGE', `unknown kind '${kindName}'; known kinds: ${estate.kinds.list().map((k) => k.name).join(', ')}`, { kind: kindName });
  }
  if (!DNS_LABEL.test(name)) {
    throw new EstateError('E_USAGE', `'${name}' is not a valid name: use lower-case letters, digits and '-', at most 63 characters (a DNS-1123 label)`, { name });
  }
  const id = `${kind.idPrefix}/${name}`;
  const existing = estate.assets.get(id);
  if (existing) throw new EstateError('E_EXISTS', `asset '${id}' already exists in ${existing.path}`, { id, path: existing.path });
  const text = createAssetSkeleton(kind, name);
  if (options.stdout) {
    ctx.io.stdout(text);
    return 0;
  }
  const path = options.file !== undefined ? checkAssetPath(options.file) : `assets/${plural(kind.idPrefix)}/${name}.yaml`;
  const root = await ctx.workTreeRoot(options.repo);
  const target = join(root, path);
  if (existsSync(target)) throw new EstateError('E_EXISTS', `${path} already exists; choose another file with --file`, { path });
  mkdirSync(dirname(target), { recursive: true });
  // A symbolic link to a directory inside assets/ must not carry the new file out of the repo.
  if (!realpathSync(dirname(target)).startsWith(realpathSync(root) + sep)) {
    throw new EstateError('E_USAGE', `${path} leads outside the repository through a symbolic link`, { path });
  }
  writeFileSync(target, text, { flag: 'wx' });
  ctx.io.stdout(`created ${path} (${id}); fill in the required fields, then run: estate validate\n`);
  return 0;
}

/** Refuses paths that leave `assets/` or are not YAML files (`../x`, absolute paths, `assets/a/../../x`). */
function checkAssetPath(file: string): string {
  const normalized = posix.normalize(file.replace(/\\/g, '/'));
  if (posix.isAbsolute(normalized) || !normalized.startsWith('assets/') || !/\.ya?ml$/.test(normalized)) {
    throw new EstateError('E_USAGE', `--file must be a .yaml path inside assets/ (got '${file}')`, { file });
  }
  return normalized;
}

function plural(word: string): string {
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`;
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  return `${word}s`;
}
