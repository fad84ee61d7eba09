import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { startServer, type RunningServer } from '../server.js';
import { callJson } from '../testing/callJson.js';
import { hostYaml, makeTestRepo, type TestRepo } from '../testing/gitRepo.js';
import { driftAtHead, eventually } from '../testing/eventually.js';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

const MOTD = 'managed by estate\n';
const IGNORE = `apiVersion: estate/v1
kind: DriftIgnore
metadata: {name: noise}
spec:
  rules:
    - {kind: Host, selector: "env=prod", fields: ["/spec/cpus"], reason: cpu hotplug in prod}
---
apiVersion: estate/v1
kind: DriftMode
metadata: {name: rollout}
spec:
  rules:
    - {mode: shadow, match: {envs: [prod], kinds: [Host]}}
    - {mode: enforce, match: {selector: "role=db"}}
`;
const extra = `  cpus: 4
  packages: {nginx: ">=1.22", curl: "*"}
  files:
    - {path: /etc/motd, content: ${JSON.stringify(MOTD)}, mode: "0644", owner: root}
  services: [nginx]
`;

let seq = 0;
let ids = 0;
function report(host: string, facts: Record<string, unknown>): Record<string, unknown> {
  seq++;
  return { reportId: `01JDQ1${String(++ids).padStart(20, '0')}`, host, seq, collectedAt: new Date().toISOString(), facts };
}

const converged = {
  hostname: 'web-01.example.com',
  ip: ['10.0.0.1'],
  os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12' },
  cpus: 2,
  packages: { nginx: '1.22.1-9', curl: '7.88.1-10', vim: '9.0' },
  files: { '/etc/motd': { sha256: sha(MOTD), mode: '0644', owner: 'root:root', size: MOTD.length, content: MOTD } },
  services: { nginx: 'active' },
};

describe('drift engine, end to end', () => {
  let source: TestRepo;
  let data: string;
  let server: RunningServer;
  let agent: string;
  let viewer: string;

  beforeAll(async () => {
    source = makeTestRepo('estate-drift-');
    source.commit('hosts', { 'assets/hosts/web-01.yaml': hostYaml('web-01', { extra }), 'policies/drift.yaml': IGNORE });
    data = mkdtempSync(join(tmpdir(), 'estate-drift-data-'));
    server = await startServer({ dataDir: data, importFrom: source.dir, port: 0, pollMs: 100, drift: { staleAfterMs: 60_000 } });
    agent = (await issueToken(server.store, { name: 'agent-fleet', role: 'agent', scopes: { hosts: ['web-01', 'db-09'] } })).token;
    viewer = (await issueToken(server.store, { name: 'vic', role: 'viewer' })).token;
    await server.indexer.sync();
    await driftAtHead(server);
  });
  afterAll(async () => {
    await server.close();
    rmSync(data, { recursive: true, force: true });
    source.remove();
  });

  const get = (path: string): Promise<{ status: number; body: any }> => callJson('GET', server.url + path, viewer); // eslint-disable-line @typescript-eslint/no-explicit-any
  const post = async (body: Record<string, unknown>): Promise<void> => {
    expect((await callJson('POST', `${server.url}/api/v1/reports`, agent, body)).status).toBe(202);
  };

  it('opens items for a package and a managed file, keeps content out, hides ignored fields, resolves on convergence', async () => {
    const hacked = 'hacked secret=42\n';
    const first = report('web-01', {
      ...converged,
      packages: { nginx: '1.18.0-6', curl: '7.88.1-10' },
      files: { '/etc/motd': { sha256: sha(hacked), mode: '0666', owner: 'root:root', size: hacked.length, content: hacked } },
    });
    await post(first);
    const open = await eventually(() => get('/api/v1/drift?asset=host/web-01'), (a) => a.body.items.length === 3);
    expect(open.status).toBe(200);
    expect(open.body.items.map((i: { field: string; declared: unknown; observed: unknown; state: string; reportId: string }) => [i.field, i.declared, i.observed, i.state, i.reportId])).toEqual([
      ['/spec/packages/nginx', '>=1.22', '1.18.0-6', 'open', first['reportId']],
      ['/spec/files/~1etc~1motd/content', `sha256:${sha(MOTD)}`, `sha256:${sha(hacked)}`, 'open', first['reportId']],
      ['/spec/files/~1etc~1motd/mode', '0644', '0666', 'open', first['reportId']],
    ]);
    // The DriftMode rules at main's head: web-01 is env=prod, role=web, so shadow.
    expect(open.body.items.map((i: { mode: string }) => i.mode)).toEqual(['shadow', 'shadow', 'shadow']);
    expect(JSON.stringify(open.body)).not.toContain('hacked');
    // cpus differ (4 declared, 2 observed) but the DriftIgnore rule hides them.
    expect(open.body.items.some((i: { field: string }) => i.field === '/spec/cpus')).toBe(false);
    const firstSeen = open.body.items[0].firstSeen;

    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${viewer}` } })).text();
    expect(metrics).toMatch(/^estate_drift_open 3$/m);

    // Still differing: the same items, lastSeen and reportId move on.
    const second = report('web-01', { ...converged, packages: { nginx: '1.20.0-1', curl: '7.88.1-10' }, files: first['facts'] && (first['facts'] as { files: unknown }).files });
    await post(second);
    const still = await eventually(() => get('/api/v1/drift?asset=host/web-01'), (a) => a.body.items[0]?.reportId === second['reportId']);
    expect(still.body.items).toHaveLength(3);
    expect(still.body.items[0]).toMatchObject({ observed: '1.20.0-1', firstSeen, state: 'open' });

    server.driftStore.requestRevert({ asset: 'host/web-01', field: '/spec/files/~1etc~1motd/content', requestedBy: 'alice', requestedAt: new Date().toISOString() });
    const third = report('web-01', converged);
    await post(third);
    await eventually(() => get('/api/v1/drift?asset=host/web-01'), (a) => a.body.items.length === 0);
    const resolved = await get('/api/v1/drift?asset=host/web-01&state=resolved');
    expect(resolved.body.items).toHaveLength(3);
    // The file converged without a restore: its pending revert is dropped.
    expect(server.driftStore.reverts('host/web-01')).toEqual([]);
    expect(resolved.body.items.every((i: { state: string; reportId: string }) => i.state === 'resolved' && i.reportId === third['reportId'])).toBe(true);

    // The event log: three openings, one change of nginx's observed version (the file's stayed the same), three resolutions.
    const events = server.driftStore.events({ afterId: 0, limit: 100, asset: 'host/web-01' });
    expect(events.map((e) => [e.type, e.field, e.reportId])).toEqual([
      ['drift.opened', '/spec/packages/nginx', first['reportId']],
      ['drift.opened', '/spec/files/~1etc~1motd/content', first['reportId']],
      ['drift.opened', '/spec/files/~1etc~1motd/mode', first['reportId']],
      ['drift.changed', '/spec/packages/nginx', second['reportId']],
      ['drift.resolved', '/spec/packages/nginx', third['reportId']],
      ['drift.resolved', '/spec/files/~1etc~1motd/content', third['reportId']],
      ['drift.resolved', '/spec/files/~1etc~1motd/mode', third['reportId']],
    ]);
    expect(events[3]!.details).toEqual({ declared: '>=1.22', observed: '1.20.0-1' });
    expect(events[4]!.details).toMatchObject({ reason: 'converged' });
    expect(events.every((e) => e.host === 'web-01' && e.commit === server.drift.commit?.sha)).toBe(true);
    expect(JSON.stringify(events)).not.toContain('hacked');

    // Paging and the selector filter.
    const page = await get('/api/v1/drift?state=all&limit=2');
    expect(page.body.items).toHaveLength(2);
    const rest = await get(`/api/v1/drift?state=all&limit=2&cursor=${page.body.nextCursor}`);
    expect(rest.body.items).toHaveLength(1);
    expect(rest.body.nextCursor).toBeUndefined();
    expect((await get('/api/v1/drift?state=all&selector=env%3Ddev')).body.items).toEqual([]);
    expect((await get('/api/v1/drift?state=all&selector=env%3Dprod')).body.items).toHaveLength(3);
    expect((await get('/api/v1/drift?selector=env%20in')).status).toBe(400);
  });

  it('lists a host without a Host asset as unmanaged, and none as stale within the threshold', async () => {
    const r = report('db-09', { hostname: 'db-09', cpus: 8 });
    await post(r);
    const unmanaged = await eventually(() => get('/api/v1/drift/unmanaged'), (a) => a.body.items.length === 1);
    expect(unmanaged.body.items[0]).toMatchObject({ host: 'db-09', reportId: r['reportId'] });
    expect((await get('/api/v1/drift?asset=host/db-09&state=all')).body.items).toEqual([]);
    expect((await get('/api/v1/drift/stale')).body).toEqual({ items: [] });
    expect(server.drift.stale(Date.now() + 120_000).map((s) => s.asset)).toEqual(['host/web-01']);
  });
});
