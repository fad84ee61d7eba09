import { describe, expect, it } from 'vitest';
import { allowedActions, changeQuery, formatChangeListState, isFrozen, parseChangeListState, roleAtLeast } from './changeState';

describe('change list state', () => {
  it('round-trips through the address and leaves defaults out', () => {
    expect(formatChangeListState(parseChangeListState(''))).toBe('');
    const state = parseChangeListState('?filter=waiting&state=merged&page=a&page=b');
    expect(state).toEqual({ filter: 'waiting', state: 'merged', pages: ['a', 'b'] });
    expect(formatChangeListState(state)).toBe('?filter=waiting&state=merged&page=a&page=b');
    expect(parseChangeListState('?filter=bogus&state=weird')).toEqual({ filter: 'all', state: 'active', pages: [] });
  });

  it('asks the API for the view', () => {
    expect(changeQuery(parseChangeListState(''))).toEqual({ limit: 25, state: 'active' });
    expect(changeQuery(parseChangeListState('?filter=mine&state=any&page=c'))).toEqual({ limit: 25, mine: true, cursor: 'c' });
    expect(changeQuery(parseChangeListState('?filter=waiting&state=merged'))).toEqual({ limit: 25, waiting: true });
    expect(changeQuery(parseChangeListState('?filter=emergency&state=merged'))).toEqual({ limit: 25, emergency: true, state: 'merged' });
    expect(changeQuery(parseChangeListState('?filter=frozen&state=closed'))).toEqual({ limit: 25, state: 'active' });
    expect(isFrozen({ blockers: [{ code: 'E_FROZEN', message: '' }] })).toBe(true);
    expect(isFrozen({ blockers: [{ code: 'E_APPROVALS_REQUIRED', message: '' }] })).toBe(false);
  });
});

describe('allowedActions', () => {
  const open = { state: 'open' as const, author: 'alice', contributors: ['carol'] };

  it('offers approval to approvers who neither opened nor changed it', () => {
    expect(allowedActions(open, { name: 'bob', role: 'approver' })).toEqual({ approve: true, reject: true, merge: true, close: true, revert: false, review: false });
    expect(allowedActions(open, { name: 'alice', role: 'admin' })).toMatchObject({ approve: false, reject: false, merge: true, close: true });
    expect(allowedActions(open, { name: 'carol', role: 'approver' })).toMatchObject({ approve: false, reject: false });
  });

  it('lets editors merge, close their own, revert merged ones; viewers nothing', () => {
    expect(allowedActions(open, { name: 'alice', role: 'editor' })).toEqual({ approve: false, reject: false, merge: true, close: true, revert: false, review: false });
    expect(allowedActions(open, { name: 'dave', role: 'editor' })).toMatchObject({ close: false });
    expect(Object.values(allowedActions(open, { name: 'vic', role: 'viewer' }))).not.toContain(true);
    expect(Object.values(allowedActions({ ...open, state: 'merged' }, { name: 'vic', role: 'viewer' }))).not.toContain(true);
    const merged = { ...open, state: 'merged' as const, merged: { sha: 'x', by: 'root', at: '', commits: [] }, review: { changeId: 1, dueAt: '', overdue: false } };
    expect(allowedActions(merged, { name: 'dave', role: 'editor' })).toEqual({ approve: false, reject: false, merge: false, close: false, revert: true, review: false });
    expect(allowedActions(merged, { name: 'bob', role: 'approver' }).review).toBe(true);
    expect(allowedActions(merged, { name: 'root', role: 'admin' }).review).toBe(false);
    expect(roleAtLeast('agent', 'viewer')).toBe(false);
  });
});
