import { describe, expect, it } from 'vitest';
import { driftModeFor } from './driftMode.js';
import { loadPolicies } from './loadPolicies.js';

const lines = (...text: string[]): string => text.join('\n');

const MODES = lines(
  'apiVersion: estate/v1',
  'kind: DriftMode',
  'metadata: {name: rollout}',
  'spec:',
  '  rules:',
  '    - {mode: shadow, match: {envs: [staging, prod]}, reason: adopt manual edits for review}',
  '    - {mode: enforce, match: {kinds: [Host], selector: "tier=critical"}}',
  '    - {mode: observe, match: {envs: [prod]}}',
);

describe('DriftMode policies', () => {
  const set = loadPolicies([{ path: 'policies/drift.yaml', text: MODES }]);

  it('loads the rules in order with their match and reason', () => {
    expect(set.diagnostics).toEqual([]);
    expect(set.driftModes).toEqual([
      { policy: 'rollout', path: 'policies/drift.yaml', index: 0, mode: 'shadow', match: { envs: ['staging', 'prod'] }, reason: 'adopt manual edits for review' },
      { policy: 'rollout', path: 'policies/drift.yaml', index: 1, mode: 'enforce', match: { kinds: ['Host'], selector: 'tier=critical' } },
      { policy: 'rollout', path: 'policies/drift.yaml', index: 2, mode: 'observe', match: { envs: ['prod'] } },
    ]);
  });

  it('picks the strictest covering rule, the first of equals, and observe by default', () => {
    expect(driftModeFor(set.driftModes, { kind: 'Host', labels: { env: 'dev' } })).toEqual({ mode: 'observe' });
    expect(driftModeFor(set.driftModes, { kind: 'Host' })).toEqual({ mode: 'observe' });
    const prod = driftModeFor(set.driftModes, { kind: 'Host', labels: { env: 'prod' } });
    expect(prod.mode).toBe('shadow');
    expect(prod.rule?.index).toBe(0);
    expect(driftModeFor(set.driftModes, { kind: 'Host', labels: { env: 'prod', tier: 'critical' } }).rule?.index).toBe(1);
    expect(driftModeFor(set.driftModes, { kind: 'Database', labels: { tier: 'critical' } })).toEqual({ mode: 'observe' });
    expect(driftModeFor([], { kind: 'Host', labels: { env: 'prod' } })).toEqual({ mode: 'observe' });
    const twice = loadPolicies([{ path: 'policies/a.yaml', text: MODES }, { path: 'policies/b.yaml', text: MODES.replace('name: rollout', 'name: again') }]);
    expect(driftModeFor(twice.driftModes, { kind: 'Host', labels: { env: 'staging' } }).rule).toMatchObject({ policy: 'rollout', index: 0 });
  });

  it('refuses an unknown mode, a missing match, an unknown criterion or a bad selector (E_POLICY) and leaves the document out', () => {
    const bad = lines(
      'apiVersion: estate/v1',
      'kind: DriftMode',
      'metadata: {name: bad}',
      'spec:',
      '  rules:',
      '    - {mode: revert, match: {}}',
      '    - {mode: shadow}',
      '    - {mode: observe, match: {labels: [x]}}',
    );
    const set1 = loadPolicies([{ path: 'policies/bad.yaml', text: bad }]);
    expect(set1.driftModes).toEqual([]);
    expect(set1.diagnostics.map((d) => [d.code, d.line])).toEqual([
      ['E_POLICY', 6],
      ['E_POLICY', 7],
      ['E_POLICY', 8],
    ]);
    const badSelector = loadPolicies([{ path: 'policies/bad.yaml', text: MODES.replace('tier=critical', 'tier in') }]);
    expect(badSelector.driftModes).toEqual([]);
    expect(badSelector.diagnostics.map((d) => [d.code, d.line])).toEqual([['E_POLICY', 7]]);
  });
});
