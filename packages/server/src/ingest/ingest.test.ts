import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { startServer, type RunningServer } from '../server.js';
import { driftAtHead, eventually } from '../testing/eventually.js';
import { hostYaml, makeTestRepo, type TestRepo } from '../testing/gitRepo.js';
import type { IngestOptions } from './IngestService.js';
import type { Report } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type JsonBody = any;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let ulidCounter = 0;
/** A distinct, well-formed ULID per call. */
function ulid(): string {
  let n = ++ulidCounter;
  let tail = '';
  for (let i = 0; i < 16; i++, n = Math.floor(n / 32)) tail = CROCKFORD[n % 32] + tail;
  return '01JDQ00000' + tail;
}

function report(host: string, seq: number, facts: Record<string, unknown> = {}): Report {
  return { reportId: ulid(), host, seq, collectedAt: new Date().toISOString(), facts: { hostname: host, cpus: 2, packages: { nginx: `1.${seq}` }, ...facts } };
}

interface Harness {
  server: RunningServer;
  data: string;
  agent: string;
  admin: string;
  viewer: string;
  post(path: string, token: string, body: unknown, raw?: boolean): Promise<{ status: number; body: JsonBody; headers: Headers }>;
  get(path: string, token: string): Promise<{ status: number; body: JsonBody }>;
}

let source: TestRepo;
beforeAll(() => {
  source = makeTestRepo('estate-ingest-');
  source.commit('hosts', { 'assets/hosts/web-01.yaml': hostYaml('web-01'), 'assets/hosts/web-02.yaml': hostYaml('web-02') });
});
afterAll(() => source.remove());

const started: Array<{ server: RunningServer; data: string }> = [];
afterEach(async () => {
  for (const { server, data } of started.splice(0)) {
    await server.close();
    rmSync(data, { recursive: true, force: true });
  }
});

/** A server over a real repo and data dir (real SQLite files), with an agent token for web-01. */
async function start(ingest: Partial<IngestOptions> = {}, data = mkdtempSync(join(tmpdir(), 'estate-ingest-data-'))): Promise<Harness> {
  // Extra processors run only in-process; otherwise reports go through the ingest thread.
  const server = await startServer({ dataDir: data, importFrom: source.dir, port: 0, pollMs: 100, ingest, ingestThread: ingest.processors === undefined });
  started.push({ server, data });
  // Reports applied before the drift engine has main's hosts would be compared with an older commit's.
  await driftAtHead(server);
  return harness(server, data);
}

async function harness(server: RunningServer, data: string): Promise<Harness> {
  const agent = (await issueToken(server.store, { name: 'agent-web-01', role: 'agent', scopes: { hosts: ['web-01'] } })).token;
  const admin = (await issueToken(server.store, { name: 'root', role: 'admin' })).token;
  const viewer = (await issueToken(server.store, { name: 'vic', role: 'viewer' })).token;
  return {
    server,
    data,
    agent,
    admin,
    viewer,
    async post(path, token, body, raw = false) {
      const response = await fetch(server.url + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: raw ? (body as string) : JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as JsonBody) : undefined, headers: response.headers };
    },
    async get(path, token) {
      const response = await fetch(server.url + path, { headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, body: (await response.json()) as JsonBody };
    },
  };
}

/** The rows of the ingest database's queue, read from the file itself. */
function queueRows(data: string): Array<{ report_id: string; state: string }> {
  const db = new Database(join(data, 'ingest.db'), { readonly: true });
  try {
    return db.prepare('SELECT report_id, state FROM ingest_reports ORDER BY id').all() as Array<{ report_id: string; state: string }>;
  } finally {
    db.close();
  }
}

describe('report ingestion', () => {
  it('turns an accepted report into the host observation; a duplicate reportId is stored once', async () => {
    const h = await start();
    const first = report('web-01', 1, { ip: ['10.0.0.1'], files: { '/etc/motd': { sha256: 'a'.repeat(64), mode: '0644', owner: 'root', size: 2, content: 'hi' } } });
    const answer = await h.post('/api/v1/reports', h.agent, first);
    expect(answer).toMatchObject({ status: 202, body: { reportId: first.reportId, queued: true } });
    const observed = await eventually(
      () => h.get('/api/v1/hosts/web-01/observation', h.viewer),
      (r) => r.status === 200,
    );
    // A viewer sees the managed file without its content; an admin sees it whole.
    expect(observed).toMatchObject({ status: 200, body: { host: 'web-01', seq: 1, reportId: first.reportId, collectedAt: first.collectedAt, facts: { ip: ['10.0.0.1'] } } });
    expect(observed.body.facts.files).toEqual({ '/etc/motd': { sha256: 'a'.repeat(64), mode: '0644', owner: 'root', size: 2, contentRedacted: true } });
    expect((await h.get('/api/v1/hosts/web-01/observation', h.admin)).body.facts).toEqual(first.facts);

    const again = await h.post('/api/v1/reports', h.agent, first);
    expect(again).toMatchObject({ status: 202, body: { reportId: first.reportId, duplicate: true } });
    expect(queueRows(h.data).filter((row) => row.report_id === first.reportId)).toHaveLength(1);
  });

  it('never lets an older seq overwrite newer state, yet consumes it', async () => {
    const h = await start();
    const newer = report('web-01', 5);
    expect((await h.post('/api/v1/reports', h.agent, newer)).status).toBe(202);
    await eventually(
      () => h.get('/api/v1/hosts/web-01/observation', h.viewer),
      (r) => r.body.seq === 5,
    );
    const older = report('web-01', 3);
    expect((await h.post('/api/v1/reports', h.agent, older)).status).toBe(202);
    const rows = await eventually(
      async () => queueRows(h.data),
      (all) => all.every((row) => row.state === 'done'),
    );
    expect(rows.map((row) => row.state)).toEqual(['done', 'done']);
    expect((await h.get('/api/v1/hosts/web-01/observation', h.viewer)).body).toMatchObject({ seq: 5, reportId: newer.reportId, facts: { packages: { nginx: '1.5' } } });
  });

  it('refuses hostile reports with a 4xx and stores nothing', async () => {
    const h = await start({ maxFacts: 100 });
    const wrongHost = await h.post('/api/v1/reports', h.agent, report('web-02', 1));
    expect(wrongHost).toMatchObject({ status: 403, body: { error: { code: 'E_FORBIDDEN', details: { host: 'web-02', hosts: ['web-01'] } } } });
    const malformed = await h.post('/api/v1/reports', h.agent, '{"reportId": ', true);
    expect(malformed).toMatchObject({ status: 400, body: { error: { code: 'E_BAD_REQUEST' } } });
    const badSeq = await h.post('/api/v1/reports', h.agent, { ...report('web-01', 1), seq: 0 });
    expect(badSeq).toMatchObject({ status: 400, body: { error: { code: 'E_BAD_REPORT', details: { pointer: '/seq' } } } });
    const badId = await h.post('/api/v1/reports', h.agent, { ...report('web-01', 1), reportId: 'not-a-ulid' });
    expect(badId).toMatchObject({ status: 400, body: { error: { code: 'E_BAD_REPORT', details: { pointer: '/reportId' } } } });
    const unknownFact = await h.post('/api/v1/reports', h.agent, report('web-01', 1, { secrets: 'x' }));
    expect(unknownFact).toMatchObject({ status: 400, body: { error: { code: 'E_BAD_REPORT', details: { pointer: '/facts/secrets' } } } });
    const packages = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`pkg-${i}`, '1.0']));
    const tooMany = await h.post('/api/v1/reports', h.agent, report('web-01', 1, { packages }));
    expect(tooMany).toMatchObject({ status: 422, body: { error: { code: 'E_REPORT_TOO_BIG', details: { limit: 100 } } } });
    const huge = await h.post('/api/v1/reports', h.agent, report('web-01', 1, { kernel: 'x'.repeat(2 * 1024 * 1024) }));
    expect(huge).toMatchObject({ status: 413, body: { error: { code: 'E_TOO_LARGE' } } });
    expect(queueRows(h.data)).toEqual([]);
    expect((await h.get('/api/v1/hosts/web-01/observation', h.viewer)).body).toMatchObject({ error: { code: 'E_OBSERVATION_NOT_FOUND' } });
  });

  it('gives agent tokens the report route only, and humans never the report route', async () => {
    const h = await start();
    expect(await h.get('/api/v1/hosts/web-01/observation', h.agent)).toMatchObject({ status: 403, body: { error: { code: 'E_FORBIDDEN' } } });
    expect(await h.get('/api/v1/assets', h.agent)).toMatchObject({ status: 403, body: { error: { code: 'E_FORBIDDEN' } } });
    expect(await h.post('/api/v1/changes', h.agent, { title: 'x', operations: [] })).toMatchObject({ status: 403, body: { error: { code: 'E_FORBIDDEN' } } });
    expect(await h.post('/api/v1/reports', h.admin, report('web-01', 1))).toMatchObject({ status: 403, body: { error: { code: 'E_FORBIDDEN', details: { required: 'agent', role: 'admin' } } } });
  });

  it('answers 429 with Retry-After once the backlog is at its bound', async () => {
    const h = await start({ consume: false, maxBacklog: 2, retryAfterSeconds: 7 });
    expect((await h.post('/api/v1/reports', h.agent, report('web-01', 1))).status).toBe(202);
    expect((await h.post('/api/v1/reports', h.agent, report('web-01', 2))).status).toBe(202);
    const refused = await h.post('/api/v1/reports', h.agent, report('web-01', 3));
    expect(refused).toMatchObject({ status: 429, body: { error: { code: 'E_BACKLOG_FULL', details: { limit: 2 } } } });
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(queueRows(h.data)).toHaveLength(2);
  });

  it('shares commits among concurrent reports, answers each, and applies the newest', async () => {
    const h = await start({ commitWindowMs: 20 });
    const reports = Array.from({ length: 20 }, (_, i) => report('web-01', i + 1));
    const answers = await Promise.all(reports.map((r) => h.post('/api/v1/reports', h.agent, r)));
    expect(answers.map((a) => a.status)).toEqual(reports.map(() => 202));
    const observed = await eventually(
      () => h.get('/api/v1/hosts/web-01/observation', h.viewer),
      (r) => r.body.seq === 20,
    );
    expect(observed.body.reportId).toBe(reports[19]!.reportId);
    const metrics = await (await fetch(`${h.server.url}/metrics`, { headers: { authorization: `Bearer ${h.admin}` } })).text();
    expect(metrics).toMatch(/^estate_ingest_reports_received_total 20$/m);
    expect(metrics).toMatch(/^estate_ingest_backlog 0$/m);
    const commits = Number(/^estate_ingest_commits_total (\d+)$/m.exec(metrics)?.[1]);
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBeLessThan(20);
  });

  it('sets a failing report aside as a dead letter, and replays it', async () => {
    let failing = true;
    const h = await start({
      maxAttempts: 3,
      processors: [
        (r) => {
          if (failing && r.seq === 7) throw new Error('drift engine unavailable');
        },
      ],
    });
    const bad = report('web-01', 7);
    expect((await h.post('/api/v1/reports', h.agent, bad)).status).toBe(202);
    const letters = await eventually(
      () => h.get('/api/v1/reports/dead-letters', h.admin),
      (r) => r.body.items.length === 1,
    );
    expect(letters.body.items).toEqual([{ id: expect.any(Number), reportId: bad.reportId, host: 'web-01', seq: 7, reason: 'drift engine unavailable', attempts: 3, failedAt: expect.any(String) }]);
    // The failed attempts were rolled back: no observation.
    expect((await h.get('/api/v1/hosts/web-01/observation', h.viewer)).status).toBe(404);
    expect((await h.get('/api/v1/reports/dead-letters', h.viewer)).status).toBe(403);

    failing = false;
    const replayed = await h.post(`/api/v1/reports/dead-letters/${letters.body.items[0].id}/replay`, h.admin, undefined);
    expect(replayed).toMatchObject({ status: 202, body: { reportId: bad.reportId, queued: true } });
    await eventually(
      () => h.get('/api/v1/hosts/web-01/observation', h.viewer),
      (r) => r.status === 200,
    );
    expect((await h.get('/api/v1/reports/dead-letters', h.admin)).body.items).toEqual([]);
    expect((await h.post('/api/v1/reports/dead-letters/999/replay', h.admin, undefined)).body).toMatchObject({ error: { code: 'E_DEAD_LETTER_NOT_FOUND' } });
  });

  it('applies a host in seq order even when one of its reports fails once in a batch', async () => {
    let failOnce = true;
    const applied: string[] = [];
    const h = await start({
      commitWindowMs: 50,
      processors: [
        (r, { stale }) => {
          if (failOnce && r.seq === 1) {
            failOnce = false;
            throw new Error('busy');
          }
          applied.push(`${r.seq}${stale ? ' stale' : ''}`);
        },
      ],
    });
    const answers = await Promise.all([report('web-01', 1), report('web-01', 2)].map((r) => h.post('/api/v1/reports', h.agent, r)));
    expect(answers.map((a) => a.status)).toEqual([202, 202]);
    await eventually(
      async () => applied.length,
      (n) => n === 2,
    );
    expect(applied).toEqual(['1', '2']);
    expect((await h.get('/api/v1/hosts/web-01/observation', h.viewer)).body.seq).toBe(2);
  });

  it('consumes a report queued before a restart exactly once', async () => {
    const data = mkdtempSync(join(tmpdir(), 'estate-ingest-data-'));
    const first = await start({ consume: false }, data);
    const queued = report('web-01', 1);
    expect((await first.post('/api/v1/reports', first.agent, queued)).status).toBe(202);
    await first.server.close();
    started.splice(0);
    expect(queueRows(data)).toEqual([{ report_id: queued.reportId, state: 'queued' }]);

    const applied: string[] = [];
    const server = await startServer({ dataDir: data, port: 0, pollMs: 100, ingestThread: false, ingest: { processors: [(r) => applied.push(r.reportId)] } });
    started.push({ server, data });
    const second = await harness(server, data);
    await eventually(
      () => second.get('/api/v1/hosts/web-01/observation', second.viewer),
      (r) => r.status === 200,
    );
    expect((await second.post('/api/v1/reports', second.agent, queued)).body).toMatchObject({ duplicate: true });
    await server.close();
    started.splice(0);
    const third = await startServer({ dataDir: data, port: 0, pollMs: 100, ingestThread: false, ingest: { processors: [(r) => applied.push(r.reportId)] } });
    started.push({ server: third, data });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(applied).toEqual([queued.reportId]);
    expect(queueRows(data)).toEqual([{ report_id: queued.reportId, state: 'done' }]);
  });

  it('drains the queue when it stops', async () => {
    const h = await start({ commitWindowMs: 1 });
    const last = report('web-01', 3);
    await Promise.all([report('web-01', 1), report('web-01', 2), last].map((r) => h.post('/api/v1/reports', h.agent, r)));
    await h.server.close();
    started.splice(0);
    expect(queueRows(h.data).map((row) => row.state)).toEqual(['done', 'done', 'done']);
    rmSync(h.data, { recursive: true, force: true });
  });
});

/** Rows of an ingest.db table, read from the file itself. */
function tableRows(data: string, table: string): unknown[] {
  const db = new Database(join(data, 'ingest.db'), { readonly: true });
  try {
    return db.prepare(`SELECT * FROM ${table}`).all();
  } finally {
    db.close();
  }
}

async function metric(h: Harness, name: string): Promise<number> {
  const text = await (await fetch(`${h.server.url}/metrics`, { headers: { authorization: `Bearer ${h.admin}` } })).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}

describe('report ingestion: hostile agents at the default limits', () => {
  it('refuses 100k facts (422 under the body limit, 413 over it, announced or chunked) and stores nothing anywhere', async () => {
    const h = await start();
    // 100k addresses fit in 1 MiB: the fact count refuses them.
    const ips = Array.from({ length: 100_000 }, () => 'a');
    const manyIps = await h.post('/api/v1/reports', h.agent, report('web-01', 1, { ip: ips }));
    expect(manyIps).toMatchObject({ status: 422, body: { error: { code: 'E_REPORT_TOO_BIG', details: { facts: 100_003, limit: 20_000 } } } });
    // 100k packages do not: the body limit refuses them before they are read.
    const packages = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`package-${i}`, '1.0.0-1']));
    const manyPackages = await h.post('/api/v1/reports', h.agent, report('web-01', 1, { packages }));
    expect(manyPackages).toMatchObject({ status: 413, body: { error: { code: 'E_TOO_LARGE' } } });
    const body = JSON.stringify(report('web-01', 1, { packages }));
    const chunked = await fetch(h.server.url + '/api/v1/reports', {
      method: 'POST',
      headers: { authorization: `Bearer ${h.agent}`, 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < body.length; i += 64 * 1024) controller.enqueue(new TextEncoder().encode(body.slice(i, i + 64 * 1024)));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as JsonBody).error.code).toBe('E_TOO_LARGE');
    // A real host's 5,000 packages pass.
    const real = report('web-01', 2, { packages: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`package-${i}`, '1.0.0-1'])) });
    expect((await h.post('/api/v1/reports', h.agent, real)).status).toBe(202);
    await eventually(
      async () => queueRows(h.data),
      (rows) => rows.length === 1 && rows[0]!.state === 'done',
    );
    expect(queueRows(h.data)).toEqual([{ report_id: real.reportId, state: 'done' }]);
    expect(tableRows(h.data, 'host_observations')).toEqual([expect.objectContaining({ host: 'web-01', report_id: real.reportId })]);
    expect(tableRows(h.data, 'ingest_dead_letters')).toEqual([]);
    for (const table of ['drift_unmanaged', 'drift_reverts']) expect(tableRows(h.data, table)).toEqual([]);
    for (const row of tableRows(h.data, 'drift_events') as Array<{ report_id: string | null }>) expect(row.report_id).toBe(real.reportId);
  });

  it('stores nothing for a refused report, in the queue, observations and drift', async () => {
    const h = await start();
    const refused = [
      await h.post('/api/v1/reports', h.agent, report('web-02', 1)),
      await h.post('/api/v1/reports', h.agent, '{"reportId": ', true),
      await h.post('/api/v1/reports', h.agent, report('web-01', 1, { kernel: 'x'.repeat(2 * 1024 * 1024) })),
      await h.post('/api/v1/reports', h.agent, report('web-01', 1, { ip: Array.from({ length: 100_000 }, () => 'a') })),
    ];
    expect(refused.map((r) => [r.status, r.body.error.code])).toEqual([
      [403, 'E_FORBIDDEN'],
      [400, 'E_BAD_REQUEST'],
      [413, 'E_TOO_LARGE'],
      [422, 'E_REPORT_TOO_BIG'],
    ]);
    for (const table of ['ingest_reports', 'host_observations', 'ingest_dead_letters', 'drift_items', 'drift_events', 'drift_unmanaged']) expect(tableRows(h.data, table)).toEqual([]);
  });
});

describe('report ingestion: retention, seq resets, shutdown, damaged rows', () => {
  it('forgets consumed report ids after the dedup window; a copy sent later is consumed as stale', async () => {
    const h = await start({ dedupWindowMs: 1000 });
    const first = report('web-01', 1);
    expect((await h.post('/api/v1/reports', h.agent, first)).status).toBe(202);
    await eventually(
      async () => queueRows(h.data),
      (rows) => rows[0]?.state === 'done',
    );
    expect(await h.server.ingest.prune(Date.now())).toBe(0); // still inside the window
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await h.server.ingest.prune(Date.now())).toBe(1);
    expect(queueRows(h.data)).toEqual([]);
    expect(await metric(h, 'estate_ingest_reports_pruned_total')).toBe(1);

    const newer = report('web-01', 2);
    expect((await h.post('/api/v1/reports', h.agent, newer)).status).toBe(202);
    await eventually(
      () => h.get('/api/v1/hosts/web-01/observation', h.viewer),
      (r) => r.body.seq === 2,
    );
    // Its id forgotten, the old report is queued again; its seq keeps it from overwriting newer state.
    expect((await h.post('/api/v1/reports', h.agent, first)).body).toEqual({ reportId: first.reportId, queued: true });
    await eventually(
      async () => queueRows(h.data),
      (rows) => rows.every((row) => row.state === 'done'),
    );
    expect((await h.get('/api/v1/hosts/web-01/observation', h.viewer)).body).toMatchObject({ seq: 2, reportId: newer.reportId });
  });

  it('applies a seq far below the applied one but collected after it as a reset, logged and counted', async () => {
    const logs: string[] = [];
    const h = await start({ log: (level, message) => logs.push(`${level}: ${message}`) });
    const at = (offsetMs: number): string => new Date(Date.now() + offsetMs).toISOString();
    const ten = { ...report('web-01', 10), collectedAt: at(0) };
    expect((await h.post('/api/v1/reports', h.agent, ten)).status).toBe(202);
    await eventually(
      () => h.get('/api/v1/hosts/web-01/observation', h.viewer),
      (r) => r.body.seq === 10,
    );
    // Overtaken (collected before the applied one): stale, even far below.
    const overtaken = { ...report('web-01', 2), collectedAt: at(-60_000) };
    // Just below and collected later: a report sent out of order by a clock that moved, not a reset.
    const close = { ...report('web-01', 9), collectedAt: at(60_000) };
    for (const r of [overtaken, close]) expect((await h.post('/api/v1/reports', h.agent, r)).status).toBe(202);
    await eventually(
      async () => queueRows(h.data),
      (rows) => rows.every((row) => row.state === 'done'),
    );
    expect((await h.get('/api/v1/hosts/web-01/observation', h.viewer)).body).toMatchObject({ seq: 10, reportId: ten.reportId });
    expect(await metric(h, 'estate_ingest_seq_resets_total')).toBe(0);

    const restarted = { ...report('web-01', 1), collectedAt: at(120_000) };
    expect((await h.post('/api/v1/reports', h.agent, restarted)).status).toBe(202);
    await eventually(
      () => h.get('/api/v1/hosts/web-01/observation', h.viewer),
      (r) => r.body.seq === 1,
    );
    expect((await h.get('/api/v1/hosts/web-01/observation', h.viewer)).body).toMatchObject({ seq: 1, reportId: restarted.reportId });
    expect(await metric(h, 'estate_ingest_seq_resets_total')).toBe(1);
    expect(logs).toContainEqual(expect.stringMatching(/^warn: host web-01 restarted its seq at 1 .*applied as a reset$/));
    const next = { ...report('web-01', 2), collectedAt: at(180_000) };
    expect((await h.post('/api/v1/reports', h.agent, next)).status).toBe(202);
    await eventually(
      () => h.get('/api/v1/hosts/web-01/observation', h.viewer),
      (r) => r.body.seq === 2,
    );
    expect((await h.get('/api/v1/hosts/web-01/observation', h.viewer)).body.reportId).toBe(next.reportId);
  });

  it('stops draining at shutdownDrainMs; what is left stays queued and is applied once at the next start', async () => {
    const data = mkdtempSync(join(tmpdir(), 'estate-ingest-data-'));
    const applied: string[] = [];
    /** A slow processor: each report takes 100 ms (30 take 3 s: more than answering and closing, however busy the machine). */
    const slow = (r: Report): void => {
      const until = performance.now() + 100;
      while (performance.now() < until);
      applied.push(r.reportId);
    };
    const h = await start({ shutdownDrainMs: 1, batchMaxMs: 1, commitWindowMs: 20, processors: [slow] }, data);
    const reports = Array.from({ length: 30 }, (_, i) => report('web-01', i + 1));
    const answers = await Promise.all(reports.map((r) => h.post('/api/v1/reports', h.agent, r)));
    expect(answers.map((a) => a.status)).toEqual(reports.map(() => 202));
    await h.server.close();
    started.splice(0);
    const left = queueRows(data).filter((row) => row.state === 'queued');
    expect(left.length).toBeGreaterThan(0);
    expect(applied.length + left.length).toBe(30);

    const server = await startServer({ dataDir: data, port: 0, pollMs: 100, ingestThread: false, ingest: { processors: [(r) => applied.push(r.reportId)] } });
    started.push({ server, data });
    const again = await harness(server, data);
    await eventually(
      () => again.get('/api/v1/hosts/web-01/observation', again.viewer),
      (r) => r.body.seq === 30,
    );
    expect([...applied].sort()).toEqual(reports.map((r) => r.reportId).sort());
  });

  it('dead-letters a queued report whose stored body does not parse at once, and goes on with the others', async () => {
    const data = mkdtempSync(join(tmpdir(), 'estate-ingest-data-'));
    const first = await start({ consume: false }, data);
    const damaged = report('web-01', 1);
    const good = report('web-01', 2);
    for (const r of [damaged, good]) expect((await first.post('/api/v1/reports', first.agent, r)).status).toBe(202);
    await first.server.close();
    started.splice(0);
    const db = new Database(join(data, 'ingest.db'));
    db.prepare(`UPDATE ingest_reports SET body = '{"reportId": "01J' WHERE report_id = ?`).run(damaged.reportId);
    db.close();

    const server = await startServer({ dataDir: data, port: 0, pollMs: 100 });
    started.push({ server, data });
    const h = await harness(server, data);
    await eventually(
      () => h.get('/api/v1/hosts/web-01/observation', h.viewer),
      (r) => r.body.seq === 2,
    );
    const letters = (await h.get('/api/v1/reports/dead-letters', h.admin)).body;
    expect(letters).toEqual({ total: 1, items: [{ id: 1, reportId: damaged.reportId, host: 'web-01', seq: 1, reason: 'the stored report does not parse (damaged row)', attempts: 1, failedAt: expect.any(String) }] });
    expect(queueRows(data)).toEqual([
      { report_id: damaged.reportId, state: 'dead' },
      { report_id: good.reportId, state: 'done' },
    ]);
    expect(await metric(h, 'estate_ingest_backlog')).toBe(0);
  });
});

describe('report ingestion under overload', () => {
  it('sheds reports with 429 while the event loop is saturated, and stores none of them', async () => {
    const h = await start({ shedLoopDelayMs: 20, retryAfterSeconds: 3 });
    const accepted: Report[] = [];
    let saturated: { status: number; body: JsonBody; headers: Headers } | undefined;
    let seq = 0;
    for (let round = 0; round < 20 && !saturated; round++) {
      const reports = Array.from({ length: 60 }, () => report('web-01', ++seq));
      const answers = reports.map((r) => h.post('/api/v1/reports', h.agent, r));
      // The server shares this process: a busy loop here is a saturated server there.
      const until = performance.now() + 300;
      while (performance.now() < until);
      for (const [i, answer] of (await Promise.all(answers)).entries()) {
        if (answer.status === 202) accepted.push(reports[i]!);
        else {
          expect(answer).toMatchObject({ status: 429, body: { error: { code: 'E_BACKLOG_FULL', details: { reason: 'saturated', retryAfterSeconds: 3 } } } });
          expect(answer.headers.get('retry-after')).toBe('3');
          saturated = answer;
        }
      }
    }
    expect(saturated).toBeDefined();
    expect(await metric(h, 'estate_ingest_reports_shed_total')).toBeGreaterThan(0);
    // Once the load is gone, reports are taken again; every accepted one is applied, no refused one stored.
    const after = report('web-01', ++seq);
    const answer = await eventually(
      () => h.post('/api/v1/reports', h.agent, after),
      (r) => r.status === 202,
    );
    expect(answer.status).toBe(202);
    accepted.push(after);
    const rows = await eventually(
      async () => queueRows(h.data),
      (all) => all.length === accepted.length && all.every((row) => row.state === 'done'),
    );
    expect(rows.map((row) => row.report_id).sort()).toEqual(accepted.map((r) => r.reportId).sort());
  });
});
