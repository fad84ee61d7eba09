import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { parseReport } from '../ingest/parseReport.js';
import { startServer, type RunningServer } from '../server.js';
import { callJson } from '../testing/callJson.js';
import { hostYaml, makeTestRepo, type TestRepo } from '../testing/gitRepo.js';
import { isRepoRelativePath } from './desiredRoutes.js';
import { driftAtHead, eventually } from '../testing/eventually.js';

const sha = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

const MOTD = 'managed by estate\n';
const APP_CONF = 'workers = 4\n';
const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x01]);
const MODES = `apiVersion: estate/v1
kind: DriftMode
metadata: {name: rollout}
spec:
  rules:
    - {mode: enforce, match: {envs: [prod]}}
`;
const files = `  files:
    - {path: /etc/motd, content: ${JSON.stringify(MOTD)}, mode: "0644", owner: root}
    - {path: /etc/app/app.conf, source: files/app.conf, mode: "0600"}
    - {path: /etc/app/blob, source: files/blob.bin}
    - {path: /etc/escape, source: ../outside/secret}
    - {path: /etc/remote, source: "https://example.com/x"}
    - {path: /etc/gone, source: files/nope.conf, owner: "root:adm"}
`;

describe('GET /api/v1/hosts/:name/desired and host.enforced events', () => {
  let source: TestRepo;
  let data: string;
  let server: RunningServer;
  let web01: string;
  let web02: string;
  let viewer: string;

  beforeAll(async () => {
    source = makeTestRepo('estate-desired-');
    mkdirSync(join(source.dir, 'files'), { recursive: true });
    writeFileSync(join(source.dir, 'files/blob.bin'), BINARY); // not UTF-8: served as base64
    source.commit('hosts', {
      'assets/hosts/web-01.yaml': hostYaml('web-01', { extra: files }),
      'assets/hosts/web-02.yaml': hostYaml('web-02', { env: 'dev', ip: '10.0.0.2' }),
      'policies/modes.yaml': MODES,
      'files/app.conf': APP_CONF,
    });
    data = mkdtempSync(join(tmpdir(), 'estate-desired-data-'));
    server = await startServer({ dataDir: data, importFrom: source.dir, port: 0, pollMs: 100 });
    web01 = (await issueToken(server.store, { name: 'agent-web-01', role: 'agent', scopes: { hosts: ['web-01'] } })).token;
    web02 = (await issueToken(server.store, { name: 'agent-web-02', role: 'agent', scopes: { hosts: ['web-02'] } })).token;
    viewer = (await issueToken(server.store, { name: 'vic', role: 'viewer' })).token;
    await server.indexer.sync();
    await driftAtHead(server);
  });
  afterAll(async () => {
    await server.close();
    rmSync(data, { recursive: true, force: true });
    source.remove();
  });

  it("answers the host's mode, files with contents, problems for unusable sources, and reverts; ETag then 304", async () => {
    const answer = await callJson('GET', `${server.url}/api/v1/hosts/web-01/desired`, web01);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      host: 'web-01',
      asset: 'host/web-01',
      commit: server.drift.commit!.sha,
      mode: 'enforce',
      files: [
        { path: '/etc/motd', content: MOTD, encoding: 'utf8', sha256: sha(MOTD), mode: '0644', owner: 'root' },
        { path: '/etc/app/app.conf', content: APP_CONF, encoding: 'utf8', sha256: sha(APP_CONF), mode: '0600' },
        { path: '/etc/app/blob', content: BINARY.toString('base64'), encoding: 'base64', sha256: sha(BINARY) },
        { path: '/etc/escape', problem: { code: 'E_SOURCE_PATH', message: expect.stringContaining('not a plain repo-relative path') } },
        { path: '/etc/remote', problem: { code: 'E_SOURCE_URL', message: expect.any(String) } },
        { path: '/etc/gone', owner: 'root:adm', problem: { code: 'E_SOURCE_NOT_FOUND', message: expect.any(String) } },
      ],
      reverts: [],
    });

    const first = await fetch(`${server.url}/api/v1/hosts/web-01/desired`, { headers: { authorization: `Bearer ${web01}` } });
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const again = await fetch(`${server.url}/api/v1/hosts/web-01/desired`, { headers: { authorization: `Bearer ${web01}`, 'if-none-match': etag } });
    expect([again.status, await again.text()]).toEqual([304, '']);

    // A revert request changes the answer (and its ETag).
    server.driftStore.requestRevert({ asset: 'host/web-01', field: '/spec/files/~1etc~1motd/content', requestedBy: 'ada', requestedAt: '2026-01-01T00:00:00.000Z' });
    const changed = await fetch(`${server.url}/api/v1/hosts/web-01/desired`, { headers: { authorization: `Bearer ${web01}`, 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as { reverts: unknown }).reverts).toEqual([{ field: '/spec/files/~1etc~1motd/content', requestedBy: 'ada', requestedAt: '2026-01-01T00:00:00.000Z' }]);
    server.driftStore.clearRevert('host/web-01', '/spec/files/~1etc~1motd/content');

    // web-02 is env=dev: observe, and declares no files.
    expect((await callJson('GET', `${server.url}/api/v1/hosts/web-02/desired`, web02)).body).toMatchObject({ mode: 'observe', files: [], reverts: [] });
  });

  it("refuses another host's agent token, a viewer, and an undeclared host", async () => {
    expect(await callJson('GET', `${server.url}/api/v1/hosts/web-01/desired`, web02)).toMatchObject({ status: 403, body: { error: { code: 'E_FORBIDDEN' } } });
    expect(await callJson('GET', `${server.url}/api/v1/hosts/web-01/desired`, viewer)).toMatchObject({ status: 403, body: { error: { code: 'E_FORBIDDEN' } } });
    const ghost = (await issueToken(server.store, { name: 'agent-ghost', role: 'agent', scopes: { hosts: ['ghost'] } })).token;
    expect(await callJson('GET', `${server.url}/api/v1/hosts/ghost/desired`, ghost)).toMatchObject({ status: 404, body: { error: { code: 'E_ASSET_NOT_FOUND' } } });
  });

  it('records one host.enforced event per entry and clears the revert requests the restore answered', async () => {
    const asset = 'host/web-01';
    for (const field of ['/spec/files/~1etc~1motd', '/spec/files/~1etc~1motd/content', '/spec/files/~1etc~1app~1app.conf/mode', '/spec/files/~1etc~1app~1app.conf/owner']) {
      server.driftStore.requestRevert({ asset, field, requestedBy: 'ada', requestedAt: '2026-01-01T00:00:00.000Z' });
    }
    const before = lastEventId();
    const at = new Date().toISOString();
    const hacked = 'hacked\n';
    const report = {
      reportId: '01JDQ9000000000000000000AA',
      host: 'web-01',
      seq: 1,
      collectedAt: at,
      facts: { files: { '/etc/motd': { sha256: sha(MOTD), mode: '0644', owner: 'root:root', size: MOTD.length, content: MOTD } } },
      enforcement: [
        { path: '/etc/motd', field: 'content', fromSha256: sha(hacked), toSha256: sha(MOTD), backup: '/var/lib/estate-agent/backups/x/etc/motd', at, ok: true },
        { path: '/etc/app/app.conf', field: 'mode', fromSha256: sha(APP_CONF), toSha256: sha(APP_CONF), from: '0644', to: '0600', at, ok: true },
        { path: '/etc/app/app.conf', field: 'owner', fromSha256: sha(APP_CONF), toSha256: sha(APP_CONF), from: 'app:app', to: 'root', at, ok: false, error: 'owner not restored: the agent does not run as root' },
      ],
    };
    expect((await callJson('POST', `${server.url}/api/v1/reports`, web01, report)).status).toBe(202);
    const events = await eventually(
      async () => server.driftStore.events({ afterId: before, limit: 100, types: ['host.enforced'] }),
      (e) => e.length === 3,
    );
    expect(events.map((e) => [e.type, e.asset, e.host, e.field, e.reportId, e.details['ok']])).toEqual([
      ['host.enforced', asset, 'web-01', '/spec/files/~1etc~1motd/content', report.reportId, true],
      ['host.enforced', asset, 'web-01', '/spec/files/~1etc~1app~1app.conf/mode', report.reportId, true],
      ['host.enforced', asset, 'web-01', '/spec/files/~1etc~1app~1app.conf/owner', report.reportId, false],
    ]);
    expect(events[0]!.details).toEqual({ path: '/etc/motd', field: 'content', fromSha256: sha(hacked), toSha256: sha(MOTD), backup: '/var/lib/estate-agent/backups/x/etc/motd', ok: true });
    expect(events[2]!.details).toMatchObject({ from: 'app:app', to: 'root', error: 'owner not restored: the agent does not run as root' });
    expect(events[0]!.commit).toBe(server.drift.commit!.sha);
    // The file-level and content requests of /etc/motd are done; of app.conf only the mode (the owner failed).
    expect(server.driftStore.reverts(asset).map((r) => r.field)).toEqual(['/spec/files/~1etc~1app~1app.conf/owner']);

    // The same report again is a duplicate: no second set of events.
    expect((await callJson('POST', `${server.url}/api/v1/reports`, web01, report)).body).toMatchObject({ duplicate: true });
    const next = { ...report, reportId: '01JDQ9000000000000000000AB', seq: 2, enforcement: [] };
    expect((await callJson('POST', `${server.url}/api/v1/reports`, web01, next)).status).toBe(202);
    await eventually(() => callJson('GET', `${server.url}/api/v1/hosts/web-01/observation`, viewer), (a) => a.body?.seq === 2);
    expect(server.driftStore.events({ afterId: before, limit: 100, types: ['host.enforced'] })).toHaveLength(3);
  });

  function lastEventId(): number {
    return server.driftStore.events({ afterId: 0, limit: 1_000_000 }).at(-1)?.id ?? 0;
  }
});

describe('the enforcement field of a report', () => {
  const base = { reportId: '01JDQ9000000000000000000AA', host: 'web-01', seq: 1, collectedAt: '2026-11-26T03:00:00.000Z', facts: {} };
  const entry = { path: '/etc/motd', field: 'content', fromSha256: null, toSha256: 'a'.repeat(64), at: '2026-11-26T03:00:00.000Z', ok: true };

  it('is optional, validated and bounded', () => {
    expect(parseReport({ ...base, enforcement: [entry] }, 100).enforcement).toEqual([entry]);
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ ...entry, path: 'etc/motd' }, '/enforcement/0/path'],
      [{ ...entry, field: 'content ' }, '/enforcement/0/field'],
      [{ ...entry, toSha256: 'A'.repeat(64) }, '/enforcement/0/toSha256'],
      [{ ...entry, ok: 'yes' }, '/enforcement/0/ok'],
      [{ ...entry, error: 'x'.repeat(1025) }, '/enforcement/0/error'],
      [{ ...entry, content: 'secret' }, '/enforcement/0/content'],
    ];
    for (const [value, pointer] of bad) expect(() => parseReport({ ...base, enforcement: [value] }, 100)).toThrow(expect.objectContaining({ code: 'E_BAD_REPORT', data: expect.objectContaining({ pointer }) }));
    expect(() => parseReport({ ...base, enforcement: Array.from({ length: 1001 }, () => entry) }, 100)).toThrow(expect.objectContaining({ data: expect.objectContaining({ pointer: '/enforcement' }) }));
  });

  it('source paths: plain repo-relative only', () => {
    expect(['files/a.conf', 'a', 'x/y/z.txt'].map(isRepoRelativePath)).toEqual([true, true, true]);
    expect(['/etc/passwd', '../x', 'a/../b', './a', 'a//b', 'a\\b', '', 'a/'].map(isRepoRelativePath)).toEqual([false, false, false, false, false, false, false, false]);
  });
});
