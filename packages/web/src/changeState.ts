import type { ChangeBase, ChangeQuery, ChangeState } from '@estate/client';
import type { Identity } from './api';

/** Which change requests the list shows besides the state filter. */
export const CHANGE_FILTERS = ['all', 'mine', 'waiting', 'emergency', 'frozen'] as const;
/** One of {@link CHANGE_FILTERS}. */
export type ChangeFilter = (typeof CHANGE_FILTERS)[number];
/** Titles of the filters. */
export const CHANGE_FILTER_TITLES: Record<ChangeFilter, string> = {
  all: 'All',
  mine: 'Mine',
  waiting: 'Waiting for me',
  emergency: 'Emergency',
  frozen: 'Frozen',
};
/** The state filter's choices; `active` is open or approved. */
export const CHANGE_STATES = ['active', 'open', 'approved', 'merged', 'closed', 'any'] as const;
/** One of {@link CHANGE_STATES}. */
export type ChangeStateFilter = (typeof CHANGE_STATES)[number];
export const CHANGE_PAGE_SIZE = 25;

/**
 * The change list's view, held in the address: `/changes?filter=waiting&state=open&page=<cursor>…`
 * (`pages` are the cursors of the pages before this one, as in the asset browser).
 */
export interface ChangeListState {
  filter: ChangeFilter;
  state: ChangeStateFilter;
  pages: string[];
}

/** Reads the list's state from a query string; unknown values fall back to the defaults (all, active). */
export function parseChangeListState(search: string): ChangeListState {
  const params = new URLSearchParams(search);
  const filter = CHANGE_FILTERS.find((f) => f === params.get('filter')) ?? 'all';
  const state = CHANGE_STATES.find((s) => s === params.get('state')) ?? 'active';
  return { filter, state, pages: params.getAll('page').filter(Boolean) };
}

/** The query string of a state (`?…`, or `''` for the defaults). */
export function formatChangeListState(state: ChangeListState): string {
  const params = new URLSearchParams();
  if (state.filter !== 'all') params.set('filter', state.filter);
  if (state.state !== 'active') params.set('state', state.state);
  for (const page of state.pages) params.append('page', page);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * The API query of a view. `waiting` is always about active change requests (the server's rule);
 * `frozen` has no server filter: it asks for active ones and {@link isFrozen} keeps those a
 * freeze window holds.
 */
export function changeQuery(state: ChangeListState): ChangeQuery {
  const query: ChangeQuery = { limit: CHANGE_PAGE_SIZE };
  const cursor = state.pages.at(-1);
  if (cursor) query.cursor = cursor;
  if (state.filter === 'frozen') query.state = 'active';
  else if (state.state !== 'any' && state.filter !== 'waiting') query.state = state.state;
  if (state.filter === 'mine') query.mine = true;
  if (state.filter === 'waiting') query.waiting = true;
  if (state.filter === 'emergency') query.emergency = true;
  return query;
}

/** Whether a freeze window holds the change request now (a blocker `E_FROZEN`). */
export function isFrozen(change: Pick<ChangeBase, 'blockers'>): boolean {
  return change.blockers.some((blocker) => blocker.code === 'E_FROZEN');
}

const RANK: Record<string, number> = { viewer: 0, editor: 1, approver: 2, admin: 3 };

/** Whether a role is at least `needed` (viewer < editor < approver < admin; agents are below all). */
export function roleAtLeast(role: string, needed: 'viewer' | 'editor' | 'approver' | 'admin'): boolean {
  return (RANK[role] ?? -1) >= RANK[needed]!;
}

/** The actions on a change request the signed-in user may take, as the server allows them. */
export interface ChangeActions {
  approve: boolean;
  reject: boolean;
  merge: boolean;
  close: boolean;
  revert: boolean;
  /** Acknowledge an emergency merge's post-merge review. */
  review: boolean;
}

/**
 * The actions to offer: approve and reject to approvers who did not open or change it (the server
 * refuses self-approval), merge to editors, close to its author and approvers, revert of a merged
 * one to editors, the post-merge review to an approver other than who merged it.
 */
export function allowedActions(change: Pick<ChangeBase, 'state' | 'author' | 'contributors' | 'merged' | 'review'>, identity: Pick<Identity, 'name' | 'role'>): ChangeActions {
  const active = change.state === 'open' || change.state === 'approved';
  const own = change.author === identity.name || change.contributors.includes(identity.name);
  const approver = roleAtLeast(identity.role, 'approver');
  const editor = roleAtLeast(identity.role, 'editor');
  return {
    approve: active && approver && !own,
    reject: active && approver && !own,
    merge: active && editor,
    close: active && editor && (change.author === identity.name || approver),
    revert: change.state === 'merged' && editor,
    review: change.review !== undefined && change.review.acknowledged === undefined && approver && change.merged?.by !== identity.name,
  };
}

/** Words for a state, as the list and the detail show them. */
export const STATE_TITLES: Record<ChangeState, string> = { open: 'Open', approved: 'Approved', merged: 'Merged', closed: 'Closed' };
