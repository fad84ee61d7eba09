import { describe, expect, it } from 'vitest';
import { auditQuery, formatAuditState, parseAuditState } from './auditState';

describe('the audit page state in the address', () => {
  it('reads filters, page size and the cursors of earlier pages, and writes them back the same', () => {
    const search = '?since=2024-05-01&actor=alice&event=change.merged&subject=change%2F12&limit=100&page=c1&page=c2';
    const state = parseAuditState(search);
    expect(state).toEqual({ since: '2024-05-01', until: '', actor: 'alice', event: 'change.merged', subject: 'change/12', limit: 100, pages: ['c1', 'c2'] });
    expect(formatAuditState(state)).toBe(search);
    expect(auditQuery(state)).toEqual({ since: '2024-05-01', actor: 'alice', event: 'change.merged', subject: 'change/12', limit: 100, cursor: 'c2' });
  });

  it('falls back to the defaults and leaves them out of the address', () => {
    const state = parseAuditState('?limit=7&actor=%20');
    expect(state.limit).toBe(50);
    expect(formatAuditState(state)).toBe('');
    expect(auditQuery(state)).toEqual({ limit: 50 });
  });
});
