import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { startServer, type RunningServer } from '../server.js';
import { callJson, type JsonBody } from '../testing/callJson.js';
import { hostYaml, makeTestRepo, type TestRepo } from '../testing/gitRepo.js';
import { driftAtHead, eventually } from '../testing/eventually.js';

// Drift of managed files declared with `source:`: their content is read from git at the engine's
// snapshot, compared with the reported digest, and adopted as a putFile of the source.

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

const MOTD = 'managed by estate\n';
const EDITED = 'edited on the host\n';
const motdFile = `  files:
    - {path: /etc/motd, source: files/motd, mode: "0644"}
`;
const broken = `  files:
    - {path: /etc/motd, source: files/motd}
    - {path: /etc/escape, source: ../outside}
    - {path: /etc/gone, source: files/missing}
    - {path: /etc/big, source: files/big}
    - {path: /etc/remote, source: "https://example.com/remote"}
`;
const MODES = `apiVersion: estate/v1
kind: DriftMode
metadata: {name: rollout}
spec:
  rules:
    - {mode: shadow, match: {envs: [dev]}}
`;

const file = (content: string): Record<string, unknown> => ({ sha256: sha(content), mode: '0644', owner: 'root:root', size: content.length, content });

let seq = 0;
function report(host: string, files: Record<string, unknown>): Record<string, unknown> {
  seq++;
  return { reportId: `01JDQ3${String(seq).padStart(20, '0')}`, host, seq, collectedAt: new Date().toISOString(), facts: { hostname: `${host}.example.com`, files } };
}

describe('drift of source: files', () => {
  let source: TestRepo;
  let data: string;
  let server: RunningServer;
  const logs: Array<{ level: string; message: string; data?: Record<string, unknown> }> = [];
  const tokens = { agent: '', editor: '', viewer: '' };

  beforeAll(async () => {
    source = makeTestRepo('estate-source-drift-');
    source.commit('hosts', {
      'assets/hosts/web-01.yaml': hostYaml('web-01', { extra: motdFile }),
      'assets/hosts/web-02.yaml': hostYaml('web-02', { env: 'dev', ip: '10.0.0.2', extra: motdFile }),
      'assets/hosts/web-03.yaml': hostYaml('web-03', { ip: '10.0.0.3', extra: broken }),
      'files/motd': MOTD,
      'files/big': 'x'.repeat(1024 * 1024 + 1),
      'policies/drift.yaml': MODES,
    });
    data = mkdtempSync(join(tmpdir(), 'estate-source-drift-data-'));
    server = await startServer({ dataDir: data, importFrom: source.dir, port: 0, pollMs: 100, log: (level, message, details) => logs.push({ level, message, ...(details ? { data: details } : {}) }) });
    tokens.agent = (await issueToken(server.store, { name: 'fleet', role: 'agent', scopes: { hosts: ['web-01', 'web-02', 'web-03'] } })).token;
    tokens.editor = (await issueToken(server.store, { name: 'ed', role: 'editor' })).token;
    tokens.viewer = (await issueToken(server.store, { name: 'vic', role: 'viewer' })).token;
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
  const items = async (asset: string, state = 'open'): Promise<Array<{ field: string; declared: unknown; observed: unknown; state: string }>> =>
    (await call('GET', `/api/v1/drift?asset=${asset}&state=${state}`, tokens.viewer)).body.items;
  /** `git show <commit>:<path>` in the server's repository. */
  const show = (commit: string, path: string): string => execFileSync('git', ['show', `${commit}:${path}`], { cwd: server.repoDir, encoding: 'utf8' });

  it('opens an item on the content of a source: file, and resolves it after a commit makes the source match', async () => {
    const first = report('web-01', { '/etc/motd': file(EDITED) });
    await post(first);
    const open = await eventually(() => items('host/web-01'), (i) => i.length === 1);
    expect(open[0]).toMatchObject({ field: '/spec/files/~1etc~1motd/content', declared: `sha256:${sha(MOTD)}`, observed: `sha256:${sha(EDITED)}`, state: 'open' });
    expect(JSON.stringify(open)).not.toContain('edited');

    const commit = commitToMain(server.repoDir, 'motd as on the hosts', { 'files/motd': EDITED });
    await eventually(async () => server.drift.commit?.sha, (s) => s === commit);
    expect(await items('host/web-01')).toEqual([]);
    const events = server.driftStore.events({ afterId: 0, limit: 100, asset: 'host/web-01' });
    expect(events.map((e) => [e.type, e.field, e.commit])).toEqual([
      ['drift.opened', '/spec/files/~1etc~1motd/content', expect.not.stringMatching(commit)],
      ['drift.resolved', '/spec/files/~1etc~1motd/content', commit],
    ]);
    expect(events[1]!.details).toMatchObject({ reason: 'converged' });
  });

  it('adopts a drifted source: file as a putFile of the source: the shadow change request and the adopt route', async () => {
    const handEdit = 'hand edit on web-02\n';
    await post(report('web-02', { '/etc/motd': file(handEdit) }));
    await eventually(() => items('host/web-02'), (i) => i.length === 1);
    const shadowId = await eventually(async () => server.shadow.changeOf('host/web-02'), (id) => id !== undefined);
    const shadow = await eventually(async () => server.changes.get(shadowId!), (c) => c.checks?.head === c.head);
    expect(shadow).toMatchObject({ title: 'drift: adopt observed state of host/web-02', author: 'system', state: 'open' });
    expect(show(shadow.head, 'files/motd')).toBe(handEdit);

    const adopted = await call('POST', '/api/v1/drift/adopt', tokens.editor, { asset: 'host/web-02', title: 'keep the hand edit' });
    expect(adopted.status).toBe(201);
    expect(adopted.body.skipped).toEqual([]);
    const change = (await call('GET', `/api/v1/changes/${adopted.body.change.id}`, tokens.viewer)).body;
    expect(change).toMatchObject({ title: 'keep the hand edit', author: 'ed' });
    expect(show(change.head, 'files/motd')).toBe(handEdit);
    // The Host itself is unchanged: only the source file is rewritten.
    expect(show(change.head, 'assets/hosts/web-02.yaml')).toBe(show('main', 'assets/hosts/web-02.yaml'));
  });

  it('compares no content of a source outside the repo, missing or too large, and warns once per path and commit', async () => {
    await post(report('web-03', { '/etc/motd': file('other\n'), '/etc/escape': file('a'), '/etc/gone': file('b'), '/etc/big': file('c'), '/etc/remote': file('d') }));
    const open = await eventually(() => items('host/web-03'), (i) => i.length === 1);
    // files/motd is EDITED since the first test's commit.
    expect(open.map((i) => [i.field, i.declared])).toEqual([['/spec/files/~1etc~1motd/content', `sha256:${sha(EDITED)}`]]);

    const warned = logs.filter((l) => l.level === 'warn' && l.data?.['source'] !== undefined).map((l) => [l.data!['source'], l.data!['code'], l.data!['commit'], l.data!['assets']]);
    const commits = [...new Set(warned.map((w) => w[2]))];
    expect(commits).toHaveLength(2);
    for (const commit of commits) {
      expect(warned.filter((w) => w[2] === commit).map((w) => w.slice(0, 2))).toEqual(
        expect.arrayContaining([
          ['../outside', 'E_SOURCE_PATH'],
          ['files/missing', 'E_SOURCE_NOT_FOUND'],
          ['files/big', 'E_SOURCE_TOO_BIG'],
        ]),
      );
      expect(warned.filter((w) => w[2] === commit)).toHaveLength(3);
    }
    expect(warned.every((w) => JSON.stringify(w[3]) === '["host/web-03"]')).toBe(true);

    // A commit that leaves files/motd alone: the digest of its unchanged blob still holds, the item stays as it was.
    const unrelated = commitToMain(server.repoDir, 'a note', { 'notes.txt': 'nothing to see\n' });
    await eventually(async () => server.drift.commit?.sha, (s) => s === unrelated);
    expect((await items('host/web-03')).map((i) => [i.field, i.declared, i.state])).toEqual([['/spec/files/~1etc~1motd/content', `sha256:${sha(EDITED)}`, 'open']]);
    expect(server.driftStore.events({ afterId: 0, limit: 100, asset: 'host/web-03' }).map((e) => e.type)).toEqual(['drift.opened']);
  });
});

/** Commits files straight onto main in the server's bare repository (plumbing, no hooks); returns the sha. */
function commitToMain(repoDir: string, message: string, files: Record<string, string>): string {
  const git = (args: string[], options: { input?: string; env?: Record<string, string> } = {}): string =>
    execFileSync('git', args, { cwd: repoDir, encoding: 'utf8', input: options.input, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', ...options.env } }).trim();
  const main = git(['rev-parse', 'main']);
  const dir = mkdtempSync(join(tmpdir(), 'estate-source-drift-index-'));
  try {
    const env = { GIT_INDEX_FILE: join(dir, 'index') };
    git(['read-tree', main], { env });
    for (const [path, content] of Object.entries(files)) git(['update-index', '--add', '--cacheinfo', `100644,${git(['hash-object', '-w', '--stdin'], { input: content })},${path}`], { env });
    const tree = git(['write-tree'], { env });
    const sha = git(['-c', 'user.name=Ada', '-c', 'user.email=ada@example.com', 'commit-tree', tree, '-p', main, '-m', message]);
    git(['update-ref', 'refs/heads/main', sha, main]);
    return sha;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
