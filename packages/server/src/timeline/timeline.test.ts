import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { patchHost, startChangeFixture, type ChangeFixture, type JsonBody } from '../testing/changeFixture.js';
import { hostYaml } from '../testing/gitRepo.js';
import { driftAtHead, eventually } from '../testing/eventually.js';

// End to end over a real server, real git and reports posted over HTTP: a change made through a CR,
// a direct push to main, and drift opened and resolved by reports, merged into one timeline.

const MOTD = 'hello from git\n';
const SECRET_MOTD = 'TOPSECRET motd\n';
const HOST = hostYaml('web-01', { env: 'staging', extra: `  cpus: 2\n  files:\n    - {path: /etc/motd, content: ${JSON.stringify(MOTD)}}\n` });

let f: ChangeFixture;
let agent: string;
let ids = 0;
let seq = 0;
const reports: string[] = [];

beforeAll(async () => {
  f = await startChangeFixture({ 'assets/hosts/web-01.yaml': HOST });
  agent = (await issueToken(f.server.store, { name: 'agent-web-01', role: 'agent', scopes: { hosts: ['web-01'] } })).token;
  await driftAtHead(f.server);
}, 60_000);

afterAll(async () => {
  await f?.stop();
});

const get = (path: string): Promise<{ status: number; body: JsonBody }> => f.call('GET', path, f.tokens.viewer);
const timeline = (query = ''): Promise<{ status: number; body: JsonBody }> => get(`/api/v1/assets/host/web-01/timeline${query}`);

/** Posts a report of web-01 with these cpus, os and memory; returns its id. */
async function report(cpus: number, os = 'debian-12', memoryGiB = 8): Promise<string> {
  const reportId = `01JDQ2${String(++ids).padStart(20, '0')}`;
  const body = { reportId, host: 'web-01', seq: ++seq, collectedAt: new Date().toISOString(), facts: { hostname: 'web-01.example.com', ip: ['10.0.0.1'], os, cpus, memoryGiB } };
  expect((await f.call('POST', '/api/v1/reports', agent, body)).status).toBe(202);
  reports.push(reportId);
  return reportId;
}

/** Waits until the drift items of web-01 (all states) satisfy `done`. */
function driftUntil(done: (items: Array<{ field: string; state: string; reportId: string }>) => boolean): Promise<unknown> {
  return eventually(() => get('/api/v1/drift?asset=host/web-01&state=all&limit=1000'), (answer) => done(answer.body.items));
}

/** Commit times have whole seconds: a step after a report waits for the next second, so the order by time is the order of the steps. */
const nextSecond = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1100));

describe('asset timeline (the 3 a.m. answer)', () => {
  let changeId: number;
  let pushSha: string;

  it('explains drift opened by a merged CR the host has not applied yet, on a changed field and a newly declared one', async () => {
    await report(2);
    await eventually(() => timeline(), (answer) => answer.body.items?.[0]?.type === 'report.latest');
    const clean = await timeline();
    expect(clean.body.verdict).toMatch(/^host\/web-01 matches Git \(latest report 01JDQ2\d+, collected .*\); the last declared change was commit [0-9a-f]{12} by Ada \(before Estate governed main\) at 2024-/);
    expect(clean.body.openDrift).toEqual([]);

    await nextSecond();
    const created = await f.call('POST', '/api/v1/changes', f.tokens.alice, {
      title: 'more cpus',
      operations: [patchHost('web-01', { cpus: 4, memoryGiB: 16, files: [{ path: '/etc/motd', content: SECRET_MOTD }] })],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    changeId = created.body.id;
    expect((await f.call('POST', `/api/v1/changes/${changeId}/approve`, f.tokens.bob, {})).status).toBe(200);
    expect((await f.call('POST', `/api/v1/changes/${changeId}/merge`, f.tokens.alice, {})).status).toBe(200);
    await driftUntil((items) => items.filter((i) => i.state === 'open').length === 2);

    const pending = await timeline();
    const byCr = expect.objectContaining({ author: 'alice', provenance: expect.objectContaining({ status: 'change-request', change: expect.objectContaining({ id: changeId }) }) });
    expect(pending.body.openDrift).toEqual([
      expect.objectContaining({ field: '/spec/cpus', declared: 4, observed: 2, explainedBy: byCr }),
      expect.objectContaining({ field: '/spec/memoryGiB', declared: 16, observed: 8, explainedBy: byCr }),
    ]);
    expect(pending.body.verdict).toContain(`; the last declared change was CR #${changeId} by alice at `);
    expect(pending.body.verdict).toMatch(new RegExp(`the drift is explained by Git: CR #${changeId} by alice changed the declared value and the host has not applied it yet$`));
  });

  it('interleaves a CR, a direct push, and drift opened and resolved, newest first, with provenance', async () => {
    await report(4, 'debian-12', 16);
    await driftUntil((items) => items.filter((i) => i.state === 'resolved').length === 2);

    // mallory commits straight to main on the server's disk: no change request.
    await nextSecond();
    pushSha = directPush(f, 'mallory', 'os to debian-13', (yaml) => yaml.replace('debian-12', 'debian-13'));
    await driftUntil((items) => items.some((i) => i.field === '/spec/os' && i.state === 'open'));
    const outside = await report(8, 'debian-13', 16);
    await driftUntil((items) => items.some((i) => i.field === '/spec/os' && i.state === 'resolved') && items.some((i) => i.field === '/spec/cpus' && i.state === 'open'));

    const answer = await timeline();
    expect(answer.status).toBe(200);
    const body = answer.body;
    expect(body.verdict).toMatch(
      new RegExp(
        `^host/web-01 differs from Git on 1 field since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\(report ${outside}\\); the last declared change was a direct push by mallory \\(commit ${pushSha.slice(0, 12)}, not through a CR\\) at .*; the drift is not explained by any Git change: it changed outside Git$`,
      ),
    );
    expect(body.openDrift).toEqual([{ field: '/spec/cpus', declared: 4, observed: 8, firstSeen: expect.any(String), reportId: outside }]);

    const items: JsonBody[] = body.items;
    expect(items.map((e) => [e.source, e.type, e.field ?? e.commit?.sha ?? e.reportId])).toEqual([
      ['observed', 'drift.opened', '/spec/cpus'],
      ['observed', 'drift.resolved', '/spec/os'],
      ['observed', 'report.latest', reports[2]],
      ['observed', 'drift.opened', '/spec/os'],
      ['declared', 'asset.changed', pushSha],
      ['observed', 'drift.resolved', '/spec/memoryGiB'],
      ['observed', 'drift.resolved', '/spec/cpus'],
      ['observed', 'drift.opened', '/spec/memoryGiB'],
      ['observed', 'drift.opened', '/spec/cpus'],
      ['declared', 'asset.changed', expect.any(String)],
      ['observed', 'report.first', reports[0]],
      ['declared', 'asset.added', expect.any(String)],
    ]);
    const times = items.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    expect(items[0]).toMatchObject({ summary: `drift opened on /spec/cpus: declared 4, observed 8 (report ${outside})`, reportId: outside });
    expect(items[1].summary).toBe(`drift resolved on /spec/os: the host matches Git again (report ${outside})`);
    expect(items[4]).toMatchObject({
      summary: 'os changed debian-12 → debian-13 by mallory, pushed directly (not through a CR)',
      provenance: { status: 'unreviewed' },
      commit: { sha: pushSha, author: 'mallory', subject: 'os to debian-13' },
      fields: [{ op: 'replace', pointer: '/spec/os', old: 'debian-12', new: 'debian-13' }],
    });
    const cr = items[9];
    expect(cr.summary).toContain('cpus changed 2 → 4');
    expect(cr.summary).toContain('memoryGiB set to 16');
    expect(cr.summary).toMatch(/files\/0\/content changed sha256:[0-9a-f]{12}… → sha256:[0-9a-f]{12}…/);
    expect(cr.summary).toMatch(new RegExp(` by alice in CR #${changeId} "more cpus", approved by bob$`));
    expect(cr.provenance).toMatchObject({ status: 'change-request', change: { id: changeId, author: 'alice', approvedBy: ['bob'], title: 'more cpus' } });
    expect(items[11].provenance).toEqual({ status: 'before-governance' });
    // File contents never appear: the CR's field changes show digests.
    const text = JSON.stringify(body);
    expect(text).not.toContain('TOPSECRET');
    expect(text).not.toContain('hello from git');
  });

  it('pages through both sources with a cursor and filters by since', async () => {
    const all: JsonBody[] = (await timeline()).body.items;
    const paged: JsonBody[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await timeline(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      paged.push(...page.body.items);
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBe(4);
    expect(paged).toEqual(all);

    const since = all[9].at;
    const recent = await timeline(`?since=${encodeURIComponent(since)}`);
    expect(recent.body.items).toEqual(all.slice(0, 10));
  });

  it('shows restores by an enforcing agent and a host gone stale, as their writers record them', async () => {
    f.server.driftStore.appendEvent({
      at: new Date(Date.now() + 1000).toISOString(),
      type: 'host.enforced',
      asset: 'host/web-01',
      host: 'web-01',
      field: '/spec/files/~1etc~1motd/content',
      reportId: reports[2],
      details: { path: '/etc/motd', field: 'content', fromSha256: 'a'.repeat(64), toSha256: 'b'.repeat(64), backup: '/var/lib/estate-agent/backups/etc-motd.1', ok: true },
    });
    const lastReportAt = new Date().toISOString();
    f.server.driftStore.appendEvent({ at: new Date(Date.now() + 2000).toISOString(), type: 'host.stale', asset: 'host/web-01', host: 'web-01', reportId: reports[2], details: { lastReportAt } });
    const top = (await timeline('?limit=2')).body;
    expect(top.items.map((e: JsonBody) => [e.source, e.type, e.summary])).toEqual([
      ['observed', 'host.stale', `host stopped reporting (last report ${reports[2]} at ${lastReportAt.slice(0, 19).replace('T', ' ')}Z)`],
      ['observed', 'host.enforced', `restored /etc/motd from Git (backup /var/lib/estate-agent/backups/etc-motd.1) (report ${reports[2]})`],
    ]);
    expect(top.nextCursor).toEqual(expect.any(String));
  });

  it('shows the reports of a host no Host asset declares', async () => {
    const token = (await issueToken(f.server.store, { name: 'agent-db-09', role: 'agent', scopes: { hosts: ['db-09'] } })).token;
    const body = { reportId: '01JDQ300000000000000000001', host: 'db-09', seq: 1, collectedAt: new Date().toISOString(), facts: { hostname: 'db-09', cpus: 8 } };
    expect((await f.call('POST', '/api/v1/reports', token, body)).status).toBe(202);
    const answer = await eventually(() => get('/api/v1/assets/host/db-09/timeline'), (a) => a.status === 200);
    expect(answer.body.verdict).toMatch(/^host\/db-09 was never declared in Git; host db-09 reports as unmanaged \(latest report 01JDQ300000000000000000001, collected .*\)$/);
    expect(answer.body.items).toEqual([expect.objectContaining({ source: 'observed', type: 'report.latest', summary: expect.stringMatching(/^first and latest report 01JDQ300000000000000000001 \(seq 1\)/) })]);
  });

  it('refuses an unknown asset, a bad cursor and a bad since', async () => {
    const missing = await get('/api/v1/assets/host/web-99/timeline');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('E_ASSET_NOT_FOUND');
    expect(missing.body.error.message).toBe("asset 'host/web-99' never existed on main and nothing reported on it");
    const drift = (await get('/api/v1/drift?state=all&limit=1')).body.nextCursor;
    const cursor = await timeline(`?cursor=${drift}`);
    expect(cursor.status).toBe(400);
    expect(cursor.body.error.code).toBe('E_BAD_PARAM');
    const since = await timeline('?since=yesterday');
    expect(since.status).toBe(400);
    expect(since.body.error.message).toBe("parameter 'since' must be an ISO 8601 time, not 'yesterday'");
  });
});

/** Commits an edit of web-01's file straight onto main in the server's bare repository (plumbing, no hooks); returns the sha. */
function directPush(fixture: ChangeFixture, author: string, message: string, edit: (yaml: string) => string): string {
  const path = 'assets/hosts/web-01.yaml';
  const git = (args: string[], options: { input?: string; env?: Record<string, string> } = {}): string =>
    execFileSync('git', args, { cwd: fixture.server.repoDir, encoding: 'utf8', input: options.input, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', ...options.env } }).trim();
  const main = git(['rev-parse', 'main']);
  const blob = git(['hash-object', '-w', '--stdin'], { input: edit(git(['show', `main:${path}`]) + '\n') });
  const dir = mkdtempSync(join(tmpdir(), 'estate-timeline-index-'));
  try {
    const env = { GIT_INDEX_FILE: join(dir, 'index') };
    git(['read-tree', main], { env });
    git(['update-index', '--cacheinfo', `100644,${blob},${path}`], { env });
    const tree = git(['write-tree'], { env });
    const sha = git(['-c', `user.name=${author}`, '-c', `user.email=${author}@example.com`, 'commit-tree', tree, '-p', main, '-m', message]);
    git(['update-ref', 'refs/heads/main', sha, main]);
    return sha;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

