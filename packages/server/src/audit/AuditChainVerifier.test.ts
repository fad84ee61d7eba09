import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditChainVerifier, type AuditChainVerifierOptions } from './AuditChainVerifier.js';
import { AuditLog } from './AuditLog.js';
import { formatAuditEntries } from './formatAuditEntries.js';
import { AUDIT_GENESIS } from './hashAuditEntry.js';
import { parseAuditEntry } from './parseAuditEntry.js';
import { MAX_AUDIT_PROBLEMS, type AuditEntry } from './types.js';

function verify(entries: AuditEntry[], options?: AuditChainVerifierOptions): ReturnType<AuditChainVerifier['result']> {
  const verifier = new AuditChainVerifier(options);
  for (const entry of entries) verifier.add(entry);
  return verifier.result();
}

const problems = (result: ReturnType<AuditChainVerifier['result']>): Array<[number, string]> => result.problems.map((p) => [p.seq, p.code]);

describe('AuditChainVerifier', () => {
  let chain: AuditEntry[];

  beforeAll(() => {
    const db = new Database(':memory:');
    const log = new AuditLog(db);
    for (let i = 1; i <= 10; i++) log.append({ actor: i % 2 ? 'alice' : 'bob', event: 'change.approved', subject: `change/${i}`, details: { n: i }, at: new Date(Date.UTC(2024, 4, i)) });
    chain = [...log.iterate()];
    db.close();
  });

  it('accepts a whole chain and reports its head', () => {
    expect(verify(chain)).toEqual({ ok: true, entries: 10, head: { seq: 10, hash: chain[9]!.hash }, problems: [] });
    expect(verify([])).toEqual({ ok: true, entries: 0, problems: [] });
  });

  it('wants entry 1 first by default', () => {
    expect(verify(chain.slice(3))).toEqual({
      ok: false,
      entries: 7,
      head: { seq: 10, hash: chain[9]!.hash },
      problems: [
        { seq: 4, code: 'E_AUDIT_GAP', message: 'audit entries 1 to 3 are missing: entry 4 follows entry 0' },
        { seq: 4, code: 'E_AUDIT_BROKEN_LINK', message: `audit entry 4 links to ${chain[2]!.hash}, not to the genesis value: an entry before it was changed or removed` },
      ],
    });
  });

  it('verifies a slice from anywhere, or continuing from a trusted entry', () => {
    expect(verify(chain.slice(3, 7), { start: 'any' })).toMatchObject({ ok: true, entries: 4, head: { seq: 7 } });
    expect(verify(chain.slice(3), { start: { seq: 3, hash: chain[2]!.hash } })).toMatchObject({ ok: true, entries: 7 });
    expect(problems(verify(chain.slice(3), { start: { seq: 3, hash: AUDIT_GENESIS } }))).toEqual([[4, 'E_AUDIT_BROKEN_LINK']]);
    expect(problems(verify(chain.slice(4), { start: { seq: 3, hash: chain[2]!.hash } }))).toEqual([
      [5, 'E_AUDIT_GAP'],
      [5, 'E_AUDIT_BROKEN_LINK'],
    ]);
  });

  it('reports entries out of order or repeated', () => {
    const swapped = [...chain.slice(0, 3), chain[4]!, chain[3]!, ...chain.slice(5)];
    expect(verify(swapped).problems.map((p) => p.message)).toEqual([
      'audit entry 4 is missing: entry 5 follows entry 3',
      `audit entry 5 links to ${chain[3]!.hash}, not to the hash ${chain[2]!.hash} of entry 3: an entry before it was changed or removed`,
      'audit entry 4 is out of order: it follows entry 5',
      `audit entry 4 links to ${chain[2]!.hash}, not to the hash ${chain[4]!.hash} of entry 5: an entry before it was changed or removed`,
      // Seen earlier, but out of place: from where the verifier stands, entry 5 is missing here.
      'audit entry 5 is missing: entry 6 follows entry 4',
      `audit entry 6 links to ${chain[4]!.hash}, not to the hash ${chain[3]!.hash} of entry 4: an entry before it was changed or removed`,
    ]);
    expect(problems(verify([...chain.slice(0, 3), chain[2]!, ...chain.slice(3)]))).toEqual([
      [3, 'E_AUDIT_GAP'],
      [3, 'E_AUDIT_BROKEN_LINK'],
    ]);
  });

  it('reports an entry that cannot be hashed as tampered', () => {
    const broken = { ...chain[1]!, details: undefined } as unknown as AuditEntry;
    expect(verify([chain[0]!, broken, ...chain.slice(2)]).problems).toEqual([
      { seq: 2, code: 'E_AUDIT_TAMPERED', message: 'audit entry 2 cannot be hashed: a field is missing or of the wrong type' },
    ]);
  });

  it('checks an anchor: reached and unchanged', () => {
    const anchor = { seq: 8, hash: chain[7]!.hash };
    expect(verify(chain, { anchor }).ok).toBe(true);
    expect(verify(chain.slice(0, 7), { anchor }).problems).toEqual([
      { seq: 8, code: 'E_AUDIT_GAP', message: 'the trail ends at entry 7 but the anchor records entry 8: newer entries were removed' },
    ]);
    expect(verify([], { anchor }).problems[0]?.code).toBe('E_AUDIT_GAP');
    expect(verify(chain, { anchor: { seq: 8, hash: 'c'.repeat(64) } }).problems).toEqual([
      { seq: 8, code: 'E_AUDIT_TAMPERED', message: `audit entry 8 has hash ${chain[7]!.hash} but the anchor records ${'c'.repeat(64)}: the trail was rewritten from there or before` },
    ]);
    // An export slice that starts after the anchor cannot vouch for it.
    expect(verify(chain.slice(8), { start: 'any', anchor }).problems).toEqual([{ seq: 8, code: 'E_AUDIT_GAP', message: "the anchor's entry 8 is missing from the trail" }]);
  });

  it('lists at most MAX_AUDIT_PROBLEMS problems and counts the rest', () => {
    const forged = Array.from({ length: MAX_AUDIT_PROBLEMS + 5 }, (_, i) => ({ ...chain[0]!, seq: i + 1, actor: 'mallory' }));
    const result = verify(forged);
    expect(result.problems).toHaveLength(MAX_AUDIT_PROBLEMS);
    // Every entry is tampered and, after the first, links to the wrong hash: 2n - 1 problems.
    expect(result.moreProblems).toBe(2 * forged.length - 1 - MAX_AUDIT_PROBLEMS);
  });

  it('verifies a JSON Lines export read back line by line', () => {
    const lines = [...formatAuditEntries(chain, 'jsonl')];
    const read = lines.map((line, i) => parseAuditEntry(line, i + 1));
    expect(read).toEqual(chain);
    expect(verify(read).ok).toBe(true);
    const edited = lines[4]!.replace('"n":5', '"n":50');
    expect(problems(verify(lines.map((line, i) => parseAuditEntry(i === 4 ? edited : line, i + 1))))).toEqual([[5, 'E_AUDIT_TAMPERED']]);
  });
});

describe('parseAuditEntry', () => {
  it('refuses lines that are not entries, naming the line', () => {
    const refusal = (line: string): unknown => {
      try {
        parseAuditEntry(line, 7);
      } catch (error) {
        return { code: (error as { code: string }).code, message: (error as Error).message };
      }
      return undefined;
    };
    expect(refusal('seq,at,actor')).toEqual({ code: 'E_AUDIT_FORMAT', message: 'line 7 of the audit export is not JSON (verify reads the JSON Lines export, not CSV)' });
    expect(refusal('[1]')).toEqual({ code: 'E_AUDIT_FORMAT', message: 'line 7 of the audit export is not an audit entry: it is not a JSON object' });
    expect(refusal('{"seq":0}')).toEqual({ code: 'E_AUDIT_FORMAT', message: 'line 7 of the audit export is not an audit entry: seq is not a positive integer' });
    const entry = { seq: 1, at: 'x', actor: 'a', event: 'e', details: {}, prevHash: AUDIT_GENESIS, hash: AUDIT_GENESIS };
    expect(refusal(JSON.stringify({ ...entry, details: [] }))).toMatchObject({ message: 'line 7 of the audit export is not an audit entry: details must be an object' });
    expect(refusal(JSON.stringify({ ...entry, subject: 3 }))).toMatchObject({ message: 'line 7 of the audit export is not an audit entry: subject must be a string when present' });
    expect(refusal(JSON.stringify({ ...entry, hash: 'XYZ' }))).toMatchObject({ message: 'line 7 of the audit export is not an audit entry: prevHash and hash must be 64 lower-case hex digits' });
    expect(parseAuditEntry(JSON.stringify(entry), 1)).toEqual({ ...entry, subject: undefined });
  });
});
