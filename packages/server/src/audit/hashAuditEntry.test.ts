import { describe, expect, it } from 'vitest';
import { AUDIT_GENESIS, canonicalJson, hashAuditEntry } from './hashAuditEntry.js';
import type { AuditEntry } from './types.js';

/** The test vector of docs/audit.md; its hashes were computed independently (Python's json + hashlib). */
const VECTOR: Omit<AuditEntry, 'hash'> = {
  seq: 1,
  at: '2024-05-01T09:30:00.000Z',
  actor: 'alice',
  event: 'change.merged',
  subject: 'change/12',
  details: { title: 'Grow web-01 — 8 CPUs', approvedBy: ['bob', 'carol'], emergency: false, commit: '3f786850e387550fdab836ed7e6dc881de23001b', cpus: 8 },
  prevHash: AUDIT_GENESIS,
};
const VECTOR_CANONICAL =
  '{"actor":"alice","at":"2024-05-01T09:30:00.000Z","details":{"approvedBy":["bob","carol"],"commit":"3f786850e387550fdab836ed7e6dc881de23001b","cpus":8,"emergency":false,"title":"Grow web-01 — 8 CPUs"},"event":"change.merged","prevHash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,"subject":"change/12"}';
const VECTOR_HASH = '201715493a144e5ac7bd412c1ce64791a81dfb60cac9a624094fd391a9e5704b';
const SECOND_HASH = 'aa07bdb8402496c3857e34b0cc32ac6a27cc56192fb61fb4686f0d9b5d4f79f9';

describe('hashAuditEntry', () => {
  it('matches the documented test vector', () => {
    expect(AUDIT_GENESIS).toBe('0'.repeat(64));
    const { details, ...rest } = VECTOR;
    expect(canonicalJson({ ...rest, details })).toBe(VECTOR_CANONICAL);
    expect(hashAuditEntry(VECTOR)).toBe(VECTOR_HASH);
  });

  it('leaves out an undefined subject and chains through prevHash', () => {
    const second = { seq: 2, at: '2024-05-01T09:31:00.000Z', actor: 'system', event: 'token.revoked', subject: undefined, details: {}, prevHash: VECTOR_HASH };
    expect(hashAuditEntry(second)).toBe(SECOND_HASH);
    expect(hashAuditEntry({ ...second, prevHash: AUDIT_GENESIS })).not.toBe(SECOND_HASH);
  });

  it('does not depend on key order, and ignores the hash field itself', () => {
    const reordered = { prevHash: VECTOR.prevHash, details: { cpus: 8, emergency: false, commit: VECTOR.details.commit, approvedBy: ['bob', 'carol'], title: VECTOR.details.title }, subject: 'change/12', event: 'change.merged', actor: 'alice', at: VECTOR.at, seq: 1 };
    expect(hashAuditEntry(reordered)).toBe(VECTOR_HASH);
    expect(hashAuditEntry({ ...VECTOR, hash: 'f'.repeat(64) } as AuditEntry)).toBe(VECTOR_HASH);
  });

  it('changes when any field changes', () => {
    const variants: Array<Omit<AuditEntry, 'hash'>> = [
      { ...VECTOR, seq: 2 },
      { ...VECTOR, at: '2024-05-01T09:30:00.001Z' },
      { ...VECTOR, actor: 'mallory' },
      { ...VECTOR, event: 'change.closed' },
      { ...VECTOR, subject: 'change/13' },
      { ...VECTOR, subject: undefined },
      { ...VECTOR, details: { ...VECTOR.details, emergency: true } },
      { ...VECTOR, details: { ...VECTOR.details, approvedBy: ['carol', 'bob'] } },
      { ...VECTOR, prevHash: '1'.repeat(64) },
    ];
    const hashes = new Set(variants.map(hashAuditEntry));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(VECTOR_HASH)).toBe(false);
  });
});

describe('canonicalJson', () => {
  it('writes RFC 8785 text: sorted keys by UTF-16 code units, no whitespace, ECMAScript numbers and escapes', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], A: {} })).toBe('{"A":{},"a":[true,null,"x"],"b":1}');
    // U+10000 is the surrogate pair D800 DC00, which sorts before U+FFFF in UTF-16 order (RFC 8785 §3.2.3).
    expect(canonicalJson({ '\uffff': 1, '\u{10000}': 2 })).toBe('{"\u{10000}":2,"\uffff":1}');
    expect(canonicalJson([1e21, 1e-7, -0, 0.1, 5, 123456789012345680000])).toBe('[1e+21,1e-7,0,0.1,5,123456789012345680000]');
    expect(canonicalJson('tab\there "q" \\ \u0001 é')).toBe('"tab\\there \\"q\\" \\\\ \\u0001 é"');
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow('canonical JSON cannot hold the number NaN');
    expect(() => canonicalJson({ a: undefined })).toThrow('canonical JSON cannot hold a value of type undefined');
    expect(() => canonicalJson(10n)).toThrow('canonical JSON cannot hold a value of type bigint');
  });
});
