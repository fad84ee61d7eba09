import type { Asset } from './estate.js';
import { toPointer } from './jsonPointer.js';
import { deepEqual, isObject } from './values.js';

/** One field that differs, as an RFC 6901 pointer into the asset document. */
export interface FieldChange {
  op: 'add' | 'remove' | 'replace';
  pointer: string;
  old?: unknown;
  new?: unknown;
}

/** How one asset differs between two estates. `moved`: same content, other file. */
export interface AssetDiff {
  id: string;
  kind: string;
  status: 'added' | 'removed' | 'changed' | 'moved';
  /** The file in the newer estate (the older one for removed assets). */
  path: string;
  /** The file in the older estate, when the asset moved. */
  fromPath?: string;
  fields: FieldChange[];
}

/** The semantic difference of two estates: by asset and field, not by line. */
export interface EstateDiff {
  summary: { added: number; removed: number; changed: number; moved: number };
  assets: AssetDiff[];
}

/**
 * Compares two estates asset by asset. Key order, formatting, comments and the file an asset
 * lives in are not content: reformatting is no change, moving files is reported as `moved`.
 */
export function diffEstates(from: ReadonlyMap<string, Asset>, to: ReadonlyMap<string, Asset>): EstateDiff {
  const assets: AssetDiff[] = [];
  for (const [id, before] of from) {
    const after = to.get(id);
    if (!after) {
      assets.push({ id, kind: before.kind, status: 'removed', path: before.path, fields: [] });
      continue;
    }
    const fields = before.blobId === after.blobId && before.document.index === after.document.index ? [] : diffValues(before.document.value, after.document.value);
    const moved = before.path !== after.path;
    if (fields.length === 0 && !moved) continue;
    assets.push({
      id,
      kind: after.kind,
      status: fields.length ? 'changed' : 'moved',
      path: after.path,
      ...(moved ? { fromPath: before.path } : {}),
      fields,
    });
  }
  for (const [id, after] of to) {
    if (!from.has(id)) assets.push({ id, kind: after.kind, status: 'added', path: after.path, fields: [] });
  }
  assets.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const summary = { added: 0, removed: 0, changed: 0, moved: 0 };
  for (const a of assets) summary[a.status]++;
  return { summary, assets };
}

/**
 * Field-level differences of two JSON values. Maps compare by key (order ignored); lists compare
 * by position, with trailing items added or removed.
 */
export function diffValues(before: unknown, after: unknown, path: Array<string | number> = []): FieldChange[] {
  const changes: FieldChange[] = [];
  collectChanges(before, after, [...path], changes);
  return changes;
}

/**
 * The walk of {@link diffValues}, in one pass: equal subtrees yield nothing on their own, so no
 * deepEqual is asked first at each level (that made a document's diff quadratic in its depth).
 * `path` is the walk's own stack.
 */
function collectChanges(before: unknown, after: unknown, path: Array<string | number>, changes: FieldChange[]): void {
  if (before === after) return;
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) {
      const had = Object.hasOwn(before, key);
      const has = Object.hasOwn(after, key);
      if (had && has) {
        path.push(key);
        collectChanges(before[key], after[key], path, changes);
        path.pop();
      } else if (had) changes.push({ op: 'remove', pointer: toPointer([...path, key]), old: before[key] });
      else changes.push({ op: 'add', pointer: toPointer([...path, key]), new: after[key] });
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const common = Math.min(before.length, after.length);
    for (let i = 0; i < common; i++) {
      path.push(i);
      collectChanges(before[i], after[i], path, changes);
      path.pop();
    }
    for (let i = common; i < after.length; i++) changes.push({ op: 'add', pointer: toPointer([...path, i]), new: after[i] });
    for (let i = before.length - 1; i >= common; i--) changes.push({ op: 'remove', pointer: toPointer([...path, i]), old: before[i] });
    return;
  }
  // Different primitives, or values of different types (a list and a map are never equal).
  if (!deepEqual(before, after)) changes.push({ op: 'replace', pointer: toPointer(path), old: before, new: after });
}
