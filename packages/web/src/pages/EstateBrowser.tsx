import type { AssetPage, EstateClient } from '@estate/client';
import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactElement } from 'react';
import { describeError } from '../api';
import { cellText, COLUMN_TITLES, COLUMNS, formatBrowserState, PAGE_SIZES, parseBrowserState, updateBrowserState, type BrowserState, type Column } from '../browserState';
import { assetFacets, type Facets as FacetCounts } from '../facetsApi';
import { assetPath, Link, navigate } from '../router';
import { useLiveRevision } from '../useLiveEvents';
import { useLoad, type Loaded } from '../useLoad';

/** How long typing pauses before the search runs. */
const TYPING_PAUSE_MS = 200;

/**
 * The estate browser: search as you type (names, labels, spec text), facets by kind, owner and
 * label selector, a paged table with chosen columns. The address's query string holds all of it.
 */
export function EstateBrowser({ client, search }: { client: EstateClient; search: string }): ReactElement {
  const state = useMemo(() => parseBrowserState(search), [search]);
  const go = (change: Partial<BrowserState>, options: { replace?: boolean } = {}): void => {
    navigate(`/${formatBrowserState(updateBrowserState(state, change))}`, options);
  };

  const [text, setText] = useState(state.q);
  useEffect(() => setText(state.q), [state.q]);
  useEffect(() => {
    if (text === state.q) return;
    const timer = setTimeout(() => go({ q: text }, { replace: true }), TYPING_PAUSE_MS);
    return () => clearTimeout(timer);
    // Runs on typing only; `go` reads the state of the render that scheduled it.
  }, [text]);

  useEffect(() => {
    document.title = state.q ? `${state.q} · Estate` : 'Assets · Estate';
  }, [state.q]);

  const cursor = state.pages.at(-1);
  // Results and counts follow main as it moves (unless the view is of a past commit).
  const main = useLiveRevision(['main.moved']);
  const live = state.at === undefined ? main.revision : 0;
  const filters = { q: state.q || undefined, kind: state.kind, owner: state.owner, selector: state.selector, at: state.at };
  const query = { ...filters, limit: state.limit, cursor };
  const assets = useLoad(`${JSON.stringify(query)} ${live}`, () => client.listAssets(query));
  // Counting reads every match: it is asked once the page of results is in, so it never delays them.
  const facetsKey = useRef('');
  if (!assets.loading) facetsKey.current = `facets ${JSON.stringify(filters)} ${live}`;
  const facets = useLoad<FacetCounts | undefined>(facetsKey.current, () => (facetsKey.current === '' ? Promise.resolve(undefined) : assetFacets(filters)));
  const selectorFailed = assets.error !== undefined && (assets.error as { code?: string }).code === 'E_SELECTOR';

  return (
    <>
      <h1>Assets</h1>
      {state.at !== undefined && (
        <p className="banner" role="note">
          Showing the estate as of <code>{state.at}</code>
          {assets.data ? ` (commit ${assets.data.commit.sha.slice(0, 8)})` : ''}. <Link to={`/${formatBrowserState(updateBrowserState(state, { at: '' }))}`}>Back to now</Link>
        </p>
      )}
      <div className="browser">
        <Facets client={client} state={state} go={go} counts={facets} selectorError={selectorFailed ? describeError(assets.error) : undefined} />
        <div>
          <form
            className="search"
            role="search"
            onSubmit={(event) => {
              event.preventDefault();
              go({ q: text });
            }}
          >
            <label htmlFor="q">Search names, labels and spec text</label>
            <input id="q" type="search" value={text} onChange={(event) => setText(event.target.value)} placeholder="e.g. web prod debian" autoComplete="off" />
          </form>
          <Results state={state} assets={assets.data} total={facets.data?.total} loading={assets.loading} go={go} />
          {assets.error !== undefined && !selectorFailed && (
            <p className="error" role="alert">
              {describeError(assets.error)}
            </p>
          )}
        </div>
      </div>
    </>
  );
}

/** Kind, owner and label selector filters with the counts of matches, and the table's columns. */
function Facets({ client, state, go, counts, selectorError }: { client: EstateClient; state: BrowserState; go: (change: Partial<BrowserState>) => void; counts: Loaded<FacetCounts | undefined>; selectorError: string | undefined }): ReactElement {
  const kinds = useLoad(`kinds ${state.at ?? ''}`, () => client.kinds(state.at === undefined ? {} : { at: state.at }));
  const kindCount = new Map(counts.data?.kinds.map((k) => [k.kind, k.count]));
  const allKinds = counts.data?.kinds.reduce((sum, k) => sum + k.count, 0);
  // Owners in use by the matches (each facet's counts leave its own filter out), most first.
  const owners = (counts.data?.owners ?? []).filter((o) => o.owner !== '');
  const [selector, setSelector] = useState(state.selector ?? '');
  useEffect(() => setSelector(state.selector ?? ''), [state.selector]);
  const applySelector = (event: FormEvent): void => {
    event.preventDefault();
    go({ selector: selector.trim() });
  };
  const kindNames = (kinds.data?.items ?? []).map((kind) => kind.name);
  const toggleColumn = (column: Column, on: boolean): void => {
    go({ columns: on ? [...state.columns, column] : state.columns.filter((c) => c !== column), pages: state.pages });
  };

  return (
    <aside className="facets" aria-label="Filters">
      <fieldset>
        <legend>Kind</legend>
        <ul>
          {['', ...kindNames].map((name) => (
            <li key={name || 'all'}>
              <label>
                <input type="radio" name="kind" value={name} checked={(state.kind ?? '') === name} onChange={() => go({ kind: name })} /> {name || 'All kinds'}{' '}
                <FacetCount count={name ? (kindCount.get(name) ?? (counts.data ? 0 : undefined)) : allKinds} />
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
      <fieldset>
        <legend>Owner</legend>
        <label className="visually-hidden" htmlFor="owner">
          Owner
        </label>
        <select id="owner" value={state.owner ?? ''} onChange={(event) => go({ owner: event.target.value })}>
          <option value="">Any owner</option>
          {state.owner && !owners.some((o) => o.owner === state.owner) && <option value={state.owner}>{state.owner} (0)</option>}
          {owners.map((o) => (
            <option key={o.owner} value={o.owner}>
              {o.owner} ({o.count.toLocaleString()})
            </option>
          ))}
        </select>
      </fieldset>
      <fieldset>
        <legend>Labels</legend>
        <form onSubmit={applySelector}>
          <label className="visually-hidden" htmlFor="selector">
            Label selector
          </label>
          <input
            id="selector"
            type="text"
            value={selector}
            onChange={(event) => setSelector(event.target.value)}
            placeholder="env=prod,role in (web,api)"
            aria-describedby="selector-hint"
            aria-invalid={selectorError !== undefined}
            autoComplete="off"
          />
          <p id="selector-hint" className="hint">
            A label selector; Enter applies it.
          </p>
          {selectorError && (
            <p className="error" role="alert">
              {selectorError}
            </p>
          )}
        </form>
      </fieldset>
      <fieldset>
        <legend>Columns</legend>
        <ul>
          {COLUMNS.map((column) => (
            <li key={column}>
              <label>
                <input type="checkbox" checked={state.columns.includes(column)} onChange={(event) => toggleColumn(column, event.target.checked)} /> {COLUMN_TITLES[column]}
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
    </aside>
  );
}

/** A facet's count of matches, when known. */
function FacetCount({ count }: { count: number | undefined }): ReactElement | null {
  return count === undefined ? null : <span className="count">({count.toLocaleString()})</span>;
}

/** The table of one page of assets, and the pager. */
function Results({ state, assets, total, loading, go }: { state: BrowserState; assets: AssetPage | undefined; total: number | undefined; loading: boolean; go: (change: Partial<BrowserState>) => void }): ReactElement {
  const columns = COLUMNS.filter((column) => state.columns.includes(column));
  const first = state.pages.length * state.limit + 1;
  const count = assets?.items.length ?? 0;
  const of = total !== undefined ? ` of ${total.toLocaleString()}` : assets?.nextCursor ? ', more on the next page' : '';
  const summary = !assets ? 'Loading…' : count === 0 ? 'No assets match.' : `Assets ${first}–${first + count - 1}${of}, as of commit ${assets.commit.sha.slice(0, 8)}.`;
  const atQuery = state.at === undefined ? '' : `?at=${encodeURIComponent(state.at)}`;
  return (
    <>
      <p role="status" aria-live="polite" className="muted">
        {loading && assets ? 'Searching…' : summary}
      </p>
      {assets && count > 0 && (
        <table aria-busy={loading}>
          <caption className="visually-hidden">Assets matching the search and filters</caption>
          <thead>
            <tr>
              <th scope="col">Asset</th>
              {columns.map((column) => (
                <th scope="col" key={column}>
                  {COLUMN_TITLES[column]}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {assets.items.map((asset) => (
              <tr key={asset.id}>
                <th scope="row">
                  <Link to={`${assetPath(asset.id)}${atQuery}`}>{asset.id}</Link>
                </th>
                {columns.map((column) => (
                  <td key={column}>{cellText(asset, column)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={state.pages.length === 0} onClick={() => go({ pages: state.pages.slice(0, -1) })}>
          Previous page
        </button>
        <button type="button" disabled={!assets?.nextCursor} onClick={() => assets?.nextCursor && go({ pages: [...state.pages, assets.nextCursor] })}>
          Next page
        </button>
        <label>
          Per page{' '}
          <select value={state.limit} onChange={(event) => go({ limit: Number(event.target.value) })}>
            {PAGE_SIZES.map((size) => (
              <option key={size} value={size}>
                {size}
              </option>
            ))}
          </select>
        </label>
      </nav>
    </>
  );
}
