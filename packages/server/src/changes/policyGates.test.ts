import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, patchHost, startChangeFixture, type ChangeFixture, type JsonBody } from '../testing/changeFixture.js';

let f: ChangeFixture;

const FREEZE = `apiVersion: estate/v1
kind: FreezeWindow
metadata: {name: sale}
spec:
  reason: Black Friday sale
  start: 2020-01-01T00:00:00Z
  end: 2099-01-01T00:00:00Z
  scope: {environments: [prod]}
`;

const SRE_RULE = `apiVersion: estate/v1
kind: ApprovalPolicy
metadata: {name: web}
spec:
  rules:
    - name: web-hosts
      match: {paths: ["assets/hosts/web-*.yaml"]}
      risk: high
      approvals: 1
      approvers: {groups: [sre]}
`;

beforeAll(async () => {
  f = await startChangeFixture({ 'policies/freeze.yaml': FREEZE, 'policies/web.yaml': SRE_RULE });
}, 60_000);

afterAll(async () => {
  await f?.stop();
});

function expectError(answer: { status: number; body: JsonBody }, status: number, code: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.error.code).toBe(code);
}

async function open(token: string, operations: unknown[]): Promise<JsonBody> {
  const created = await f.call('POST', '/api/v1/changes', token, { title: 'gated change', operations });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

describe('policies, freezes and the emergency path', () => {
  it('counts only approvers of the groups the strictest rule names', async () => {
    const change = await open(f.tokens.alice, [patchHost('web-01', { os: 'debian-13' })]);
    expect(change.requiredApprovals).toEqual([expect.objectContaining({ id: 'web/web-hosts', risk: 'high', approvers: { role: 'approver', groups: ['sre'] } })]);
    const byCarol = await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.carol);
    expect(byCarol.body).toMatchObject({ state: 'open', requiredApprovals: [expect.objectContaining({ given: [], missing: 1 })] });
    const byBob = await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.bob);
    expect(byBob.body).toMatchObject({ state: 'approved', requiredApprovals: [expect.objectContaining({ given: ['bob'], missing: 0 })] });
    expect((await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.alice, {})).status).toBe(200);
  });

  it('needs an admin for changes to policies/', async () => {
    const change = await open(f.tokens.alice, [{ op: 'putFile', path: 'policies/default.yaml', content: DEFAULT_POLICY.replace('approvals: 2', 'approvals: 1') }]);
    expect(change.requiredApprovals.map((r: JsonBody) => r.id)).toEqual(['default/every-change', 'builtin/policy-change']);
    expect(change.requiredApprovals[1]).toMatchObject({ risk: 'high', count: 1, approvers: { role: 'admin', groups: [] } });
    await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.bob);
    expectError(await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.alice, {}), 409, 'E_APPROVALS_REQUIRED');
    const byRoot = await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.root);
    expect(byRoot.body.state).toBe('approved');
    await f.call('POST', `/api/v1/changes/${change.id}/close`, f.tokens.alice, {});
  });

  it('refuses a merge into a frozen scope with E_FROZEN naming the window, and lets others through', async () => {
    const change = await open(f.tokens.alice, [patchHost('db-01', { os: 'debian-13' })]);
    expect(change.blockers).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'E_FROZEN' })]));
    await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.bob);
    await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.carol);
    const refused = await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.alice, {});
    expectError(refused, 409, 'E_FROZEN');
    expect(refused.body.error.message).toContain("'sale' (Black Friday sale)");
    expect(refused.body.error.details.windows).toEqual([expect.objectContaining({ name: 'sale', path: 'policies/freeze.yaml' })]);
  });

  it('lets only an admin with a reason merge in an emergency, which opens a review an approver must acknowledge', async () => {
    const change = await open(f.tokens.alice, [patchHost('db-01', { ip: '10.0.0.99' })]);
    expectError(await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.alice, { emergency: 'db down' }), 403, 'E_FORBIDDEN');
    expectError(await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.root, { emergency: '' }), 400, 'E_BAD_PARAM');
    // No approvals, frozen scope: the emergency merges anyway.
    const merged = await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.root, { emergency: 'primary db unreachable' });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(merged.body).toMatchObject({ state: 'merged', emergency: { reason: 'primary db unreachable', by: 'root' }, review: { overdue: false } });
    expect(f.bareGit('log', '-1', '--format=%B', 'main')).toContain('Emergency: primary db unreachable');
    const provenance = await f.call('GET', `/api/v1/provenance/${merged.body.merged.sha}`, f.tokens.viewer);
    expect(provenance.body).toMatchObject({ status: 'emergency', change: { id: change.id, emergency: { by: 'root' } } });

    const pending = await f.call('GET', '/api/v1/reviews', f.tokens.viewer);
    expect(pending.body.items).toEqual([expect.objectContaining({ changeId: change.id, overdue: false })]);
    const metrics = await (await fetch(`${f.url}/metrics`, { headers: { authorization: `Bearer ${f.tokens.viewer}` } })).text();
    expect(metrics).toContain('estate_emergency_reviews_pending 1');
    expect(metrics).toContain('estate_emergency_reviews_overdue 0');

    expectError(await f.call('POST', `/api/v1/changes/${change.id}/review`, f.tokens.root, {}), 403, 'E_SELF_APPROVAL');
    const acknowledged = await f.call('POST', `/api/v1/changes/${change.id}/review`, f.tokens.bob, { comment: 'fine, follow-up in ticket 7' });
    expect(acknowledged.status).toBe(200);
    expect(acknowledged.body.review).toMatchObject({ acknowledged: { by: 'bob', comment: 'fine, follow-up in ticket 7' } });
    expect((await f.call('GET', '/api/v1/reviews', f.tokens.viewer)).body.items).toEqual([]);
    const audit = (await f.call('GET', '/api/v1/audit?event=change.emergency', f.tokens.viewer)).body.items;
    expect(audit).toEqual([expect.objectContaining({ actor: 'root', subject: `change/${change.id}`, details: expect.objectContaining({ reason: 'primary db unreachable' }) })]);
  });

  it('flags commits that reached main without a change request', async () => {
    // Someone with access to the server's disk commits straight to main.
    const main = f.bareGit('rev-parse', 'main');
    const tree = f.bareGit('rev-parse', `${main}^{tree}`);
    const sneaky = f.bareGit('-c', 'user.name=mallory', '-c', 'user.email=m@example.com', 'commit-tree', tree, '-p', main, '-m', 'quiet fix');
    f.bareGit('update-ref', 'refs/heads/main', sneaky, main);
    let answer: JsonBody;
    for (let i = 0; i < 100; i++) {
      answer = await f.call('GET', `/api/v1/provenance/${sneaky}`, f.tokens.viewer);
      if (answer.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(answer.body).toMatchObject({ sha: sneaky, status: 'unreviewed', author: 'mallory' });
    const list = await f.call('GET', '/api/v1/provenance?status=unreviewed', f.tokens.viewer);
    expect(list.body.items.map((c: JsonBody) => c.sha)).toEqual([sneaky]);
    const imported = await f.call('GET', '/api/v1/provenance?status=before-governance', f.tokens.viewer);
    expect(imported.body.items.length).toBeGreaterThan(0);
  });
});
