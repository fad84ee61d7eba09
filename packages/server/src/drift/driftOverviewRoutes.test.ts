import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { startServer, type RunningServer } from '../server.js';
import { callJson, type JsonBody } from '../testing/callJson.js';
import { hostYaml, makeTestRepo, type TestRepo } from '../testing/gitRepo.js';
import { driftHistory } from './driftOverviewRoutes.js';
import { DriftStore } from './DriftStore.js';
import { driftAtHead, eventually } from '../testing/eventually.js';

describe('driftHistory', () => {
  let dir: string;
  let db: Database.Database;
  let drift: DriftStore;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'estate-drift-history-'));
    db = new Database(join(dir, 'ingest.db'));
    drift = new DriftStore(db);
    const event = (type: string, at: string, field = '/spec/cpus'): void => {
      drift.appendEvent({ type, at, asset: 'host/web-01', field, details: {} });
    };
    event('drift.opened', '2024-06-01T08:59:59.999Z', '/spec/os'); // before the first bucket asked for
    event('drift.opened', '2024-06-01T10:15:00Z');
    event('drift.opened', '2024-06-01T12:20:00+02:00', '/spec/ip'); // 10:20 UTC
    event('drift.changed', '2024-06-01T10:30:00Z'); // not an opening nor a resolution
    event('drift.ignored', '2024-06-01T10:31:00Z');
    event('drift.resolved', '2024-06-01T11:00:00Z');
    event('drift.resolved', '2024-06-01T12:59:00.5Z', '/spec/os');
    event('drift.opened', '2024-06-03T00:00:00Z'); // after "now": in no bucket
  });
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts openings and resolutions per UTC hour, and items open at the end of each hour', () => {
    const items = driftHistory(db, { bucket: 'hour', since: new Date('2024-06-01T10:45:00Z'), now: new Date('2024-06-01T13:10:00Z') });
    expect(items).toEqual([
      // /spec/os opened before: 1 open at the start; 2 opened in the 10:00 bucket (offsets read as UTC).
      { start: '2024-06-01T10:00:00.000Z', end: '2024-06-01T11:00:00.000Z', opened: 2, resolved: 0, open: 3 },
      { start: '2024-06-01T11:00:00.000Z', end: '2024-06-01T12:00:00.000Z', opened: 0, resolved: 1, open: 2 },
      { start: '2024-06-01T12:00:00.000Z', end: '2024-06-01T13:00:00.000Z', opened: 0, resolved: 1, open: 1 },
      { start: '2024-06-01T13:00:00.000Z', end: '2024-06-01T14:00:00.000Z', opened: 0, resolved: 0, open: 1 },
    ]);
  });

  it('buckets by UTC day; without since, the last 30 days', () => {
    const now = new Date('2024-06-02T09:00:00Z');
    const days = driftHistory(db, { bucket: 'day', now });
    expect(days).toHaveLength(30);
    expect(days[0]!.start).toBe('2024-05-04T00:00:00.000Z');
    expect(days.at(-2)).toEqual({ start: '2024-06-01T00:00:00.000Z', end: '2024-06-02T00:00:00.000Z', opened: 3, resolved: 2, open: 1 });
    expect(days.at(-1)).toEqual({ start: '2024-06-02T00:00:00.000Z', end: '2024-06-03T00:00:00.000Z', opened: 0, resolved: 0, open: 1 });
    expect(driftHistory(db, { bucket: 'hour', now })).toHaveLength(48);
  });

  it('refuses a since in the future and more than 1000 buckets, naming the parameter', () => {
    const now = new Date('2024-06-02T09:00:00Z');
    expect(() => driftHistory(db, { bucket: 'hour', since: new Date('2024-06-02T10:00:00Z'), now })).toThrow(expect.objectContaining({ code: 'E_BAD_PARAM', message: expect.stringContaining('is in the future') }));
    expect(() => driftHistory(db, { bucket: 'hour', since: new Date('2024-01-01T00:00:00Z'), now })).toThrow(expect.objectContaining({ code: 'E_BAD_PARAM', message: expect.stringContaining('at most 1000: use bucket=day') }));
    expect(driftHistory(db, { bucket: 'day', since: new Date('2024-01-01T00:00:00Z'), now })).toHaveLength(154);
  });
});

describe('GET /api/v1/drift/history and /api/v1/drift/summary', () => {
  let source: TestRepo;
  let data: string;
  let server: RunningServer;
  const tokens = { agent: '', viewer: '', editor: '' };
  let reportSeq = 0;

  const call = (method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: JsonBody }> => callJson(method, server.url + path, token, body);
  const report = async (host: string, facts: Record<string, unknown>): Promise<void> => {
    reportSeq++;
    const body = { reportId: `01JDQ3${String(reportSeq).padStart(20, '0')}`, host, seq: reportSeq, collectedAt: new Date().toISOString(), facts };
    expect((await call('POST', '/api/v1/reports', tokens.agent, body)).status).toBe(202);
  };

  beforeAll(async () => {
    source = makeTestRepo('estate-drift-overview-');
    source.commit('hosts', {
      'assets/hosts/web-01.yaml': hostYaml('web-01', { extra: '  cpus: 2\n' }),
      'assets/hosts/web-02.yaml': hostYaml('web-02', { extra: '  cpus: 2\n' }),
      'assets/hosts/db-01.yaml': hostYaml('db-01', { env: 'staging', extra: '  cpus: 4\n' }),
    });
    data = mkdtempSync(join(tmpdir(), 'estate-drift-overview-data-'));
    server = await startServer({ dataDir: data, importFrom: source.dir, port: 0, pollMs: 100 });
    tokens.agent = (await issueToken(server.store, { name: 'fleet', role: 'agent', scopes: { hosts: ['web-01', 'web-02', 'db-01'] } })).token;
    tokens.viewer = (await issueToken(server.store, { name: 'vic', role: 'viewer' })).token;
    tokens.editor = (await issueToken(server.store, { name: 'ed', role: 'editor' })).token;
    await server.indexer.sync();
    await driftAtHead(server);
  });
  afterAll(async () => {
    await server.close();
    rmSync(data, { recursive: true, force: true });
    source.remove();
  });

  it('shows drift opening and resolving in the current hour, and groups open drift by env label and kind', async () => {
    const empty = await call('GET', '/api/v1/drift/history', tokens.viewer);
    expect(empty.status).toBe(200);
    expect(empty.body.bucket).toBe('hour');
    expect(empty.body.items).toHaveLength(48);
    expect(empty.body.items.at(-1)).toMatchObject({ opened: 0, resolved: 0, open: 0 });
    expect((await call('GET', '/api/v1/drift/summary', tokens.viewer)).body.items).toEqual([]);

    await report('web-01', { hostname: 'web-01.example.com', cpus: 8, os: { id: 'debian', versionId: '11' } });
    await report('web-02', { hostname: 'web-02.example.com', cpus: 8 });
    await report('db-01', { hostname: 'db-01.example.com', cpus: 16 });
    // Totals over the whole window: a test that runs across the turn of an hour or a day still adds up.
    const totals = async (query = ''): Promise<{ opened: number; resolved: number; open: number }> => {
      const items = (await call('GET', `/api/v1/drift/history${query}`, tokens.viewer)).body.items as Array<{ opened: number; resolved: number; open: number }>;
      return { opened: items.reduce((n, b) => n + b.opened, 0), resolved: items.reduce((n, b) => n + b.resolved, 0), open: items.at(-1)!.open };
    };
    expect(await eventually(() => totals(), (t) => t.opened === 4)).toEqual({ opened: 4, resolved: 0, open: 4 });

    // web-02 converges; one of web-01's items is ignored (still open in the history, counted apart in the summary).
    await report('web-02', { hostname: 'web-02.example.com', cpus: 2 });
    expect(await eventually(() => totals(), (t) => t.resolved === 1)).toEqual({ opened: 4, resolved: 1, open: 3 });
    expect((await call('POST', '/api/v1/drift/ignore', tokens.editor, { asset: 'host/web-01', field: '/spec/os', reason: 'upgrade next week' })).status).toBe(200);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    expect(await totals(`?bucket=day&since=${yesterday}`)).toEqual({ opened: 4, resolved: 1, open: 3 });

    const summary = await call('GET', '/api/v1/drift/summary', tokens.viewer);
    expect(summary.status).toBe(200);
    expect(summary.body.commit).toBe(server.drift.commit!.sha);
    expect(summary.body.items).toEqual([
      { env: 'prod', kind: 'Host', assets: ['host/web-01'], open: 1, ignored: 1 },
      { env: 'staging', kind: 'Host', assets: ['host/db-01'], open: 1, ignored: 0 },
    ]);
  });

  it('refuses bad parameters and callers without a token', async () => {
    const bad = await call('GET', '/api/v1/drift/history?since=yesterday', tokens.viewer);
    expect([bad.status, bad.body.error.code, bad.body.error.message]).toEqual([400, 'E_BAD_PARAM', "parameter 'since' must be an ISO 8601 time, not 'yesterday'"]);
    expect((await call('GET', '/api/v1/drift/history?bucket=week', tokens.viewer)).body.error.code).toBe('E_BAD_PARAM');
    expect((await call('GET', '/api/v1/drift/history?since=2000-01-01', tokens.viewer)).body.error.message).toMatch(/asks for \d+ buckets \(bucket=hour\); at most 1000/);
    expect((await call('GET', '/api/v1/drift/summary?env=prod', tokens.viewer)).body.error.code).toBe('E_BAD_PARAM');
    expect((await call('GET', '/api/v1/drift/history', undefined)).status).toBe(401);
    expect((await call('GET', '/api/v1/drift/summary', undefined)).status).toBe(401);
  });
});
