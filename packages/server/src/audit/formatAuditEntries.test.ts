import { describe, expect, it } from 'vitest';
import { AUDIT_CSV_COLUMNS, formatAuditEntries } from './formatAuditEntries.js';
import { AUDIT_GENESIS } from './hashAuditEntry.js';
import type { AuditEntry } from './types.js';

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);
const ENTRIES: AuditEntry[] = [
  { seq: 1, at: '2024-05-01T09:30:00.000Z', actor: 'alice', event: 'change.opened', subject: 'change/1', details: { title: 'Grow "web-01", now', z: 1, a: [1] }, prevHash: AUDIT_GENESIS, hash: H1 },
  { seq: 2, at: '2024-05-01T09:31:00.000Z', actor: '=cmd|calc', event: 'access.denied', subject: undefined, details: { note: 'line one\nline two' }, prevHash: H1, hash: H2 },
];

describe('formatAuditEntries', () => {
  it('writes JSON Lines: one entry per line, fields in a fixed order, no subject when there is none', () => {
    const lines = [...formatAuditEntries(ENTRIES, 'jsonl')];
    expect(lines).toEqual([
      `{"seq":1,"at":"2024-05-01T09:30:00.000Z","actor":"alice","event":"change.opened","subject":"change/1","details":{"title":"Grow \\"web-01\\", now","z":1,"a":[1]},"prevHash":"${AUDIT_GENESIS}","hash":"${H1}"}\n`,
      `{"seq":2,"at":"2024-05-01T09:31:00.000Z","actor":"=cmd|calc","event":"access.denied","details":{"note":"line one\\nline two"},"prevHash":"${H1}","hash":"${H2}"}\n`,
    ]);
    expect([...formatAuditEntries([], 'jsonl')]).toEqual([]);
  });

  it('writes RFC 4180 CSV: a header, CRLF, quoted fields, canonical details, formulas defused', () => {
    const lines = [...formatAuditEntries(ENTRIES, 'csv')];
    expect(lines).toEqual([
      'seq,at,actor,event,subject,details,prev_hash,hash\r\n',
      `1,2024-05-01T09:30:00.000Z,alice,change.opened,change/1,"{""a"":[1],""title"":""Grow \\""web-01\\"", now"",""z"":1}",${AUDIT_GENESIS},${H1}\r\n`,
      `2,2024-05-01T09:31:00.000Z,'=cmd|calc,access.denied,,"{""note"":""line one\\nline two""}",${H1},${H2}\r\n`,
    ]);
    expect(AUDIT_CSV_COLUMNS).toHaveLength(8);
    expect([...formatAuditEntries([], 'csv')]).toEqual(['seq,at,actor,event,subject,details,prev_hash,hash\r\n']);
  });

  it('reads its input lazily, one entry at a time', () => {
    let pulled = 0;
    function* source(): Generator<AuditEntry> {
      for (const entry of ENTRIES) {
        pulled++;
        yield entry;
      }
    }
    const iterator = formatAuditEntries(source(), 'jsonl')[Symbol.iterator]();
    iterator.next();
    expect(pulled).toBe(1);
  });
});
