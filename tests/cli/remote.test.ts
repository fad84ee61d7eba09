/**
 * The read commands' server mode against a stub of the HTTP API (docs/api.md) that answers canned
 * bodies: what the CLI sends (token, parameters, pages) and how it prints and fails. The end-to-end
 * tests against a real `estate serve` are in serve.test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertBuilt, ESTATE_YAML, estateAll, hostYaml, makeRepo, makeTempDir, parseJson, removeTempDirs, type RunResult } from './helpers.js';

const TOKEN = 'est_' + 'x'.repeat(43);
const HEAD = { seq: 7, sha: '7'.repeat(40) };
const author = { name: 'Alice Ops', email: 'alice@example.com', date: '2024-05-01T12:00:00+02:00' };

const asset = (name: string, labels: Record<string, string>, owner?: string) => ({
  id: `host/${name}`,
  kind: 'Host',
  name,
  path: `assets/hosts/${name}.yaml`,
  blobId: 'b'.repeat(40),
  since: HEAD,
  document: { apiVersion: 'estate/v1', kind: 'Host', metadata: { name, labels, ...(owner ? { owner } : {}) }, spec: { hostname: `${name}.example.com`, cpus: 4 } },
});

const historyEntry = (seq: number, change: string, fields: unknown[], fromPath?: string) => ({
  commit: { seq, sha: String(seq).repeat(40), author, subject: `commit ${seq}` },
  change,
  path: 'assets/hosts/a.yaml',
  ...(fromPath ? { fromPath } : {}),
  fields,
});

interface Seen {
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
}

let server: Server;
let url: string;
let seen: Seen[];
/** Diagnostics of the head commit, per test. */
let diagnostics: unknown[];

/** The stub: routes of docs/api.md with fixed answers; 401 unless the request carries TOKEN. */
function answer(path: string, query: Record<string, string>): { status: number; body: unknown } {
  const error = (status: number, code: string, message: string) => ({ status, body: { error: { code, message, details: {} } } });
  if (path === '/api/v1/assets') {
    // Three assets in pages of two when limit=2, else all at once.
    const all = [asset('a', { env: 'prod', role: 'web' }, 'team/web'), asset('b', { env: 'prod' }), asset('c', {})];
    if (query['cursor'] === 'page2') return { status: 200, body: { commit: HEAD, items: all.slice(2) } };
    if (query['limit'] === '1') return { status: 200, body: { commit: query['at'] ? { seq: 3, sha: '3'.repeat(40) } : HEAD, items: all.slice(0, 1), nextCursor: 'x' } };
    return { status: 200, body: { commit: HEAD, items: all.slice(0, 2), nextCursor: 'page2' } };
  }
  if (path === '/api/v1/assets/host/a') return { status: 200, body: { commit: HEAD, asset: asset('a', { env: 'prod', role: 'web' }, 'team/web') } };
  if (path === '/api/v1/assets/host/a/history') {
    if (query['cursor'] === 'older') return { status: 200, body: { commit: HEAD, asset: 'host/a', items: [historyEntry(1, 'added', [])] } };
    const fields = [{ op: 'replace', pointer: '/spec/cpus', old: 2, new: 4 }];
    return { status: 200, body: { commit: HEAD, asset: 'host/a', items: [historyEntry(5, 'changed', fields), historyEntry(3, 'moved', [], 'assets/old.yaml')], nextCursor: 'older' } };
  }
  if (path === '/api/v1/assets/host/a/relations') {
    const step = { from: 'host/a', to: 'service/web', relation: 'hosts', field: 'spec.runsOn[0]' };
    return { status: 200, body: { commit: HEAD, asset: 'host/a', items: [{ id: 'service/web', depth: 1, path: [step] }] } };
  }
  if (path.startsWith('/api/v1/assets/')) return error(404, 'E_ASSET_NOT_FOUND', `asset '${path.slice(15)}' not found at ${HEAD.sha.slice(0, 12)}`);
  if (path === '/api/v1/commits') return { status: 200, body: { commit: HEAD, items: [], nextCursor: 'n' } };
  if (path === `/api/v1/commits/${HEAD.sha}`) {
    const commit = { ...HEAD, parents: [], author, committer: author, message: 'm', errors: diagnostics.length, indexedAt: '2024-05-01T10:00:00Z' };
    return { status: 200, body: { commit: HEAD, item: { ...commit, diagnostics } } };
  }
  if (path === '/api/v1/diff') {
    const assets = [
      { id: 'host/a', kind: 'Host', status: 'changed', path: 'assets/hosts/a.yaml', fields: [{ op: 'add', pointer: '/metadata/labels/tier', new: '1' }] },
      { id: 'host/z', kind: 'Host', status: 'removed', path: 'assets/hosts/z.yaml', fields: [] },
    ];
    return { status: 200, body: { commit: HEAD, from: { seq: 1, sha: '1'.repeat(40) }, to: HEAD, summary: { added: 0, removed: 1, changed: 1, moved: 0 }, assets } };
  }
  return error(404, 'E_NOT_FOUND', `no route ${path}`);
}

beforeAll(async () => {
  assertBuilt();
  server = createServer((req, res) => {
    const target = new URL(req.url ?? '/', 'http://stub');
    const request = { path: target.pathname, query: Object.fromEntries(target.searchParams), authorization: req.headers.authorization };
    seen.push(request);
    const { status, body } =
      request.authorization === `Bearer ${TOKEN}`
        ? answer(request.path, request.query)
        : { status: 401, body: { error: { code: 'E_UNAUTHORIZED', message: request.authorization ? 'invalid token' : 'missing bearer token: send Authorization: Bearer <token>', details: {} } } };
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  removeTempDirs();
});

beforeEach(() => {
  seen = [];
  diagnostics = [];
});

/** Runs `estate <args>` (at once, for the stub must answer while they run) with the token set. */
async function run(...runs: Array<string[] | { args: string[]; env: Record<string, string> }>): Promise<RunResult[]> {
  const cwd = makeTempDir();
  return estateAll(runs.map((r) => (Array.isArray(r) ? [r, { cwd, env: { ESTATE_TOKEN: TOKEN } }] : [r.args, { cwd, env: r.env }])));
}

describe('read commands with --server', () => {
  it('get: sends the token from ESTATE_TOKEN in the Authorization header only, and --at or --rev as at', async () => {
    const [json, yaml, rev] = await run(['get', 'Host/a', '--server', url, '-o', 'json', '--at', '2024-05-01T00:00:00Z'], ['get', 'host/a', '--server', url], [
      'get',
      'host/a',
      '--server',
      url,
      '--rev',
      'abcd',
      '-o',
      'json',
    ]);
    expect(json!.stderr).toBe('');
    expect(json!.status).toBe(0);
    expect(parseJson(json!.stdout)).toEqual(asset('a', { env: 'prod', role: 'web' }, 'team/web').document);
    expect(yaml!.stdout).toBe(
      'apiVersion: estate/v1\nkind: Host\nmetadata:\n  name: a\n  labels:\n    env: prod\n    role: web\n  owner: team/web\nspec:\n  hostname: a.example.com\n  cpus: 4\n',
    );
    expect(rev!.status).toBe(0);
    const requests = (list: unknown[]): string[] => list.map((r) => JSON.stringify(r)).sort();
    expect(requests(seen.map((s) => [s.path, s.query, s.authorization]))).toEqual(
      requests([
        ['/api/v1/assets/host/a', { at: '2024-05-01T00:00:00Z' }, `Bearer ${TOKEN}`],
        ['/api/v1/assets/host/a', {}, `Bearer ${TOKEN}`],
        ['/api/v1/assets/host/a', { at: 'abcd' }, `Bearer ${TOKEN}`],
      ]),
    );
  });

  it('takes ESTATE_SERVER as the default server, unless --repo names a repo', async () => {
    const repo = makeRepo({ 'estate.yaml': ESTATE_YAML, 'assets/hosts/a.yaml': hostYaml('a', '10.0.0.1') });
    const env = { ESTATE_SERVER: url, ESTATE_TOKEN: TOKEN };
    const [remote, local, empty] = await run({ args: ['get', 'host/a', '-o', 'json'], env }, { args: ['get', 'host/a', '-o', 'json', '--repo', repo], env }, {
      args: ['get', 'host/a', '--repo', repo],
      env: { ESTATE_SERVER: '' },
    });
    expect(remote!.status).toBe(0);
    expect(parseJson<{ spec: { cpus: number } }>(remote!.stdout).spec.cpus).toBe(4);
    expect(local!.status).toBe(0);
    expect(parseJson<{ spec: { ip: string } }>(local!.stdout).spec.ip).toBe('10.0.0.1');
    expect(empty!.status).toBe(0);
    expect(seen).toHaveLength(1);
  });

  it('list: follows pages, joins repeated -l into one selector, and prints the local table', async () => {
    const [table, json] = await run(['list', '--server', url, '--kind', 'host', '-l', 'env=prod', '-l', 'role in (web,api)'], ['list', '--server', url, '-o', 'json']);
    expect(table!.stderr).toBe('');
    expect(table!.status).toBe(0);
    expect(table!.stdout).toBe(
      [
        'ID      OWNER     LABELS             FILE',
        'host/a  team/web  env=prod,role=web  assets/hosts/a.yaml',
        'host/b            env=prod           assets/hosts/b.yaml',
        'host/c                               assets/hosts/c.yaml',
        '',
      ].join('\n'),
    );
    expect(parseJson<Array<{ id: string; path: string }>>(json!.stdout).map((a) => [a.id, a.path])).toEqual([
      ['host/a', 'assets/hosts/a.yaml'],
      ['host/b', 'assets/hosts/b.yaml'],
      ['host/c', 'assets/hosts/c.yaml'],
    ]);
    const queries = seen.filter((s) => s.query['kind']).map((s) => s.query);
    expect(queries).toEqual([
      { kind: 'host', selector: 'env=prod,role in (web,api)', limit: '1000' },
      { kind: 'host', selector: 'env=prod,role in (web,api)', limit: '1000', cursor: 'page2' },
    ]);
  });

  it('relations, history and diff print as they do locally', async () => {
    const [relations, history, limited, diff] = await run(
      ['relations', 'host/a', '--server', url, '--direction', 'in', '--depth', '2', '--type', 'hosts', '--type', 'runsOn'],
      ['history', 'host/a', '--server', url],
      ['history', 'host/a', '--server', url, '--limit', '1'],
      ['diff', '1111', '--server', url],
    );
    expect(relations!.stdout).toBe('host/a (in, depth 2): 1 related\n  service/web                      1  host/a -[hosts]-> service/web\n');
    expect(seen.find((s) => s.path.endsWith('/relations'))?.query).toEqual({ direction: 'in', depth: '2', type: 'hosts,runsOn', limit: '10000' });
    expect(history!.stdout).toBe(
      [
        `${'5'.repeat(12)} changed  2024-05-01T12:00:00+02:00  Alice Ops <alice@example.com>`,
        '    commit 5',
        '    assets/hosts/a.yaml',
        '      ~ spec.cpus: 2 → 4',
        `${'3'.repeat(12)} moved  2024-05-01T12:00:00+02:00  Alice Ops <alice@example.com>`,
        '    commit 3',
        '    assets/old.yaml → assets/hosts/a.yaml',
        `${'1'.repeat(12)} added  2024-05-01T12:00:00+02:00  Alice Ops <alice@example.com>`,
        '    commit 1',
        '    assets/hosts/a.yaml',
        '',
      ].join('\n'),
    );
    expect(limited!.stdout.split('\n')[0]).toBe(`${'5'.repeat(12)} changed  2024-05-01T12:00:00+02:00  Alice Ops <alice@example.com>`);
    expect(limited!.stdout).not.toContain('moved');
    expect(seen.filter((s) => s.path.endsWith('/history')).map((s) => s.query)).toContainEqual({ limit: '1' });
    expect(diff!.stdout).toBe('~ host/a  assets/hosts/a.yaml\n    + metadata.labels.tier: "1"\n- host/z  assets/hosts/z.yaml\n1 changed, 0 added, 1 removed, 0 moved\n');
    expect(seen.find((s) => s.path === '/api/v1/diff')?.query).toEqual({ from: '1111', limit: '10000' });
  });

  it('history --at skips the entries of later commits', async () => {
    const [result] = await run(['history', 'host/a', '--server', url, '--at', '3333', '--format', 'json']);
    expect(result!.status).toBe(0);
    const { id, entries } = parseJson<{ id: string; entries: Array<{ commit: { seq: number } }> }>(result!.stdout);
    expect(id).toBe('host/a');
    expect(entries.map((e) => e.commit.seq)).toEqual([3, 1]);
  });

  it('validate: the head commit diagnostics, exit 1 when there are any', async () => {
    diagnostics = [{ code: 'E_SCHEMA', path: 'assets/hosts/a.yaml', line: 9, col: 8, message: 'spec.cpus must be integer (got "four")', asset: 'host/a' }];
    const [invalid, json] = await run(['validate', '--server', url], ['validate', '--server', url, '--format', 'json']);
    expect(invalid!.status).toBe(1);
    expect(invalid!.stdout).toBe(
      `assets/hosts/a.yaml:9:8: error[E_SCHEMA]: spec.cpus must be integer (got "four")\n✗ invalid: 1 error in 1 file (commit ${HEAD.sha.slice(0, 12)} on ${url})\n`,
    );
    expect(json!.status).toBe(1);
    expect(parseJson(json!.stdout)).toEqual({
      valid: false,
      errors: [{ ...diagnostics[0]! }],
      stats: { errors: 1, source: HEAD.sha, seq: HEAD.seq, server: url },
    });
    diagnostics = [];
    const [valid] = await run(['validate', '--server', url]);
    expect(valid!.status).toBe(0);
    expect(valid!.stdout).toBe(`✓ valid: commit ${HEAD.sha.slice(0, 12)} on ${url}\n`);
  });
});

describe('errors with --server', () => {
  it('exit 2 with error[E_UNAUTHORIZED] without a token or with a wrong one, never printing the token', async () => {
    const wrong = 'est_' + 'w'.repeat(43);
    const [none, bad] = await run({ args: ['list', '--server', url], env: {} }, { args: ['get', 'host/a', '--server', url], env: { ESTATE_TOKEN: wrong } });
    expect(none!.status).toBe(2);
    expect(none!.stdout).toBe('');
    expect(none!.stderr).toBe('error[E_UNAUTHORIZED]: missing bearer token: send Authorization: Bearer <token>\n');
    expect(bad!.status).toBe(2);
    expect(bad!.stderr).toBe('error[E_UNAUTHORIZED]: invalid token\n');
    expect(bad!.stderr + bad!.stdout).not.toContain(wrong);
  });

  it('exit 1 with the server error for an asset that does not exist', async () => {
    const [get, relations, history] = await run(['get', 'host/zz', '--server', url], ['relations', 'service/zz', '--server', url], ['history', 'host/zz', '--server', url]);
    expect(get!.status).toBe(1);
    expect(get!.stderr).toBe(`error[E_ASSET_NOT_FOUND]: asset 'host/zz' not found at ${HEAD.sha.slice(0, 12)}\n`);
    expect(relations!.status).toBe(1);
    expect(history!.status).toBe(1);
  });

  it('exit 2 with E_UNREACHABLE, naming the URL, when nothing answers', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const [result] = await run(['get', 'host/a', '--server', `http://127.0.0.1:${port}`]);
    expect(result!.status).toBe(2);
    expect(result!.stderr).toBe(`error[E_UNREACHABLE]: cannot reach http://127.0.0.1:${port}/api/v1/assets/host/a: connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });

  it('exit 2 with E_USAGE for --at without a server, --server with --repo, --at with --rev, and a URL with credentials', async () => {
    const [at, both, twice, credentials] = await run(
      ['get', 'host/a', '--at', 'abcd'],
      ['list', '--server', url, '--repo', '.'],
      ['list', '--server', url, '--at', 'abcd', '--rev', 'abcd'],
      ['list', '--server', 'http://alice:hunter2@127.0.0.1:1'],
    );
    expect(at!.stderr).toBe('error[E_USAGE]: --at needs --server (or ESTATE_SERVER); in a local repo, use --rev\n');
    expect(both!.stderr).toBe('error[E_USAGE]: --server and --repo exclude each other: read either a server or a repo\n');
    expect(twice!.stderr).toBe('error[E_USAGE]: --at and --rev name the same thing: give one\n');
    expect(credentials!.stderr).toBe('error[E_USAGE]: the server URL must not carry credentials (http://127.0.0.1:1/); pass a token instead\n');
    for (const result of [at, both, twice, credentials]) expect(result!.status).toBe(2);
    expect(seen).toEqual([]);
  });
});
