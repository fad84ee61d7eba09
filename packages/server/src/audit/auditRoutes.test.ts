import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { encodeCursor } from '../http/cursor.js';
import { buildApp } from '../http/app.js';
import { openSqliteStore } from '../store/sqliteStore.js';
import type { Store } from '../store/Store.js';
import { AuditChainVerifier } from './AuditChainVerifier.js';
import { AuditLog } from './AuditLog.js';
import { registerAuditRoutes } from './auditRoutes.js';
import { parseAuditEntry } from './parseAuditEntry.js';
import type { AuditEvent } from './types.js';

/** A parsed JSON answer: tests read into it freely and assert what they find. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type JsonBody = any;

describe('audit routes', () => {
  let dir: string;
  let store: Store;
  let db: Database.Database;
  let audit: AuditLog;
  let app: FastifyInstance;
  let viewer: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'estate-audit-routes-'));
    const file = join(dir, 'estate.db');
    store = await openSqliteStore(file);
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    audit = new AuditLog(db);
    const day = (d: number, h = 9): Date => new Date(Date.UTC(2024, 4, d, h));
    const events: AuditEvent[] = [
      { actor: 'alice', event: 'change.opened', subject: 'change/1', details: { title: 'Grow web-01, "fast"' }, at: day(1) },
      { actor: 'bob', event: 'change.approved', subject: 'change/1', details: {}, at: day(1, 10) },
      { actor: 'alice', event: 'change.merged', subject: 'change/1', details: { commit: 'ab'.repeat(20), approvedBy: ['bob'] }, at: day(2) },
      { actor: 'admin', event: 'token.created', subject: 'token/tok_1', details: { name: 'auditor', role: 'viewer' }, at: day(3) },
      { actor: 'mallory', event: 'access.denied', details: { route: 'POST /api/v1/changes', required: 'editor', role: 'viewer' }, at: day(4) },
    ];
    for (const event of events) audit.append(event);
    viewer = (await issueToken(store, { name: 'auditor', role: 'viewer' })).token;
    app = await buildApp({ store, status: () => ({ state: 'ready', commitsIndexed: 0, lagSeconds: 0, headErrors: 0 }) });
    registerAuditRoutes(app, { audit });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    db?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** GET with the viewer token; `''` for none. */
  const get = (url: string, token = viewer): Promise<LightMyRequestResponse> =>
    app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });

  function expectError(answer: LightMyRequestResponse, status: number, code: string, message: string | RegExp): void {
    const body = answer.json() as JsonBody;
    expect({ status: answer.statusCode, code: body.error?.code }, answer.body).toEqual({ status, code });
    expect(body.error.message).toMatch(message);
  }

  it('needs a token (viewer is enough)', async () => {
    expectError(await get('/api/v1/audit', ''), 401, 'E_UNAUTHORIZED', /token/);
    expectError(await get('/api/v1/audit/verify', ''), 401, 'E_UNAUTHORIZED', /token/);
    expectError(await get('/api/v1/audit/export', ''), 401, 'E_UNAUTHORIZED', /token/);
    expect((await get('/api/v1/audit')).statusCode).toBe(200);
  });

  it('lists entries oldest first, in pages', async () => {
    const first = await get('/api/v1/audit?limit=2');
    expect(first.statusCode).toBe(200);
    expect(first.headers['cache-control']).toBe('no-store');
    const body = first.json() as JsonBody;
    expect(body.items).toEqual(audit.list({ limit: 2 }).map((entry) => JSON.parse(JSON.stringify(entry))));
    expect(body.items[0]).toMatchObject({ seq: 1, actor: 'alice', event: 'change.opened', subject: 'change/1', details: { title: 'Grow web-01, "fast"' } });
    expect(body.items[1]).not.toHaveProperty('subject', undefined);
    const seqs: number[] = body.items.map((e: JsonBody) => e.seq);
    let cursor: string | undefined = body.nextCursor;
    while (cursor) {
      const page = (await get(`/api/v1/audit?limit=2&cursor=${cursor}`)).json() as JsonBody;
      seqs.push(...page.items.map((e: JsonBody) => e.seq));
      cursor = page.nextCursor;
    }
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    const all = (await get('/api/v1/audit')).json() as JsonBody;
    expect(all.items).toHaveLength(5);
    expect(all).not.toHaveProperty('nextCursor');
    expect(all.items[4]).not.toHaveProperty('subject');
  });

  it('filters by time, actor, event and subject', async () => {
    const seqs = async (query: string): Promise<number[]> => ((await get(`/api/v1/audit?${query}`)).json() as JsonBody).items.map((e: JsonBody) => e.seq);
    expect(await seqs('since=2024-05-02')).toEqual([3, 4, 5]);
    expect(await seqs('since=2024-05-01T09:30:00Z&until=2024-05-03')).toEqual([2, 3]);
    // until is exclusive; 11:00+02:00 is 09:00 UTC, the time of entry 1.
    expect(await seqs('until=2024-05-01T11:00:00%2B02:00')).toEqual([]);
    expect(await seqs('until=2024-05-01T11:30:00%2B02:00')).toEqual([1]);
    expect(await seqs('actor=alice')).toEqual([1, 3]);
    expect(await seqs('event=token.created')).toEqual([4]);
    expect(await seqs('subject=change/1&actor=bob')).toEqual([2]);
  });

  it('refuses bad parameters with E_BAD_PARAM', async () => {
    expectError(await get('/api/v1/audit?since=yesterday'), 400, 'E_BAD_PARAM', "parameter 'since' must be an ISO 8601 time, not 'yesterday'");
    expectError(await get('/api/v1/audit?event=change.exploded'), 400, 'E_BAD_PARAM', /^parameter 'event' must be one of change\.opened, /);
    expectError(await get('/api/v1/audit?limit=1001'), 400, 'E_BAD_PARAM', "parameter 'limit' must be <= 1000");
    expectError(await get('/api/v1/audit?who=alice'), 400, 'E_BAD_PARAM', "unknown parameter 'who'");
    expectError(await get('/api/v1/audit?cursor=nonsense!'), 400, 'E_BAD_PARAM', /^invalid cursor 'nonsense!'/);
    // A cursor of another list is refused.
    expectError(await get(`/api/v1/audit?cursor=${encodeCursor('commits', 3)}`), 400, 'E_BAD_PARAM', /^invalid cursor/);
    expectError(await get('/api/v1/audit/verify?anchor=5'), 400, 'E_BAD_PARAM', /^parameter 'anchor' must match pattern/);
    expectError(await get('/api/v1/audit/export?format=xml'), 400, 'E_BAD_PARAM', "parameter 'format' must be one of jsonl, csv");
  });

  it('verifies the chain, and an anchor', async () => {
    const head = audit.head()!;
    expect((await get('/api/v1/audit/verify')).json()).toEqual({ ok: true, entries: 5, head, problems: [] });
    expect((await get(`/api/v1/audit/verify?anchor=${head.seq}:${head.hash}`)).json()).toMatchObject({ ok: true });
    const wrong = (await get(`/api/v1/audit/verify?anchor=9:${head.hash}`)).json() as JsonBody;
    expect(wrong).toMatchObject({ ok: false, problems: [{ seq: 9, code: 'E_AUDIT_GAP', message: 'the trail ends at entry 5 but the anchor records entry 9: newer entries were removed' }] });
  });

  it('exports JSON Lines as a download that verifies', async () => {
    const answer = await get('/api/v1/audit/export');
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(answer.headers['content-disposition']).toMatch(/^attachment; filename="estate-audit-\d{8}T\d{6}Z\.jsonl"$/);
    const lines = answer.body.split('\n');
    expect(lines.pop()).toBe('');
    const verifier = new AuditChainVerifier();
    lines.forEach((line, i) => verifier.add(parseAuditEntry(line, i + 1)));
    expect(verifier.result()).toEqual({ ok: true, entries: 5, head: audit.head(), problems: [] });

    const slice = (await get('/api/v1/audit/export?since=2024-05-02&until=2024-05-04')).body.trim().split('\n');
    expect(slice.map((line) => (JSON.parse(line) as JsonBody).seq)).toEqual([3, 4]);
  });

  it('exports CSV', async () => {
    const answer = await get('/api/v1/audit/export?format=csv&until=2024-05-01T12:00:00Z');
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
    expect(answer.headers['content-disposition']).toMatch(/filename="estate-audit-\d{8}T\d{6}Z\.csv"$/);
    const [first, second] = audit.list({ limit: 2 });
    expect(answer.body).toBe(
      'seq,at,actor,event,subject,details,prev_hash,hash\r\n' +
        `1,2024-05-01T09:00:00.000Z,alice,change.opened,change/1,"{""title"":""Grow web-01, \\""fast\\""""}",${first!.prevHash},${first!.hash}\r\n` +
        `2,2024-05-01T10:00:00.000Z,bob,change.approved,change/1,{},${second!.prevHash},${second!.hash}\r\n`,
    );
  });

  it('is in the OpenAPI document, for viewers', async () => {
    const document = (await get('/api/openapi.json')).json() as JsonBody;
    for (const path of ['/api/v1/audit', '/api/v1/audit/verify', '/api/v1/audit/export']) {
      expect(document.paths[path]?.get?.['x-estate-role'], path).toBe('viewer');
    }
    expect(Object.keys(document.paths['/api/v1/audit/export'].get.responses['200'].content)).toEqual(['application/x-ndjson']);
  });
  it('streams a large export whole', async () => {
    for (let i = 0; i < 2000; i++) audit.append({ actor: 'bot', event: 'change.checked', subject: `change/${i}`, details: { checks: ['validation', 'policy'], passed: true } });
    const lines = (await get('/api/v1/audit/export')).body.trim().split('\n');
    expect(lines).toHaveLength(2005);
    const verifier = new AuditChainVerifier();
    lines.forEach((line, i) => verifier.add(parseAuditEntry(line, i + 1)));
    expect(verifier.result()).toMatchObject({ ok: true, entries: 2005, head: audit.head() });
  });

  it('reports tampering (the last test: it edits the trail)', async () => {
    const editor = new Database(join(dir, 'estate.db'));
    try {
      editor.exec('DROP TRIGGER audit_entries_no_update');
      editor.prepare("UPDATE audit_entries SET details = '{\"name\":\"auditor\",\"role\":\"admin\"}' WHERE seq = 4").run();
    } finally {
      editor.close();
    }
    const answer = (await get('/api/v1/audit/verify')).json() as JsonBody;
    expect(answer).toMatchObject({ ok: false, entries: 2005, problems: [{ seq: 4, code: 'E_AUDIT_TAMPERED', message: expect.stringMatching(/^audit entry 4 was changed after it was written/) }] });
    expect(answer.problems).toHaveLength(1);
  });
});
