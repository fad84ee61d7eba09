import type { AuditQuery } from '@estate/client';

/** Entries per page the audit page offers. */
export const AUDIT_PAGE_SIZES = [25, 50, 100, 200] as const;
const DEFAULT_LIMIT = 50;

/**
 * The audit events the server records (docs/audit.md#events), offered as suggestions: the filter
 * takes any name, so an event added later is still searchable.
 */
export const AUDIT_EVENTS = [
  'access.denied',
  'change.approved',
  'change.checked',
  'change.closed',
  'change.emergency',
  'change.merged',
  'change.opened',
  'change.rejected',
  'change.reverted',
  'change.updated',
  'config.release.aborted',
  'config.release.promoted',
  'config.release.started',
  'config.secrets.read',
  'drift.adopted',
  'drift.declared',
  'drift.ignored',
  'drift.revert.requested',
  'push.refused',
  'review.acknowledged',
  'token.created',
  'token.revoked',
  'webhook.created',
  'webhook.deleted',
] as const;

/** The audit page's view, all of it in the address: `/audit?actor=alice&event=change.merged&page=<cursor>…`. */
export interface AuditState {
  since: string;
  until: string;
  actor: string;
  event: string;
  subject: string;
  limit: number;
  /** The cursors of the pages before the current one (the first page has none). */
  pages: string[];
}

const FILTERS = ['since', 'until', 'actor', 'event', 'subject'] as const;

/** Reads the view from a query string; unknown or bad values fall back to the defaults. */
export function parseAuditState(search: string): AuditState {
  const params = new URLSearchParams(search);
  const limit = Number(params.get('limit'));
  return {
    since: params.get('since') ?? '',
    until: params.get('until') ?? '',
    actor: params.get('actor') ?? '',
    event: params.get('event') ?? '',
    subject: params.get('subject') ?? '',
    limit: (AUDIT_PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_LIMIT,
    pages: params.getAll('page'),
  };
}

/** The query string of a view (`?…`, or '' for the defaults). */
export function formatAuditState(state: AuditState): string {
  const params = new URLSearchParams();
  for (const name of FILTERS) if (state[name].trim() !== '') params.set(name, state[name].trim());
  if (state.limit !== DEFAULT_LIMIT) params.set('limit', String(state.limit));
  for (const page of state.pages) params.append('page', page);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The API query of a view: its filters, page size and the current page's cursor. */
export function auditQuery(state: AuditState): AuditQuery {
  const query: AuditQuery = { limit: state.limit };
  for (const name of FILTERS) if (state[name].trim() !== '') query[name] = state[name].trim();
  const cursor = state.pages.at(-1);
  if (cursor !== undefined) query.cursor = cursor;
  return query;
}
