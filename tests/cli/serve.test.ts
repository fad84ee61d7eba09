/**
 * End to end: `estate serve` as a child process over a real repository, tokens made with
 * `estate token`, and the read commands with --server printing what they print from the repo.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { assertBuilt, commit, copyDemo, estate, estateAll, git, makeTempDir, parseJson, removeTempDirs, serveEstate, type RunResult, type ServedEstate } from './helpers.js';

let repo: string;
let data: string;
let served: ServedEstate | undefined;
/** Commits of the test repo: the demo as `estate init` made it, then two more. */
const c: Record<'first' | 'second' | 'head', string> = { first: '', second: '', head: '' };
let viewer: string;

/** Waits until the server's /readyz reports `sha` as its indexed head. */
async function indexed(url: string, sha: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/readyz`);
      last = await response.text();
      if (response.ok && (JSON.parse(last) as { head: { sha: string } }).head.sha === sha) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not index ${sha} within ${timeoutMs} ms; /readyz: ${last}`);
}

/** Runs each command locally (--repo) and against the server (token in ESTATE_TOKEN), all at once. */
async function bothWays(...commands: Array<{ local: string[]; server: string[] }>): Promise<Array<{ local: RunResult; server: RunResult }>> {
  const url = served!.url;
  const cwd = makeTempDir();
  const results = await estateAll(
    commands.flatMap(({ local, server }): Array<[string[], { cwd: string; env?: Record<string, string> }]> => [
      [[...local, '--repo', repo], { cwd }],
      [[...server, '--server', url], { cwd, env: { ESTATE_TOKEN: viewer } }],
    ]),
  );
  return commands.map((_, i) => ({ local: results[2 * i]!, server: results[2 * i + 1]! }));
}

/** The same command both ways. */
const same = (...args: string[]) => ({ local: args, server: args });

/** Asserts that both ways succeeded with the same stdout and nothing on stderr. */
function expectSame(pair: { local: RunResult; server: RunResult }, what: string): void {
  expect(pair.local.stderr, `${what} (local)`).toBe('');
  expect(pair.server.stderr, `${what} (server)`).toBe('');
  expect(pair.local.status, `${what} (local)`).toBe(0);
  expect(pair.server.status, `${what} (server)`).toBe(0);
  expect(pair.server.stdout, what).toBe(pair.local.stdout);
}

describe('estate serve, estate token and the read commands with --server', () => {
  beforeAll(async () => {
    assertBuilt();
    repo = copyDemo();
    c.first = git(repo, 'rev-parse', 'HEAD');
    const web = readFileSync(join(repo, 'assets/hosts/prod/web.yaml'), 'utf8');
    c.second = commit(repo, 'web-01: eight cores, tier 1', {
      'assets/hosts/prod/web.yaml': web.replace('  cpus: 4\n', '  cpus: 8\n').replace('labels: {env: prod, role: web}', 'labels: {env: prod, role: web, tier: "1"}'),
    });
    git(repo, 'mv', 'assets/hosts/prod/db-01.yaml', 'assets/hosts/prod/primary-db.yaml');
    c.head = commit(repo, 'db-01: a file named after its role', {}, { author: { name: 'Bob Admin', email: 'bob@example.com' } });
    data = join(makeTempDir('estate-cli-data-'), 'data');
    served = await serveEstate(['--data', data, '--import', repo, '--port', '0'], { cwd: makeTempDir() });
    await indexed(served.url, c.head);
    const created = estate(['token', 'create', '--data', data, '--role', 'viewer', '--name', 'ci'], { cwd: repo });
    expect(created.status, created.stderr).toBe(0);
    viewer = created.stdout.trim();
  });

  afterAll(async () => {
    await served?.stop('SIGKILL');
    removeTempDirs();
  });

  it('serve prints the URL it listens on, with the port --port 0 picked', () => {
    expect(served!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(served!.url).not.toMatch(/:0$/);
  });

  it('token create prints the token alone on stdout, and says on stderr that it is shown once', () => {
    expect(viewer).toMatch(/^est_[A-Za-z0-9_-]{43}$/);
    const again = estate(['token', 'create', '--data', data, '--role', 'admin', '--name', 'ops', '--expires', '30d'], { cwd: repo });
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/^est_[A-Za-z0-9_-]{43}\n$/);
    expect(again.stderr).toMatch(/^created tok_[a-z2-7]{8} 'ops' \(admin, expires \d{4}-\d\d-\d\d \d\d:\d\dZ\)\. The token is shown only this once: store it now\.\n$/);
  });

  it('get, list and relations print what they print from the repo', async () => {
    const pairs = await bothWays(
      same('get', 'host/web-01', '-o', 'json'),
      same('get', 'Host/db-01', '-o', 'json'),
      same('list'),
      same('list', '-o', 'json'),
      same('list', '-o', 'yaml'),
      same('list', '--kind', 'host', '-l', 'env=prod', '-l', 'role in (web,db)'),
      { local: ['list', '--kind', 'Host', '--rev', c.first, '-o', 'json'], server: ['list', '--kind', 'Host', '--at', c.first, '-o', 'json'] },
      { local: ['get', 'host/web-01', '--rev', c.first], server: ['get', 'host/web-01', '--rev', c.first.slice(0, 8)] },
      same('relations', 'host/db-01', '--direction', 'in', '--depth', '3'),
      same('relations', 'host/db-01', '--direction', 'in', '--depth', '3', '--format', 'json'),
      same('relations', 'service/checkout', '--direction', 'out', '--type', 'runsOn', '--depth', '2'),
    );
    const [getJson, getMoved, table, json, yaml, filtered, past, getPast] = pairs;
    for (const [i, pair] of pairs.entries()) {
      // `get` as YAML renders the stored document (no comments): compared as data below.
      if (pair === getPast) continue;
      expectSame(pair, `command ${i}`);
    }
    expect(parseJson<{ spec: { cpus: number } }>(getJson!.server.stdout).spec.cpus).toBe(8);
    expect(parseJson<{ metadata: { name: string } }>(getMoved!.server.stdout).metadata.name).toBe('db-01');
    expect(table!.server.stdout.trimEnd().split('\n')).toHaveLength(1 + 29);
    expect(parseJson<unknown[]>(json!.server.stdout)).toHaveLength(29);
    expect(yaml!.server.stdout).toContain('name: web-01');
    expect(filtered!.server.stdout).toMatch(/^host\/web-01 +team\/team-platform +env=prod,role=web,tier=1 +assets\/hosts\/prod\/web\.yaml$/m);
    expect(past!.server.stdout).not.toContain('tier');
    expect(getPast!.server.status).toBe(0);
    expect(parse(getPast!.server.stdout)).toEqual(parse(getPast!.local.stdout));
    expect(getPast!.server.stdout).toContain('cpus: 4');
  });

  it('history and diff print what they print from the repo', async () => {
    const pairs = await bothWays(
      same('history', 'host/web-01'),
      same('history', 'host/db-01'),
      same('history', 'host/db-01', '--limit', '1'),
      { local: ['diff', c.first, 'HEAD'], server: ['diff', c.first] },
      { local: ['diff', c.first, 'HEAD', '--format', 'json'], server: ['diff', c.first, c.head, '--format', 'json'] },
      same('diff', c.second, c.first),
    );
    pairs.forEach((pair, i) => expectSame(pair, `command ${i}`));
    const [web, moved, , diff] = pairs;
    expect(web!.server.stdout).toContain('~ spec.cpus: 4 → 8');
    expect(moved!.server.stdout).toContain('assets/hosts/prod/db-01.yaml → assets/hosts/prod/primary-db.yaml');
    expect(diff!.server.stdout).toContain('1 changed, 0 added, 0 removed, 1 moved');
  });

  it('history --format json carries the same entries in the API shape', async () => {
    const [pair] = await bothWays(same('history', 'host/web-01', '--format', 'json'));
    interface Entry {
      commit: { sha: string; subject: string; authorName?: string; author?: { name: string } };
      change: string;
      path: string;
      fields: unknown[];
    }
    const local = parseJson<{ id: string; entries: Entry[] }>(pair!.local.stdout);
    const server = parseJson<{ id: string; entries: Entry[] }>(pair!.server.stdout);
    expect(server.id).toBe(local.id);
    const essentials = (e: Entry) => [e.commit.sha, e.commit.subject, e.commit.authorName ?? e.commit.author?.name, e.change, e.path, e.fields];
    expect(server.entries.map(essentials)).toEqual(local.entries.map(essentials));
  });

  it('refuses a missing or wrong token: exit 2, error[E_UNAUTHORIZED], the token never printed', async () => {
    const wrong = 'est_' + 'A'.repeat(43);
    const cwd = makeTempDir();
    const [none, bad, garbled] = await estateAll([
      [['list', '--server', served!.url], { cwd }],
      [['get', 'host/web-01', '--server', served!.url], { cwd, env: { ESTATE_TOKEN: wrong } }],
      [['validate', '--server', served!.url], { cwd, env: { ESTATE_TOKEN: 'not-a-token' } }],
    ]);
    for (const result of [none, bad, garbled]) {
      expect(result!.status).toBe(2);
      expect(result!.stdout).toBe('');
      expect(result!.stderr).toMatch(/^error\[E_UNAUTHORIZED\]: .+\n$/);
    }
    expect(bad!.stderr).not.toContain(wrong);
    expect(garbled!.stderr).not.toContain('not-a-token');
  });

  it('exit 1 for an asset that does not exist, as locally', async () => {
    const [get, relations] = await bothWays(same('get', 'host/nope'), same('relations', 'host/nope'));
    for (const pair of [get, relations]) {
      expect(pair!.local.status).toBe(1);
      expect(pair!.server.status).toBe(1);
      expect(pair!.server.stderr).toMatch(/^error\[E_ASSET_NOT_FOUND\]: .*host\/nope/);
    }
  });

  it('token list shows ids, names and roles, and no secret', () => {
    const table = estate(['token', 'list', '--data', data], { cwd: repo });
    expect(table.status).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +ROLE +GROUPS +CREATED +EXPIRES +LAST USED +REVOKED$/);
    expect(lines.find((l) => / ci +viewer /.test(l))).toMatch(/^tok_[a-z2-7]{8} +ci +viewer +- +\d{4}-\d\d-\d\d \d\d:\d\dZ +- +\d{4}-\d\d-\d\d \d\d:\d\dZ +-$/);
    const json = estate(['token', 'list', '--data', data, '--format', 'json'], { cwd: repo });
    const tokens = parseJson<Array<Record<string, unknown>>>(json.stdout);
    expect(Object.keys(tokens[0]!).sort()).toEqual(['createdAt', 'expiresAt', 'groups', 'id', 'lastUsedAt', 'name', 'revokedAt', 'role', 'scopes']);
    for (const output of [table.stdout, json.stdout]) {
      expect(output).not.toContain(viewer);
      expect(output).not.toContain('est_');
      expect(output).not.toMatch(/[0-9a-f]{64}/);
    }
  });

  it('validate --server prints the diagnostics of the head, exit 0 when valid and 1 when not', async () => {
    const [valid] = await bothWays({ local: ['validate', '--rev', 'HEAD'], server: ['validate'] });
    expect(valid!.server.status).toBe(0);
    expect(valid!.server.stdout).toBe(`✓ valid: commit ${c.head.slice(0, 12)} on ${served!.url}\n`);
    // Pushed around the gates: main now has problems.
    const broken = commit(repo, 'broken host', { 'assets/hosts/prod/broken.yaml': 'apiVersion: estate/v1\nkind: Host\nmetadata: {name: broken}\nspec: {cpus: four}\n' });
    git(repo, 'push', '--quiet', join(data, 'estate.git'), 'main:main');
    await indexed(served!.url, broken);
    const [invalid, json] = await bothWays({ local: ['validate', '--rev', 'HEAD'], server: ['validate'] }, { local: ['validate', '--rev', 'HEAD', '--format', 'json'], server: ['validate', '--format', 'json'] });
    expect(invalid!.local.status).toBe(1);
    expect(invalid!.server.status).toBe(1);
    const lines = (r: RunResult) => r.stdout.trimEnd().split('\n');
    expect(lines(invalid!.server).slice(0, -1)).toEqual(lines(invalid!.local).slice(0, -1));
    expect(lines(invalid!.server).length).toBeGreaterThan(1);
    expect(lines(invalid!.server).at(-1)).toMatch(new RegExp(`^✗ invalid: \\d+ errors? in 1 file \\(commit ${broken.slice(0, 12)} on ${served!.url.replace(/\./g, '\\.')}\\)$`));
    const errors = (r: RunResult) => parseJson<{ errors: unknown[] }>(r.stdout).errors;
    expect(errors(json!.server)).toEqual(errors(json!.local));
  });

  it('token revoke: the token stops working within a second; an unknown token is exit 1', async () => {
    const revoked = estate(['token', 'revoke', '--data', data, 'ci'], { cwd: repo });
    expect(revoked.status).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked tok_[a-z2-7]{8} 'ci' \(viewer\) at \d{4}-\d\d-\d\d \d\d:\d\dZ\n$/);
    // The server trusts a token it has read for a second (TOKEN_CACHE_MS): the last read was
    // before the revocation.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const [refused] = await estateAll([[['list', '--server', served!.url], { cwd: repo, env: { ESTATE_TOKEN: viewer } }]]);
    expect(refused!.status).toBe(2);
    expect(refused!.stderr).toBe('error[E_UNAUTHORIZED]: invalid token\n');
    const unknown = estate(['token', 'revoke', '--data', data, 'nobody'], { cwd: repo });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toBe("error[E_TOKEN_NOT_FOUND]: no token with the id or name 'nobody'\n");
    // Both token commands wrote to the audit trail, with the local account as actor and no secret.
    const admin = estate(['token', 'create', '--data', data, '--role', 'admin', '--name', 'auditor', '--group', 'sre', '--group', 'dba'], { cwd: repo }).stdout.trim();
    const trail = await (await fetch(`${served!.url}/api/v1/audit?limit=1000`, { headers: { authorization: `Bearer ${admin}` } })).json();
    const events = (trail as { items: Array<{ event: string; actor: string; details: Record<string, unknown> }> }).items.filter((e) => e.event.startsWith('token.'));
    expect(events.map((e) => [e.event, e.details.name])).toEqual([
      ['token.created', 'ci'],
      ['token.created', 'ops'],
      ['token.revoked', 'ci'],
      ['token.created', 'auditor'],
    ]);
    expect(events[3]).toMatchObject({ actor: expect.stringMatching(/^local:/), details: { role: 'admin', groups: ['dba', 'sre'] } });
    expect(JSON.stringify(events)).not.toContain('est_');
  });

  it('stops cleanly on SIGINT; reindex rebuilds the stopped data dir; --open-read serves reads without a token', async () => {
    const locked = estate(['reindex', '--data', data], { cwd: repo });
    expect(locked.status).toBe(2);
    expect(locked.stderr).toMatch(/^error\[E_DATA_DIR_LOCKED\]: /);
    const stopped = await served!.stop('SIGINT');
    expect(stopped.signal).toBeNull();
    expect(stopped.status).toBe(0);
    expect(stopped.stderr).toContain('SIGINT, stopping');
    const reindexed = estate(['reindex', '--data', data], { cwd: repo });
    expect(reindexed.stderr).toBe('');
    expect(reindexed.status).toBe(0);
    expect(reindexed.stdout).toMatch(/^reindexed 4 commits \(\d+ assets\) in \d+\.\d s\n$/);

    served = await serveEstate(['--data', data, '--port', '0', '--open-read'], { cwd: makeTempDir() });
    await indexed(served.url, git(repo, 'rev-parse', 'HEAD'));
    const cwd = makeTempDir();
    const [open, local, wrong] = await estateAll([
      [['list', '--server', served.url], { cwd }],
      [['list', '--repo', repo, '--rev', 'HEAD'], { cwd }],
      [['list', '--server', served.url], { cwd, env: { ESTATE_TOKEN: viewer } }],
    ]);
    expect(open!.status).toBe(0);
    expect(open!.stdout).toBe(local!.stdout);
    expect(wrong!.status).toBe(2);
    expect(wrong!.stderr).toBe('error[E_UNAUTHORIZED]: invalid token\n');
    const terminated = await served.stop('SIGTERM');
    expect(terminated.status).toBe(0);
    served = undefined;
  });
});
