import type { Asset } from '@estate/client';

/** Columns the estate browser's table can show. */
export const COLUMNS = ['kind', 'name', 'labels', 'owner', 'description', 'path', 'since'] as const;
/** One column of the table (the id is always shown, as the link to the asset). */
export type Column = (typeof COLUMNS)[number];
/** Column headings. */
export const COLUMN_TITLES: Record<Column, string> = {
  kind: 'Kind',
  name: 'Name',
  labels: 'Labels',
  owner: 'Owner',
  description: 'Description',
  path: 'File',
  since: 'Changed in',
};
export const DEFAULT_COLUMNS: readonly Column[] = ['kind', 'labels', 'owner'];
export const PAGE_SIZES = [25, 50, 100, 200] as const;
export const DEFAULT_PAGE_SIZE = 50;

/**
 * Everything the estate browser shows, held in the address's query string so that any view can
 * be bookmarked and shared: `?q=web&kind=Host&owner=team/web&selector=env=prod&cols=kind,owner&limit=50&page=<cursor>…`.
 * `pages` are the cursors of the pages before this one (each `page` parameter one), the last one
 * the cursor of this page: going back pops one.
 */
export interface BrowserState {
  q: string;
  kind?: string;
  owner?: string;
  selector?: string;
  /** A commit sha or ISO 8601 time: the estate as of then (time travel). */
  at?: string;
  columns: Column[];
  limit: number;
  pages: string[];
}

/** Reads the browser's state from a query string (unknown or malformed values fall back to defaults). */
export function parseBrowserState(search: string): BrowserState {
  const params = new URLSearchParams(search);
  const text = (name: string): string | undefined => {
    const value = params.get(name)?.trim();
    return value ? value : undefined;
  };
  const cols = params.get('cols');
  const columns = cols === null ? [...DEFAULT_COLUMNS] : cols.split(',').filter((c): c is Column => (COLUMNS as readonly string[]).includes(c));
  const limit = Number(params.get('limit'));
  const state: BrowserState = {
    q: params.get('q') ?? '',
    columns: [...new Set(columns)],
    limit: (PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_PAGE_SIZE,
    pages: params.getAll('page').filter(Boolean),
  };
  const kind = text('kind');
  const owner = text('owner');
  const selector = text('selector');
  const at = text('at');
  if (kind) state.kind = kind;
  if (at) state.at = at;
  if (owner) state.owner = owner;
  if (selector) state.selector = selector;
  return state;
}

/** The query string of a state (`?…`, or `''` for the default view); defaults are left out. */
export function formatBrowserState(state: BrowserState): string {
  const params = new URLSearchParams();
  if (state.q !== '') params.set('q', state.q);
  if (state.kind) params.set('kind', state.kind);
  if (state.owner) params.set('owner', state.owner);
  if (state.selector) params.set('selector', state.selector);
  if (state.at) params.set('at', state.at);
  const ordered = COLUMNS.filter((c) => state.columns.includes(c));
  if (ordered.join(',') !== DEFAULT_COLUMNS.join(',')) params.set('cols', ordered.join(','));
  if (state.limit !== DEFAULT_PAGE_SIZE) params.set('limit', String(state.limit));
  for (const page of state.pages) params.append('page', page);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** A new state with `change` applied; any change but paging starts again at the first page. */
export function updateBrowserState(state: BrowserState, change: Partial<BrowserState>): BrowserState {
  const next: BrowserState = { ...state, ...change };
  if (!('pages' in change)) next.pages = [];
  for (const key of ['kind', 'owner', 'selector', 'at'] as const) if (!next[key]) delete next[key];
  return next;
}

/** The text of a table cell. */
export function cellText(asset: Asset, column: Column): string {
  const metadata = asset.document.metadata;
  switch (column) {
    case 'kind':
      return asset.kind;
    case 'name':
      return asset.name;
    case 'labels':
      return Object.entries(metadata.labels ?? {})
        .map(([key, value]) => `${key}=${value}`)
        .join(' ');
    case 'owner':
      return metadata.owner ?? '';
    case 'description':
      return metadata.description ?? '';
    case 'path':
      return asset.path;
    case 'since':
      return asset.since.sha.slice(0, 8);
  }
}
