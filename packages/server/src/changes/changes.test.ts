import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchHost, startChangeFixture, type ChangeFixture, type JsonBody } from '../testing/changeFixture.js';

let f: ChangeFixture;

beforeAll(async () => {
  f = await startChangeFixture();
}, 60_000);

afterAll(async () => {
  await f?.stop();
});

function expectError(answer: { status: number; body: JsonBody }, status: number, code: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.error.code).toBe(code);
}

async function open(token: string, operations: unknown[], title = 'a change'): Promise<JsonBody> {
  const created = await f.call('POST', '/api/v1/changes', token, { title, description: 'why', operations });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

const hostIp = async (name: string): Promise<string> => (await f.call('GET', `/api/v1/assets/host/${name}`, f.tokens.viewer)).body.asset.document.spec.ip;

describe('change requests over HTTP', () => {
  it('opens a CR from a patch, refuses self-approval and an unapproved merge, then merges once approved', async () => {
    const change = await open(f.tokens.alice, [patchHost('web-01', { ip: '10.0.0.11' })], 'web-01: new address');
    expect(change).toMatchObject({ state: 'open', branch: `cr/${change.id}`, author: 'alice', revision: 1, source: 'api' });
    expect(change.checks.status).toBe('passed');
    expect(change.checks.diff.main.assets).toEqual([expect.objectContaining({ id: 'host/web-01', status: 'changed', fields: [expect.objectContaining({ pointer: '/spec/ip', old: '10.0.0.1', new: '10.0.0.11' })] })]);
    expect(change.requiredApprovals).toEqual([expect.objectContaining({ id: 'default/every-change', count: 1, missing: 1, given: [] })]);
    expect(f.bareGit('rev-parse', `refs/heads/cr/${change.id}`)).toBe(change.head);
    // Only the changed field's line differs: the flow-style labels and the rest stay as written.
    expect(f.bareGit('diff', '--unified=0', change.base, change.head).split('\n').filter((l) => /^[-+] /.test(l))).toEqual(['-  ip: 10.0.0.1', '+  ip: 10.0.0.11']);
    expect(f.bareGit('log', '-1', '--format=%an <%ae>', change.head)).toBe('alice <alice@estate.invalid>');

    expectError(await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.alice), 403, 'E_FORBIDDEN');
    expectError(await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.alice, {}), 409, 'E_APPROVALS_REQUIRED');

    const approved = await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.bob, { comment: 'looks right' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ state: 'approved', blockers: [], requiredApprovals: [expect.objectContaining({ given: ['bob'], missing: 0 })] });

    const mainBefore = f.bareGit('rev-parse', 'main');
    const merged = await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.alice, {});
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(merged.body).toMatchObject({ state: 'merged', merged: { by: 'alice' } });
    const sha = merged.body.merged.sha;
    expect(f.bareGit('rev-parse', 'main')).toBe(sha);
    expect(f.bareGit('rev-parse', `${sha}^`)).toBe(mainBefore); // linear: one parent, the old main
    const message = f.bareGit('log', '-1', '--format=%B', sha);
    expect(message).toContain('web-01: new address');
    expect(message).toContain(`Change-Request: ${change.id}`);
    expect(message).toContain('Approved-by: bob');
    // The merge answers once the indexer shows it.
    expect(await hostIp('web-01')).toBe('10.0.0.11');
    const provenance = await f.call('GET', `/api/v1/provenance/${sha}`, f.tokens.viewer);
    expect(provenance.body).toMatchObject({ status: 'change-request', change: { id: change.id, author: 'alice', approvedBy: ['bob'], mergedBy: 'alice' } });
    expectError(await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.alice, {}), 409, 'E_CHANGE_STATE');
  });

  it('refuses the author and contributors as approvers with E_SELF_APPROVAL', async () => {
    const change = await open(f.tokens.bob, [patchHost('web-01', { os: 'debian-13' })]);
    const self = await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.bob);
    expectError(self, 403, 'E_SELF_APPROVAL');
    expect(self.body.error.message).toContain('bob opened change request');
    // carol adds an operation: she is a contributor now and cannot approve either.
    const updated = await f.call('POST', `/api/v1/changes/${change.id}/operations`, f.tokens.carol, { operations: [patchHost('web-01', { os: 'debian-12' , cpus: 8 })] });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body).toMatchObject({ revision: 2, contributors: ['carol'] });
    expectError(await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.carol), 403, 'E_SELF_APPROVAL');
    await f.call('POST', `/api/v1/changes/${change.id}/close`, f.tokens.bob, { reason: 'test over' });
  });

  it('makes approvals stale when the content changes', async () => {
    const change = await open(f.tokens.alice, [patchHost('web-01', { os: 'debian-13' })]);
    expect((await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.bob)).body.state).toBe('approved');
    const updated = await f.call('POST', `/api/v1/changes/${change.id}/operations`, f.tokens.alice, { operations: [patchHost('web-01', { os: 'debian-14' })] });
    expect(updated.body).toMatchObject({ state: 'open', revision: 2, approvals: [], staleApprovals: [expect.objectContaining({ user: 'bob', revision: 1 })] });
    expectError(await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.alice, {}), 409, 'E_APPROVALS_REQUIRED');
    await f.call('POST', `/api/v1/changes/${change.id}/close`, f.tokens.alice, {});
  });

  it('needs two approvals for prod, and a rejection blocks until withdrawn', async () => {
    const change = await open(f.tokens.alice, [patchHost('db-01', { os: 'debian-13' })]);
    expect(change.requiredApprovals).toEqual([expect.objectContaining({ id: 'default/production', risk: 'high', count: 2, missing: 2 })]);
    await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.bob);
    const rejected = await f.call('POST', `/api/v1/changes/${change.id}/reject`, f.tokens.carol, { comment: 'not during the sale' });
    expect(rejected.body.blockers.map((b: JsonBody) => b.code)).toEqual(['E_REJECTED', 'E_APPROVALS_REQUIRED']);
    expectError(await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.alice, {}), 409, 'E_REJECTED');
    const both = await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.carol);
    expect(both.body).toMatchObject({ state: 'approved', blockers: [] });
    expect((await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.alice, {})).status).toBe(200);
    const message = f.bareGit('log', '-1', '--format=%B', 'main');
    expect(message).toContain('Approved-by: bob');
    expect(message).toContain('Approved-by: carol');
  });

  it('reports conflicts per file: of two CRs on the same field exactly one merges', async () => {
    const one = await open(f.tokens.alice, [patchHost('web-01', { ip: '10.0.9.1' })]);
    const two = await open(f.tokens.alice, [patchHost('web-01', { ip: '10.0.9.2' })]);
    for (const change of [one, two]) await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.bob);
    expect((await f.call('POST', `/api/v1/changes/${one.id}/merge`, f.tokens.alice, {})).status).toBe(200);
    const second = await f.call('POST', `/api/v1/changes/${two.id}/merge`, f.tokens.alice, {});
    expectError(second, 409, 'E_CONFLICT');
    expect(second.body.error.details.files).toEqual([expect.objectContaining({ path: 'assets/hosts/web-01.yaml' })]);
    expect(await hostIp('web-01')).toBe('10.0.9.1');
  });

  it('merges two CRs that change different fields of the same file', async () => {
    const one = await open(f.tokens.alice, [patchHost('db-01', { hostname: 'db-01.internal.example.com' })]);
    const two = await open(f.tokens.alice, [patchHost('db-01', { os: 'alpine-3' })]);
    for (const change of [one, two]) {
      await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.bob);
      await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.carol);
    }
    expect((await f.call('POST', `/api/v1/changes/${one.id}/merge`, f.tokens.alice, {})).status).toBe(200);
    const second = await f.call('POST', `/api/v1/changes/${two.id}/merge`, f.tokens.alice, {});
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    const spec = (await f.call('GET', '/api/v1/assets/host/db-01', f.tokens.viewer)).body.asset.document.spec;
    expect(spec).toMatchObject({ hostname: 'db-01.internal.example.com', os: 'alpine-3' });
  });

  it("merges a bot's low-risk change by itself, but not when it carries another edit", async () => {
    const labels = await open(f.tokens.bot, [{ op: 'patch', id: 'host/web-01', patch: { metadata: { labels: { patched: 'yes' } } } }]);
    expect(labels).toMatchObject({ state: 'merged', merged: { by: 'system' }, requiredApprovals: [expect.objectContaining({ id: 'bots/bot-labels', count: 0 })] });
    expect(f.bareGit('log', '-1', '--format=%B', 'main')).toContain(`Change-Request: ${labels.id}`);
    const mixed = await open(f.tokens.bot, [{ op: 'patch', id: 'host/web-01', patch: { metadata: { labels: { patched: 'again' } }, spec: { os: 'plan9' } } }]);
    expect(mixed.state).toBe('open');
    expect(mixed.requiredApprovals.map((r: JsonBody) => r.id)).toEqual(['bots/bot-labels', 'builtin/default']);
    await f.call('POST', `/api/v1/changes/${mixed.id}/close`, f.tokens.bot, {});
  });

  it('refuses operations on what does not exist, bad paths and bad bodies, creating nothing', async () => {
    const before = (await f.call('GET', '/api/v1/changes?limit=1', f.tokens.viewer)).body.items[0]?.id;
    expectError(await f.call('POST', '/api/v1/changes', f.tokens.alice, { title: 't', operations: [{ op: 'patch', id: 'host/nope', patch: {} }] }), 404, 'E_ASSET_NOT_FOUND');
    expectError(await f.call('POST', '/api/v1/changes', f.tokens.alice, { title: 't', operations: [{ op: 'putFile', path: '../x', content: '' }] }), 400, 'E_BAD_PARAM');
    expectError(await f.call('POST', '/api/v1/changes', f.tokens.alice, { title: 't', operations: [{ op: 'putFile', path: '.git/config', content: '' }] }), 400, 'E_BAD_PARAM');
    expectError(await f.call('POST', '/api/v1/changes', f.tokens.alice, { title: 't', operations: [patchHost('web-01', {}), { op: 'deleteFile', path: 'nope.yaml' }] }), 404, 'E_FILE_NOT_FOUND');
    expectError(await f.call('POST', '/api/v1/changes', f.tokens.alice, { title: '', operations: [] }), 400, 'E_BAD_PARAM');
    expectError(await f.call('POST', '/api/v1/changes', f.tokens.alice, { title: 't', operations: [{ op: 'patch', id: 'host/web-01', patch: { metadata: { name: 'web-02' } } }] }), 400, 'E_BAD_PARAM');
    expect((await f.call('GET', '/api/v1/changes?limit=1', f.tokens.viewer)).body.items[0]?.id).toBe(before);
  });

  it('checks the whole merged estate: a change that breaks a reference fails its checks and cannot merge', async () => {
    const change = await open(f.tokens.alice, [{ op: 'delete', id: 'team/platform' }]);
    expect(change.checks.status).toBe('failed');
    expect(change.checks.diagnostics).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'E_DANGLING_REF', path: 'assets/hosts/web-01.yaml' })]));
    await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.bob);
    expectError(await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.alice, {}), 422, 'E_CHECKS_FAILED');
    const dry = await f.call('POST', '/api/v1/changes', f.tokens.alice, { title: 'dry', operations: [patchHost('web-01', { cpus: 'many' })], dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    expect(dry.body.checks.diagnostics[0]).toMatchObject({ code: 'E_SCHEMA', path: 'assets/hosts/web-01.yaml' });
  });

  it("checks application config too: an app's schema in every environment, and the layout", async () => {
    const change = await open(f.tokens.alice, [
      { op: 'putFile', path: 'config/web/schema.yaml', content: 'type: object\nproperties:\n  port: {type: integer}\n' },
      { op: 'putFile', path: 'config/web/base.yaml', content: 'port: 8080\n' },
      { op: 'putFile', path: 'config/web/prod.yaml', content: 'port: eighty\n' },
      { op: 'putFile', path: 'config/web/qa.yaml', content: 'port: 1\n' },
    ]);
    expect(change.checks.status).toBe('failed');
    expect(change.checks.diagnostics.map((d: JsonBody) => [d.path, d.code])).toEqual([
      ['config/web/base.yaml', 'E_CONFIG_LAYOUT'], // no Application asset declares web
      ['config/web/prod.yaml', 'E_CONFIG_SCHEMA'],
      ['config/web/qa.yaml', 'E_CONFIG_LAYOUT'],
    ]);
    await f.call('POST', `/api/v1/changes/${change.id}/close`, f.tokens.alice, {});
  });

  it('puts a new asset into its own file and deletes one from a file', async () => {
    const change = await open(f.tokens.alice, [
      { op: 'put', asset: { apiVersion: 'estate/v1', kind: 'Host', metadata: { name: 'web-02', labels: { env: 'staging' }, owner: 'team/platform' }, spec: { hostname: 'web-02.example.com', ip: '10.0.0.3', os: 'debian-12' } } },
    ]);
    expect(change.checks.status, JSON.stringify(change.checks.results)).toBe('passed');
    expect(change.checks.diff.main.assets).toEqual([expect.objectContaining({ id: 'host/web-02', status: 'added', path: 'assets/hosts/web-02.yaml' })]);
    await f.call('POST', `/api/v1/changes/${change.id}/close`, f.tokens.alice, {});
  });

  it('reverts a merged change through a new CR', async () => {
    const change = await open(f.tokens.alice, [patchHost('web-01', { ip: '10.0.7.7' })]);
    await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.bob);
    await f.call('POST', `/api/v1/changes/${change.id}/merge`, f.tokens.alice, {});
    const before = await hostIp('web-01');
    expect(before).toBe('10.0.7.7');
    const revert = await f.call('POST', `/api/v1/changes/${change.id}/revert`, f.tokens.alice);
    expect(revert.status, JSON.stringify(revert.body)).toBe(201);
    expect(revert.body).toMatchObject({ source: 'revert', reverts: change.id, title: 'Revert "a change"' });
    expect(revert.body.checks.diff.main.assets[0].fields[0]).toMatchObject({ pointer: '/spec/ip', old: '10.0.7.7', new: '10.0.9.1' });
    await f.call('POST', `/api/v1/changes/${revert.body.id}/approve`, f.tokens.bob);
    expect((await f.call('POST', `/api/v1/changes/${revert.body.id}/merge`, f.tokens.alice, {})).status).toBe(200);
    expect(await hostIp('web-01')).toBe('10.0.9.1');
  });

  it('lists changes by state, mine and waiting-for-me', async () => {
    const change = await open(f.tokens.alice, [patchHost('db-01', { os: 'debian-14' })]);
    const mine = (await f.call('GET', '/api/v1/changes?mine=true&state=active', f.tokens.alice)).body.items;
    expect(mine.map((c: JsonBody) => c.id)).toContain(change.id);
    expect(mine.every((c: JsonBody) => c.author === 'alice')).toBe(true);
    expect(mine[0].checks).not.toHaveProperty('diff');
    const waitingBob = (await f.call('GET', '/api/v1/changes?waiting=true', f.tokens.bob)).body.items.map((c: JsonBody) => c.id);
    expect(waitingBob).toContain(change.id);
    await f.call('POST', `/api/v1/changes/${change.id}/approve`, f.tokens.bob);
    expect((await f.call('GET', '/api/v1/changes?waiting=true', f.tokens.bob)).body.items.map((c: JsonBody) => c.id)).not.toContain(change.id);
    expect((await f.call('GET', '/api/v1/changes?waiting=true', f.tokens.carol)).body.items.map((c: JsonBody) => c.id)).toContain(change.id);
    const merged = (await f.call('GET', '/api/v1/changes?state=merged&limit=2', f.tokens.viewer)).body;
    expect(merged.items).toHaveLength(2);
    expect(merged.items.every((c: JsonBody) => c.state === 'merged')).toBe(true);
    const next = (await f.call('GET', `/api/v1/changes?state=merged&limit=2&cursor=${merged.nextCursor}`, f.tokens.viewer)).body;
    expect(next.items[0].id).toBeLessThan(merged.items[1].id);
    await f.call('POST', `/api/v1/changes/${change.id}/close`, f.tokens.alice, {});
  });

  it('removes at start a refs/for push whose change request was never opened', async () => {
    f.bareGit('update-ref', 'refs/for/main', f.bareGit('rev-parse', 'main'));
    await f.server.changes.recover();
    expect(f.bareGit('for-each-ref', 'refs/for/')).toBe('');
  });

  it('audits every step in a verifiable chain', async () => {
    const audit = (await f.call('GET', '/api/v1/audit?limit=1000', f.tokens.viewer)).body.items as JsonBody[];
    const events = new Set(audit.map((e) => e.event));
    for (const event of ['change.opened', 'change.updated', 'change.approved', 'change.rejected', 'change.merged', 'change.closed', 'change.reverted', 'access.denied']) expect(events).toContain(event);
    const denied = audit.find((e) => e.event === 'access.denied');
    expect(denied).toMatchObject({ actor: 'alice', details: { required: 'approver', role: 'editor' } });
    expect((await f.call('GET', '/api/v1/audit/verify', f.tokens.viewer)).body).toMatchObject({ ok: true, problems: [] });
  });
});
