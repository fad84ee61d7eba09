import type { AuditVerification, EstateClient } from '@estate/client';
import { useEffect, useMemo, useState, type FormEvent, type ReactElement } from 'react';
import { describeError } from '../api';
import { AUDIT_EVENTS, AUDIT_PAGE_SIZES, auditQuery, formatAuditState, parseAuditState, type AuditState } from '../auditState';
import { formatValue } from '../fieldChanges';
import { downloadText } from '../opsApi';
import { navigate } from '../router';
import { useLoad } from '../useLoad';

const FILTERS: Array<{ name: 'actor' | 'event' | 'subject' | 'since' | 'until'; label: string; hint: string }> = [
  { name: 'actor', label: 'Actor', hint: 'a user name, or system' },
  { name: 'event', label: 'Event', hint: 'e.g. change.merged' },
  { name: 'subject', label: 'Subject', hint: 'e.g. change/12, config/billing/prod' },
  { name: 'since', label: 'Since', hint: 'ISO 8601, e.g. 2024-05-01' },
  { name: 'until', label: 'Until (exclusive)', hint: 'ISO 8601' },
];

/**
 * The audit trail: entries filtered by actor, event, subject and time, page by page (oldest
 * first, as the API answers); the chain's verification; an export as JSON Lines or CSV, fetched
 * with the token in the header and saved from a Blob.
 */
export function AuditPage({ client, search }: { client: EstateClient; search: string }): ReactElement {
  const state = useMemo(() => parseAuditState(search), [search]);
  const go = (change: Partial<AuditState>): void => navigate(`/audit${formatAuditState({ ...state, pages: [], ...change })}`);
  const [draft, setDraft] = useState(state);
  useEffect(() => setDraft(state), [state]);
  useEffect(() => {
    document.title = 'Audit · Estate';
  }, []);
  const query = auditQuery(state);
  const entries = useLoad(JSON.stringify(query), () => client.listAudit(query));
  const apply = (event: FormEvent): void => {
    event.preventDefault();
    go({ ...draft, pages: [] });
  };
  const first = state.pages.length * state.limit + 1;
  const count = entries.data?.items.length ?? 0;

  return (
    <>
      <h1>Audit trail</h1>
      <Verify client={client} />
      <form className="audit-filters" role="search" aria-label="Audit filters" onSubmit={apply}>
        {FILTERS.map((filter) => (
          <label key={filter.name}>
            {filter.label}
            <input
              type="text"
              value={draft[filter.name]}
              onChange={(event) => setDraft({ ...draft, [filter.name]: event.target.value })}
              placeholder={filter.hint}
              autoComplete="off"
              {...(filter.name === 'event' ? { list: 'audit-events' } : {})}
            />
          </label>
        ))}
        <datalist id="audit-events">
          {AUDIT_EVENTS.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
        <div className="controls">
          <button type="submit" className="primary">
            Search
          </button>
          <button type="button" onClick={() => go({ since: '', until: '', actor: '', event: '', subject: '' })}>
            Clear
          </button>
        </div>
      </form>
      <Export client={client} state={state} />

      <p role="status" aria-live="polite" className="muted">
        {entries.loading && !entries.data ? 'Loading…' : count === 0 ? 'No entries match.' : `Entries ${first}–${first + count - 1}, oldest first${entries.data?.nextCursor ? '; more on the next page' : ''}.`}
      </p>
      {entries.error !== undefined && (
        <p className="error" role="alert">
          {describeError(entries.error)}
        </p>
      )}
      {entries.data && count > 0 && (
        <table aria-busy={entries.loading}>
          <caption className="visually-hidden">Audit entries</caption>
          <thead>
            <tr>
              <th scope="col">Seq</th>
              <th scope="col">At</th>
              <th scope="col">Actor</th>
              <th scope="col">Event</th>
              <th scope="col">Subject</th>
              <th scope="col">Details</th>
              <th scope="col">Hash</th>
            </tr>
          </thead>
          <tbody>
            {entries.data.items.map((entry) => (
              <tr key={entry.seq}>
                <th scope="row">{entry.seq}</th>
                <td>
                  <time dateTime={entry.at}>{new Date(entry.at).toLocaleString()}</time>
                </td>
                <td>{entry.actor}</td>
                <td>
                  <code>{entry.event}</code>
                </td>
                <td>{entry.subject ?? <span className="muted">—</span>}</td>
                <td className="details">
                  <code>{formatValue(entry.details, 240)}</code>
                </td>
                <td>
                  <code title={entry.hash}>{entry.hash.slice(0, 10)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={state.pages.length === 0} onClick={() => go({ pages: state.pages.slice(0, -1) })}>
          Previous page
        </button>
        <button type="button" disabled={!entries.data?.nextCursor} onClick={() => entries.data?.nextCursor && go({ pages: [...state.pages, entries.data.nextCursor] })}>
          Next page
        </button>
        <label>
          Per page{' '}
          <select value={state.limit} onChange={(event) => go({ limit: Number(event.target.value) })}>
            {AUDIT_PAGE_SIZES.map((size) => (
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

/** The server's verification of the hash chain (`GET /api/v1/audit/verify`), run on demand again. */
function Verify({ client }: { client: EstateClient }): ReactElement {
  const [revision, setRevision] = useState(0);
  const verdict = useLoad<AuditVerification>(`verify ${revision}`, () => client.verifyAudit());
  const data = verdict.data;
  return (
    <section aria-labelledby="audit-verify" className="verify">
      <h2 id="audit-verify">Chain verification</h2>
      <p role="status" aria-live="polite" className={data ? (data.ok ? 'ok' : 'error') : undefined}>
        {verdict.loading && !data
          ? 'Verifying…'
          : data
            ? data.ok
              ? `Verified OK: ${data.entries} entries, each hash-chained to the one before${data.head ? `; head #${data.head.seq} ${data.head.hash.slice(0, 16)}…` : ''}.`
              : `Verification FAILED: ${data.problems.length + (data.moreProblems ?? 0)} problems in ${data.entries} entries.`
            : ''}
      </p>
      {data && !data.ok && (
        <ul className="problems">
          {data.problems.map((problem) => (
            <li key={`${problem.seq} ${problem.code}`}>
              <code>{problem.code}</code> at entry {problem.seq}: {problem.message}
            </li>
          ))}
        </ul>
      )}
      {verdict.error !== undefined && (
        <p className="error" role="alert">
          {describeError(verdict.error)}
        </p>
      )}
      <button type="button" onClick={() => setRevision((n) => n + 1)} disabled={verdict.loading}>
        Verify again
      </button>
      {data?.head && <p className="muted">Record the head (<code>{`${data.head.seq}:${data.head.hash}`}</code>) outside Estate: a later verification against it also shows removed newest entries.</p>}
    </section>
  );
}

/** Downloads the trail in the time range of the filters (the export API filters by time only). */
function Export({ client, state }: { client: EstateClient; state: AuditState }): ReactElement {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>();
  const range = { ...(state.since.trim() ? { since: state.since.trim() } : {}), ...(state.until.trim() ? { until: state.until.trim() } : {}) };
  const download = async (format: 'jsonl' | 'csv'): Promise<void> => {
    setBusy(true);
    try {
      const text = await client.exportAudit({ ...range, format });
      downloadText(text, `estate-audit-${new Date().toISOString().slice(0, 10)}.${format}`, format === 'csv' ? 'text/csv' : 'application/x-ndjson');
      setFailure(undefined);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="controls export">
      <button type="button" disabled={busy} onClick={() => void download('jsonl')}>
        Export JSON Lines
      </button>
      <button type="button" disabled={busy} onClick={() => void download('csv')}>
        Export CSV
      </button>
      <span className="muted">{range.since || range.until ? 'Entries in the time range above (the export filters by time only).' : 'The whole trail; JSON Lines verifies with estate audit verify.'}</span>
      {failure !== undefined && (
        <span className="error" role="alert">
          {describeError(failure)}
        </span>
      )}
    </div>
  );
}
