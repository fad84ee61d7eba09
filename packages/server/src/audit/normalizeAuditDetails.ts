import { InputError } from '@estate/core';
import { TOKEN_PREFIX } from '../auth/tokens.js';

/** Largest canonical JSON of one entry's details; an audit entry records facts, not documents. */
export const MAX_AUDIT_DETAILS_BYTES = 64 * 1024;
/** Nesting depth of details at most. */
const MAX_DEPTH = 16;

/**
 * Key names that hold secrets, compared on the key's last word (camelCase, snake_case and
 * kebab-case split), so `tokenId` and `secretName` pass while `token`, `apiToken`, `webhook_secret`
 * and `newPassword` are refused.
 */
const SECRET_WORDS = new Set(['token', 'tokens', 'secret', 'secrets', 'password', 'passwords', 'passwd', 'passphrase', 'credential', 'credentials', 'authorization', 'cookie', 'apikey', 'privatekey']);
/** Values that are secrets whatever their key: an Estate API token, an age secret key, a PEM private key. */
const SECRET_VALUES: Array<[RegExp, string]> = [
  [new RegExp(`${TOKEN_PREFIX}[A-Za-z0-9_-]{43}`), 'an Estate API token'],
  [/AGE-SECRET-KEY-1[0-9A-Z]{20,}/i, 'an age secret key'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a PEM private key'],
];
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Checks and normalizes the details of an audit event into plain JSON: `undefined` object
 * members are dropped (so callers may write `{reason: x}` with an optional x), a `Date` becomes
 * its ISO string, `-0` becomes `0`. Anything else JSON cannot hold exactly is refused, as are
 * secrets: the trail is exported to auditors and kept forever, so nothing secret may enter it.
 *
 * Throws InputError `E_AUDIT_EVENT` for details that are not JSON (a function, a bigint, NaN, a
 * class instance, an `undefined` array item, a string with a lone surrogate, a cycle, nesting
 * deeper than 16, a key `__proto__`, more than 64 KiB), and `E_AUDIT_SECRET` for a key named like a secret (`token`,
 * `password`, `webhookSecret`…) or a value that is one (an `est_` token, an age or PEM private key).
 */
export function normalizeAuditDetails(details: Record<string, unknown>): Record<string, unknown> {
  if (!isPlainObject(details)) throw notJson('$', 'details must be a plain object');
  const normalized = normalize(details, '$', 0, new Set()) as Record<string, unknown>;
  const size = Buffer.byteLength(JSON.stringify(normalized), 'utf8');
  if (size > MAX_AUDIT_DETAILS_BYTES) {
    throw new InputError('E_AUDIT_EVENT', `audit details of ${size} bytes exceed the limit of ${MAX_AUDIT_DETAILS_BYTES}: record identifiers, not documents`, {
      size,
      limit: MAX_AUDIT_DETAILS_BYTES,
    });
  }
  return normalized;
}

/** True when a details key names a secret (see {@link SECRET_WORDS}). */
export function isSecretKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_\-.]+/)
    .filter(Boolean)
    .map((word) => word.toLowerCase());
  const last = words.at(-1);
  if (last === undefined) return false;
  if (SECRET_WORDS.has(last)) return true;
  // apiKey, api_key, privateKey, private-key: the pair is the secret word.
  const pair = words.slice(-2).join('');
  return pair === 'apikey' || pair === 'privatekey';
}

function normalize(value: unknown, path: string, depth: number, seen: Set<object>): unknown {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw notJson(path, `${value} is not a JSON number`);
    return value === 0 ? 0 : value;
  }
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw notJson(path, 'the string holds a lone UTF-16 surrogate');
    for (const [pattern, what] of SECRET_VALUES) {
      if (pattern.test(value)) {
        throw new InputError('E_AUDIT_SECRET', `audit details ${path} hold ${what}: the audit trail must never contain secrets`, { path });
      }
    }
    return value;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw notJson(path, 'the date is invalid');
    return value.toISOString();
  }
  if (typeof value !== 'object') throw notJson(path, `a ${typeof value} is not JSON`);
  if (depth >= MAX_DEPTH) throw notJson(path, `nesting is deeper than ${MAX_DEPTH}`);
  if (seen.has(value)) throw notJson(path, 'the value refers to itself');
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((item, i) => {
        if (item === undefined) throw notJson(`${path}[${i}]`, 'undefined is not JSON');
        return normalize(item, `${path}[${i}]`, depth + 1, seen);
      });
    }
    if (!isPlainObject(value)) throw notJson(path, `an instance of ${value.constructor?.name ?? 'a class'} is not plain JSON`);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const at = `${path}.${key}`;
      if (isSecretKey(key)) {
        throw new InputError('E_AUDIT_SECRET', `audit details may not have a key named like a secret ('${key}' at ${path}): record an id or a fingerprint instead`, {
          path: at,
          key,
        });
      }
      if (LONE_SURROGATE.test(key)) throw notJson(at, 'the key holds a lone UTF-16 surrogate');
      if (key === '__proto__') throw notJson(at, "the key '__proto__' is refused");
      if (item === undefined) continue;
      out[key] = normalize(item, at, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function notJson(path: string, reason: string): InputError {
  return new InputError('E_AUDIT_EVENT', `audit details ${path} cannot be recorded: ${reason}`, { path, reason });
}
