import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from './AuditLog.js';
import { AUDIT_GENESIS, canonicalJson, hashAuditEntry } from './hashAuditEntry.js';
import type { AuditEntry, AuditEvent } from './types.js';

/** A connection as the server opens one: WAL, and a busy timeout so writers wait for each other. */
function open(file: string, busyTimeoutMs = 5000): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  return db;
}

const merged = (n: number, actor = 'alice'): AuditEvent => ({ actor, event: 'change.merged', subject: `change/${n}`, details: { title: `Change ${n}`, approvedBy: ['bob'] } });

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
  throw new Error('expected an error');
}

describe('AuditLog', () => {
  let dir: string;
  let file: string;
  let db: Database.Database;
  let log: AuditLog;
  /** A second connection to the same file, standing for another process or for someone editing the file. */
  let other: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'estate-audit-'));
    file = join(dir, 'estate.db');
    db = open(file);
    log = new AuditLog(db);
    other = open(file);
  });

  afterEach(() => {
    db.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Edits rows as someone with write access to the file would: the append-only triggers go first. */
  function tamper(sql: string, ...params: unknown[]): void {
    other.exec('DROP TRIGGER IF EXISTS audit_entries_no_update; DROP TRIGGER IF EXISTS audit_entries_no_delete;');
    other.prepare(sql).run(...params);
  }

  function appendMany(count: number): AuditEntry[] {
    return Array.from({ length: count }, (_, i) => log.append(merged(i + 1)));
  }

  it('appends entries chained by hash, from the genesis value', () => {
    const at = new Date('2024-05-01T09:30:00Z');
    const first = log.append({ actor: 'alice', event: 'change.opened', subject: 'change/1', details: { title: 'Grow web-01', reason: undefined }, at });
    const second = log.append({ actor: 'system', event: 'token.revoked', details: {}, at: new Date('2024-05-01T09:31:00Z') });
    expect(first).toEqual({
      seq: 1,
      at: '2024-05-01T09:30:00.000Z',
      actor: 'alice',
      event: 'change.opened',
      subject: 'change/1',
      details: { title: 'Grow web-01' },
      prevHash: AUDIT_GENESIS,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(first.hash).toBe(hashAuditEntry(first));
    expect(second).toMatchObject({ seq: 2, subject: undefined, prevHash: first.hash, hash: hashAuditEntry(second) });
    expect(log.list({ limit: 10 })).toEqual([first, second]);
    expect(log.head()).toEqual({ seq: 2, hash: second.hash });
    // Details are stored as canonical JSON, the subject as SQL NULL when there is none.
    expect(other.prepare('SELECT details, subject FROM audit_entries ORDER BY seq').all()).toEqual([
      { details: canonicalJson({ title: 'Grow web-01' }), subject: 'change/1' },
      { details: '{}', subject: null },
    ]);
    expect(log.verify()).toEqual({ ok: true, entries: 2, head: { seq: 2, hash: second.hash }, problems: [] });
  });

  it('stamps now by default, and never goes back in time', () => {
    const before = new Date().toISOString();
    const now = log.append(merged(1));
    expect(now.at >= before && now.at <= new Date().toISOString()).toBe(true);
    const late = log.append({ ...merged(2), at: new Date('2999-01-01T00:00:00Z') });
    const stepBack = log.append({ ...merged(3), at: new Date('2024-01-01T00:00:00Z') });
    expect(late.at).toBe('2999-01-01T00:00:00.000Z');
    expect(stepBack.at).toBe('2999-01-01T00:00:00.000Z');
    expect(log.verify().ok).toBe(true);
  });

  it('is empty at first, and keeps its entries when opened again', () => {
    expect(log.head()).toBeUndefined();
    expect(log.list({ limit: 10 })).toEqual([]);
    expect(log.verify()).toEqual({ ok: true, entries: 0, problems: [] });
    const entries = appendMany(3);
    const again = new AuditLog(other);
    expect(again.list({ limit: 10 })).toEqual(entries);
    expect(again.append(merged(4)).prevHash).toBe(entries[2]!.hash);
  });

  it('refuses malformed events and secrets, writing nothing', () => {
    appendMany(1);
    expect(codeOf(() => log.append({ ...merged(2), event: 'change.exploded' as AuditEvent['event'] }))).toEqual({
      code: 'E_AUDIT_EVENT',
      message: expect.stringMatching(/^unknown audit event type 'change\.exploded'; known types: change\.opened, change\.updated, /),
    });
    expect(codeOf(() => log.append({ ...merged(2), actor: '' }))).toEqual({
      code: 'E_AUDIT_EVENT',
      message: "audit actor '' is invalid: it must be 1 to 512 characters without control characters",
    });
    expect(codeOf(() => log.append({ ...merged(2), subject: 'change/2\nforged line' })).code).toBe('E_AUDIT_EVENT');
    expect(codeOf(() => log.append({ ...merged(2), at: new Date(Number.NaN) }))).toEqual({ code: 'E_AUDIT_EVENT', message: 'audit at must be a valid date in the years 0 to 9999' });
    expect(codeOf(() => log.append({ ...merged(2), details: { password: 'hunter2' } })).code).toBe('E_AUDIT_SECRET');
    expect(log.head()?.seq).toBe(1);
  });

  it('is append-only through SQLite: updates and deletes are refused', () => {
    appendMany(2);
    expect(() => other.prepare("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 1").run()).toThrow('audit entries are append-only');
    expect(() => other.prepare('DELETE FROM audit_entries WHERE seq = 2').run()).toThrow('audit entries are append-only');
    expect(log.verify().ok).toBe(true);
  });

  it("records inside the caller's transaction: both commit or neither", () => {
    db.exec('CREATE TABLE actions (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    const act = db.transaction((name: string, fail: boolean) => {
      db.prepare('INSERT INTO actions (name) VALUES (?)').run(name);
      const entry = log.append({ actor: 'alice', event: 'webhook.created', subject: `webhook/${name}`, details: { url: 'https://example.com/hook' } });
      if (fail) throw new Error('the action failed after recording');
      return entry;
    });
    expect(act.immediate('one', false).seq).toBe(1);
    expect(() => act.immediate('two', true)).toThrow('the action failed after recording');
    expect(db.prepare('SELECT name FROM actions').pluck().all()).toEqual(['one']);
    expect(log.list({ limit: 10 }).map((e) => e.subject)).toEqual(['webhook/one']);
    expect(log.append(merged(3)).seq).toBe(2);
  });

  describe('concurrent appenders on one file', () => {
    it('two connections appending in turn build one chain', () => {
      const logs = [log, new AuditLog(other)];
      // A fixed, irregular interleaving: runs of appends on one connection, then the other.
      const pattern = [0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 1];
      const written = Array.from({ length: 160 }, (_, i) => logs[pattern[i % pattern.length]!]!.append(merged(i + 1, `user${pattern[i % pattern.length]}`)));
      expect(written.map((e) => e.seq)).toEqual(Array.from({ length: 160 }, (_, i) => i + 1));
      for (let i = 1; i < written.length; i++) expect(written[i]!.prevHash).toBe(written[i - 1]!.hash);
      expect(log.verify()).toMatchObject({ ok: true, entries: 160, head: { seq: 160 } });
      expect(logs[1]!.verify()).toEqual(log.verify());
    });

    it('an appender waits for the write lock instead of chaining to a head that is about to change', () => {
      const impatient = open(file, 50);
      try {
        const mine = new AuditLog(impatient);
        const theirs = new AuditLog(other);
        appendMany(1);
        // Another process is in the middle of its own transaction that records an entry.
        other.exec('BEGIN IMMEDIATE');
        const pending = theirs.append(merged(2, 'bob'));
        expect(pending.seq).toBe(2);
        // The head this connection can read is still entry 1, but the append may not use it.
        expect(mine.head()?.seq).toBe(1);
        expect(codeOf(() => mine.append(merged(3, 'carol')))).toEqual({ code: 'SQLITE_BUSY', message: 'database is locked' });
        other.exec('COMMIT');
        const next = mine.append(merged(3, 'carol'));
        expect(next).toMatchObject({ seq: 3, prevHash: pending.hash });
        expect(log.verify()).toMatchObject({ ok: true, entries: 3 });
      } finally {
        impatient.close();
      }
    });
  });

  describe('queries', () => {
    beforeEach(() => {
      const events: AuditEvent[] = [
        { actor: 'alice', event: 'change.opened', subject: 'change/1', details: {}, at: new Date('2024-05-01T09:00:00Z') },
        { actor: 'bob', event: 'change.approved', subject: 'change/1', details: {}, at: new Date('2024-05-01T10:00:00Z') },
        { actor: 'alice', event: 'change.merged', subject: 'change/1', details: {}, at: new Date('2024-05-02T09:00:00Z') },
        { actor: 'admin', event: 'token.created', subject: 'token/tok_1', details: { name: 'ci' }, at: new Date('2024-05-03T09:00:00Z') },
        { actor: 'system', event: 'access.denied', details: { route: 'POST /api/v1/changes' }, at: new Date('2024-05-03T09:00:00Z') },
      ];
      for (const event of events) log.append(event);
    });
    const seqs = (entries: AuditEntry[]): number[] => entries.map((entry) => entry.seq);

    it('filters by time (since inclusive, until exclusive), actor, event, subject, and pages by seq', () => {
      expect(seqs(log.list({ limit: 100 }))).toEqual([1, 2, 3, 4, 5]);
      expect(seqs(log.list({ since: new Date('2024-05-01T10:00:00Z'), limit: 100 }))).toEqual([2, 3, 4, 5]);
      expect(seqs(log.list({ until: new Date('2024-05-02T09:00:00Z'), limit: 100 }))).toEqual([1, 2]);
      expect(seqs(log.list({ since: new Date('2024-05-01T09:30:00Z'), until: new Date('2024-05-03T00:00:00Z'), limit: 100 }))).toEqual([2, 3]);
      expect(seqs(log.list({ actor: 'alice', limit: 100 }))).toEqual([1, 3]);
      expect(seqs(log.list({ event: 'token.created', limit: 100 }))).toEqual([4]);
      expect(seqs(log.list({ subject: 'change/1', actor: 'alice', limit: 100 }))).toEqual([1, 3]);
      expect(seqs(log.list({ afterSeq: 2, limit: 2 }))).toEqual([3, 4]);
      expect(seqs(log.list({ actor: 'nobody', limit: 100 }))).toEqual([]);
    });

    it('refuses a limit that is not a positive integer and a date it cannot store', () => {
      expect(codeOf(() => log.list({ limit: 0 }))).toEqual({ code: 'E_BAD_PARAM', message: 'limit must be a positive integer, not 0' });
      expect(codeOf(() => log.list({ since: new Date(Number.NaN), limit: 1 }))).toEqual({ code: 'E_BAD_PARAM', message: 'audit since must be a valid date in the years 0 to 9999' });
    });

    it('iterates every matching entry across pages, up to the head when it started', () => {
      for (let i = 6; i <= 1234; i++) log.append(merged(i, i % 3 === 0 ? 'carol' : 'dave'));
      expect(seqs([...log.iterate()])).toEqual(Array.from({ length: 1234 }, (_, i) => i + 1));
      const carol = [...log.iterate({ actor: 'carol' })];
      expect(carol).toHaveLength(410);
      expect(carol.every((entry) => entry.actor === 'carol')).toBe(true);
      // Entries appended while an export runs are not part of it.
      const iterator = log.iterate({ afterSeq: 1200 })[Symbol.iterator]();
      expect(iterator.next().value?.seq).toBe(1201);
      log.append(merged(9999));
      const rest = [];
      for (let step = iterator.next(); !step.done; step = iterator.next()) rest.push(step.value.seq);
      expect(rest).toEqual(Array.from({ length: 33 }, (_, i) => 1202 + i));
    });
  });

  describe('tampering', () => {
    it('detects an edited field of any entry, naming its seq', () => {
      const entries = appendMany(5);
      tamper("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 3");
      const result = log.verify();
      expect(result).toEqual({
        ok: false,
        entries: 5,
        head: { seq: 5, hash: entries[4]!.hash },
        problems: [
          {
            seq: 3,
            code: 'E_AUDIT_TAMPERED',
            message: `audit entry 3 was changed after it was written: it records hash ${entries[2]!.hash} but its content hashes to ${hashAuditEntry({ ...entries[2]!, actor: 'mallory' })}`,
          },
        ],
      });
    });

    it.each([
      ['at', "UPDATE audit_entries SET at = '2020-01-01T00:00:00.000Z' WHERE seq = 2"],
      ['event', "UPDATE audit_entries SET event = 'change.closed' WHERE seq = 2"],
      ['subject', 'UPDATE audit_entries SET subject = NULL WHERE seq = 2'],
      ['details', `UPDATE audit_entries SET details = '{"approvedBy":["mallory"],"title":"Change 2"}' WHERE seq = 2`],
      ['details (not JSON)', "UPDATE audit_entries SET details = '{broken' WHERE seq = 2"],
      ['hash', `UPDATE audit_entries SET hash = '${'a'.repeat(64)}' WHERE seq = 2`],
    ])('detects an edited %s', (_field, sql) => {
      appendMany(3);
      tamper(sql);
      const { ok, problems } = log.verify();
      expect(ok).toBe(false);
      expect(problems[0]).toMatchObject({ seq: 2, code: 'E_AUDIT_TAMPERED' });
    });

    it('detects an edited prevHash twice: the entry hash and the link', () => {
      appendMany(3);
      tamper(`UPDATE audit_entries SET prev_hash = '${'b'.repeat(64)}' WHERE seq = 2`);
      expect(log.verify().problems.map((p) => [p.seq, p.code])).toEqual([
        [2, 'E_AUDIT_TAMPERED'],
        [2, 'E_AUDIT_BROKEN_LINK'],
      ]);
    });

    it('detects a deleted entry in the middle: a gap and a broken link', () => {
      const entries = appendMany(5);
      tamper('DELETE FROM audit_entries WHERE seq = 3');
      expect(log.verify()).toEqual({
        ok: false,
        entries: 4,
        head: { seq: 5, hash: entries[4]!.hash },
        problems: [
          { seq: 4, code: 'E_AUDIT_GAP', message: 'audit entry 3 is missing: entry 4 follows entry 2' },
          { seq: 4, code: 'E_AUDIT_BROKEN_LINK', message: `audit entry 4 links to ${entries[2]!.hash}, not to the hash ${entries[1]!.hash} of entry 2: an entry before it was changed or removed` },
        ],
      });
    });

    it('detects an edited entry whose hash was recomputed: the next link breaks', () => {
      const entries = appendMany(5);
      const forged = { ...entries[2]!, details: { title: 'Change 3', approvedBy: ['mallory'] } };
      tamper('UPDATE audit_entries SET details = ?, hash = ? WHERE seq = 3', canonicalJson(forged.details), hashAuditEntry(forged));
      expect(log.verify().problems).toEqual([
        { seq: 4, code: 'E_AUDIT_BROKEN_LINK', message: `audit entry 4 links to ${entries[2]!.hash}, not to the hash ${hashAuditEntry(forged)} of entry 3: an entry before it was changed or removed` },
      ]);
    });

    it('detects a truncated or rewritten tail only against an anchor', () => {
      const entries = appendMany(5);
      const anchor = log.verify().head!;
      expect(anchor).toEqual({ seq: 5, hash: entries[4]!.hash });
      expect(log.verify({ anchor })).toMatchObject({ ok: true });

      // Truncation: the chain alone still verifies.
      tamper('DELETE FROM audit_entries WHERE seq > 3');
      expect(log.verify()).toMatchObject({ ok: true, entries: 3 });
      expect(log.verify({ anchor })).toMatchObject({
        ok: false,
        problems: [{ seq: 5, code: 'E_AUDIT_GAP', message: 'the trail ends at entry 3 but the anchor records entry 5: newer entries were removed' }],
      });

      // Rewriting from entry 4 on, with new hashes all the way: only the anchor tells.
      log.append({ ...merged(4), details: { title: 'Change 4 (rewritten)' } });
      log.append(merged(5));
      expect(log.verify()).toMatchObject({ ok: true, entries: 5 });
      expect(log.verify({ anchor }).problems).toEqual([
        {
          seq: 5,
          code: 'E_AUDIT_TAMPERED',
          message: `audit entry 5 has hash ${log.head()!.hash} but the anchor records ${anchor.hash}: the trail was rewritten from there or before`,
        },
      ]);
    });
  });
});
