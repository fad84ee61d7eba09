import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../diagnostics.js';
import { isPolicyPath, loadPolicies } from './loadPolicies.js';

const lines = (...text: string[]): string => text.join('\n') + '\n';
const problemsOf = (text: string, path = 'policies/p.yaml'): string[] => loadPolicies([{ path, text }]).diagnostics.map(formatDiagnostic);

const APPROVALS = lines(
  'apiVersion: estate/v1',
  'kind: ApprovalPolicy',
  'metadata: {name: default, description: The defaults}',
  'spec:',
  '  rules:',
  '    - name: every-change',
  '      match: {}',
  '      approvals: 1',
  '    - name: production',
  '      match: {selector: "env=prod"}',
  '      risk: high',
  '      approvals: 2',
  '      approvers: {role: admin, groups: [sre, dba]}',
  '    - name: bot-label-edits',
  '      match: {authors: [renovate-bot], fields: ["/metadata/labels/*"], paths: ["assets/**"], kinds: [Host], owners: [team-web], authorGroups: [bots]}',
  '      risk: low',
  '      approvals: 0',
  '      autoMerge: true',
);

describe('isPolicyPath', () => {
  it.each([
    ['policies/default.yaml', true],
    ['policies/teams/web.yml', true],
    ['policies/README.md', false],
    ['policies.yaml', false],
    ['assets/policies/x.yaml', false],
  ])('%s is %s', (path, expected) => {
    expect(isPolicyPath(path)).toBe(expected);
  });
});

describe('loadPolicies', () => {
  it('reads approval rules with their defaults', () => {
    const set = loadPolicies([{ path: 'policies/default.yaml', text: APPROVALS }]);
    expect(set.diagnostics).toEqual([]);
    expect(set.rules).toEqual([
      { policy: 'default', name: 'every-change', path: 'policies/default.yaml', risk: 'medium', approvals: 1, approvers: { role: 'approver', groups: [] }, autoMerge: false, match: {} },
      { policy: 'default', name: 'production', path: 'policies/default.yaml', risk: 'high', approvals: 2, approvers: { role: 'admin', groups: ['sre', 'dba'] }, autoMerge: false, match: { selector: 'env=prod' } },
      {
        policy: 'default',
        name: 'bot-label-edits',
        path: 'policies/default.yaml',
        risk: 'low',
        approvals: 0,
        approvers: { role: 'approver', groups: [] },
        autoMerge: true,
        match: { authors: ['renovate-bot'], fields: ['/metadata/labels/*'], paths: ['assets/**'], kinds: ['Host'], owners: ['team-web'], authorGroups: ['bots'] },
      },
    ]);
    expect(set.freezes).toEqual([]);
  });

  it('reads freeze windows of both forms, several documents per file, files in path order', () => {
    const freezes = lines(
      'apiVersion: estate/v1',
      'kind: FreezeWindow',
      'metadata: {name: year-end}',
      'spec:',
      '  reason: Year-end freeze',
      '  start: 2026-12-20T00:00:00+01:00',
      '  end: 2027-01-04T00:00:00Z',
      '---',
      'apiVersion: estate/v1',
      'kind: FreezeWindow',
      'metadata: {name: weekends}',
      'spec:',
      '  reason: No weekend changes',
      '  schedule: "0 17 * * FRI"',
      '  duration: 64h',
      '  timeZone: Europe/Berlin',
      '  scope: {environments: [prod], selector: "tier=critical", paths: ["assets/network/**"]}',
    );
    const set = loadPolicies([
      { path: 'policies/z.yaml', text: APPROVALS },
      { path: 'policies/freezes.yml', text: freezes },
      { path: 'README.md', text: 'not: [a policy' },
    ]);
    expect(set.diagnostics).toEqual([]);
    expect(set.freezes).toEqual([
      { name: 'year-end', path: 'policies/freezes.yml', reason: 'Year-end freeze', timeZone: 'UTC', start: '2026-12-19T23:00:00.000Z', end: '2027-01-04T00:00:00.000Z' },
      {
        name: 'weekends',
        path: 'policies/freezes.yml',
        reason: 'No weekend changes',
        timeZone: 'Europe/Berlin',
        schedule: '0 17 * * FRI',
        durationMs: 64 * 3600_000,
        scope: { environments: ['prod'], selector: 'tier=critical', paths: ['assets/network/**'] },
      },
    ]);
    expect(set.rules.map((r) => r.name)).toEqual(['every-change', 'production', 'bot-label-edits']);
  });

  it('reports YAML problems and leaves the file out', () => {
    const set = loadPolicies([{ path: 'policies/bad.yaml', text: 'kind: [ApprovalPolicy\n' }]);
    expect(set.diagnostics.map((d) => d.code)).toEqual(['E_YAML_SYNTAX']);
    expect(set.diagnostics[0]!.path).toBe('policies/bad.yaml');
    expect(set.rules).toEqual([]);
  });

  it('reports envelope problems at their place', () => {
    expect(problemsOf(lines('apiVersion: estate/v2', 'kind: ApprovalPolicy', 'metadata: {name: a}', 'spec: {rules: []}'))).toEqual([
      'policies/p.yaml:1:13: error[E_ENVELOPE]: apiVersion must be estate/v1 (got "estate/v2")',
    ]);
    expect(problemsOf(lines('apiVersion: estate/v1', 'kind: DriftMood', 'metadata: {name: a}', 'spec: {}'))).toEqual([
      'policies/p.yaml:2:7: error[E_POLICY]: unknown policy kind "DriftMood"; known kinds: ApprovalPolicy, FreezeWindow, DriftIgnore, DriftMode',
    ]);
    expect(problemsOf(lines('apiVersion: estate/v1', 'metadata: {name: a}', 'spec: {}'))).toEqual([
      'policies/p.yaml:1:1: error[E_ENVELOPE]: missing kind; policy kinds are ApprovalPolicy, FreezeWindow, DriftIgnore, DriftMode',
    ]);
    expect(problemsOf(lines('apiVersion: estate/v1', 'kind: FreezeWindow', 'metadata: {name: Year_End}', 'spec: {reason: x, schedule: "0 0 * * *", duration: 1d}', 'extra: 1'))).toEqual([
      'policies/p.yaml:3:18: error[E_NAME]: FreezeWindow name \'Year_End\' must be a DNS-1123 label: lower-case letters, digits and \'-\', starting and ending with a letter or digit, at most 63 characters',
      "policies/p.yaml:5:1: error[E_ENVELOPE]: unknown top-level field 'extra'; a policy document has apiVersion, kind, metadata and spec",
    ]);
    expect(problemsOf(lines('apiVersion: estate/v1', 'kind: FreezeWindow', 'metadata: {description: x}', 'spec: {}'))).toEqual([
      'policies/p.yaml:3:1: error[E_ENVELOPE]: missing metadata.name',
    ]);
    expect(problemsOf(lines('apiVersion: estate/v1', 'kind: FreezeWindow', 'metadata: {name: a, labels: {}}', 'spec: {reason: x}'))).toEqual([
      "policies/p.yaml:3:21: error[E_POLICY]: unknown field 'metadata.labels'; known fields: name, description",
    ]);
    expect(problemsOf(lines('apiVersion: estate/v1', 'kind: FreezeWindow', 'metadata: {name: a}'))).toEqual([
      "policies/p.yaml:1:1: error[E_ENVELOPE]: missing spec for FreezeWindow 'a'",
    ]);
    expect(problemsOf('- just\n- a list\n')).toEqual([
      'policies/p.yaml:1:1: error[E_ENVELOPE]: a policy document must be a mapping with apiVersion, kind, metadata and spec (got ["just","a list"])',
    ]);
  });

  it('reports rule problems with line and column, and leaves the policy out', () => {
    const text = lines(
      'apiVersion: estate/v1',
      'kind: ApprovalPolicy',
      'metadata: {name: p}',
      'spec:',
      '  rules:',
      '    - name: a',
      '      match: {selector: "env in prod", paths: ["/abs"], fields: ["spec/ip"], teams: [x]}',
      '      risk: extreme',
      '      approvals: 21',
      '    - name: a',
      '      match: {}',
      '      approvals: 0',
      '      autoMerge: true',
      '    - name: c',
      '      approvals: 1',
    );
    const set = loadPolicies([{ path: 'policies/p.yaml', text }]);
    expect(set.rules).toEqual([]);
    expect(set.diagnostics.map(formatDiagnostic)).toEqual([
      "policies/p.yaml:7:78: error[E_POLICY]: unknown field 'spec.rules[0].match.teams'; known fields: kinds, selector, owners, paths, fields, authors, authorGroups, exceptAuthors, exceptAuthorGroups",
      'policies/p.yaml:8:13: error[E_POLICY]: spec.rules[0].risk must be one of "low", "medium", "high" (got "extreme")',
      'policies/p.yaml:9:18: error[E_POLICY]: spec.rules[0].approvals must be <= 20 (got 21)',
      "policies/p.yaml:14:7: error[E_POLICY]: spec.rules[2] is missing required field 'match'",
    ]);
  });

  it('checks selectors, globs, duplicate rule names and autoMerge once the shape is right', () => {
    const text = lines(
      'apiVersion: estate/v1',
      'kind: ApprovalPolicy',
      'metadata: {name: p}',
      'spec:',
      '  rules:',
      '    - name: a',
      '      match: {selector: "env in prod", paths: ["/abs"], fields: ["spec/ip"]}',
      '      approvals: 1',
      '    - name: a',
      '      match: {}',
      '      approvals: 0',
      '      autoMerge: true',
      '    - name: c',
      '      match: {}',
      '      risk: low',
      '      approvals: 1',
      '      autoMerge: true',
    );
    expect(problemsOf(text)).toEqual([
      "policies/p.yaml:7:25: error[E_POLICY]: invalid label selector 'env in prod': cannot parse 'env in prod'",
      "policies/p.yaml:7:48: error[E_POLICY]: path glob '/abs' must be relative to the repo root (no leading '/')",
      "policies/p.yaml:7:66: error[E_POLICY]: field pattern 'spec/ip' must be a JSON pointer starting with '/', e.g. '/spec/ip' or '/metadata/labels/*'",
      "policies/p.yaml:9:13: error[E_POLICY]: rule 'a' is defined twice in ApprovalPolicy 'p' (first at line 6); rule names must be unique within a policy",
      "policies/p.yaml:12:18: error[E_POLICY]: rule 'a': autoMerge is only allowed on low-risk rules (its risk is medium); set risk: low or remove autoMerge",
      "policies/p.yaml:17:18: error[E_POLICY]: rule 'c': autoMerge needs approvals: 0 (it has 1), as an auto-merged change waits for no one",
    ]);
  });

  it('reports a policy name defined twice and keeps the first', () => {
    const set = loadPolicies([
      { path: 'policies/a.yaml', text: APPROVALS },
      { path: 'policies/b.yaml', text: APPROVALS.replace('bot-label-edits', 'other') },
    ]);
    expect(set.diagnostics.map(formatDiagnostic)).toEqual([
      "policies/b.yaml:3:18: error[E_POLICY]: ApprovalPolicy 'default' is already defined at policies/a.yaml:3:18",
    ]);
    expect(set.rules.map((r) => `${r.path} ${r.name}`)).toEqual(['policies/a.yaml every-change', 'policies/a.yaml production', 'policies/a.yaml bot-label-edits']);
  });

  const freeze = (...spec: string[]): string => lines('apiVersion: estate/v1', 'kind: FreezeWindow', 'metadata: {name: f}', 'spec:', '  reason: Frozen', ...spec.map((l) => `  ${l}`));

  it.each([
    [['start: 2026-12-20T00:00:00Z', 'end: 2027-01-04T00:00:00Z', 'schedule: "0 0 * * *"'], "4:1: error[E_POLICY]: FreezeWindow 'f' is either a fixed range (start, end) or recurring (schedule, duration), not both"],
    [[], "4:1: error[E_POLICY]: FreezeWindow 'f' needs either start and end (a fixed range) or schedule and duration (recurring)"],
    [['start: 2026-12-20T00:00:00Z'], "4:1: error[E_POLICY]: FreezeWindow 'f' has start but no end; a fixed range needs both"],
    [['schedule: "0 0 * * *"'], "4:1: error[E_POLICY]: FreezeWindow 'f' has a schedule but no duration; a recurring window needs both"],
    [['start: 2026-12-20', 'end: 2027-01-04T00:00:00Z'], '6:10: error[E_POLICY]: start must be an ISO 8601 date and time with an offset, e.g. 2026-12-20T00:00:00Z or 2026-12-20T00:00:00+01:00 (got "2026-12-20")'],
    [['start: 2026-12-20T00:00:00Z', 'end: 2027-02-30T00:00:00Z'], '7:8: error[E_POLICY]: end must be an ISO 8601 date and time with an offset, e.g. 2026-12-20T00:00:00Z or 2026-12-20T00:00:00+01:00 (got "2027-02-30T00:00:00Z")'],
    [['start: 2026-12-20T00:00:00', 'end: 2027-01-04T00:00:00Z'], '6:10: error[E_POLICY]: start must be an ISO 8601 date and time with an offset, e.g. 2026-12-20T00:00:00Z or 2026-12-20T00:00:00+01:00 (got "2026-12-20T00:00:00")'],
    [['start: 2026-12-20T00:00:00Z', 'end: 2026-12-20T01:00:00+01:00'], '7:8: error[E_POLICY]: end 2026-12-20T01:00:00+01:00 must be after start 2026-12-20T00:00:00Z'],
    [['start: 2026-12-20T00:00:00Z', 'end: 2027-01-04T00:00:00Z', 'timeZone: UTC'], '8:3: error[E_POLICY]: timeZone applies to a schedule only; start and end carry their own offset (e.g. 2026-12-20T00:00:00+01:00)'],
    [['schedule: "0 17 * *"', 'duration: 1d'], "6:13: error[E_POLICY]: invalid cron expression '0 17 * *': expected 5 fields (minute hour day-of-month month day-of-week), got 4"],
    [['schedule: "0 17 * * FRI"', 'duration: 64'], '7:13: error[E_POLICY]: duration must be a whole number with a unit m, h, d or w, e.g. 64h or 2d (got 64)'],
    [['schedule: "0 17 * * FRI"', 'duration: 0m'], '7:13: error[E_POLICY]: duration must be longer than 0'],
    [['schedule: "0 17 * * FRI"', 'duration: 32d'], '7:13: error[E_POLICY]: duration 32d is longer than the maximum of 31d'],
    [['schedule: "0 17 * * FRI"', 'duration: 5w'], '7:13: error[E_POLICY]: duration 5w is longer than the maximum of 31d'],
    [['schedule: "0 17 * * FRI"', 'duration: 1d', 'timeZone: Europe/Atlantis'], "8:13: error[E_POLICY]: unknown time zone 'Europe/Atlantis'; use an IANA name such as Europe/Berlin or UTC"],
    [['schedule: "0 17 * * FRI"', 'duration: 1d', 'scope: {}'], '8:3: error[E_POLICY]: scope is empty, so the window would hold no change; list environments, selector or paths, or remove scope to freeze every change'],
    [['schedule: "0 17 * * FRI"', 'duration: 1d', 'scope: {selector: "a b", paths: ["x//y"]}'], "8:21: error[E_POLICY]: invalid label selector 'a b': cannot parse 'a b'"],
    [['schedule: "0 17 * * FRI"', 'duration: 1d', 'scope: {environments: prod}'], '8:25: error[E_POLICY]: spec.scope.environments must be array (got "prod")'],
    [['schedule: "0 17 * * FRI"', 'duration: 1d', 'until: never'], "8:3: error[E_POLICY]: unknown field 'spec.until'; known fields: reason, start, end, schedule, duration, timeZone, scope"],
  ])('FreezeWindow with %j: %s', (spec, expected) => {
    const set = loadPolicies([{ path: 'policies/p.yaml', text: freeze(...spec) }]);
    expect(set.freezes).toEqual([]);
    expect(set.diagnostics.map(formatDiagnostic)[0]).toBe(`policies/p.yaml:${expected}`);
  });

  it('reports a missing reason', () => {
    const text = lines('apiVersion: estate/v1', 'kind: FreezeWindow', 'metadata: {name: f}', 'spec: {schedule: "0 0 * * *", duration: 1d}');
    expect(problemsOf(text)).toEqual(["policies/p.yaml:4:1: error[E_POLICY]: spec is missing required field 'reason'"]);
  });
});

describe('the default policy of estate init', () => {
  const path = 'policies/default.yaml';
  const text = readFileSync(fileURLToPath(new URL('../../../cli/templates/demo/policies/default.yaml', import.meta.url)), 'utf8');

  it('loads without problems: one approval for every change, two for env=prod', () => {
    const set = loadPolicies([{ path, text }]);
    expect(set.diagnostics).toEqual([]);
    expect(set.rules.map((r) => [r.name, r.risk, r.approvals, r.approvers.role, r.match])).toEqual([
      ['every-change', 'medium', 1, 'approver', {}],
      ['production', 'high', 2, 'approver', { selector: 'env=prod' }],
    ]);
    expect(set.freezes).toEqual([]);
  });

  it('has a commented freeze window that is valid once uncommented', () => {
    const uncommented = text.replace(/^# (---|apiVersion|kind|metadata|spec| {2})/gm, '$1');
    const set = loadPolicies([{ path, text: uncommented }]);
    expect(set.diagnostics).toEqual([]);
    expect(set.freezes).toEqual([
      { name: 'weekend', path, reason: 'No production changes over the weekend', schedule: '0 17 * * FRI', durationMs: 64 * 3600_000, timeZone: 'Europe/Berlin', scope: { environments: ['prod'] } },
    ]);
  });
});
