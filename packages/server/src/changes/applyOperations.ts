import { applyMergePatch, InputError, isObject, NotFoundError, parseYamlFile, patchYamlDocument, replaceYamlDocument, toYamlDocument, type Estate } from '@estate/core';

/** One edit a change request makes (docs/changes.md). */
export type ChangeOperation =
  | { op: 'put'; asset: Record<string, unknown> }
  | { op: 'patch'; id: string; patch: Record<string, unknown> }
  | { op: 'delete'; id: string }
  | { op: 'putFile'; path: string; content: string }
  | { op: 'deleteFile'; path: string };

/** Operations a change request may carry at most. */
export const MAX_OPERATIONS = 1000;

/** Reads the files of the revision the operations apply to. */
export interface OperationBase {
  /** The estate at that revision: where each asset lives and which kinds exist. */
  estate: Estate;
  /** A file's text at that revision, undefined when there is none. */
  readFile(path: string): Promise<string | undefined>;
}

/**
 * Applies operations in order to the files of `base`, and returns the files they change (path →
 * new text, or null for a deleted file). Assets are edited in place: a `put` or `patch` of an
 * asset changes only the lines of the fields that change (comments, styles and the file's other
 * documents stay), so edits of different fields of one file merge; a new asset goes to
 * `assets/<kinds>/<name>.yaml`. Throws InputError `E_BAD_PARAM` for a malformed operation
 * or path, NotFoundError `E_ASSET_NOT_FOUND` / `E_FILE_NOT_FOUND` for what is not there.
 */
export async function applyOperations(base: OperationBase, operations: readonly ChangeOperation[]): Promise<Record<string, string | null>> {
  if (operations.length === 0) throw new InputError('E_BAD_PARAM', 'a change needs at least one operation', { parameter: 'operations' });
  if (operations.length > MAX_OPERATIONS) {
    throw new InputError('E_BAD_PARAM', `a change may have at most ${MAX_OPERATIONS} operations (got ${operations.length})`, { parameter: 'operations' });
  }
  const files = new Map<string, string | null>();
  // Where assets are after the operations so far: id → file and document index (null = deleted).
  const moved = new Map<string, { path: string; index: number } | null>();
  const read = async (path: string): Promise<string | undefined> => (files.has(path) ? (files.get(path) ?? undefined) : base.readFile(path));
  const locate = (id: string): { path: string; index: number } | undefined => {
    if (moved.has(id)) return moved.get(id) ?? undefined;
    const asset = base.estate.assets.get(id);
    return asset && { path: asset.path, index: asset.document.index };
  };
  const documentOf = async (id: string, where: string): Promise<Record<string, unknown>> => {
    const location = locate(id);
    const text = location && (await read(location.path));
    if (!location || text === undefined) throw new NotFoundError('E_ASSET_NOT_FOUND', `${where}: asset '${id}' does not exist`, { id });
    const asset = base.estate.assets.get(id);
    if (!moved.has(id) && asset && isObject(asset.document.value)) return asset.document.value;
    // Edited earlier in this change: read the document back from the new text.
    const value = parseYamlFile(location.path, new TextEncoder().encode(text)).documents[location.index]?.value;
    if (!isObject(value)) throw new NotFoundError('E_ASSET_NOT_FOUND', `${where}: asset '${id}' does not exist`, { id });
    return value;
  };
  const writeDocument = async (id: string, document: Record<string, unknown> | undefined, where: string): Promise<void> => {
    const location = locate(id);
    if (location) {
      const text = await read(location.path);
      const current = text === undefined || document === undefined ? undefined : parseYamlFile(location.path, new TextEncoder().encode(text)).documents[location.index]?.value;
      // An edit keeps the file's comments and styles, and touches only the lines of changed fields.
      const edited = text === undefined ? undefined : document === undefined ? replaceYamlDocument(text, location.index, undefined) : patchYamlDocument(text, location.index, current, document);
      if (edited === undefined) throw new NotFoundError('E_ASSET_NOT_FOUND', `${where}: asset '${id}' does not exist`, { id });
      files.set(location.path, edited === '' ? null : edited);
      if (document === undefined) {
        moved.set(id, null);
        // The documents after it in the same file move up by one.
        for (const other of new Set([...base.estate.assets.keys(), ...moved.keys()])) {
          const at = locate(other);
          if (at && at.path === location.path && at.index > location.index) moved.set(other, { path: at.path, index: at.index - 1 });
        }
      }
      return;
    }
    if (document === undefined) throw new NotFoundError('E_ASSET_NOT_FOUND', `${where}: asset '${id}' does not exist`, { id });
    const path = `assets/${plural(id.slice(0, id.indexOf('/')))}/${id.slice(id.indexOf('/') + 1)}.yaml`;
    if ((await read(path)) !== undefined) {
      throw new InputError('E_BAD_PARAM', `${where}: new asset '${id}' would go to ${path}, which exists; add it with putFile`, { id, path });
    }
    files.set(path, toYamlDocument(document));
    moved.set(id, { path, index: 0 });
  };

  for (const [i, operation] of operations.entries()) {
    const where = `operations[${i}] (${String((operation as { op?: unknown }).op)})`;
    if (!isObject(operation)) throw new InputError('E_BAD_PARAM', `operations[${i}] is not an object`, { parameter: `operations[${i}]` });
    switch (operation.op) {
      case 'put': {
        const id = assetIdOf(base.estate, operation.asset, where);
        await writeDocument(id, operation.asset, where);
        break;
      }
      case 'patch': {
        const current = await documentOf(checkId(operation.id, where), where);
        if (!isObject(operation.patch)) throw new InputError('E_BAD_PARAM', `${where}: patch must be an object (a JSON merge patch, RFC 7396)`, { parameter: `operations[${i}].patch` });
        const patched = applyMergePatch(current, operation.patch);
        if (!isObject(patched) || assetIdOf(base.estate, patched, where) !== operation.id) {
          throw new InputError('E_BAD_PARAM', `${where}: a patch may not change an asset's kind or name; delete it and put a new one`, { id: operation.id });
        }
        await writeDocument(operation.id, patched, where);
        break;
      }
      case 'delete':
        await writeDocument(checkId(operation.id, where), undefined, where);
        break;
      case 'putFile': {
        const path = checkFilePath(operation.path, where);
        if (typeof operation.content !== 'string') throw new InputError('E_BAD_PARAM', `${where}: content must be a string`, { parameter: `operations[${i}].content` });
        files.set(path, operation.content);
        forgetAssetsIn(path);
        break;
      }
      case 'deleteFile': {
        const path = checkFilePath(operation.path, where);
        if ((await read(path)) === undefined) throw new NotFoundError('E_FILE_NOT_FOUND', `${where}: file ${path} does not exist`, { path });
        files.set(path, null);
        forgetAssetsIn(path);
        break;
      }
      default:
        throw new InputError('E_BAD_PARAM', `${where}: unknown op; use put, patch, delete, putFile or deleteFile`, { parameter: `operations[${i}].op` });
    }
  }
  return Object.fromEntries(files);

  /** After a whole-file write, the file's assets are no longer where the base had them. */
  function forgetAssetsIn(path: string): void {
    for (const [id, asset] of base.estate.assets) if (asset.path === path) moved.set(id, null);
    for (const [id, at] of moved) if (at?.path === path) moved.set(id, null);
  }
}

/** `<kind>/<name>` of an asset document, checking the envelope enough to place it. */
function assetIdOf(estate: Estate, document: unknown, where: string): string {
  if (!isObject(document)) throw new InputError('E_BAD_PARAM', `${where}: asset must be an object (apiVersion, kind, metadata, spec)`, { parameter: 'asset' });
  const kindName = document.kind;
  const metadata = document.metadata;
  const name = isObject(metadata) ? metadata.name : undefined;
  if (typeof kindName !== 'string' || typeof name !== 'string') {
    throw new InputError('E_BAD_PARAM', `${where}: asset needs kind and metadata.name`, { parameter: 'asset' });
  }
  const kind = estate.kinds.get(kindName);
  if (!kind) {
    throw new InputError('E_BAD_PARAM', `${where}: unknown kind '${kindName}'; known kinds: ${estate.kinds.list().map((k) => k.name).join(', ')}`, { kind: kindName });
  }
  return checkId(`${kind.idPrefix}/${name}`, where);
}

function checkId(id: unknown, where: string): string {
  if (typeof id !== 'string' || !/^[a-z0-9-]+\/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(id)) {
    throw new InputError('E_BAD_PARAM', `${where}: '${String(id)}' is not an asset id (<kind>/<name>, e.g. host/web-01)`, { id: String(id) });
  }
  return id;
}

/** A repo-relative path that stays inside the repo and out of `.git`. */
function checkFilePath(path: unknown, where: string): string {
  const parts = typeof path === 'string' ? path.split('/') : [];
  const bad =
    typeof path !== 'string' ||
    path.length === 0 ||
    path.length > 1024 ||
    path.includes('\\') ||
    path.includes('\0') ||
    parts.some((part) => part === '' || part === '.' || part === '..' || part.toLowerCase() === '.git');
  if (bad) {
    throw new InputError('E_BAD_PARAM', `${where}: '${String(path)}' is not a repo-relative file path (no leading '/', '..', '.git' or empty parts)`, { parameter: 'path', path: String(path) });
  }
  return path as string;
}

function plural(word: string): string {
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`;
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  return `${word}s`;
}
