import { canonicalJson } from './hashAuditEntry.js';
import type { AuditEntry } from './types.js';

/** The columns of the CSV export, in order. */
export const AUDIT_CSV_COLUMNS = ['seq', 'at', 'actor', 'event', 'subject', 'details', 'prev_hash', 'hash'] as const;

/**
 * Formats entries for export, one string per line with its line break:
 *
 * - `jsonl` (JSON Lines): each entry as one JSON object `{seq, at, actor, event, subject?,
 *   details, prevHash, hash}` followed by `\n`. It holds the entries exactly, so
 *   `estate audit verify` can re-check an export.
 * - `csv` (RFC 4180): a header line, then one record per entry, `details` as canonical JSON,
 *   every line ended by CRLF, fields with `"`, `,`, CR or LF quoted. For spreadsheets: a text field
 *   starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` so a spreadsheet shows it rather
 *   than running it as a formula (OWASP "CSV injection"); verify from JSONL, not from CSV.
 */
export function* formatAuditEntries(entries: Iterable<AuditEntry>, format: 'jsonl' | 'csv'): Iterable<string> {
  if (format === 'csv') yield `${AUDIT_CSV_COLUMNS.join(',')}\r\n`;
  for (const entry of entries) {
    if (format === 'jsonl') {
      const { seq, at, actor, event, subject, details, prevHash, hash } = entry;
      yield `${JSON.stringify({ seq, at, actor, event, ...(subject !== undefined ? { subject } : {}), details, prevHash, hash })}\n`;
    } else {
      const fields = [
        String(entry.seq),
        entry.at,
        spreadsheetSafe(entry.actor),
        spreadsheetSafe(entry.event),
        entry.subject === undefined ? '' : spreadsheetSafe(entry.subject),
        canonicalJson(entry.details),
        entry.prevHash,
        entry.hash,
      ];
      yield `${fields.map(csvField).join(',')}\r\n`;
    }
  }
}

/** RFC 4180 §2: a field holding a quote, comma or line break is quoted, quotes doubled. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function spreadsheetSafe(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}
