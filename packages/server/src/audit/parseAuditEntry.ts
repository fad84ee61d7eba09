import { InputError } from '@estate/core';
import type { AuditEntry } from './types.js';

const HASH = /^[0-9a-f]{64}$/;

/**
 * Reads one line of a JSON Lines export (see formatAuditEntries) back into an entry, for
 * `estate audit verify --file`. Only the shape is checked here, not the hash: a line that parses
 * but was edited is for {@link AuditChainVerifier} to report, with its seq.
 *
 * Throws InputError `E_AUDIT_FORMAT` naming the line number for a line that is not JSON or lacks
 * a field of an entry (a wrong file, or a CSV export).
 */
export function parseAuditEntry(line: string, lineNumber: number): AuditEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new InputError('E_AUDIT_FORMAT', `line ${lineNumber} of the audit export is not JSON (verify reads the JSON Lines export, not CSV)`, { line: lineNumber }, { cause: error });
  }
  const v = value as Record<string, unknown>;
  const problem =
    typeof value !== 'object' || value === null || Array.isArray(value)
      ? 'it is not a JSON object'
      : !Number.isSafeInteger(v.seq) || (v.seq as number) < 1
        ? 'seq is not a positive integer'
        : typeof v.at !== 'string' || typeof v.actor !== 'string' || typeof v.event !== 'string'
          ? 'at, actor and event must be strings'
          : v.subject !== undefined && typeof v.subject !== 'string'
            ? 'subject must be a string when present'
            : typeof v.details !== 'object' || v.details === null || Array.isArray(v.details)
              ? 'details must be an object'
              : typeof v.prevHash !== 'string' || !HASH.test(v.prevHash) || typeof v.hash !== 'string' || !HASH.test(v.hash)
                ? 'prevHash and hash must be 64 lower-case hex digits'
                : undefined;
  if (problem) throw new InputError('E_AUDIT_FORMAT', `line ${lineNumber} of the audit export is not an audit entry: ${problem}`, { line: lineNumber, reason: problem });
  return {
    seq: v.seq as number,
    at: v.at as string,
    actor: v.actor as string,
    event: v.event as string,
    subject: v.subject as string | undefined,
    details: v.details as Record<string, unknown>,
    prevHash: v.prevHash as string,
    hash: v.hash as string,
  };
}
