import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYamlFile } from '@estate/core';
import { issueToken } from '../auth/tokens.js';
import { SYSTEM_ACTOR } from '../changes/ChangeService.js';
import { startServer, type RunningServer } from '../server.js';
import { callJson, type JsonBody } from '../testing/callJson.js';
import { hostYaml, makeTestRepo, type TestRepo } from '../testing/gitRepo.js';
import { driftAtHead, eventually } from '../testing/eventually.js';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

const MOTD = 'managed by estate\n';
const APP = 'workers = 4\n';
const web01 = hostYaml('web-01', {
  extra: `  cpus: 2
  packages: {nginx: ">=1.22", curl: "*"}
  files:
    - {path: /etc/motd, content: ${JSON.stringify(MOTD)}, mode: "0644", owner: root}
    - {path: /etc/app.conf, source: files/app.conf}
  services: [nginx]
`,
});
const shadowHost = (name: string): string => `apiVersion: estate/v1
kind: Host
metadata:
  name: ${name}
  labels: {env: staging, role: shadow}
spec:
  hostname: ${name}.example.com
  files:
    - {path: /etc/motd, content: ${JSON.stringify(MOTD)}}
`;
const MODES = `apiVersion: estate/v1
kind: DriftMode
metadata: {name: rollout}
spec:
  rules:
    - {mode: shadow, match: {selector: "role=shadow"}}
`;

const converged = {
  hostname: 'web-01.example.com',
  ip: ['10.0.0.1'],
  os: { id: 'debian', versionId: '12' },
  cpus: 2,
  packages: { nginx: '1.22.1-9', curl: '7.88.1-10' },
  files: {
    '/etc/motd': { sha256: sha(MOTD), mode: '0644', owner: 'root:root', size: MOTD.length, content: MOTD },
    '/etc/app.conf': { sha256: sha(APP), mode: '0644', owner: 'root:root', size: APP.length, content: APP },
  },
  services: { nginx: 'active' },
};
const motd = (content: string, mode = '0644'): Record<string, unknown> => ({ sha256: sha(content), mode, owner: 'root:root', size: content.length, content });

let seq = 0;
function report(host: string, facts: Record<string, unknown>): Record<string, unknown> {
  seq++;
  return { reportId: `01JDQ2${String(seq).padStart(20, '0')}`, host, seq, collectedAt: new Date().toISOString(), facts };
}

describe('drift actions: adopt, ignore, revert, declare; shadow change requests', () => {
  let source: TestRepo;
  let data: string;
  let server: RunningServer;
  const tokens = { agent: '', viewer: '', editor: '' };

  beforeAll(async () => {
    source = makeTestRepo('estate-drift-actions-');
    source.commit('hosts', {
      'assets/hosts/web-01.yaml': web01,
      'assets/hosts/web-02.yaml': shadowHost('web-02'),
      'assets/hosts/web-03.yaml': shadowHost('web-03'),
      'files/app.conf': APP,
      'policies/drift.yaml': MODES,
    });
    data = mkdtempSync(join(tmpdir(), 'estate-drift-actions-data-'));
    server = await startServer({ dataDir: data, importFrom: source.dir, port: 0, pollMs: 100 });
    tokens.agent = (await issueToken(server.store, { name: 'fleet', role: 'agent', scopes: { hosts: ['web-01', 'web-02', 'web-03', 'db-09'] } })).token;
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

  const call = (method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: JsonBody }> => callJson(method, server.url + path, token, body);
  const post = async (r: Record<string, unknown>): Promise<void> => {
    expect((await call('POST', '/api/v1/reports', tokens.agent, r)).status).toBe(202);
  };
  const openFields = async (asset: string, state = 'open'): Promise<string[]> => (await call('GET', `/api/v1/drift?asset=${asset}&state=${state}`, tokens.viewer)).body.items.map((i: { field: string }) => i.field);
  const audits = (event: string): Array<{ actor: string; subject?: string; details: Record<string, unknown> }> => server.audit.list({ event, limit: 100 });

  it('adopt: a change request with the observed values of the open items; nothing adoptable is 409; viewers are refused', async () => {
    const r = report('web-01', { ...converged, packages: { nginx: '1.18.0-6', curl: '7.88.1-10' }, files: { ...converged.files, '/etc/motd': motd('hacked\n', '0666'), '/etc/app.conf': motd('workers = 8\n') }, services: { nginx: 'failed' } });
    await post(r);
    await eventually(() => openFields('host/web-01'), (f) => f.length === 5);
    expect(await openFields('host/web-01')).toEqual(['/spec/packages/nginx', '/spec/files/~1etc~1motd/content', '/spec/files/~1etc~1motd/mode', '/spec/files/~1etc~1app.conf/content', '/spec/services/nginx']);

    const denied = await call('POST', '/api/v1/drift/adopt', tokens.viewer, { asset: 'host/web-01' });
    expect([denied.status, denied.body.error.code]).toEqual([403, 'E_FORBIDDEN']);
    const nothing = await call('POST', '/api/v1/drift/adopt', tokens.editor, { asset: 'host/web-01', fields: ['/spec/services/nginx', '/spec/cpus'] });
    expect([nothing.status, nothing.body.error.code]).toEqual([409, 'E_NOTHING_TO_ADOPT']);
    expect(nothing.body.error.details.skipped).toEqual([
      { field: '/spec/cpus', reason: 'no open drift item' },
      { field: '/spec/services/nginx', reason: expect.stringContaining('a service that is not active cannot be adopted') },
    ]);
    expect((await call('POST', '/api/v1/drift/adopt', tokens.editor, { asset: 'host/nope' })).body.error.code).toBe('E_ASSET_NOT_FOUND');
    expect((await call('POST', '/api/v1/drift/adopt', tokens.editor, { fields: [] })).status).toBe(400);

    const adopted = await call('POST', '/api/v1/drift/adopt', tokens.editor, { asset: 'host/web-01' });
    expect(adopted.status).toBe(201);
    expect(adopted.body.skipped).toEqual([{ field: '/spec/services/nginx', reason: expect.stringContaining('start it on the host') }]);
    const change = (await call('GET', `/api/v1/changes/${adopted.body.change.id}`, tokens.viewer)).body;
    expect(change).toMatchObject({ title: 'drift: adopt observed state of host/web-01', author: 'ed', state: 'open' });
    expect(change.description).toContain('/spec/files/~1etc~1motd/content');
    const fields = change.checks.diff.base.assets[0].fields.map((f: { op: string; pointer: string; old?: unknown; new?: unknown }) => [f.pointer, f.old, f.new]);
    expect(fields).toEqual(
      expect.arrayContaining([
        ['/spec/packages/nginx', '>=1.22', '1.18.0-6'],
        ['/spec/files/0/content', MOTD, 'hacked\n'],
        ['/spec/files/0/mode', '0644', '0666'],
      ]),
    );
    // The source: file is rewritten with the observed content.
    expect(execFileSync('git', ['show', `${change.head}:files/app.conf`], { cwd: server.repoDir, encoding: 'utf8' })).toBe('workers = 8\n');
    expect(audits('drift.adopted').at(-1)).toMatchObject({ actor: 'ed', subject: 'host/web-01', details: { change: change.id, skipped: ['/spec/services/nginx'] } });

    // Only the fields asked for, under another title.
    const one = await call('POST', '/api/v1/drift/adopt', tokens.editor, { asset: 'host/web-01', fields: ['/spec/files/~1etc~1motd/mode'], title: 'keep 0666' });
    expect(one.status).toBe(201);
    expect(one.body).toMatchObject({ change: { title: 'keep 0666' }, skipped: [] });
    const only = (await call('GET', `/api/v1/changes/${one.body.change.id}`, tokens.viewer)).body.checks.diff.base.assets[0].fields;
    expect(only).toEqual([{ op: 'replace', pointer: '/spec/files/0/mode', old: '0644', new: '0666' }]);
    server.changes.close(SYSTEM_ACTOR, adopted.body.change.id, 'test');
    server.changes.close(SYSTEM_ACTOR, one.body.change.id, 'test');
  });

  it('ignore: the item is ignored while its observed value stays, opens again when it changes; a rule is the permanent way', async () => {
    const ignored = await call('POST', '/api/v1/drift/ignore', tokens.editor, { asset: 'host/web-01', field: '/spec/packages/nginx', reason: 'rollback under test' });
    expect(ignored.status).toBe(200);
    expect(ignored.body.item).toMatchObject({ field: '/spec/packages/nginx', state: 'ignored', observed: '1.18.0-6', ignored: { reason: 'rollback under test', by: 'ed' } });
    expect(ignored.body.note).toContain('DriftIgnore');
    expect(await openFields('host/web-01')).not.toContain('/spec/packages/nginx');
    expect(await openFields('host/web-01', 'ignored')).toEqual(['/spec/packages/nginx']);
    const event = server.driftStore.events({ afterId: 0, limit: 1000, asset: 'host/web-01', types: ['drift.ignored'] });
    expect(event.map((e) => [e.field, e.details['reason'], e.details['by']])).toEqual([['/spec/packages/nginx', 'rollback under test', 'ed']]);
    expect(audits('drift.ignored').at(-1)).toMatchObject({ actor: 'ed', subject: 'host/web-01', details: { field: '/spec/packages/nginx' } });
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${tokens.viewer}` } })).text();
    expect(metrics).toMatch(/^estate_drift_ignored 1$/m);

    const base = { ...converged, files: { ...converged.files, '/etc/motd': motd('hacked\n', '0666') }, services: { nginx: 'failed' } };
    const same = report('web-01', { ...base, packages: { nginx: '1.18.0-6', curl: '7.88.1-10' } });
    await post(same);
    await eventually(() => call('GET', '/api/v1/drift?asset=host/web-01&state=ignored', tokens.viewer), (a) => a.body.items[0]?.reportId === same['reportId']);
    const other = report('web-01', { ...base, packages: { nginx: '1.19.0-1', curl: '7.88.1-10' } });
    await post(other);
    await eventually(() => openFields('host/web-01'), (f) => f.includes('/spec/packages/nginx'));
    expect(await openFields('host/web-01', 'ignored')).toEqual([]);

    expect((await call('POST', '/api/v1/drift/ignore', tokens.editor, { asset: 'host/web-01', field: '/spec/cpus', reason: 'x' })).body.error.code).toBe('E_DRIFT_ITEM_NOT_FOUND');
    expect((await call('POST', '/api/v1/drift/ignore', tokens.editor, { asset: 'host/web-01', field: '/spec/cpus' })).status).toBe(400);
    expect((await call('POST', '/api/v1/drift/ignore', tokens.viewer, { asset: 'host/web-01', field: '/spec/packages/nginx', reason: 'x' })).status).toBe(403);
  });

  it('revert: a managed file is a revert request for the agent; other fields are 409 E_NOT_REVERTIBLE saying what to do', async () => {
    const reverted = await call('POST', '/api/v1/drift/revert', tokens.editor, { asset: 'host/web-01', field: '/spec/files/~1etc~1motd/content' });
    expect(reverted.status).toBe(202);
    expect(reverted.body).toMatchObject({ asset: 'host/web-01', field: '/spec/files/~1etc~1motd/content', requestedBy: 'ed', mode: 'observe' });
    expect(server.driftStore.reverts('host/web-01').map((r) => [r.field, r.requestedBy])).toEqual([['/spec/files/~1etc~1motd/content', 'ed']]);
    expect(audits('drift.revert.requested').at(-1)).toMatchObject({ actor: 'ed', subject: 'host/web-01', details: { field: '/spec/files/~1etc~1motd/content' } });

    const refused = await call('POST', '/api/v1/drift/revert', tokens.editor, { asset: 'host/web-01', field: '/spec/packages/nginx' });
    expect([refused.status, refused.body.error.code]).toEqual([409, 'E_NOT_REVERTIBLE']);
    expect(refused.body.error.message).toMatch(/Change the host to match the declared value, or adopt the observed one/);
    expect((await call('POST', '/api/v1/drift/revert', tokens.editor, { asset: 'host/web-01', field: '/spec/files/~1etc~1nope' })).body.error.code).toBe('E_DRIFT_ITEM_NOT_FOUND');
    expect((await call('POST', '/api/v1/drift/revert', tokens.viewer, { asset: 'host/web-01', field: '/spec/files/~1etc~1motd/content' })).status).toBe(403);
  });

  it('declare: one call opens the change request declaring an unmanaged host from its report', async () => {
    await post(report('db-09', { hostname: 'db-09.example.com', ip: ['127.0.0.1', '10.0.9.9'], os: { id: 'debian', versionId: '12' }, cpus: 8, memoryGiB: 31.2, packages: { postgresql: '16' } }));
    await eventually(() => call('GET', '/api/v1/drift/unmanaged', tokens.viewer), (a) => a.body.items.some((h: { host: string }) => h.host === 'db-09'));
    expect((await call('POST', '/api/v1/drift/unmanaged/db-09/declare', tokens.viewer, {})).status).toBe(403);
    const declared = await call('POST', '/api/v1/drift/unmanaged/db-09/declare', tokens.editor, { labels: { env: 'prod' } });
    expect(declared.status).toBe(201);
    const change = (await call('GET', `/api/v1/changes/${declared.body.change.id}`, tokens.viewer)).body;
    expect(change.title).toBe('drift: declare host/db-09');
    expect(change.checks.status).toBe('passed');
    expect(change.checks.diff.base.assets).toEqual([expect.objectContaining({ id: 'host/db-09', status: 'added', path: 'assets/hosts/db-09.yaml' })]);
    const yaml = execFileSync('git', ['show', `${change.head}:assets/hosts/db-09.yaml`], { cwd: server.repoDir, encoding: 'utf8' });
    expect(parseYamlFile('db-09.yaml', new TextEncoder().encode(yaml)).documents[0]?.value).toEqual({
      apiVersion: 'estate/v1',
      kind: 'Host',
      metadata: { name: 'db-09', labels: { env: 'prod' } },
      spec: { hostname: 'db-09.example.com', ip: '10.0.9.9', os: 'debian-12', cpus: 8, memoryGiB: 31.2 },
    });
    expect(audits('drift.declared').at(-1)).toMatchObject({ actor: 'ed', subject: 'host/db-09', details: { change: change.id, host: 'db-09' } });

    expect((await call('POST', '/api/v1/drift/unmanaged/web-01/declare', tokens.editor)).body.error.code).toBe('E_ALREADY_DECLARED');
    expect((await call('POST', '/api/v1/drift/unmanaged/zz-99/declare', tokens.editor, {})).body.error.code).toBe('E_OBSERVATION_NOT_FOUND');
    server.changes.close(SYSTEM_ACTOR, change.id, 'test');
  });

  it('shadow: a host in shadow mode gets one change request adopting its drift, updated by later drift, a new one once it is closed', async () => {
    await post(report('web-02', { hostname: 'web-02.example.com', files: { '/etc/motd': motd('edited by hand\n') } }));
    await eventually(async () => server.shadow.changeOf('host/web-02'), (id) => id !== undefined);
    const id = server.shadow.changeOf('host/web-02')!;
    const first = server.changes.get(id);
    expect(first).toMatchObject({ title: 'drift: adopt observed state of host/web-02', author: 'system', state: 'open', revision: 1 });
    expect(first.checks?.diff.base.assets[0]?.fields).toEqual([{ op: 'replace', pointer: '/spec/files/0/content', old: MOTD, new: 'edited by hand\n' }]);
    // web-03 is in shadow too but has no drift; web-01 has drift but is in observe: neither gets one.
    expect(server.shadow.changeOf('host/web-01')).toBeUndefined();

    await post(report('web-02', { hostname: 'web-02.example.com', files: { '/etc/motd': motd('edited again\n') } }));
    const second = await eventually(async () => server.changes.get(id), (c) => c.revision === 2 && c.checks?.head === c.head);
    expect(server.shadow.changeOf('host/web-02')).toBe(id);
    expect(second.checks?.diff.base.assets[0]?.fields).toEqual([{ op: 'replace', pointer: '/spec/files/0/content', old: MOTD, new: 'edited again\n' }]);
    expect(server.changes.list({ state: 'active', author: 'system', limit: 100 }).filter((c) => c.title.endsWith('host/web-02'))).toHaveLength(1);

    server.changes.close(SYSTEM_ACTOR, id, 'not now');
    await post(report('web-02', { hostname: 'web-02.example.com', files: { '/etc/motd': motd('third edit\n') } }));
    const next = await eventually(async () => server.shadow.changeOf('host/web-02'), (n) => n !== id);
    expect(server.changes.get(next!)).toMatchObject({ state: 'open', revision: 1 });
    expect(audits('drift.adopted').filter((a) => a.subject === 'host/web-02').map((a) => [a.actor, a.details['shadow'], a.details['updated']])).toEqual([
      ['system', true, false],
      ['system', true, true],
      ['system', true, false],
    ]);
  });

  it('resolves open items whose field or asset is no longer declared (reason undeclared)', async () => {
    await post(report('web-03', { hostname: 'web-03.other', files: { '/etc/motd': motd('x\n') } }));
    await eventually(() => openFields('host/web-03'), (f) => f.length === 2);
    // Drop the file from web-03 and web-01's nginx package, then web-01 entirely.
    const drop = await server.changes.create(SYSTEM_ACTOR, {
      title: 'undeclare',
      operations: [
        { op: 'patch', id: 'host/web-03', patch: { spec: { files: null } } },
        { op: 'patch', id: 'host/web-01', patch: { spec: { packages: { nginx: null } } } },
      ],
    });
    await server.changes.merge(SYSTEM_ACTOR, (drop as { id: number }).id, { emergency: 'test' });
    await eventually(() => openFields('host/web-03'), (f) => f.length === 1);
    expect(await openFields('host/web-03')).toEqual(['/spec/hostname']);
    expect([...(await openFields('host/web-01')), ...(await openFields('host/web-01', 'ignored'))]).not.toContain('/spec/packages/nginx');
    const resolved = server.driftStore.events({ afterId: 0, limit: 1000, types: ['drift.resolved'] }).filter((e) => e.details['reason'] === 'undeclared');
    expect(resolved.map((e) => [e.asset, e.field, e.details['what']])).toEqual(
      expect.arrayContaining([
        ['host/web-03', '/spec/files/~1etc~1motd/content', 'field'],
        ['host/web-01', '/spec/packages/nginx', 'field'],
      ]),
    );

    const gone = await server.changes.create(SYSTEM_ACTOR, { title: 'remove web-01', operations: [{ op: 'delete', id: 'host/web-01' }] });
    await server.changes.merge(SYSTEM_ACTOR, (gone as { id: number }).id, { emergency: 'test' });
    await eventually(() => openFields('host/web-01'), (f) => f.length === 0);
    const events = server.driftStore.events({ afterId: 0, limit: 1000, asset: 'host/web-01', types: ['drift.resolved'] });
    expect(events.filter((e) => e.details['reason'] === 'undeclared' && e.details['what'] === 'asset').length).toBeGreaterThan(0);
  });
});
