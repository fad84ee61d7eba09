import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { startServer, type RunningServer } from '../server.js';
import { callJson } from '../testing/callJson.js';
import { driftAtHead, eventually } from '../testing/eventually.js';
import { hostYaml, makeTestRepo, type TestRepo } from '../testing/gitRepo.js';

const STOP_MODULE = new URL('../testing/stopIngestThread.mjs', import.meta.url).href;

let ids = 0;
const report = (host: string, seq: number): Record<string, unknown> => ({
  reportId: `01JDQ4${String(++ids).padStart(20, '0')}`,
  host,
  seq,
  collectedAt: new Date().toISOString(),
  facts: { hostname: host },
});

describe('the ingest thread stopping', () => {
  let source: TestRepo;
  let data: string;
  const servers: RunningServer[] = [];
  const logs: string[] = [];

  beforeAll(() => {
    source = makeTestRepo('estate-thread-');
    source.commit('hosts', { 'assets/hosts/web-01.yaml': hostYaml('web-01'), 'assets/hosts/crash-01.yaml': hostYaml('crash-01', { ip: '10.0.0.9' }) });
    data = mkdtempSync(join(tmpdir(), 'estate-thread-data-'));
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    rmSync(data, { recursive: true, force: true });
    source.remove();
  });

  it('refuses reports with 503 and says so in /metrics; after a restart what was acknowledged is applied', async () => {
    const server = await startServer({ dataDir: data, importFrom: source.dir, port: 0, pollMs: 100, ingestProcessorModules: [STOP_MODULE], log: (level, message) => logs.push(`${level}: ${message}`) });
    servers.push(server);
    await driftAtHead(server);
    const agent = (await issueToken(server.store, { name: 'fleet', role: 'agent', scopes: { hosts: ['web-01', 'crash-01'] } })).token;
    const admin = (await issueToken(server.store, { name: 'root', role: 'admin' })).token;
    expect((await callJson('POST', `${server.url}/api/v1/reports`, agent, report('web-01', 1))).status).toBe(202);

    // The thread ends while applying this one: it is acknowledged or refused, depending on which came first.
    const crash = report('crash-01', 1);
    const answer = await callJson('POST', `${server.url}/api/v1/reports`, agent, crash);
    expect([202, 503]).toContain(answer.status);
    const refused = await eventually(
      () => callJson('POST', `${server.url}/api/v1/reports`, agent, report('web-01', 2)),
      (r) => r.status === 503,
    );
    expect(refused.body.error).toMatchObject({ code: 'E_NOT_READY', message: expect.stringContaining('ingest thread') });
    const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^estate_ingest_thread_up 0$/m);
    expect(logs).toContainEqual(expect.stringMatching(/^error: the ingest thread stopped/));
    await server.close();
    servers.pop();

    // Without the module, the queue left on disk is applied: the acknowledged crash report too.
    const again = await startServer({ dataDir: data, port: 0, pollMs: 100 });
    servers.push(again);
    const viewer = (await issueToken(again.store, { name: 'vic', role: 'viewer' })).token;
    const observed = await eventually(
      () => callJson('GET', `${again.url}/api/v1/hosts/crash-01/observation`, viewer),
      (r) => answer.status !== 202 || r.status === 200,
    );
    if (answer.status === 202) expect(observed.body).toMatchObject({ reportId: crash['reportId'], seq: 1 });
    const text = await (await fetch(`${again.url}/metrics`, { headers: { authorization: `Bearer ${viewer}` } })).text();
    expect(text).toMatch(/^estate_ingest_thread_up 1$/m);
  });
});
