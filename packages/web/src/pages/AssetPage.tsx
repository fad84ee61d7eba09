import type { EstateClient, HistoryEntry, Provenance, RelationDirection } from '@estate/client';
import { useEffect, useMemo, useState, type ReactElement } from 'react';
import { describeError } from '../api';
import { roleAtLeast } from '../changeState';
import { DriftState } from '../components/DriftState';
import { HistoryList } from '../components/HistoryList';
import { RelationGraph } from '../components/RelationGraph';
import { TimeTravel } from '../components/TimeTravel';
import { WhyTimeline } from '../components/WhyTimeline';
import { YamlView } from '../components/YamlView';
import { useIdentity } from '../identity';
import { describePath } from '../impact';
import { assetPath, Link, navigate } from '../router';
import { readAt, withAt } from '../timeTravel';
import { useLiveRevision, type LiveEvent } from '../useLiveEvents';
import { useLoad } from '../useLoad';

const DIRECTIONS: Array<{ value: RelationDirection; title: string }> = [
  { value: 'in', title: 'What depends on this (impact)' },
  { value: 'out', title: 'What this depends on' },
  { value: 'both', title: 'Both ways' },
];
const DEPTHS = [1, 2, 3, 4, 5, 6, 8, 10];
const HISTORY_PAGE = 20;

/** The relations view's settings, in the address: `?direction=in&depth=3` (impact, 3 hops, by default). */
function relationSettings(search: string): { direction: RelationDirection; depth: number } {
  const params = new URLSearchParams(search);
  const direction = DIRECTIONS.find((d) => d.value === params.get('direction'))?.value ?? 'in';
  const depth = Number(params.get('depth'));
  return { direction, depth: DEPTHS.includes(depth) ? depth : 3 };
}

/**
 * One asset: its facts, its document as YAML, its drift, its relations with impact paths, why it is
 * as it is (the timeline), its history with each commit's provenance. `?at=` (a commit or a time)
 * shows it as of then. Live events reload what they concern: main moving (unless the page shows a
 * fixed past), and drift of this asset.
 */
export function AssetPage({ client, id, search }: { client: EstateClient; id: string; search: string }): ReactElement {
  const at = readAt(search);
  const main = useLiveRevision(['main.moved']);
  const drift = useLiveRevision(['drift', 'host'], (event: LiveEvent) => event.data['asset'] === id);
  // The present follows main; a past commit stays put.
  const asset = useLoad(`asset ${id} ${at ?? ''} ${at === undefined ? main.revision : 0}`, () => client.getAsset(id, at === undefined ? {} : { at }));
  const identity = useIdentity();
  useEffect(() => {
    document.title = `${id} · Estate`;
  }, [id]);
  // Browser links keep the time-travel point, so the estate around the asset is seen as of then too.
  const atQuery = at === undefined ? '' : `&at=${encodeURIComponent(at)}`;

  const current = asset.data?.asset.id === id ? asset.data.asset : undefined;
  if (asset.error !== undefined && !current) {
    return (
      <>
        <h1>{id}</h1>
        <p className="error" role="alert">
          {describeError(asset.error)}
        </p>
        <p>
          {at !== undefined && (
            <>
              <Link to={assetPath(id)}>Show it now</Link> ·{' '}
            </>
          )}
          <Link to="/">Browse assets</Link>
        </p>
      </>
    );
  }
  if (!current || !asset.data) return <p role="status">Loading {id}…</p>;
  const { metadata } = current.document;
  const labels = Object.entries(metadata.labels ?? {});
  return (
    <>
      <p>
        <Link to="/">Assets</Link> / <Link to={`/?kind=${encodeURIComponent(current.kind)}${atQuery}`}>{current.kind}</Link>
      </p>
      <h1>{current.id}</h1>
      <p className="live muted" role="status" aria-live="polite">
        {main.status === 'live' ? `Live: showing ${at === undefined ? "main's head" : 'a past commit'}, commit ${asset.data.commit.sha.slice(0, 8)}` : main.status === 'connecting' ? 'Connecting to live updates…' : 'Live updates are off; reload to see changes'}
      </p>
      {asset.error !== undefined && (
        <p className="error" role="alert">
          {describeError(asset.error)}
        </p>
      )}
      {identity && roleAtLeast(identity.role, 'editor') && (
        <p>
          <Link className="button" to={`${assetPath(current.id)}/edit`}>
            Edit
          </Link>
        </p>
      )}
      <TimeTravel client={client} id={current.id} at={at} search={search} commit={asset.data.commit} revision={main.revision} />
      <dl className="facts">
        <dt>Kind</dt>
        <dd>{current.kind}</dd>
        <dt>Owner</dt>
        <dd>{metadata.owner ? <Link to={`${assetPath(metadata.owner)}${withAt('', at)}`}>{metadata.owner}</Link> : <span className="muted">none</span>}</dd>
        <dt>Labels</dt>
        <dd>
          {labels.length === 0 ? (
            <span className="muted">none</span>
          ) : (
            <ul className="chips" aria-label="Labels">
              {labels.map(([key, value]) => (
                <li key={key}>
                  <Link to={`/?selector=${encodeURIComponent(`${key}=${value}`)}${atQuery}`}>
                    {key}={value}
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </dd>
        {metadata.description && (
          <>
            <dt>Description</dt>
            <dd>{metadata.description}</dd>
          </>
        )}
        <dt>File</dt>
        <dd>
          <code>{current.path}</code>
        </dd>
        <dt>Last changed in</dt>
        <dd>
          <code>{current.since.sha.slice(0, 8)}</code>
        </dd>
      </dl>
      <section aria-labelledby="spec-title">
        <h2 id="spec-title">Definition</h2>
        <YamlView value={current.document} label={`${current.path} as YAML`} />
      </section>
      <DriftState client={client} id={current.id} revision={drift.revision} past={at !== undefined} />
      <Relations client={client} id={current.id} search={search} at={at} revision={at === undefined ? main.revision : 0} />
      <WhyTimeline client={client} id={current.id} revision={main.revision + drift.revision} past={at !== undefined} />
      <History client={client} id={current.id} revision={main.revision} search={search} />
    </>
  );
}

/** The relations of the asset: a graph and the paths, in or out, to a chosen depth. */
function Relations({ client, id, search, at, revision }: { client: EstateClient; id: string; search: string; at: string | undefined; revision: number }): ReactElement {
  const settings = useMemo(() => relationSettings(search), [search]);
  const relations = useLoad(`relations ${id} ${settings.direction} ${settings.depth} ${at ?? ''} ${revision}`, () => client.relations(id, { ...settings, ...(at === undefined ? {} : { at }) }));
  const change = (next: Partial<typeof settings>): void => {
    const params = new URLSearchParams({ direction: next.direction ?? settings.direction, depth: String(next.depth ?? settings.depth) });
    navigate(`${assetPath(id)}${withAt(`?${params}`, at)}`, { replace: true });
  };
  const title = DIRECTIONS.find((d) => d.value === settings.direction)!.title;
  const items = relations.data?.asset === id ? relations.data.items : undefined;
  return (
    <section aria-labelledby="relations-title">
      <h2 id="relations-title">Relations</h2>
      <div className="controls">
        <label>
          Show
          <select value={settings.direction} onChange={(event) => change({ direction: event.target.value as RelationDirection })}>
            {DIRECTIONS.map((direction) => (
              <option key={direction.value} value={direction.value}>
                {direction.title}
              </option>
            ))}
          </select>
        </label>
        <label>
          Hops
          <select value={settings.depth} onChange={(event) => change({ depth: Number(event.target.value) })}>
            {DEPTHS.map((depth) => (
              <option key={depth} value={depth}>
                {depth}
              </option>
            ))}
          </select>
        </label>
      </div>
      {relations.error !== undefined && (
        <p className="error" role="alert">
          {describeError(relations.error)}
        </p>
      )}
      {!items ? (
        <p role="status">Loading relations…</p>
      ) : items.length === 0 ? (
        <p role="status">{settings.direction === 'in' ? 'Nothing depends on this asset.' : 'No related assets.'}</p>
      ) : (
        <>
          <p role="status">
            {items.length} {items.length === 1 ? 'asset' : 'assets'} within {settings.depth} {settings.depth === 1 ? 'hop' : 'hops'}
            {relations.data?.truncated ? ' (the nearest ones; more were reached)' : ''}.
          </p>
          <RelationGraph start={id} items={items} label={`${title}: graph of ${items.length} assets`} linkTo={(other) => `${assetPath(other)}${withAt('', at)}`} />
          <h3>Paths</h3>
          <ul className="paths" aria-label={`${title}: paths`}>
            {items.map((item) => (
              <li key={item.id}>
                <Link to={`${assetPath(item.id)}${withAt('', at)}`}>{item.id}</Link> <span className="muted">({item.depth})</span>: {describePath(item.path)}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** The asset's history, newest first, a page at a time, with how each commit reached main. */
function History({ client, id, revision, search }: { client: EstateClient; id: string; revision: number; search: string }): ReactElement {
  const first = useLoad(`history ${id} ${revision}`, () => client.assetHistory(id, { limit: HISTORY_PAGE }));
  const [more, setMore] = useState<{ id: string; entries: HistoryEntry[]; nextCursor?: string }>({ id, entries: [] });
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>();
  const extra = more.id === id ? more : { id, entries: [] };
  const nextCursor = extra.entries.length > 0 ? extra.nextCursor : first.data?.nextCursor;
  const loadMore = async (): Promise<void> => {
    if (!nextCursor) return;
    setLoadingMore(true);
    try {
      const page = await client.assetHistory(id, { limit: HISTORY_PAGE, cursor: nextCursor });
      setMore({ id, entries: [...extra.entries, ...page.items], ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
    } catch (failure) {
      setError(failure);
    } finally {
      setLoadingMore(false);
    }
  };
  const entries = first.data?.asset === id ? [...first.data.items, ...extra.entries] : undefined;
  const provenance = useProvenance(client, entries);
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      {(first.error ?? error) !== undefined && (
        <p className="error" role="alert">
          {describeError(first.error ?? error)}
        </p>
      )}
      {!entries ? <p role="status">Loading history…</p> : <HistoryList entries={entries} provenance={provenance} viewAt={(sha) => `${assetPath(id)}${withAt(search, sha)}`} />}
      {nextCursor && (
        <button type="button" onClick={loadMore} disabled={loadingMore}>
          {loadingMore ? 'Loading…' : 'Older changes'}
        </button>
      )}
    </section>
  );
}

/** The provenance of each entry's commit (`GET /api/v1/provenance/:sha`), fetched once per commit; failures leave it out. */
function useProvenance(client: EstateClient, entries: HistoryEntry[] | undefined): ReadonlyMap<string, Provenance> {
  const [known, setKnown] = useState<ReadonlyMap<string, Provenance>>(new Map());
  const wanted = (entries ?? []).map((entry) => entry.commit.sha).filter((sha) => !known.has(sha));
  const key = [...new Set(wanted)].join(',');
  useEffect(() => {
    if (key === '') return;
    let current = true;
    void Promise.all(key.split(',').map((sha) => client.provenance(sha).catch(() => undefined))).then((found) => {
      if (!current) return;
      setKnown((previous) => {
        const next = new Map(previous);
        for (const item of found) if (item) next.set(item.sha, item);
        return next;
      });
    });
    return () => {
      current = false;
    };
    // `key` names the commits still missing.
  }, [key]);
  return known;
}
