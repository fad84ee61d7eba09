import type { EstateClient, HistoryEntry, RelationDirection } from '@estate/client';
import { useEffect, useMemo, useState, type ReactElement } from 'react';
import { describeError } from '../api';
import { roleAtLeast } from '../changeState';
import { HistoryList } from '../components/HistoryList';
import { RelationGraph } from '../components/RelationGraph';
import { YamlView } from '../components/YamlView';
import { useIdentity } from '../identity';
import { describePath } from '../impact';
import { assetPath, Link, navigate } from '../router';
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

/** One asset: its facts, its document as YAML, its relations with impact paths, its history. */
export function AssetPage({ client, id, search }: { client: EstateClient; id: string; search: string }): ReactElement {
  const asset = useLoad(`asset ${id}`, () => client.getAsset(id));
  const identity = useIdentity();
  useEffect(() => {
    document.title = `${id} · Estate`;
  }, [id]);

  if (asset.error !== undefined && !asset.data) {
    return (
      <>
        <h1>{id}</h1>
        <p className="error" role="alert">
          {describeError(asset.error)}
        </p>
        <p>
          <Link to="/">Browse assets</Link>
        </p>
      </>
    );
  }
  const current = asset.data?.asset.id === id ? asset.data.asset : undefined;
  if (!current) return <p role="status">Loading {id}…</p>;
  const { metadata } = current.document;
  const labels = Object.entries(metadata.labels ?? {});
  return (
    <>
      <p>
        <Link to="/">Assets</Link> / <Link to={`/?kind=${encodeURIComponent(current.kind)}`}>{current.kind}</Link>
      </p>
      <h1>{current.id}</h1>
      {identity && roleAtLeast(identity.role, 'editor') && (
        <p>
          <Link className="button" to={`${assetPath(current.id)}/edit`}>
            Edit
          </Link>
        </p>
      )}
      <dl className="facts">
        <dt>Kind</dt>
        <dd>{current.kind}</dd>
        <dt>Owner</dt>
        <dd>{metadata.owner ? <Link to={assetPath(metadata.owner)}>{metadata.owner}</Link> : <span className="muted">none</span>}</dd>
        <dt>Labels</dt>
        <dd>
          {labels.length === 0 ? (
            <span className="muted">none</span>
          ) : (
            <ul className="chips" aria-label="Labels">
              {labels.map(([key, value]) => (
                <li key={key}>
                  <Link to={`/?selector=${encodeURIComponent(`${key}=${value}`)}`}>
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
      <Relations client={client} id={current.id} search={search} />
      <History client={client} id={current.id} />
    </>
  );
}

/** The relations of the asset: a graph and the paths, in or out, to a chosen depth. */
function Relations({ client, id, search }: { client: EstateClient; id: string; search: string }): ReactElement {
  const settings = useMemo(() => relationSettings(search), [search]);
  const relations = useLoad(`relations ${id} ${settings.direction} ${settings.depth}`, () => client.relations(id, settings));
  const change = (next: Partial<typeof settings>): void => {
    const params = new URLSearchParams({ direction: next.direction ?? settings.direction, depth: String(next.depth ?? settings.depth) });
    navigate(`${assetPath(id)}?${params}`, { replace: true });
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
          <RelationGraph start={id} items={items} label={`${title}: graph of ${items.length} assets`} />
          <h3>Paths</h3>
          <ul className="paths" aria-label={`${title}: paths`}>
            {items.map((item) => (
              <li key={item.id}>
                <Link to={assetPath(item.id)}>{item.id}</Link> <span className="muted">({item.depth})</span>: {describePath(item.path)}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** The asset's history, newest first, a page at a time. */
function History({ client, id }: { client: EstateClient; id: string }): ReactElement {
  const first = useLoad(`history ${id}`, () => client.assetHistory(id, { limit: HISTORY_PAGE }));
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
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      {(first.error ?? error) !== undefined && (
        <p className="error" role="alert">
          {describeError(first.error ?? error)}
        </p>
      )}
      {!entries ? <p role="status">Loading history…</p> : <HistoryList entries={entries} />}
      {nextCursor && (
        <button type="button" onClick={loadMore} disabled={loadingMore}>
          {loadingMore ? 'Loading…' : 'Older changes'}
        </button>
      )}
    </section>
  );
}
