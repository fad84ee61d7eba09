/**
 * Every route of the API and every error status, asked over HTTP of the real `estate serve` on a
 * free port, over a real repository with history (the demo estate plus commits).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commit, copyDemo, estate, git, makeTempDir, removeTempDirs, serveEstate, type ServedEstate } from '../cli/helpers.js';
import { issueToken, openDataStore } from '@estate/server';
import { getJson, waitFor, type JsonBody } from './helpers.js';

let server: ServedEstate;
let url: string;
let viewer: string;
let admin: string;
let expired: string;
let revoked: string;
const shas: string[] = [];

beforeAll(async () => {
  const work = copyDemo();
  shas.push(git(work, 'rev-parse', 'HEAD'));
  const bastion = 'assets/hosts/prod/bastion-01.yaml';
  shas.push(commit(work, 'bastion-01: 6 cores', { [bastion]: readFileSync(join(work, bastion), 'utf8').replace(/cpus: \d+/, 'cpus: 6') }, { date: '2030-01-02T00:00:00Z' }));
  shas.push(commit(work, 'bastion-01: gone', { [bastion]: null }, { date: '2030-01-03T00:00:00Z' }));
  const data = join(makeTempDir('estate-routes-'), 'data');
  server = await serveEstate(['--data', data, '--import', work, '--port', '0'], { cwd: work });
  url = server.url;
  const token = (...args: string[]) => estate(['token', 'create', '--data', data, ...args], { cwd: work }).stdout.trim();
  viewer = token('--role', 'viewer');
  admin = token('--role', 'admin');
  revoked = token('--role', 'admin', '--name', 'old');
  expect(estate(['token', 'revoke', '--data', data, 'old'], { cwd: work }).status).toBe(0);
  // A token that expired a second ago: the CLI only makes tokens that expire in the future.
  const store = await openDataStore(data);
  try {
    expired = (await issueToken(store, { name: 'expired', role: 'admin', expiresAt: new Date(Date.now() - 1000) }, new Date(Date.now() - 60_000))).token;
  } finally {
    await store.close();
  }
  expect(expired).toMatch(/^est_/);
  await waitFor('the index', async () => ((await getJson(`${url}/readyz`)).body?.head?.sha === shas.at(-1) ? true : undefined));
}, 60_000);

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

/** GET with the viewer token, another token, or none (`null`). */
const api = (path: string, token: string | null = viewer, headers: Record<string, string> = {}) => getJson(`${url}${path}`, token ?? undefined, headers);

function expectError(answer: { status: number; body: JsonBody }, status: number, code: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.error.code).toBe(code);
  expect(typeof answer.body.error.message).toBe('string');
  expect(answer.body.error).toHaveProperty('details');
}

describe('every route over the real server', () => {
  it('assets: list with filters and paging, get, time travel by sha and time, history, relations', async () => {
    const hosts = await api('/api/v1/assets?kind=Host&selector=env%3Dprod&limit=2');
    expect(hosts.status).toBe(200);
    expect(hosts.body.commit).toEqual({ seq: 3, sha: shas[2] });
    expect(hosts.body.items).toHaveLength(2);
    const next = await api(`/api/v1/assets?kind=Host&selector=env%3Dprod&limit=2&cursor=${hosts.body.nextCursor}`);
    expect(next.body.items[0].id > hosts.body.items[1].id).toBe(true);
    expect((await api('/api/v1/assets?q=bastion')).body.items).toEqual([]);
    const owned = await api('/api/v1/assets?owner=team/team-platform&limit=1000');
    expect(owned.body.items.length).toBeGreaterThan(0);
    expect(owned.body.items.every((a: JsonBody) => a.document.metadata.owner === 'team/team-platform')).toBe(true);

    expectError(await api('/api/v1/assets/host/bastion-01'), 404, 'E_ASSET_NOT_FOUND');
    const then = await api(`/api/v1/assets/host/bastion-01?at=${shas[1]}`);
    expect(then.body.asset.document.spec.cpus).toBe(6);
    expect(then.headers.get('x-estate-commit')).toBe(shas[1]);
    expect((await api('/api/v1/assets/Host/bastion-01?at=2030-01-02T12:00:00Z')).body.asset.document.spec.cpus).toBe(6);
    expect((await api(`/api/v1/assets/host/bastion-01?at=${shas[0]!.slice(0, 8)}`)).body.asset.document.spec.cpus).not.toBe(6);

    const history = await api('/api/v1/assets/host/bastion-01/history');
    expect(history.body.items.map((e: JsonBody) => [e.change, e.commit.sha])).toEqual([
      ['removed', shas[2]],
      ['changed', shas[1]],
      ['added', shas[0]],
    ]);
    expect(history.body.items[1].fields).toEqual([{ op: 'replace', pointer: '/spec/cpus', old: expect.any(Number), new: 6 }]);

    const impact = await api('/api/v1/assets/host/db-01/relations?direction=in&depth=3');
    expect(impact.status).toBe(200);
    expect(impact.body.items.length).toBeGreaterThan(0);
    for (const reached of impact.body.items) expect(reached.path).toHaveLength(reached.depth);
    expect(impact.body.truncated).toBe(false);
    const cut = await api('/api/v1/assets/host/db-01/relations?direction=in&depth=3&limit=1');
    expect(cut.body).toMatchObject({ truncated: true, items: [impact.body.items[0]] });
  });

  it('commits, a commit with its problems, diff, kinds', async () => {
    const commits = await api('/api/v1/commits?limit=2');
    expect(commits.body.items.map((c: JsonBody) => c.sha)).toEqual([shas[2], shas[1]]);
    const more = await api(`/api/v1/commits?limit=2&cursor=${commits.body.nextCursor}`);
    expect(more.body.items.map((c: JsonBody) => c.sha)).toEqual([shas[0]]);
    const one = await api(`/api/v1/commits/${shas[1]}`);
    expect(one.body.item).toMatchObject({ sha: shas[1], seq: 2, errors: 0, diagnostics: [], message: 'bastion-01: 6 cores' });
    const diff = await api(`/api/v1/diff?from=${shas[0]}&to=${shas[2]}`);
    expect(diff.body.summary).toEqual({ added: 0, removed: 1, changed: 0, moved: 0 });
    expect(diff.body.assets[0]).toMatchObject({ id: 'host/bastion-01', status: 'removed' });
    const kinds = await api('/api/v1/kinds');
    expect(kinds.body.items.map((k: JsonBody) => k.name)).toEqual(expect.arrayContaining(['Host', 'Service', 'Certificate']));
  });

  it('operations: healthz, readyz, metrics, OpenAPI, tokens; ETag and 304', async () => {
    expect((await api('/healthz', null)).body).toEqual({ status: 'ok' });
    expect((await api('/readyz', null)).body).toMatchObject({ status: 'ready', head: { seq: 3, sha: shas[2] }, errors: 0 });
    const metrics = await api('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^estate_commits_indexed_total 3$/m);
    expect(metrics.body).toMatch(/^estate_index_lag_seconds 0$/m);
    expect(metrics.body).toMatch(/^estate_http_request_duration_seconds_bucket\{/m);
    const openapi = await api('/api/openapi.json', null);
    for (const path of ['/api/v1/assets', '/api/v1/assets/{kind}/{name}', '/api/v1/assets/{kind}/{name}/history', '/api/v1/assets/{kind}/{name}/relations', '/api/v1/commits', '/api/v1/commits/{sha}', '/api/v1/diff', '/api/v1/kinds', '/api/v1/tokens', '/healthz', '/readyz', '/metrics']) {
      expect(openapi.body.paths, path).toHaveProperty([path]);
    }
    expect((await api('/api/v1/tokens', admin)).body.items.map((t: JsonBody) => t.role).sort()).toEqual(['admin', 'admin', 'admin', 'viewer']);

    const first = await api('/api/v1/assets/host/db-01');
    const etag = first.headers.get('etag')!;
    expect(etag).toBeTruthy();
    const again = await api('/api/v1/assets/host/db-01', viewer, { 'if-none-match': etag });
    expect(again.status).toBe(304);
  });
});

describe('every error status over the real server', () => {
  it('400 for bad parameters, 401 for tokens, 403 for roles, 404 for unknown things, 413 for big bodies', async () => {
    expectError(await api('/api/v1/assets?limit=0'), 400, 'E_BAD_PARAM');
    expectError(await api('/api/v1/assets?colour=red'), 400, 'E_BAD_PARAM');
    expectError(await api('/api/v1/assets?kind=Router'), 400, 'E_BAD_PARAM');
    expectError(await api('/api/v1/assets?cursor=garbage'), 400, 'E_BAD_PARAM');
    expectError(await api('/api/v1/assets?at=yesterday'), 400, 'E_BAD_PARAM');
    expectError(await api('/api/v1/assets?selector=env%20in%20prod'), 400, 'E_SELECTOR');
    expectError(await api('/api/v1/assets/host/db-01/relations?depth=99'), 400, 'E_BAD_PARAM');

    expectError(await api('/api/v1/assets', null), 401, 'E_UNAUTHORIZED');
    expectError(await api('/api/v1/assets', 'est_not-a-real-token'), 401, 'E_UNAUTHORIZED');
    expectError(await api('/api/v1/assets', revoked), 401, 'E_UNAUTHORIZED');
    expectError(await api('/api/v1/assets', expired), 401, 'E_UNAUTHORIZED');
    expectError(await api('/api/v1/tokens', viewer), 403, 'E_FORBIDDEN');

    expectError(await api('/api/v1/nothing-here'), 404, 'E_NOT_FOUND');
    expectError(await api('/api/v1/assets/host/nope'), 404, 'E_ASSET_NOT_FOUND');
    expectError(await api('/api/v1/assets/router/r1'), 404, 'E_KIND_NOT_FOUND');
    expectError(await api('/api/v1/commits/0123456789abcdef0123456789abcdef01234567'), 404, 'E_COMMIT_NOT_FOUND');
    expectError(await api('/api/v1/assets?at=1999-01-01T00:00:00Z'), 404, 'E_COMMIT_NOT_FOUND');

    const big = await fetch(`${url}/api/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ x: 'y'.repeat(2 * 1024 * 1024) }) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as JsonBody).error.code).toBe('E_TOO_LARGE');
  });

  it('503 E_NOT_READY while nothing is indexed', async () => {
    const empty = join(makeTempDir('estate-empty-'), 'data');
    const fresh = await serveEstate(['--data', empty, '--open-read', '--port', '0'], { cwd: empty.replace(/\/data$/, '') });
    try {
      expectError(await getJson(`${fresh.url}/readyz`), 503, 'E_NOT_READY');
      expectError(await getJson(`${fresh.url}/api/v1/assets`), 503, 'E_NOT_READY');
      expect((await getJson(`${fresh.url}/healthz`)).status).toBe(200);
    } finally {
      await fresh.stop();
    }
  });
});
