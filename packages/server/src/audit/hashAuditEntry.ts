import { createHash } from 'node:crypto';
import type { AuditEntry } from './types.js';

/** The prevHash of entry 1: 64 zeros, the width of a SHA-256 hex digest. */
export const AUDIT_GENESIS = '0'.repeat(64);

/**
 * The canonical JSON text of a JSON value: object keys sorted by UTF-16 code units, no whitespace,
 * strings and numbers as ECMAScript's JSON.stringify writes them (`-0` as `0`). For the values an
 * audit entry can hold (well-formed strings, finite numbers) this is the JSON Canonicalization
 * Scheme of RFC 8785, so an auditor can recompute hashes with any JCS library.
 *
 * Throws a TypeError for what JSON cannot hold (undefined, functions, bigint, non-finite
 * numbers); callers normalize details first ({@link normalizeAuditDetails}).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot hold the number ${value}`);
    return JSON.stringify(value); // -0 is written as 0, as RFC 8785 §3.2.2.3 requires
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    // Default sort compares UTF-16 code units: RFC 8785 §3.2.3.
    const keys = Object.keys(value).sort();
    const members = keys.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${members.join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot hold a value of type ${typeof value}`);
}

/**
 * The hash of an audit entry: lower-case hex SHA-256 of the UTF-8 bytes of the canonical JSON
 * ({@link canonicalJson}) of the object `{actor, at, details, event, prevHash, seq, subject}`,
 * `subject` left out when undefined. Every field but `hash` is covered, `prevHash` included, so
 * each entry seals the whole trail before it. Fields other than these are ignored (an entry with
 * its `hash` may be passed). docs/audit.md has the definition and a test vector.
 */
export function hashAuditEntry(entry: Omit<AuditEntry, 'hash'>): string {
  const sealed: Record<string, unknown> = {
    actor: entry.actor,
    at: entry.at,
    details: entry.details,
    event: entry.event,
    prevHash: entry.prevHash,
    seq: entry.seq,
  };
  if (entry.subject !== undefined) sealed.subject = entry.subject;
  return createHash('sha256').update(canonicalJson(sealed), 'utf8').digest('hex');
}
