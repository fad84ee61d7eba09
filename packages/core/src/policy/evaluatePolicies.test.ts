import { describe, expect, it } from 'vitest';
import { evaluatePolicies, tallyApprovals } from './evaluatePolicies.js';
import { loadPolicies } from './loadPolicies.js';
import type { ApprovalRequirement, ApprovalRule, ChangedItem, ChangeFacts } from './types.js';

function rule(name: string, fields: Partial<ApprovalRule> = {}): ApprovalRule {
  return { policy: 'p', name, path: 'policies/p.yaml', risk: 'medium', approvals: 1, approvers: { role: 'approver', groups: [] }, autoMerge: false, match: {}, ...fields };
}

function hostItem(name: string, before: Record<string, string> | undefined, after: Record<string, string> | undefined, fields: string[] = ['/spec/ip'], owner?: { before?: string; after?: string }): ChangedItem {
  return {
    path: `assets/hosts/${name}.yaml`,
    asset: {
      id: `host/${name}`,
      kind: 'Host',
      ...(before ? { before: { labels: before, ...(owner?.before ? { owner: owner.before } : {}) } } : {}),
      ...(after ? { after: { labels: after, ...(owner?.after ? { owner: owner.after } : {}) } } : {}),
      fields,
    },
  };
}

const change = (items: ChangedItem[], user = 'alice', groups: string[] = []): ChangeFacts => ({ items, author: { user, groups } });
const prodHost = hostItem('web-01', { env: 'prod' }, { env: 'prod' });
const devHost = hostItem('dev-01', { env: 'dev' }, { env: 'dev' });

describe('evaluatePolicies', () => {
  it('applies builtin/default when there are no policies', () => {
    const decision = evaluatePolicies([], change([devHost]));
    expect(decision).toEqual({
      requirements: [
        { id: 'builtin/default', risk: 'medium', count: 1, approvers: { role: 'approver', groups: [] }, autoMerge: false, reason: 'no policy rule matched; every change needs one approval' },
      ],
      risk: 'medium',
      autoMerge: false,
      matchedRules: [],
    });
  });

  it('applies builtin/default when no rule matches', () => {
    const decision = evaluatePolicies([rule('production', { match: { selector: 'env=prod' }, risk: 'high', approvals: 2 })], change([devHost]));
    expect(decision.requirements.map((r) => r.id)).toEqual(['builtin/default']);
    expect(decision.matchedRules).toEqual([]);
  });

  it('picks the strictest matching rule: risk, then approvals, then admin; ties keep order', () => {
    const rules = [
      rule('every-change', { approvals: 1 }),
      rule('production', { match: { selector: 'env=prod' }, risk: 'high', approvals: 2 }),
      rule('prod-admin', { match: { selector: 'env=prod' }, risk: 'high', approvals: 2, approvers: { role: 'admin', groups: [] } }),
      rule('prod-again', { match: { selector: 'env=prod' }, risk: 'high', approvals: 2, approvers: { role: 'admin', groups: ['sre'] } }),
      rule('many-low', { risk: 'low', approvals: 5 }),
    ];
    const decision = evaluatePolicies(rules, change([prodHost]));
    expect(decision.matchedRules).toEqual(['p/every-change', 'p/production', 'p/prod-admin', 'p/prod-again', 'p/many-low']);
    expect(decision.requirements).toEqual([
      {
        id: 'p/prod-admin',
        risk: 'high',
        count: 2,
        approvers: { role: 'admin', groups: [] },
        autoMerge: false,
        reason: "rule 'prod-admin' of policy 'p' (policies/p.yaml) matched, the strictest of 5 matching rules: risk high, 2 approvals by admin",
      },
    ]);
    expect(decision.risk).toBe('high');

    const dev = evaluatePolicies(rules, change([devHost]));
    // medium/1 beats low/5: risk comes first.
    expect(dev.requirements.map((r) => r.id)).toEqual(['p/every-change']);
    expect(dev.requirements[0]!.reason).toBe("rule 'every-change' of policy 'p' (policies/p.yaml) matched, the strictest of 2 matching rules: risk medium, 1 approval by approver or admin");
  });

  it('prefers more approvals at equal risk', () => {
    const rules = [rule('one', { approvals: 1 }), rule('three', { approvals: 3, approvers: { role: 'approver', groups: ['dba'] } }), rule('two', { approvals: 2 })];
    const decision = evaluatePolicies(rules, change([devHost]));
    expect(decision.requirements[0]!.id).toBe('p/three');
    expect(decision.requirements[0]!.reason).toContain('3 approvals by approver or admin in dba');
  });

  it('auto-merges only when the winning rule allows it and needs no approval', () => {
    const bot = rule('bot-label-edits', { match: { authors: ['renovate-bot'], fields: ['/metadata/labels/*'] }, risk: 'low', approvals: 0, autoMerge: true });
    const labelEdit = hostItem('dev-01', { env: 'dev' }, { env: 'dev', tier: 'a' }, ['/metadata/labels/tier']);
    const decision = evaluatePolicies([bot], change([labelEdit], 'renovate-bot'));
    expect(decision).toMatchObject({ risk: 'low', autoMerge: true, matchedRules: ['p/bot-label-edits'] });
    expect(decision.requirements[0]!.reason).toBe("rule 'bot-label-edits' of policy 'p' (policies/p.yaml) matched: risk low, no approval needed");
    // Another author: no rule matches, the built-in default applies.
    expect(evaluatePolicies([bot], change([labelEdit], 'alice'))).toMatchObject({ risk: 'medium', autoMerge: false, matchedRules: [] });
    // A stricter rule matching as well wins, and it does not auto-merge.
    const spec = rule('spec', { match: { fields: ['/spec/**'] } });
    const mixed = hostItem('dev-01', { env: 'dev' }, { env: 'dev', tier: 'a' }, ['/metadata/labels/tier', '/spec/ip']);
    expect(evaluatePolicies([bot, spec], change([mixed], 'renovate-bot'))).toMatchObject({ autoMerge: false, requirements: [{ id: 'p/spec' }] });
  });

  it('requires an admin for changes under policies/, unless a matching rule names the file', () => {
    const policyFile: ChangedItem = { path: 'policies/default.yaml' };
    const decision = evaluatePolicies([rule('every-change')], change([policyFile]));
    expect(decision.requirements).toEqual([
      expect.objectContaining({ id: 'p/every-change' }),
      { id: 'builtin/policy-change', risk: 'high', count: 1, approvers: { role: 'admin', groups: [] }, autoMerge: false, reason: "changes to policies/ need an admin's approval" },
    ]);
    expect(decision.risk).toBe('high');

    const delegated = rule('policy-owners', { match: { paths: ['policies/team-*.yaml'] }, approvers: { role: 'approver', groups: ['platform'] } });
    const own = evaluatePolicies([delegated], change([{ path: 'policies/team-web.yaml' }]));
    expect(own.requirements.map((r) => r.id)).toEqual(['p/policy-owners']);
    // The rule covers team files only: a change to another policy file still needs an admin.
    const both = evaluatePolicies([delegated], change([{ path: 'policies/team-web.yaml' }, { path: 'policies/default.yaml' }]));
    expect(both.requirements.map((r) => r.id)).toEqual(['p/policy-owners', 'builtin/default', 'builtin/policy-change']);
    // A file moved out of policies/ is a policy change too.
    const moved = evaluatePolicies([], change([{ path: 'old/default.yaml', oldPath: 'policies/default.yaml' }]));
    expect(moved.requirements.map((r) => r.id)).toEqual(['builtin/default', 'builtin/policy-change']);
  });

  it('a rule that does not match does not exempt policy files', () => {
    const rules = [rule('policies-by-sre', { match: { paths: ['policies/**'], authorGroups: ['sre'] } })];
    expect(evaluatePolicies(rules, change([{ path: 'policies/a.yaml' }], 'bob', ['sre'])).requirements.map((r) => r.id)).toEqual(['p/policies-by-sre']);
    expect(evaluatePolicies(rules, change([{ path: 'policies/a.yaml' }], 'bob', ['web'])).requirements.map((r) => r.id)).toEqual(['builtin/default', 'builtin/policy-change']);
  });

  it('never lets a lenient rule carry items that no rule matches', () => {
    const bot = rule('bot-labels', { match: { authors: ['bot'], fields: ['/metadata/labels/*'] }, risk: 'low', approvals: 0, autoMerge: true });
    const labels: ChangedItem = { path: 'assets/a.yaml', asset: { id: 'host/a', kind: 'Host', before: { labels: {} }, after: { labels: { x: '1' } }, fields: ['/metadata/labels/x'] } };
    const address: ChangedItem = { path: 'assets/b.yaml', asset: { id: 'host/b', kind: 'Host', before: { labels: {} }, after: { labels: {} }, fields: ['/spec/ip'] } };
    const alone = evaluatePolicies([bot], change([labels], 'bot'));
    expect(alone).toMatchObject({ autoMerge: true, requirements: [expect.objectContaining({ id: 'p/bot-labels', count: 0 })] });
    const mixed = evaluatePolicies([bot], change([labels, address], 'bot'));
    expect(mixed.requirements.map((r) => r.id)).toEqual(['p/bot-labels', 'builtin/default']);
    expect(mixed.requirements[1]!.reason).toContain('host/b');
    expect(mixed.autoMerge).toBe(false);
    // The same, within one asset: a label and an address changed together.
    const both: ChangedItem = { path: 'assets/a.yaml', asset: { id: 'host/a', kind: 'Host', before: { labels: {} }, after: { labels: { x: '1' } }, fields: ['/metadata/labels/x', '/spec/ip'] } };
    const oneAsset = evaluatePolicies([bot], change([both], 'bot'));
    expect(oneAsset.requirements.map((r) => r.id)).toEqual(['p/bot-labels', 'builtin/default']);
    expect(oneAsset.autoMerge).toBe(false);
  });

  it('matches an empty change with match {} only', () => {
    const rules = [rule('all', { risk: 'low', approvals: 0 }), rule('hosts', { match: { kinds: ['Host'] }, risk: 'high' })];
    expect(evaluatePolicies(rules, change([])).matchedRules).toEqual(['p/all']);
  });
});

describe('rule matching', () => {
  const matches = (match: ApprovalRule['match'], facts: ChangeFacts): boolean => evaluatePolicies([rule('r', { match })], facts).matchedRules.length === 1;

  it('kinds', () => {
    expect(matches({ kinds: ['Service', 'Host'] }, change([prodHost]))).toBe(true);
    expect(matches({ kinds: ['Service'] }, change([prodHost]))).toBe(false);
    expect(matches({ kinds: ['Host'] }, change([{ path: 'assets/hosts/x.yaml' }]))).toBe(false);
  });

  it('selector, on labels before or after', () => {
    const promoted = hostItem('web-02', { env: 'staging' }, { env: 'prod' });
    const demoted = hostItem('web-03', { env: 'prod' }, { env: 'staging' });
    const added = hostItem('web-04', undefined, { env: 'prod', tier: 'a' }, []);
    const removed = hostItem('web-05', { env: 'prod' }, undefined, []);
    for (const item of [promoted, demoted, added, removed]) expect(matches({ selector: 'env=prod' }, change([item]))).toBe(true);
    expect(matches({ selector: 'env=prod,tier in (a,b)' }, change([added]))).toBe(true);
    expect(matches({ selector: 'env=prod,tier in (b)' }, change([added]))).toBe(false);
    expect(matches({ selector: 'env=prod' }, change([devHost]))).toBe(false);
    expect(matches({ selector: 'env=prod' }, change([{ path: 'config/shop/prod.yaml' }]))).toBe(false);
  });

  it('owners, before or after', () => {
    const handedOver = hostItem('web-02', {}, {}, ['/metadata/owner'], { before: 'team-web', after: 'team-db' });
    expect(matches({ owners: ['team-web'] }, change([handedOver]))).toBe(true);
    expect(matches({ owners: ['team-db'] }, change([handedOver]))).toBe(true);
    expect(matches({ owners: ['team-ops'] }, change([handedOver]))).toBe(false);
    expect(matches({ owners: ['team-web'] }, change([devHost]))).toBe(false);
  });

  it('paths, on the new or the old path of a move', () => {
    expect(matches({ paths: ['assets/hosts/**'] }, change([prodHost]))).toBe(true);
    expect(matches({ paths: ['config/*/prod.yaml'] }, change([{ path: 'config/shop/prod.yaml' }]))).toBe(true);
    expect(matches({ paths: ['assets/prod/**'] }, change([{ path: 'assets/dev/x.yaml', oldPath: 'assets/prod/x.yaml' }]))).toBe(true);
    expect(matches({ paths: ['assets/prod/**'] }, change([{ path: 'assets/dev/x.yaml' }]))).toBe(false);
  });

  it('fields; an added or deleted asset counts as a change of the whole document', () => {
    const labelEdit = hostItem('a', { env: 'dev' }, { env: 'dev', tier: 'x' }, ['/metadata/labels/tier']);
    expect(matches({ fields: ['/metadata/labels/*'] }, change([labelEdit]))).toBe(true);
    expect(matches({ fields: ['/spec/**'] }, change([labelEdit]))).toBe(false);
    expect(matches({ fields: ['/spec/ip', '/metadata/**'] }, change([labelEdit]))).toBe(true);
    const added = hostItem('b', undefined, { env: 'dev' }, []);
    expect(matches({ fields: ['/metadata/labels/*'] }, change([added]))).toBe(false);
    expect(matches({ fields: ['/spec/**'] }, change([added]))).toBe(false);
    expect(matches({ fields: ['/**'] }, change([added]))).toBe(true);
    const moved = { ...hostItem('c', { env: 'dev' }, { env: 'dev' }, []), oldPath: 'assets/old/c.yaml' };
    expect(matches({ fields: ['/**'] }, change([moved]))).toBe(false);
    expect(matches({ fields: ['/**'] }, change([{ path: 'config/shop/base.yaml' }]))).toBe(false);
  });

  it('authors and authorGroups hold for the author, whatever the items', () => {
    expect(matches({ authors: ['alice', 'bob'] }, change([], 'bob'))).toBe(true);
    expect(matches({ authors: ['alice'] }, change([prodHost], 'bob'))).toBe(false);
    expect(matches({ authorGroups: ['bots'] }, change([prodHost], 'x', ['sre', 'bots']))).toBe(true);
    expect(matches({ authorGroups: ['bots'] }, change([prodHost], 'x', ['sre']))).toBe(false);
    expect(matches({ authors: ['x'], authorGroups: ['bots'] }, change([prodHost], 'x', []))).toBe(false);
  });

  it('needs one item that meets every item criterion', () => {
    const match = { kinds: ['Host'], selector: 'env=prod', paths: ['assets/hosts/**'] };
    expect(matches(match, change([prodHost]))).toBe(true);
    // One item is a prod asset elsewhere, the other a host file that is not prod: neither meets all.
    const prodService: ChangedItem = { path: 'assets/services/x.yaml', asset: { id: 'service/x', kind: 'Service', after: { labels: { env: 'prod' } }, fields: [] } };
    expect(matches(match, change([prodService, devHost]))).toBe(false);
  });

  it('a non-asset file meets only paths criteria', () => {
    const file: ChangedItem = { path: 'config/shop/prod.yaml' };
    expect(matches({ paths: ['config/**'] }, change([file]))).toBe(true);
    expect(matches({ paths: ['config/**'], kinds: ['Host'] }, change([file]))).toBe(false);
    expect(matches({ paths: ['config/**'], fields: ['/**'] }, change([file]))).toBe(false);
  });
});

describe('tallyApprovals', () => {
  const requirement = (fields: Partial<ApprovalRequirement>): ApprovalRequirement => ({
    id: 'p/r',
    risk: 'medium',
    count: 1,
    approvers: { role: 'approver', groups: [] },
    autoMerge: false,
    reason: 'test',
    ...fields,
  });

  it('never counts the author or contributors, and counts each user once', () => {
    const req = requirement({ count: 2 });
    const result = tallyApprovals(
      [req],
      [
        { user: 'alice', role: 'admin', groups: [] },
        { user: 'bob', role: 'approver', groups: [] },
        { user: 'bob', role: 'approver', groups: [] },
        { user: 'carol', role: 'approver', groups: [] },
      ],
      ['alice', 'carol'],
    );
    expect(result).toEqual({ tallies: [{ requirement: req, given: ['bob'], missing: 1 }], satisfied: false });
  });

  it('needs at least the required role', () => {
    const approvals = [
      { user: 'v', role: 'viewer' as const, groups: [] },
      { user: 'e', role: 'editor' as const, groups: [] },
      { user: 'ap', role: 'approver' as const, groups: [] },
      { user: 'ad', role: 'admin' as const, groups: [] },
    ];
    const byApprover = requirement({ count: 3 });
    const byAdmin = requirement({ id: 'builtin/policy-change', approvers: { role: 'admin', groups: [] } });
    const result = tallyApprovals([byApprover, byAdmin], approvals, []);
    expect(result.tallies.map((t) => [t.given, t.missing])).toEqual([
      [['ap', 'ad'], 1],
      [['ad'], 0],
    ]);
    expect(result.satisfied).toBe(false);
  });

  it('needs membership of any listed group', () => {
    const req = requirement({ count: 2, approvers: { role: 'approver', groups: ['sre', 'dba'] } });
    const result = tallyApprovals(
      [req],
      [
        { user: 'web', role: 'admin', groups: ['web'] },
        { user: 'sre', role: 'approver', groups: ['web', 'sre'] },
        { user: 'dba', role: 'admin', groups: ['dba'] },
      ],
      [],
    );
    expect(result).toEqual({ tallies: [{ requirement: req, given: ['sre', 'dba'], missing: 0 }], satisfied: true });
  });

  it('is satisfied at once by requirements needing no approval, and with no requirements', () => {
    expect(tallyApprovals([requirement({ count: 0 })], [], ['alice'])).toEqual({ tallies: [{ requirement: requirement({ count: 0 }), given: [], missing: 0 }], satisfied: true });
    expect(tallyApprovals([], [], [])).toEqual({ tallies: [], satisfied: true });
  });
});

describe('loaded policies end to end', () => {
  it('evaluates the rules loadPolicies returns', () => {
    const text = [
      'apiVersion: estate/v1',
      'kind: ApprovalPolicy',
      'metadata: {name: default}',
      'spec:',
      '  rules:',
      '    - name: production',
      '      match: {selector: "env=prod"}',
      '      risk: high',
      '      approvals: 2',
    ].join('\n');
    const { rules, diagnostics } = loadPolicies([{ path: 'policies/default.yaml', text }]);
    expect(diagnostics).toEqual([]);
    const decision = evaluatePolicies(rules, change([prodHost]));
    expect(decision.requirements.map((r) => [r.id, r.count, r.risk])).toEqual([['default/production', 2, 'high']]);
    const tally = tallyApprovals(decision.requirements, [{ user: 'alice', role: 'admin', groups: [] }, { user: 'bob', role: 'approver', groups: [] }], ['alice']);
    expect(tally.tallies[0]!.missing).toBe(1);
  });
});
