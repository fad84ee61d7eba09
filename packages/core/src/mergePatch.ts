import { isObject } from './values.js';

/**
 * Applies a JSON merge patch (RFC 7396 §2) to `target` and returns the result; neither input is
 * changed and the result shares no objects with them.
 *
 * - A patch that is not an object replaces the target as a whole (arrays too: RFC 7396 has no way
 *   to patch one item of a list).
 * - An object patch turns a non-object target into `{}` first, then, member by member, removes the
 *   member when the patch value is `null` and otherwise merges the patch value into it recursively.
 *
 * Keys are set as own data properties, so a `__proto__` key in a patch is an ordinary member and
 * never reaches a prototype.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return cloneJson(patch);
  const result: Record<string, unknown> = {};
  if (isObject(target)) {
    for (const key of Object.keys(target)) setMember(result, key, cloneJson(target[key]));
  }
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) {
      delete result[key];
    } else {
      const current = Object.hasOwn(result, key) ? result[key] : undefined;
      setMember(result, key, applyMergePatch(current, value));
    }
  }
  return result;
}

function setMember(record: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A deep copy of JSON data (objects and arrays are new; scalars are immutable anyway). */
function cloneJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (isObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) setMember(copy, key, cloneJson(value[key]));
    return copy;
  }
  return value;
}
