import { describe, expect, it } from 'vitest';
import { formatBrowserState, parseBrowserState, updateBrowserState } from './browserState';

describe('the estate browser state in the query string', () => {
  it('round-trips every part, leaving defaults out', () => {
    const state = parseBrowserState('?q=web+prod&kind=Host&owner=team%2Fweb&selector=env%3Dprod&at=abc123&cols=owner,kind,path&limit=100&page=c1&page=c2');
    expect(state).toEqual({ q: 'web prod', kind: 'Host', owner: 'team/web', selector: 'env=prod', at: 'abc123', columns: ['owner', 'kind', 'path'], limit: 100, pages: ['c1', 'c2'] });
    expect(parseBrowserState(formatBrowserState(state))).toEqual({ ...state, columns: ['kind', 'owner', 'path'] });
    expect(formatBrowserState(parseBrowserState(''))).toBe('');
  });

  it('drops unknown columns and page sizes, and starts again at page one on any change but paging', () => {
    const state = parseBrowserState('?cols=kind,colour&limit=7&page=c1');
    expect(state.columns).toEqual(['kind']);
    expect(state.limit).toBe(50);
    expect(updateBrowserState(state, { q: 'db' }).pages).toEqual([]);
    expect(updateBrowserState(state, { pages: ['c1', 'c2'] }).pages).toEqual(['c1', 'c2']);
    expect(updateBrowserState({ ...state, kind: 'Host' }, { kind: '' })).not.toHaveProperty('kind');
  });
});
