import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChangeFixture, type ChangeFixture, type JsonBody } from '../testing/changeFixture.js';

let f: ChangeFixture;

beforeAll(async () => {
  f = await startChangeFixture();
}, 60_000);

afterAll(async () => {
  await f?.stop();
});

const newHost = (i: number): unknown => ({
  op: 'put',
  asset: { apiVersion: 'estate/v1', kind: 'Host', metadata: { name: `n-${i}`, labels: { env: 'staging' }, owner: 'team/platform' }, spec: { hostname: `n-${i}.example.com`, ip: `10.1.0.${i + 1}`, os: 'debian-12' } },
});

describe('concurrent merges', () => {
  it('lands 50 concurrent merges of disjoint CRs, none lost, history linear', async () => {
    const mainBefore = f.bareGit('rev-parse', 'main');
    const ids: number[] = [];
    for (let i = 0; i < 50; i++) {
      const created = await f.call('POST', '/api/v1/changes', f.tokens.alice, { title: `add n-${i}`, operations: [newHost(i)] });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      ids.push(created.body.id);
    }
    await Promise.all(ids.map((id) => f.call('POST', `/api/v1/changes/${id}/approve`, f.tokens.bob)));
    const answers = await Promise.all(ids.map((id) => f.call('POST', `/api/v1/changes/${id}/merge`, f.tokens.alice, {})));
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);

    const merged = answers.map((a) => a.body.merged.sha as string);
    const chain = f.bareGit('rev-list', '--parents', `${mainBefore}..main`).split('\n');
    expect(chain).toHaveLength(50);
    // Linear: every new commit has exactly one parent, and each merged sha is one of them.
    for (const line of chain) expect(line.split(' ')).toHaveLength(2);
    expect(new Set(chain.map((line) => line.split(' ')[0]))).toEqual(new Set(merged));
    const files = f.bareGit('ls-tree', '--name-only', 'main', 'assets/hosts/').split('\n');
    for (let i = 0; i < 50; i++) expect(files).toContain(`assets/hosts/n-${i}.yaml`);
    const assets = await f.call('GET', '/api/v1/assets?kind=host&limit=1000', f.tokens.viewer);
    expect(assets.body.items.filter((a: JsonBody) => a.id.startsWith('host/n-'))).toHaveLength(50);
  }, 120_000);

  it('merges exactly one of two conflicting CRs fired at once; the other gets E_CONFLICT with the files', async () => {
    const ids: number[] = [];
    for (const ip of ['10.2.0.1', '10.2.0.2']) {
      const created = await f.call('POST', '/api/v1/changes', f.tokens.alice, { title: `web-01 at ${ip}`, operations: [{ op: 'patch', id: 'host/web-01', patch: { spec: { ip } } }] });
      ids.push(created.body.id);
      await f.call('POST', `/api/v1/changes/${created.body.id}/approve`, f.tokens.bob);
    }
    const answers = await Promise.all(ids.map((id) => f.call('POST', `/api/v1/changes/${id}/merge`, f.tokens.alice, {})));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const loser = answers.find((a) => a.status === 409)!;
    expect(loser.body.error.code).toBe('E_CONFLICT');
    expect(loser.body.error.details.files).toEqual([expect.objectContaining({ path: 'assets/hosts/web-01.yaml' })]);
  }, 60_000);
});
