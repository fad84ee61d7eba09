import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { startServer, type RunningServer } from '../server.js';
import { callJson } from '../testing/callJson.js';
import { hostYaml, makeTestRepo, serviceYaml, teamYaml, type TestRepo } from '../testing/gitRepo.js';

describe('GET /api/v1/assets/facets', () => {
  let source: TestRepo;
  let data: string;
  let server: RunningServer;
  let viewer: string;
  let first: string;

  beforeAll(async () => {
    source = makeTestRepo('estate-facets-');
    first = source.commit('first', {
      'assets/teams/platform.yaml': teamYaml('platform'),
      'assets/teams/web.yaml': teamYaml('web'),
      'assets/hosts/web-01.yaml': hostYaml('web-01'),
      'assets/hosts/web-02.yaml': hostYaml('web-02', { env: 'dev', owner: 'team/web' }),
      'assets/hosts/db-01.yaml': hostYaml('db-01'),
      'assets/services/shop.yaml': serviceYaml('shop', ['web-01', 'web-02'], { owner: 'team/web' }),
    });
    source.commit('second', { 'assets/hosts/db-01.yaml': null, 'assets/hosts/web-03.yaml': hostYaml('web-03', { owner: 'team/web' }) });
    data = mkdtempSync(join(tmpdir(), 'estate-facets-data-'));
    server = await startServer({ dataDir: data, importFrom: source.dir, port: 0 });
    viewer = (await issueToken(server.store, { name: 'vic', role: 'viewer' })).token;
    await server.indexer.sync();
  });
  afterAll(async () => {
    await server.close();
    rmSync(data, { recursive: true, force: true });
    source.remove();
  });

  const facets = async (query: string): Promise<{ status: number; body: any }> => callJson('GET', `${server.url}/api/v1/assets/facets${query}`, viewer); // eslint-disable-line @typescript-eslint/no-explicit-any

  it('counts all assets by kind and owner, most first', async () => {
    const { status, body } = await facets('');
    expect(status).toBe(200);
    expect(body.total).toBe(6);
    expect(body.kinds).toEqual([
      { kind: 'Host', count: 3 },
      { kind: 'Team', count: 2 },
      { kind: 'Service', count: 1 },
    ]);
    expect(body.owners).toEqual([
      { owner: 'team/web', count: 3 },
      { owner: 'team/platform', count: 1 },
      { owner: '', count: 2 },
    ].sort((a, b) => b.count - a.count || a.owner.localeCompare(b.owner)));
  });

  it("leaves each facet's own filter out of its counts, and agrees with the list", async () => {
    const { body } = await facets('?kind=host&owner=team/web&selector=env%3Dprod');
    // Hosts of team/web in prod: web-03. Kinds of team/web in prod: web-03 and shop; owners of prod hosts: web-01, web-03.
    expect(body.total).toBe(1);
    expect(body.kinds).toEqual([
      { kind: 'Host', count: 1 },
      { kind: 'Service', count: 1 },
    ]);
    expect(body.owners).toEqual([
      { owner: 'team/platform', count: 1 },
      { owner: 'team/web', count: 1 },
    ]);
    const list = await callJson('GET', `${server.url}/api/v1/assets?kind=host&owner=team/web&selector=env%3Dprod`, viewer);
    expect(list.body.items.map((a: { id: string }) => a.id)).toEqual(['host/web-03']);
  });

  it('counts the matches of a search, and as of an older commit', async () => {
    // The service matches too: its spec names web-01 and web-02.
    expect((await facets('?q=web-0')).body).toMatchObject({ total: 4, kinds: [{ kind: 'Host', count: 3 }, { kind: 'Service', count: 1 }] });
    expect((await callJson('GET', `${server.url}/api/v1/assets?q=web-0`, viewer)).body.items).toHaveLength(4);
    const past = await facets(`?at=${first}`);
    expect(past.body.commit.sha).toBe(first);
    expect(past.body.kinds).toContainEqual({ kind: 'Host', count: 3 });
    expect((await facets(`?at=${first}&q=db`)).body.total).toBe(1);
  });

  it('refuses an unknown kind and a bad selector', async () => {
    expect(await facets('?kind=nope')).toMatchObject({ status: 400, body: { error: { code: 'E_BAD_PARAM' } } });
    expect((await facets('?selector=env%3D%3D%3D')).status).toBe(400);
  });
});
