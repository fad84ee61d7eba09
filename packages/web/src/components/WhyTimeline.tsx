import type { EstateClient, TimelineEntry } from '@estate/client';
import { useState, type ReactElement } from 'react';
import { describeError } from '../api';
import { fieldPath, formatValue } from '../fieldChanges';
import { useLoad } from '../useLoad';
import { ProvenanceLine } from './Provenance';

const PAGE = 20;

/**
 * "Why is it like this": the verdict (does the asset differ from Git, since when, did that go
 * through Git), its open drift with the commit that explains each item, then its declared and
 * observed history, newest first, a page at a time (`GET /api/v1/assets/:kind/:name/timeline`).
 * It is always up to now: `past` (the page shows an earlier commit) says so.
 */
export function WhyTimeline({ client, id, revision, past = false }: { client: EstateClient; id: string; revision: number; past?: boolean }): ReactElement {
  const first = useLoad(`timeline ${id} ${revision}`, () => client.assetTimeline(id, { limit: PAGE }));
  const [more, setMore] = useState<{ key: string; items: TimelineEntry[]; nextCursor?: string }>({ key: '', items: [] });
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>();
  const key = `${id} ${revision}`;
  const extra = more.key === key ? more : { key, items: [] as TimelineEntry[], nextCursor: undefined };
  const page = first.data?.asset === id ? first.data : undefined;
  const nextCursor = extra.items.length > 0 ? extra.nextCursor : page?.nextCursor;
  const loadMore = async (): Promise<void> => {
    if (!nextCursor) return;
    setLoadingMore(true);
    try {
      const next = await client.assetTimeline(id, { limit: PAGE, cursor: nextCursor });
      setMore({ key, items: [...extra.items, ...next.items], ...(next.nextCursor ? { nextCursor: next.nextCursor } : {}) });
    } catch (failure) {
      setError(failure);
    } finally {
      setLoadingMore(false);
    }
  };
  const entries = page ? [...page.items, ...extra.items] : undefined;
  return (
    <section aria-labelledby="why-title">
      <h2 id="why-title">{past ? 'Why: timeline up to now' : 'Why: timeline'}</h2>
      {past && <p className="banner">The verdict and open drift are as of now; the timeline runs up to now, past the commit shown above.</p>}
      {(first.error ?? error) !== undefined && (
        <p className="error" role="alert">
          {describeError(first.error ?? error)}
        </p>
      )}
      {!page || !entries ? (
        <p role="status">Loading the timeline…</p>
      ) : (
        <>
          <p className="verdict">
            <strong>{page.verdict}</strong>
          </p>
          {page.openDrift.length > 0 && (
            <ul className="explained" aria-label="Open drift and what explains it">
              {page.openDrift.map((item) => (
                <li key={item.field}>
                  <code>{fieldPath(item.field)}</code>: Git says <code>{formatValue(item.declared)}</code>, the host reports <code>{formatValue(item.observed)}</code>
                  {item.explainedBy ? (
                    <>
                      {' '}
                      — declared in <code>{item.explainedBy.sha.slice(0, 8)}</code> by {item.explainedBy.author}: <ProvenanceLine provenance={item.explainedBy.provenance} />
                    </>
                  ) : (
                    ' — changed outside Git'
                  )}
                </li>
              ))}
            </ul>
          )}
          {entries.length === 0 ? (
            <p className="muted">Nothing happened to this asset yet.</p>
          ) : (
            <ol className="timeline" aria-label="Timeline, newest first">
              {entries.map((entry, index) => (
                <li key={`${entry.at} ${entry.type} ${entry.eventId ?? ''} ${index}`} className={entry.source}>
                  <div>
                    <span className="badge">{entry.source === 'declared' ? 'Git' : 'host'}</span> <span className="change">{entry.type}</span>{' '}
                    <time dateTime={entry.at}>{new Date(entry.at).toLocaleString()}</time>
                  </div>
                  <div>{entry.summary}</div>
                  {entry.provenance && (
                    <div className="muted">
                      <ProvenanceLine provenance={entry.provenance} />
                    </div>
                  )}
                </li>
              ))}
            </ol>
          )}
          {nextCursor && (
            <button type="button" onClick={loadMore} disabled={loadingMore}>
              {loadingMore ? 'Loading…' : 'Older timeline entries'}
            </button>
          )}
        </>
      )}
    </section>
  );
}
