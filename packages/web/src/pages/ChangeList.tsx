import type { ChangeListItem, EstateClient } from '@estate/client';
import { useEffect, useMemo, type ReactElement } from 'react';
import { describeError } from '../api';
import { CHANGE_FILTER_TITLES, CHANGE_FILTERS, CHANGE_STATES, changeQuery, formatChangeListState, isFrozen, parseChangeListState, STATE_TITLES, type ChangeListState } from '../changeState';
import { LiveStatus } from '../components/LiveStatus';
import { Link, navigate } from '../router';
import { useCoalesced, useLiveRevision } from '../useLiveEvents';
import { useLoad } from '../useLoad';

const STATE_FILTER_TITLES: Record<ChangeListState['state'], string> = { active: 'Open or approved', open: 'Open', approved: 'Approved', merged: 'Merged', closed: 'Closed', any: 'Any state' };

/** The change requests: mine, waiting for my approval, emergencies, frozen ones; by state; a page at a time. */
export function ChangeList({ client, search }: { client: EstateClient; search: string }): ReactElement {
  const state = useMemo(() => parseChangeListState(search), [search]);
  const go = (change: Partial<ChangeListState>): void => {
    navigate(`/changes${formatChangeListState({ ...state, pages: [], ...change })}`);
  };
  useEffect(() => {
    document.title = 'Change requests · Estate';
  }, []);
  const query = changeQuery(state);
  // Any change request's event may move it into or out of this page: read the page again.
  const live = useLiveRevision(['change', 'review']);
  const revision = useCoalesced(live.revision, 500);
  const page = useLoad(`${JSON.stringify(query)} ${revision}`, () => client.listChanges(query));
  const items = page.data ? (state.filter === 'frozen' ? page.data.items.filter(isFrozen) : page.data.items) : undefined;
  const stateFixed = state.filter === 'waiting' || state.filter === 'frozen';

  return (
    <>
      <h1>Change requests</h1>
      <LiveStatus status={live.status} what="the list follows new and changed change requests" />
      <div className="controls">
        <fieldset className="segmented">
          <legend>Show</legend>
          {CHANGE_FILTERS.map((filter) => (
            <label key={filter}>
              <input type="radio" name="filter" value={filter} checked={state.filter === filter} onChange={() => go({ filter })} /> {CHANGE_FILTER_TITLES[filter]}
            </label>
          ))}
        </fieldset>
        <label>
          State
          <select value={stateFixed ? 'active' : state.state} disabled={stateFixed} aria-describedby={stateFixed ? 'state-fixed' : undefined} onChange={(event) => go({ state: event.target.value as ChangeListState['state'] })}>
            {CHANGE_STATES.map((value) => (
              <option key={value} value={value}>
                {STATE_FILTER_TITLES[value]}
              </option>
            ))}
          </select>
        </label>
      </div>
      {stateFixed && (
        <p id="state-fixed" className="hint muted">
          {state.filter === 'waiting' ? 'Waiting for me lists open and approved change requests you could approve and have not.' : 'Frozen lists open and approved change requests a freeze window holds now (of this page of active ones).'}
        </p>
      )}
      {page.error !== undefined && (
        <p className="error" role="alert">
          {describeError(page.error)}
        </p>
      )}
      <p role="status" aria-live="polite" className="muted">
        {!items ? 'Loading…' : items.length === 0 ? 'No change requests match.' : `${items.length} change request${items.length === 1 ? '' : 's'} on this page${page.data?.nextCursor ? ', more on the next' : ''}.`}
      </p>
      {items && items.length > 0 && <ChangeTable items={items} busy={page.loading} />}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={state.pages.length === 0} onClick={() => go({ pages: state.pages.slice(0, -1) })}>
          Previous page
        </button>
        <button type="button" disabled={!page.data?.nextCursor} onClick={() => page.data?.nextCursor && go({ pages: [...state.pages, page.data.nextCursor] })}>
          Next page
        </button>
      </nav>
    </>
  );
}

function approvalsText(item: ChangeListItem): string {
  const needed = item.requiredApprovals.reduce((sum, requirement) => sum + requirement.count, 0);
  const missing = item.requiredApprovals.reduce((sum, requirement) => sum + requirement.missing, 0);
  return needed === 0 ? 'none needed' : `${needed - missing} of ${needed}`;
}

function ChangeTable({ items, busy }: { items: ChangeListItem[]; busy: boolean }): ReactElement {
  return (
    <table aria-busy={busy} className="changes">
      <caption className="visually-hidden">Change requests, newest first</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Title</th>
          <th scope="col">Author</th>
          <th scope="col">State</th>
          <th scope="col">Checks</th>
          <th scope="col">Approvals</th>
          <th scope="col">Blocked by</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr key={item.id}>
            <td>{item.id}</td>
            <th scope="row">
              <Link to={`/changes/${item.id}`}>{item.title}</Link>
              {item.emergency && <span className="badge danger"> emergency</span>}
            </th>
            <td>{item.author}</td>
            <td>
              <span className={`state ${item.state}`}>{STATE_TITLES[item.state]}</span>
            </td>
            <td>{item.checks ? `${item.checks.status}${item.checks.risk ? `, risk ${item.checks.risk}` : ''}` : 'pending'}</td>
            <td>{approvalsText(item)}</td>
            <td>{item.blockers.length === 0 ? <span className="muted">nothing</span> : item.blockers.map((blocker) => blocker.code).join(', ')}</td>
            <td>
              <time dateTime={item.updatedAt}>{new Date(item.updatedAt).toLocaleString()}</time>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
