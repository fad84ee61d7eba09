import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChangeFixture, type ChangeFixture, type JsonBody } from '../testing/changeFixture.js';

// End to end: the system git client clones from and pushes to a running server (in this process,
// over a real socket) at /estate.git; the push hooks turn pushes into change requests.

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let f: ChangeFixture;
let root: string;
let home: string;
let clones = 0;

beforeAll(async () => {
  f = await startChangeFixture();
  root = mkdtempSync(join(tmpdir(), 'estate-gitpush-'));
  home = join(root, 'home');
  mkdirSync(home);
}, 60_000);

afterAll(async () => {
  await f?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** The environment without the caller's git variables (a GIT_DIR of the test runner must not leak in). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('GIT_')) delete env[name];
  return env;
}

/**
 * Runs the system git as a user would: temp HOME, no system config, never prompting, committing as
 * "Ed" (a git identity unrelated to the token's user). Asynchronous: the server that answers runs
 * in this process, so the event loop must stay free.
 */
function git(args: string[], cwd = root): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-c', 'commit.gpgSign=false', '-c', 'core.autocrlf=false', ...args], {
      cwd,
      env: {
        ...cleanEnv(),
        HOME: home,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        LC_ALL: 'C',
        GIT_AUTHOR_NAME: 'Ed',
        GIT_AUTHOR_EMAIL: 'ed@example.com',
        GIT_COMMITTER_NAME: 'Ed',
        GIT_COMMITTER_EMAIL: 'ed@example.com',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

/** Runs git and expects it to succeed. */
async function ok(args: string[], cwd: string): Promise<Run> {
  const result = await git(args, cwd);
  expect(result.code, `git ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result;
}

/** The remote URL with `token` as the HTTP Basic password. */
function remote(token: string): string {
  return `${f.url.replace('http://', `http://x:${token}@`)}/estate.git`;
}

/** A fresh clone of the server's repo with `token`. */
async function cloneAs(token: string): Promise<string> {
  const dir = join(root, `clone-${++clones}`);
  await ok(['clone', '-q', remote(token), dir], root);
  return dir;
}

/** Replaces `from` with `to` in a file of the clone, commits it and returns the new sha. */
async function edit(dir: string, path: string, from: string | RegExp, to: string, message: string): Promise<string> {
  const file = join(dir, path);
  const before = readFileSync(file, 'utf8');
  const after = before.replace(from, to);
  expect(after, `${path} has no ${String(from)}`).not.toBe(before);
  writeFileSync(file, after);
  await ok(['commit', '-q', '-am', message], dir);
  return (await ok(['rev-parse', 'HEAD'], dir)).stdout.trim();
}

/** The id in git's `remote: change request N opened|updated` line. */
function changeIdIn(stderr: string, verb: 'opened' | 'updated'): number {
  const match = new RegExp(`remote: change request (\\d+) ${verb}`).exec(stderr);
  expect(match, stderr).not.toBeNull();
  return Number(match![1]);
}

async function getChange(id: number): Promise<JsonBody> {
  const answer = await f.call('GET', `/api/v1/changes/${id}`, f.tokens.viewer);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

/** Audit entries of one event type, newest first (the API pages oldest first; a test makes far fewer than a page). */
async function auditEntries(event: string): Promise<JsonBody[]> {
  const answer = await f.call('GET', `/api/v1/audit?event=${event}&limit=1000`, f.tokens.viewer);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.body.nextCursor).toBeUndefined();
  return [...answer.body.items].reverse();
}

/** True when the server's repository holds the object `sha`. */
function serverHas(sha: string): boolean {
  try {
    f.bareGit('cat-file', '-e', sha);
    return true;
  } catch {
    return false;
  }
}

const WEB_01 = 'assets/hosts/web-01.yaml';
const DB_01 = 'assets/hosts/db-01.yaml';

describe('git push over HTTP against the running server', { timeout: 60_000 }, () => {
  let pushedId: number;
  let pushedClone: string;

  it('opens a change request from a push to refs/for/main, authored by the token user', async () => {
    pushedClone = await cloneAs(f.tokens.alice);
    // Work on a topic branch, as with any review system that squashes: local main stays clean for pulls.
    await ok(['switch', '-q', '-c', 'topic'], pushedClone);
    const sha = await edit(pushedClone, WEB_01, 'ip: 10.0.0.1\n', 'ip: 10.0.0.21\n', 'web-01: move to 10.0.0.21\n\nThe old address is retired.');
    const push = await git(['push', 'origin', 'HEAD:refs/for/main'], pushedClone);
    expect(push.code, push.stderr).toBe(0);
    pushedId = changeIdIn(push.stderr, 'opened');
    expect(push.stderr).toContain(`remote: change request ${pushedId} opened: ${f.url}/api/v1/changes/${pushedId}`);
    expect(push.stderr).toContain(`remote:   branch cr/${pushedId}; checks passed`);

    const change = await getChange(pushedId);
    expect(change).toMatchObject({ source: 'push', author: 'alice', branch: `cr/${pushedId}`, head: sha, revision: 1, state: 'open', title: 'web-01: move to 10.0.0.21' });
    expect(change.description).toContain('The old address is retired.');
    expect(change.checks.status).toBe('passed');
    expect(change.checks.head).toBe(sha);
    expect(change.checks.diff.main.assets).toEqual([
      expect.objectContaining({ id: 'host/web-01', status: 'changed', fields: [expect.objectContaining({ pointer: '/spec/ip', old: '10.0.0.1', new: '10.0.0.21' })] }),
    ]);
    expect(change.requiredApprovals).toEqual([expect.objectContaining({ id: 'default/every-change', missing: 1 })]);
    // The branch holds the pushed commit as it was pushed (its git author stays), and the magic ref is gone.
    expect(f.bareGit('rev-parse', `refs/heads/cr/${pushedId}`)).toBe(sha);
    expect(f.bareGit('log', '-1', '--format=%an', sha)).toBe('Ed');
    expect(f.bareGit('for-each-ref', 'refs/for/')).toBe('');
    const opened = (await auditEntries('change.opened')).filter((e: JsonBody) => e.subject === `change/${pushedId}`);
    expect(opened).toEqual([expect.objectContaining({ actor: 'alice' })]);
  });

  it('updates the change request on a push to its cr/N branch: revision 2, earlier approvals stale', async () => {
    const approved = await f.call('POST', `/api/v1/changes/${pushedId}/approve`, f.tokens.bob);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.state).toBe('approved');

    const sha = await edit(pushedClone, WEB_01, 'os: debian-12\n', 'os: debian-13\n', 'web-01: debian 13 as well');
    const push = await git(['push', 'origin', `HEAD:cr/${pushedId}`], pushedClone);
    expect(push.code, push.stderr).toBe(0);
    expect(changeIdIn(push.stderr, 'updated')).toBe(pushedId);
    expect(push.stderr).toContain(`remote: change request ${pushedId} updated (revision 2)`);

    const change = await getChange(pushedId);
    expect(change).toMatchObject({ state: 'open', revision: 2, head: sha, author: 'alice', approvals: [], staleApprovals: [expect.objectContaining({ user: 'bob' })] });
    expect(change.requiredApprovals).toEqual([expect.objectContaining({ given: [], missing: 1 })]);
    expect(change.checks.diff.main.assets[0].fields.map((field: JsonBody) => field.pointer).sort()).toEqual(['/spec/ip', '/spec/os']);
    expect(f.bareGit('rev-parse', `refs/heads/cr/${pushedId}`)).toBe(sha);
  });

  it('merges a pushed change request through the API; the clone pulls the merge commit with its trailers', async () => {
    expect((await f.call('POST', `/api/v1/changes/${pushedId}/approve`, f.tokens.bob)).body.state).toBe('approved');
    const merged = await f.call('POST', `/api/v1/changes/${pushedId}/merge`, f.tokens.alice, {});
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(merged.body).toMatchObject({ state: 'merged', merged: { by: 'alice' } });
    const sha: string = merged.body.merged.sha;
    expect(f.bareGit('rev-parse', 'main')).toBe(sha);

    // The merge commit is a new commit on top of main (its tree is the change's): local main fast-forwards to it.
    await ok(['switch', '-q', 'main'], pushedClone);
    await ok(['pull', '-q'], pushedClone);
    expect((await ok(['rev-parse', 'HEAD'], pushedClone)).stdout.trim()).toBe(sha);
    const message = (await ok(['log', '-1', '--format=%B'], pushedClone)).stdout;
    expect(message).toContain('web-01: move to 10.0.0.21');
    expect(message).toContain(`Change-Request: ${pushedId}`);
    expect(message).toContain('Approved-by: bob');
    expect(readFileSync(join(pushedClone, WEB_01), 'utf8')).toContain('ip: 10.0.0.21\n');
  });

  it('opens a change request on a push to a new cr/<topic> branch, named after it', async () => {
    const dir = await cloneAs(f.tokens.alice);
    const sha = await edit(dir, DB_01, 'os: debian-12\n', 'os: debian-13\n', 'db-01: debian 13');
    const push = await git(['push', 'origin', 'HEAD:cr/my-topic'], dir);
    expect(push.code, push.stderr).toBe(0);
    const id = changeIdIn(push.stderr, 'opened');
    expect(push.stderr).toContain('remote:   branch cr/my-topic; checks passed');
    const change = await getChange(id);
    expect(change).toMatchObject({ branch: 'cr/my-topic', source: 'push', author: 'alice', head: sha, revision: 1 });
    // db-01 is prod: two approvals.
    expect(change.requiredApprovals).toEqual([expect.objectContaining({ id: 'default/production', count: 2 })]);
    expect(f.bareGit('rev-parse', 'refs/heads/cr/my-topic')).toBe(sha);

    // A second push to the same branch updates that change request instead of opening another.
    await edit(dir, DB_01, 'os: debian-13\n', 'os: debian-14\n', 'db-01: debian 14');
    const again = await git(['push', 'origin', 'HEAD:cr/my-topic'], dir);
    expect(again.code, again.stderr).toBe(0);
    expect(changeIdIn(again.stderr, 'updated')).toBe(id);
    expect((await f.call('POST', `/api/v1/changes/${id}/close`, f.tokens.alice, { reason: 'test done' })).status).toBe(200);

    // A closed change request's branch takes no more pushes.
    await edit(dir, DB_01, 'os: debian-14\n', 'os: debian-15\n', 'db-01: debian 15');
    const closed = await git(['push', 'origin', 'HEAD:cr/my-topic'], dir);
    expect(closed.code).not.toBe(0);
    expect(closed.stderr).toContain(`remote: change request ${id} (cr/my-topic) is closed; push to refs/for/main to open a new one`);
  });

  it('opens a change request whose checks fail for a push that breaks the estate, and names the blocker', async () => {
    const dir = await cloneAs(f.tokens.alice);
    await edit(dir, WEB_01, /owner: .*\n/, 'owner: team/nobody\n', 'web-01: owned by a team that does not exist');
    const push = await git(['push', 'origin', 'HEAD:refs/for/main'], dir);
    expect(push.code, push.stderr).toBe(0);
    const id = changeIdIn(push.stderr, 'opened');
    expect(push.stderr).toContain(`branch cr/${id}; checks failed`);
    const change = await getChange(id);
    expect(change.checks.status).toBe('failed');
    expect(change.blockers).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'E_CHECKS_FAILED' })]));
    const message = change.blockers.find((b: JsonBody) => b.code === 'E_CHECKS_FAILED').message;
    expect(push.stderr).toContain(`remote:   - ${message.split('\n', 1)[0]}`);
    expect((await f.call('POST', `/api/v1/changes/${id}/close`, f.tokens.alice, {})).status).toBe(200);
  });

  it('refuses a push to main with how to open a change request; main does not move and the refusal is audited', async () => {
    const dir = await cloneAs(f.tokens.alice);
    const main = f.bareGit('rev-parse', 'main');
    const sha = await edit(dir, WEB_01, 'os: debian-13\n', 'os: debian-14\n', 'web-01: straight to main');
    const push = await git(['push', 'origin', 'HEAD:main'], dir);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain('remote: main only changes through a change request. Open one with:');
    expect(push.stderr).toContain('remote:   git push origin HEAD:refs/for/main');
    expect(push.stderr).toContain('[remote rejected] HEAD -> main');
    expect(f.bareGit('rev-parse', 'main')).toBe(main);
    // Quarantined objects of a refused push are dropped.
    expect(serverHas(sha)).toBe(false);
    const refused = await auditEntries('push.refused');
    expect(refused[0]).toMatchObject({ actor: 'alice', subject: 'repo/estate.git', details: { refs: ['refs/heads/main'] } });
    expect(refused[0].details.reason).toContain('git push origin HEAD:refs/for/main');
  });

  it('accepts an emergency push by an admin: main moves, a merged emergency change with a pending review', async () => {
    const dir = await cloneAs(f.tokens.root);
    const main = f.bareGit('rev-parse', 'main');
    const sha = await edit(dir, DB_01, 'ip: 10.0.0.2\n', 'ip: 10.0.0.52\n', 'db-01: fail over to the replica');
    const push = await git(['push', '-o', 'emergency=db on fire', 'origin', 'HEAD:main'], dir);
    expect(push.code, push.stderr).toBe(0);
    const match = /remote: EMERGENCY change (\d+) recorded: (\S+)/.exec(push.stderr);
    expect(match, push.stderr).not.toBeNull();
    const id = Number(match![1]);
    expect(match![2]).toBe(`${f.url}/api/v1/changes/${id}`);
    expect(push.stderr).toContain('remote: an approver must acknowledge its review by ');
    expect(f.bareGit('rev-parse', 'main')).toBe(sha);
    expect(f.bareGit('rev-parse', `${sha}^`)).toBe(main);

    const emergencies = await f.call('GET', '/api/v1/changes?emergency=true', f.tokens.viewer);
    expect(emergencies.status).toBe(200);
    expect(emergencies.body.items).toEqual([
      expect.objectContaining({ id, state: 'merged', source: 'emergency-push', author: 'root', head: sha, emergency: { reason: 'db on fire', by: 'root' }, merged: expect.objectContaining({ sha, by: 'root' }) }),
    ]);
    const reviews = await f.call('GET', '/api/v1/reviews', f.tokens.viewer);
    expect(reviews.body.items).toEqual([expect.objectContaining({ changeId: id, overdue: false, change: expect.objectContaining({ id, emergency: { reason: 'db on fire', by: 'root' } }) })]);
    expect((await auditEntries('change.emergency'))[0]).toMatchObject({ actor: 'root', subject: `change/${id}`, details: expect.objectContaining({ reason: 'db on fire', commit: sha }) });

    await f.server.indexer.sync();
    const provenance = await f.call('GET', `/api/v1/provenance/${sha}`, f.tokens.viewer);
    expect(provenance.status, JSON.stringify(provenance.body)).toBe(200);
    expect(provenance.body).toMatchObject({ sha, status: 'emergency', change: { id, author: 'root', emergency: { reason: 'db on fire', by: 'root' }, mergedBy: 'root' } });

    // An approver other than the pusher acknowledges the review.
    const acknowledged = await f.call('POST', `/api/v1/changes/${id}/review`, f.tokens.bob, { comment: 'replica confirmed healthy' });
    expect(acknowledged.status, JSON.stringify(acknowledged.body)).toBe(200);
    expect((await f.call('GET', '/api/v1/reviews', f.tokens.viewer)).body.items).toEqual([]);
  });

  it('refuses emergency pushes by a non-admin, without the option, without a reason, and that rewrite history', async () => {
    const main = f.bareGit('rev-parse', 'main');
    const byAlice = await cloneAs(f.tokens.alice);
    await edit(byAlice, WEB_01, 'os: debian-13\n', 'os: debian-14\n', 'web-01: urgent');
    const alice = await git(['push', '-o', 'emergency=it is urgent', 'origin', 'HEAD:main'], byAlice);
    expect(alice.code).not.toBe(0);
    expect(alice.stderr).toContain("remote: an emergency push needs the role 'admin'; alice has 'editor'. Open a change request: git push origin HEAD:refs/for/main");

    const byRoot = await cloneAs(f.tokens.root);
    await edit(byRoot, WEB_01, 'os: debian-13\n', 'os: debian-14\n', 'web-01: urgent too');
    const plain = await git(['push', 'origin', 'HEAD:main'], byRoot);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toContain('remote: main only changes through a change request');
    const blank = await git(['push', '-o', 'emergency=  ', 'origin', 'HEAD:main'], byRoot);
    expect(blank.code).not.toBe(0);
    expect(blank.stderr).toContain('remote: an emergency push needs a reason');

    // Rewriting main: drop its last commit and force another one in its place.
    await ok(['reset', '-q', '--hard', 'HEAD~2'], byRoot);
    await edit(byRoot, WEB_01, /os: debian-1\d\n/, 'os: debian-11\n', 'web-01: rewritten history');
    const forced = await git(['push', '-o', 'emergency=rewrite', 'origin', '+HEAD:main'], byRoot);
    expect(forced.code).not.toBe(0);
    expect(forced.stderr).toContain('remote: an emergency push must fast-forward main: fetch, rebase onto origin/main and push again');

    expect(f.bareGit('rev-parse', 'main')).toBe(main);
    const refused = (await auditEntries('push.refused')).slice(0, 4);
    expect(refused.map((entry: JsonBody) => entry.actor)).toEqual(['root', 'root', 'root', 'alice']);
    expect((await f.call('GET', '/api/v1/changes?emergency=true', f.tokens.viewer)).body.items).toHaveLength(1);
  });

  it('refuses pushes to other branches and to tags, saying where to push', async () => {
    const dir = await cloneAs(f.tokens.alice);
    await edit(dir, WEB_01, 'os: debian-13\n', 'os: debian-14\n', 'web-01: on a feature branch');
    const feature = await git(['push', 'origin', 'HEAD:refs/heads/feature'], dir);
    expect(feature.code).not.toBe(0);
    expect(feature.stderr).toContain('remote: refs/heads/feature does not accept pushes: push to refs/for/main (opens a change request) or to a cr/* branch');

    await ok(['tag', 'v1'], dir);
    const tag = await git(['push', 'origin', 'v1'], dir);
    expect(tag.code).not.toBe(0);
    expect(tag.stderr).toContain('remote: refs/tags/v1 does not accept pushes');

    // Several refs in one push: each refusal is named, and nothing moves (not even the CR).
    const both = await git(['push', 'origin', 'HEAD:refs/for/main', 'HEAD:refs/heads/feature'], dir);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain('remote: refs/heads/feature: refs/heads/feature does not accept pushes');
    expect(f.bareGit('for-each-ref', 'refs/heads/feature', 'refs/tags/', 'refs/for/')).toBe('');
  });

  it('lets a viewer clone but not push (403), and an invalid token not at all (authentication fails)', async () => {
    const dir = await cloneAs(f.tokens.viewer);
    await edit(dir, WEB_01, 'os: debian-13\n', 'os: debian-14\n', 'web-01: by a viewer');
    const push = await git(['push', 'origin', 'HEAD:refs/for/main'], dir);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain('The requested URL returned error: 403');

    const invalid = remote(`est_${'q'.repeat(43)}`);
    const anonymous = await git(['push', invalid, 'HEAD:refs/for/main'], dir);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toContain('Authentication failed');
    const cloned = await git(['clone', '-q', invalid, join(root, 'clone-invalid')], root);
    expect(cloned.code).not.toBe(0);
    expect(cloned.stderr).toContain('Authentication failed');
    expect(f.bareGit('for-each-ref', 'refs/for/')).toBe('');
  });
});
