import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { startServer, type RunningServer } from '../server.js';
import { callJson } from '../testing/callJson.js';
import { driftAtHead, eventually } from '../testing/eventually.js';
import { hostYaml, makeTestRepo, type TestRepo } from '../testing/gitRepo.js';
import { Receiver } from '../webhooks/testReceiver.js';
import { DRIFT_ALERT_TYPES } from './DriftAlerts.js';

const HOSTS = Array.from({ length: 20 }, (_, i) => `load-${String(i).padStart(2, '0')}`);

/**
 * The ingest thread writes ingest.db all the time under load; the main thread's writers there
 * (drift alerts, drift actions) must still get the write lock. A transaction that read first and
 * wrote next could not (SQLite refuses to upgrade a stale read snapshot: "database is locked"),
 * so they begin immediate.
 */
describe('main-thread writers of ingest.db while the ingest thread applies reports', () => {
  let source: TestRepo;
  let data: string;
  let server: RunningServer;
  const receiver = new Receiver();
  const logs: string[] = [];

  beforeAll(async () => {
    source = makeTestRepo('estate-contention-');
    source.commit('hosts', Object.fromEntries(HOSTS.map((host, i) => [`assets/hosts/${host}.yaml`, hostYaml(host, { ip: `10.0.1.${i + 1}`, extra: '  packages: {nginx: "1.22"}\n' })])));
    data = mkdtempSync(join(tmpdir(), 'estate-contention-data-'));
    await receiver.listen();
    server = await startServer({
      dataDir: data,
      importFrom: source.dir,
      port: 0,
      pollMs: 100,
      alerts: { pollMs: 10, groupWindowMs: 20, maxPerMinute: 100_000 },
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
    server.webhooks.create({ url: receiver.url, secret: 'contention-secret', events: ['drift.*'] });
    await driftAtHead(server);
  });
  afterAll(async () => {
    await server.close();
    await receiver.close();
    rmSync(data, { recursive: true, force: true });
    source.remove();
  });

  it('alerts on drift and takes drift actions during a stream of reports, with no lock error', async () => {
    const token = (await issueToken(server.store, { name: 'fleet', role: 'agent', scopes: { hosts: HOSTS } })).token;
    const admin = (await issueToken(server.store, { name: 'root', role: 'admin' })).token;
    let id = 0;
    const post = (host: string, seq: number): Promise<{ status: number }> =>
      callJson('POST', `${server.url}/api/v1/reports`, token, {
        reportId: `01JDQ3${String(++id).padStart(20, '0')}`,
        host,
        seq,
        collectedAt: new Date().toISOString(),
        // Every other report drifts: drift opens and resolves all the time.
        facts: { hostname: host, packages: { nginx: seq % 2 === 0 ? `1.${seq}` : '1.22' } },
      });
    let ignored = 0;
    for (let seq = 1; seq <= 40; seq++) {
      const answers = await Promise.all(HOSTS.map((host) => post(host, seq)));
      expect(answers.every((a) => a.status === 202)).toBe(true);
      // A drift action in the main thread, while the thread applies what was just posted.
      if (seq % 10 === 0) {
        const items = (await callJson('GET', `${server.url}/api/v1/drift?state=open`, admin)).body.items as Array<{ asset: string; field: string }>;
        if (items[0]) {
          const answer = await callJson('POST', `${server.url}/api/v1/drift/ignore`, admin, { asset: items[0].asset, field: items[0].field, reason: 'load test' });
          expect(answer.status).toBe(200);
          ignored++;
        }
      }
    }
    expect(ignored).toBeGreaterThan(0);
    const db = new Database(join(data, 'ingest.db'), { readonly: true });
    try {
      // The alerter read every drift event it alerts on: its cursor reached the last of them.
      await eventually(
        () => {
          const last = (db.prepare('SELECT MAX(id) AS id FROM drift_events WHERE type IN (SELECT value FROM json_each(?))').get(JSON.stringify(DRIFT_ALERT_TYPES)) as { id: number }).id;
          const cursor = Number((db.prepare(`SELECT value FROM drift_alert_state WHERE name = 'cursor'`).get() as { value: string }).value);
          return { last, cursor };
        },
        ({ last, cursor }) => cursor >= last,
      );
    } finally {
      db.close();
    }
    await eventually(
      () => receiver.requests.length,
      (n) => n > 0,
    );
    expect(logs.filter((line) => /locked|busy/i.test(line))).toEqual([]);
  });
});
