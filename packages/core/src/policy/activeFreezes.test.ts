import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '../errors.js';
import { activeFreezes } from './activeFreezes.js';
import { loadPolicies } from './loadPolicies.js';
import type { ChangedItem, ChangeFacts, FreezeWindow } from './types.js';

const change = (...items: ChangedItem[]): ChangeFacts => ({ items, author: { user: 'alice', groups: [] } });
const asset = (path: string, before: Record<string, string> | undefined, after: Record<string, string> | undefined): ChangedItem => ({
  path,
  asset: { id: `host/${path.split('/').pop()!.replace('.yaml', '')}`, kind: 'Host', ...(before ? { before: { labels: before } } : {}), ...(after ? { after: { labels: after } } : {}), fields: [] },
});
const prodHost = asset('assets/hosts/web-01.yaml', { env: 'prod' }, { env: 'prod' });
const devHost = asset('assets/hosts/dev-01.yaml', { env: 'dev' }, { env: 'dev' });

const yearEnd: FreezeWindow = { name: 'year-end', path: 'policies/f.yaml', reason: 'Year-end freeze', timeZone: 'UTC', start: '2026-12-19T23:00:00.000Z', end: '2027-01-04T00:00:00.000Z' };
// Friday 17:00 to Monday 09:00 in Berlin.
const weekend: FreezeWindow = { name: 'weekend', path: 'policies/f.yaml', reason: 'Weekend', timeZone: 'Europe/Berlin', schedule: '0 17 * * FRI', durationMs: 64 * 3600_000 };
const names = (windows: FreezeWindow[], at: string, facts: ChangeFacts): string[] => activeFreezes(windows, new Date(at), facts).map((f) => f.window.name);

describe('activeFreezes: time', () => {
  it('holds a fixed window from start (inclusive) to end (exclusive)', () => {
    expect(names([yearEnd], '2026-12-19T22:59:59.999Z', change(devHost))).toEqual([]);
    expect(activeFreezes([yearEnd], new Date('2026-12-19T23:00:00Z'), change(devHost))).toEqual([
      { window: yearEnd, startedAt: '2026-12-19T23:00:00.000Z', endsAt: '2027-01-04T00:00:00.000Z' },
    ]);
    expect(names([yearEnd], '2027-01-03T23:59:59Z', change(devHost))).toEqual(['year-end']);
    expect(names([yearEnd], '2027-01-04T00:00:00Z', change(devHost))).toEqual([]);
  });

  it('holds a recurring window for its duration after each fire time, in its time zone', () => {
    // Friday 2026-01-09 17:00 CET = 16:00 UTC; closes Monday 09:00 CET = 08:00 UTC.
    expect(names([weekend], '2026-01-09T15:59:59Z', change(devHost))).toEqual([]);
    expect(activeFreezes([weekend], new Date('2026-01-10T12:00:00Z'), change(devHost))).toEqual([
      { window: weekend, startedAt: '2026-01-09T16:00:00.000Z', endsAt: '2026-01-12T08:00:00.000Z' },
    ]);
    expect(names([weekend], '2026-01-12T07:59:59Z', change(devHost))).toEqual(['weekend']);
    expect(names([weekend], '2026-01-12T08:00:00Z', change(devHost))).toEqual([]);
    // Summer: CEST, an hour earlier in UTC.
    expect(activeFreezes([weekend], new Date('2026-07-11T12:00:00Z'), change(devHost))[0]).toMatchObject({ startedAt: '2026-07-10T15:00:00.000Z', endsAt: '2026-07-13T07:00:00.000Z' });
  });

  it('keeps the duration in real time across a DST change', () => {
    // Friday 2026-03-27 17:00 CET (16:00 UTC) + 64 h = Monday 08:00 UTC, which is 10:00 CEST.
    expect(activeFreezes([weekend], new Date('2026-03-29T12:00:00Z'), change(devHost))[0]).toMatchObject({ startedAt: '2026-03-27T16:00:00.000Z', endsAt: '2026-03-30T08:00:00.000Z' });
  });

  it('joins occurrences that overlap or touch into one span', () => {
    // Every day at 00:00 for 24 h: always frozen; the span runs from the first to the last joined occurrence.
    const daily: FreezeWindow = { name: 'daily', path: 'policies/f.yaml', reason: 'x', timeZone: 'UTC', schedule: '0 0 * * MON-WED', durationMs: 24 * 3600_000 };
    expect(activeFreezes([daily], new Date('2026-06-09T12:00:00Z'), change())[0]).toMatchObject({ startedAt: '2026-06-08T00:00:00.000Z', endsAt: '2026-06-11T00:00:00.000Z' });
    expect(names([daily], '2026-06-11T00:00:00Z', change())).toEqual([]);
  });

  it('throws E_POLICY for a window loading would refuse', () => {
    let error: unknown;
    try {
      activeFreezes([{ ...weekend, timeZone: 'Nowhere/Land' }], new Date('2026-01-10T12:00:00Z'), change());
    } catch (e) {
      error = e;
    }
    expect(hasErrorCode(error, 'E_POLICY')).toBe(true);
    expect((error as Error).message).toBe("unknown time zone 'Nowhere/Land'; use an IANA name such as Europe/Berlin or UTC");
  });
});

describe('activeFreezes: scope', () => {
  const at = '2026-12-24T12:00:00Z';
  const scoped = (scope: FreezeWindow['scope']): FreezeWindow[] => [{ ...yearEnd, scope }];

  it('without scope holds every change, even an empty one', () => {
    expect(names([yearEnd], at, change())).toEqual(['year-end']);
  });

  it('environments: assets labelled env=<e> before or after', () => {
    const windows = scoped({ environments: ['prod'] });
    expect(names(windows, at, change(prodHost))).toEqual(['year-end']);
    expect(names(windows, at, change(devHost))).toEqual([]);
    expect(names(windows, at, change(asset('assets/x.yaml', { env: 'staging' }, { env: 'prod' })))).toEqual(['year-end']);
    expect(names(windows, at, change(asset('assets/x.yaml', { env: 'prod' }, undefined)))).toEqual(['year-end']);
    expect(names(windows, at, change(asset('assets/x.yaml', undefined, { env: 'prod' })))).toEqual(['year-end']);
    expect(names(windows, at, change())).toEqual([]);
  });

  it.each([
    ['config/shop/prod.yaml', true],
    ['config/shop/prod.secrets.yaml', true],
    ['config/shop/prod/feature-flags.yaml', true],
    ['config/shop/base.yaml', false],
    ['config/shop/production.yaml', false],
    ['config/shop/dev.yaml', false],
    ['config/prod.yaml', false],
    ['assets/prod/x.yaml', false],
  ])('environments: config file %s is %s', (path, frozen) => {
    expect(names(scoped({ environments: ['prod'] }), at, change({ path }))).toEqual(frozen ? ['year-end'] : []);
  });

  it('environments: the old path of a move counts', () => {
    expect(names(scoped({ environments: ['prod'] }), at, change({ path: 'config/shop/old.yaml', oldPath: 'config/shop/prod.yaml' }))).toEqual(['year-end']);
  });

  it('selector and paths; any entry may match', () => {
    const critical = asset('assets/hosts/db-01.yaml', { tier: 'critical' }, { tier: 'normal' });
    expect(names(scoped({ selector: 'tier=critical' }), at, change(critical))).toEqual(['year-end']);
    expect(names(scoped({ selector: 'tier=critical' }), at, change(prodHost))).toEqual([]);
    expect(names(scoped({ paths: ['assets/network/**'] }), at, change({ path: 'assets/network/core.yaml' }))).toEqual(['year-end']);
    expect(names(scoped({ paths: ['assets/network/**'] }), at, change(prodHost))).toEqual([]);
    const any = scoped({ environments: ['staging'], selector: 'tier=critical', paths: ['assets/network/**'] });
    expect(names(any, at, change(devHost, { path: 'assets/network/core.yaml' }))).toEqual(['year-end']);
    expect(names(any, at, change(devHost))).toEqual([]);
  });

  it('reports every window in force, in the order given', () => {
    const windows = [yearEnd, { ...weekend, scope: { environments: ['prod'] } }];
    // 2026-12-26 is a Saturday.
    expect(names(windows, '2026-12-26T12:00:00Z', change(prodHost))).toEqual(['year-end', 'weekend']);
    expect(names(windows, '2026-12-26T12:00:00Z', change(devHost))).toEqual(['year-end']);
  });
});

describe('activeFreezes with loaded windows', () => {
  it('evaluates what loadPolicies returns', () => {
    const text = [
      'apiVersion: estate/v1',
      'kind: FreezeWindow',
      'metadata: {name: year-end}',
      'spec:',
      '  reason: Year-end freeze',
      '  start: 2026-12-20T00:00:00+01:00',
      '  end: 2027-01-04T00:00:00+01:00',
      '  scope: {environments: [prod]}',
    ].join('\n');
    const { freezes, diagnostics } = loadPolicies([{ path: 'policies/freeze.yaml', text }]);
    expect(diagnostics).toEqual([]);
    expect(activeFreezes(freezes, new Date('2026-12-19T23:30:00Z'), change(prodHost))).toEqual([
      { window: freezes[0], startedAt: '2026-12-19T23:00:00.000Z', endsAt: '2027-01-03T23:00:00.000Z' },
    ]);
  });
});
