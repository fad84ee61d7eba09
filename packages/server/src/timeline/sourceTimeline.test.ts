import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { patchHost, startChangeFixture, type ChangeFixture, type JsonBody } from '../testing/changeFixture.js';
import { hostYaml } from '../testing/gitRepo.js';
import { driftAtHead, eventually } from '../testing/eventually.js';

// A managed file declared by `source:` changes when its repo file does, with no new version of the
// host: the verdict must still name the commit that changed it, and not call the drift a change
// made outside Git.

const FIELD = '/spec/files/~1etc~1motd/content';
const ISSUE_FIELD = '/spec/files/~1etc~1issue/content';
const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

let f: ChangeFixture;
let agent: string;
let seq = 0;

beforeAll(async () => {
  f = await startChangeFixture({
    'assets/hosts/web-01.yaml': hostYaml('web-01', { env: 'staging', extra: '  files:\n    - {path: /etc/motd, source: files/motd}\n' }),
    'files/motd': 'welcome v1\n',
    // Another repo file, which web-01 starts to manage later.
    'files/issue': 'issue v1\n',
  });
  agent = (await issueToken(f.server.store, { name: 'agent-web-01', role: 'agent', scopes: { hosts: ['web-01'] } })).token;
  await driftAtHead(f.server);
}, 60_000);

afterAll(async () => {
  await f?.stop();
});

/** Posts a report of web-01 whose /etc/motd has `motd` (and /etc/issue `issue`); returns its id. */
async function report(motd: string, issue = 'issue v1\n'): Promise<string> {
  const reportId = `01JDQ5${String(++seq).padStart(20, '0')}`;
  const file = (content: string) => ({ sha256: sha(content), mode: '0644', owner: 'root' });
  const facts = { hostname: 'web-01.example.com', ip: ['10.0.0.1'], os: 'debian-12', files: { '/etc/motd': file(motd), '/etc/issue': file(issue) } };
  expect((await f.call('POST', '/api/v1/reports', agent, { reportId, host: 'web-01', seq, collectedAt: new Date().toISOString(), facts })).status).toBe(202);
  return reportId;
}

const timeline = async (query = ''): Promise<JsonBody> => (await f.call('GET', `/api/v1/assets/host/web-01/timeline${query}`, f.tokens.viewer)).body;
const openItem = (observed: string, field = FIELD) => (answer: { body: JsonBody }): boolean =>
  (answer.body.items as Array<{ field: string; state: string; observed: string }>).some((i) => i.field === field && i.state === 'open' && i.observed === `sha256:${sha(observed)}`);

/**
 * Commits `files` onto main in the server's repository as `author`, with no change request; with
 * `merge`, on a branch off main first, which a merge commit then brings in. Returns main's new head.
 */
function push(author: string, message: string, files: Record<string, string>, options: { merge?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'estate-source-index-'));
  const git = (args: string[], input?: string): string =>
    execFileSync('git', ['-c', `user.name=${author}`, '-c', `user.email=${author}@example.com`, ...args], {
      cwd: f.server.repoDir,
      encoding: 'utf8',
      input,
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_INDEX_FILE: join(dir, 'index') },
    }).trim();
  try {
    const main = git(['rev-parse', 'main']);
    git(['read-tree', main]);
    for (const [path, content] of Object.entries(files)) git(['update-index', '--add', '--cacheinfo', `100644,${git(['hash-object', '-w', '--stdin'], content)},${path}`]);
    const tree = git(['write-tree']);
    let head = git(['commit-tree', tree, '-p', main, '-m', message]);
    if (options.merge) head = git(['commit-tree', tree, '-p', main, '-p', head, '-m', `merge ${message}`]);
    git(['update-ref', 'refs/heads/main', head, main]);
    return head;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const drift = (): Promise<{ status: number; body: JsonBody }> => f.call('GET', '/api/v1/drift?asset=host/web-01&state=all', f.tokens.viewer);

describe('a managed file declared by source:', () => {
  let changeId: number;

  it('is explained by the CR that changed the source file while the host keeps the content from before', async () => {
    await report('welcome v1\n');
    await eventually(timeline, (body) => /matches Git/.test(body.verdict));

    const created = await f.call('POST', '/api/v1/changes', f.tokens.alice, { title: 'new motd', operations: [{ op: 'putFile', path: 'files/motd', content: 'welcome v2\n' }] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = (changeId = created.body.id as number);
    expect((await f.call('POST', `/api/v1/changes/${id}/approve`, f.tokens.bob, {})).status).toBe(200);
    expect((await f.call('POST', `/api/v1/changes/${id}/merge`, f.tokens.alice, {})).status).toBe(200);
    // Main moved: the host is compared again with the new content.
    await eventually(drift, openItem('welcome v1\n'));

    const body = await timeline();
    expect(body.openDrift).toEqual([
      expect.objectContaining({
        field: FIELD,
        declared: `sha256:${sha('welcome v2\n')}`,
        observed: `sha256:${sha('welcome v1\n')}`,
        explainedBy: expect.objectContaining({ author: 'alice', provenance: expect.objectContaining({ status: 'change-request', change: expect.objectContaining({ id }) }) }),
      }),
    ]);
    expect(body.verdict).toContain(`; the last declared change was CR #${id} by alice (files/motd) at `);
    expect(body.verdict).toMatch(new RegExp(`the drift is explained by Git: CR #${id} by alice changed the declared value and the host has not applied it yet$`));
  });

  it("shows a commit that changed only the source file among the host's declared changes, with its CR", async () => {
    const body = await timeline();
    const declared = (body.items as JsonBody[]).filter((entry) => entry.source === 'declared');
    // The import added the host and files/motd in one commit: that commit is the host's entry alone.
    expect(declared.map((entry) => entry.type)).toEqual(['source.changed', 'asset.added']);
    const [changed] = declared;
    expect(changed).toEqual(
      expect.objectContaining({
        path: 'files/motd',
        provenance: expect.objectContaining({ status: 'change-request', change: expect.objectContaining({ id: changeId }) }),
        fields: [{ op: 'replace', pointer: FIELD, old: `sha256:${sha('welcome v1\n')}`, new: `sha256:${sha('welcome v2\n')}` }],
      }),
    );
    expect(changed.commit).toEqual(expect.objectContaining({ author: 'alice', subject: expect.any(String) }));
    expect(changed.summary).toMatch(new RegExp(`^files/motd \\(the content of /etc/motd\\) changed sha256:[0-9a-f]{12}… → sha256:[0-9a-f]{12}… .*CR #${changeId}`));
    expect(JSON.stringify(body)).not.toContain('welcome v');

    // Paged one entry at a time, the same entries, none twice.
    const all: JsonBody[] = body.items;
    const paged: JsonBody[] = [];
    let cursor: string | undefined;
    do {
      const page = await timeline(`?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      paged.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(paged).toEqual(all);
  });

  it('is a change outside Git once the host has content that neither version declared', async () => {
    await report('edited by hand\n');
    await eventually(drift, openItem('edited by hand\n'));
    const body = await timeline();
    expect(body.openDrift).toEqual([expect.objectContaining({ field: FIELD, observed: `sha256:${sha('edited by hand\n')}` })]);
    expect(body.openDrift[0].explainedBy).toBeUndefined();
    expect(body.verdict).toMatch(/the drift is not explained by any Git change: it changed outside Git$/);
  });
  it('names the merge that brought a source change from a branch (main as indexed, first parents only)', async () => {
    await report('welcome v2\n');
    await eventually(drift, (answer) => !(answer.body.items as Array<{ field: string; state: string }>).some((i) => i.field === FIELD && i.state === 'open'));
    const merge = push('mallory', 'motd v3', { 'files/motd': 'welcome v3\n' }, { merge: true });
    await eventually(drift, openItem('welcome v2\n'));

    const body = await timeline();
    expect(body.openDrift).toEqual([expect.objectContaining({ field: FIELD, explainedBy: expect.objectContaining({ sha: merge, author: 'mallory' }) })]);
    expect(body.verdict).toMatch(/the drift is explained by Git: a direct push by mallory .*changed the declared value and the host has not applied it yet$/);
    const declared = (body.items as JsonBody[]).filter((entry) => entry.source === 'declared');
    expect(declared[0]).toEqual(expect.objectContaining({ type: 'source.changed', commit: expect.objectContaining({ sha: merge }) }));
    expect(declared.filter((entry) => entry.type === 'source.changed')).toHaveLength(2);
  });

  it('explains a newly managed file by the CR that declared it, and lists its source only from then on', async () => {
    await report('welcome v3\n');
    // files/issue changes while web-01 does not manage it: not a change of web-01.
    const before = push('mallory', 'issue v2', { 'files/issue': 'issue v2\n' });
    await eventually(timeline, (body) => /matches Git/.test(body.verdict));
    const created = await f.call('POST', '/api/v1/changes', f.tokens.alice, {
      title: 'manage /etc/issue',
      operations: [patchHost('web-01', { files: [{ path: '/etc/motd', source: 'files/motd' }, { path: '/etc/issue', source: 'files/issue' }] })],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as number;
    expect((await f.call('POST', `/api/v1/changes/${id}/approve`, f.tokens.bob, {})).status).toBe(200);
    expect((await f.call('POST', `/api/v1/changes/${id}/merge`, f.tokens.alice, {})).status).toBe(200);
    // The host still has issue v1; Git declares v2 since the CR.
    await eventually(drift, openItem('issue v1\n', ISSUE_FIELD));

    const body = await timeline();
    expect(body.openDrift).toEqual([expect.objectContaining({ field: ISSUE_FIELD, explainedBy: expect.objectContaining({ author: 'alice', provenance: expect.objectContaining({ change: expect.objectContaining({ id }) }) }) })]);
    const shas = (body.items as JsonBody[]).filter((entry) => entry.source === 'declared').map((entry) => entry.commit.sha);
    expect(shas).not.toContain(before);
    // A change of files/issue now is a change of web-01.
    const after = push('mallory', 'issue v3', { 'files/issue': 'issue v3\n' });
    await eventually(timeline, (page) => (page.items as JsonBody[]).some((entry) => entry.commit?.sha === after));
    const latest = (await timeline()).items.find((entry: JsonBody) => entry.source === 'declared');
    expect(latest).toEqual(expect.objectContaining({ type: 'source.changed', path: 'files/issue', fields: [{ op: 'replace', pointer: ISSUE_FIELD, old: `sha256:${sha('issue v2\n')}`, new: `sha256:${sha('issue v3\n')}` }] }));
  });
});
