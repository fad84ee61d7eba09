import type { Change, DriftItem, EstateClient } from '@estate/client';
import { useEffect, useState, type FormEvent, type ReactElement } from 'react';
import { describeError } from '../api';
import { roleAtLeast } from '../changeState';
import { DriftChart } from '../components/DriftChart';
import { LiveStatus } from '../components/LiveStatus';
import { fieldPath, formatValue } from '../fieldChanges';
import { getJson, type DriftGroup, type DriftHistoryBucket, type StaleHost, type UnmanagedHost } from '../opsApi';
import { assetPath, Link, navigate } from '../router';
import { useIdentity } from '../identity';
import { useCoalesced, useLiveRevision } from '../useLiveEvents';
import { useLoad } from '../useLoad';

/** Items of one list call: the drift page shows at most this many open (and as many ignored) items. */
const ITEM_LIMIT = 1000;

/** The drift page's settings, in the address: `/drift?env=prod&bucket=day`. */
function driftSettings(search: string): { env: string | undefined; bucket: 'hour' | 'day' } {
  const params = new URLSearchParams(search);
  return { env: params.get('env') || undefined, bucket: params.get('bucket') === 'day' ? 'day' : 'hour' };
}

function driftAddress(settings: { env: string | undefined; bucket: 'hour' | 'day' }): string {
  const params = new URLSearchParams();
  if (settings.env) params.set('env', settings.env);
  if (settings.bucket === 'day') params.set('bucket', 'day');
  const query = params.toString();
  return `/drift${query ? `?${query}` : ''}`;
}

/** What an action did, shown above the lists until the next one. */
interface Outcome {
  message: string;
  change?: Change;
  error?: boolean;
}

/**
 * Drift: open drift over time, open items grouped by environment (the `env` label) and kind with
 * their evidence and actions (adopt, revert, ignore; editor and up), unmanaged and stale hosts.
 */
export function DriftPage({ client, search }: { client: EstateClient; search: string }): ReactElement {
  const role = useIdentity()?.role ?? 'viewer';
  const settings = driftSettings(search);
  const [acted, setActed] = useState(0);
  // Drift and host events (reports, adoption, staleness) read the page again, a burst at once.
  const live = useLiveRevision(['drift', 'host']);
  const revision = acted + useCoalesced(live.revision, 1000);
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  const canAct = roleAtLeast(role, 'editor');
  useEffect(() => {
    document.title = 'Drift · Estate';
  }, []);

  const selector = settings.env ? `env=${settings.env}` : undefined;
  const history = useLoad(`history ${settings.bucket} ${revision}`, () => getJson<{ items: DriftHistoryBucket[] }>('/api/v1/drift/history', { bucket: settings.bucket }));
  const summary = useLoad(`summary ${revision}`, () => getJson<{ items: DriftGroup[] }>('/api/v1/drift/summary'));
  const items = useLoad(`items ${selector ?? ''} ${revision}`, async () => {
    const [open, ignored] = await Promise.all([client.listDrift({ state: 'open', selector, limit: ITEM_LIMIT }), client.listDrift({ state: 'ignored', selector, limit: ITEM_LIMIT })]);
    return { items: [...open.items, ...ignored.items], more: open.nextCursor !== undefined || ignored.nextCursor !== undefined };
  });
  const unmanaged = useLoad(`unmanaged ${revision}`, () => getJson<{ items: UnmanagedHost[] }>('/api/v1/drift/unmanaged'));
  const stale = useLoad(`stale ${revision}`, () => getJson<{ items: StaleHost[] }>('/api/v1/drift/stale'));

  /** Runs an action, shows what it did, and reloads the page's data. */
  const act = async (work: () => Promise<Outcome>): Promise<void> => {
    try {
      setOutcome(await work());
    } catch (error) {
      setOutcome({ message: describeError(error), error: true });
    }
    setActed((n) => n + 1);
  };

  const groups = (summary.data?.items ?? []).filter((group) => settings.env === undefined || group.env === settings.env);
  const envs = [...new Set((summary.data?.items ?? []).flatMap((group) => (group.env === undefined ? [] : [group.env])))];
  if (settings.env && !envs.includes(settings.env)) envs.push(settings.env);
  const byAsset = new Map<string, DriftItem[]>();
  for (const item of items.data?.items ?? []) byAsset.set(item.asset, [...(byAsset.get(item.asset) ?? []), item]);

  return (
    <>
      <h1>Drift</h1>
      <LiveStatus status={live.status} what="new reports and drift show as they arrive" />
      <p className="muted">Declared fields that differ from what hosts report. Adopting opens a change request that makes Git match the host; reverting asks the host&apos;s enforcing agent to restore a managed file from Git.</p>
      {outcome && (
        <p className={outcome.error ? 'error' : 'notice'} role={outcome.error ? 'alert' : 'status'}>
          {outcome.message}
          {outcome.change && (
            <>
              {' '}
              <Link to={`/changes/${outcome.change.id}`}>Open change request #{outcome.change.id}</Link>
            </>
          )}
        </p>
      )}

      <section aria-labelledby="drift-history">
        <h2 id="drift-history">Open drift over time</h2>
        <label className="inline">
          Buckets{' '}
          <select value={settings.bucket} onChange={(event) => navigate(driftAddress({ ...settings, bucket: event.target.value === 'day' ? 'day' : 'hour' }), { replace: true })}>
            <option value="hour">Hours (last 48)</option>
            <option value="day">Days (last 30)</option>
          </select>
        </label>
        {history.data ? <DriftChart buckets={history.data.items} bucket={settings.bucket} /> : !history.error && <p role="status">Loading…</p>}
        {history.error !== undefined && (
          <p className="error" role="alert">
            {describeError(history.error)}
          </p>
        )}
      </section>

      <section aria-labelledby="drift-open">
        <h2 id="drift-open">Open drift by environment and kind</h2>
        <label className="inline">
          Environment{' '}
          <select value={settings.env ?? ''} onChange={(event) => navigate(driftAddress({ ...settings, env: event.target.value || undefined }))}>
            <option value="">All environments</option>
            {envs.map((env) => (
              <option key={env} value={env}>
                {env}
              </option>
            ))}
          </select>
        </label>
        {(summary.error ?? items.error) !== undefined && (
          <p className="error" role="alert">
            {describeError(summary.error ?? items.error)}
          </p>
        )}
        {summary.data && groups.length === 0 && <p role="status">No open drift{settings.env ? ` in ${settings.env}` : ''}: every host matches Git.</p>}
        {items.data?.more && <p className="muted">Showing the first {ITEM_LIMIT} items; choose an environment to narrow the list.</p>}
        {groups.map((group) => (
          <section key={`${group.env ?? ''} ${group.kind}`} className="drift-group" aria-label={`${group.env ?? 'no env label'} · ${group.kind}`}>
            <h3>
              {group.env ?? <span className="muted">no env label</span>} · {group.kind}{' '}
              <span className="muted">
                — {group.assets.length} {group.assets.length === 1 ? 'asset' : 'assets'}, {group.open} open{group.ignored > 0 ? `, ${group.ignored} ignored` : ''}
              </span>
            </h3>
            {group.assets.map((asset) => (
              <AssetDrift key={asset} asset={asset} items={byAsset.get(asset) ?? []} canAct={canAct} client={client} act={act} />
            ))}
          </section>
        ))}
      </section>

      <HostLists unmanaged={unmanaged} stale={stale} canAct={canAct} client={client} act={act} />
    </>
  );
}

type Act = (work: () => Promise<Outcome>) => Promise<void>;

/** One asset's drift items: declared against observed, the evidence, and the actions. */
function AssetDrift({ asset, items, canAct, client, act }: { asset: string; items: DriftItem[]; canAct: boolean; client: EstateClient; act: Act }): ReactElement {
  const [ignoring, setIgnoring] = useState<string | undefined>();
  const [reason, setReason] = useState('');
  const adopt = (fields?: string[]): Promise<void> =>
    act(async () => {
      const { change, skipped } = await client.adoptDrift({ asset, ...(fields ? { fields } : {}) });
      const left = skipped.length > 0 ? ` Left out: ${skipped.map((s) => `${fieldPath(s.field)} (${s.reason})`).join('; ')}.` : '';
      return { message: `Change request #${change.id} adopts the observed values of ${asset}.${left}`, change };
    });
  const ignore = (event: FormEvent, field: string): Promise<void> => {
    event.preventDefault();
    setIgnoring(undefined);
    return act(async () => {
      const answer = await client.ignoreDrift(asset, field, reason.trim());
      setReason('');
      return { message: `${asset} ${fieldPath(field)} is ignored: ${answer.note}.` };
    });
  };
  const revert = (field: string): Promise<void> =>
    act(async () => {
      const answer = await client.revertDrift(asset, field);
      return { message: `Revert of ${asset} ${fieldPath(field)} requested; the host's agent restores it from Git when it runs with --enforce (mode: ${answer.mode}).` };
    });
  const open = items.filter((item) => item.state === 'open');
  return (
    <article className="drift-asset" aria-label={asset}>
      <h4>
        <Link to={assetPath(asset)}>{asset}</Link> {items[0] && <span className="chip">mode {items[0].mode}</span>}
        {canAct && open.length > 0 && (
          <button type="button" onClick={() => void adopt()}>
            Adopt all of {asset}
          </button>
        )}
      </h4>
      {items.length === 0 ? (
        <p className="muted">Its items are beyond the list shown.</p>
      ) : (
        <table>
          <caption className="visually-hidden">Drift of {asset}</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Declared</th>
              <th scope="col">Observed</th>
              <th scope="col">Evidence</th>
              {canAct && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {items.map((item) => {
              const name = fieldPath(item.field);
              return (
                <tr key={item.field}>
                  <th scope="row">
                    <code>{name}</code>
                    {item.ignored && (
                      <div className="muted">
                        ignored by {item.ignored.by}: {item.ignored.reason}
                      </div>
                    )}
                  </th>
                  <td className="old">
                    <code>{formatValue(item.declared)}</code>
                  </td>
                  <td className="new">{item.observed === null ? <span className="muted">(absent)</span> : <code>{formatValue(item.observed)}</code>}</td>
                  <td className="evidence">
                    report <code>{item.reportId}</code>
                    <br />
                    first seen <time dateTime={item.firstSeen}>{new Date(item.firstSeen).toLocaleString()}</time>
                    <br />
                    last seen <time dateTime={item.lastSeen}>{new Date(item.lastSeen).toLocaleString()}</time>
                  </td>
                  {canAct && (
                    <td className="actions">
                      {item.state === 'open' && (
                        <button type="button" aria-label={`Adopt ${name} of ${asset}`} onClick={() => void adopt([item.field])}>
                          Adopt
                        </button>
                      )}
                      {item.field.startsWith('/spec/files/') && (
                        <button type="button" aria-label={`Revert ${name} of ${asset}`} onClick={() => void revert(item.field)}>
                          Revert
                        </button>
                      )}
                      {item.state === 'open' &&
                        (ignoring === item.field ? (
                          <form onSubmit={(event) => void ignore(event, item.field)}>
                            <label>
                              Why may it stay?
                              <input type="text" value={reason} onChange={(event) => setReason(event.target.value)} required maxLength={1000} autoFocus />
                            </label>
                            <button type="submit" disabled={reason.trim() === ''}>
                              Ignore
                            </button>
                            <button type="button" onClick={() => setIgnoring(undefined)}>
                              Cancel
                            </button>
                          </form>
                        ) : (
                          <button type="button" aria-label={`Ignore ${name} of ${asset}`} onClick={() => setIgnoring(item.field)}>
                            Ignore…
                          </button>
                        ))}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </article>
  );
}

/** Hosts that report without a Host asset (declare one through a change request), and declared hosts gone quiet. */
function HostLists({
  unmanaged,
  stale,
  canAct,
  client,
  act,
}: {
  unmanaged: { data?: { items: UnmanagedHost[] }; error: unknown };
  stale: { data?: { items: StaleHost[] }; error: unknown };
  canAct: boolean;
  client: EstateClient;
  act: Act;
}): ReactElement {
  const declare = (host: string): Promise<void> =>
    act(async () => {
      const { change } = await client.declareHost(host);
      return { message: `Change request #${change.id} declares ${host} as a Host asset.`, change };
    });
  return (
    <>
      <section aria-labelledby="drift-unmanaged">
        <h2 id="drift-unmanaged">Unmanaged hosts</h2>
        <p className="muted">Hosts that report but that no Host asset declares.</p>
        {unmanaged.error !== undefined && (
          <p className="error" role="alert">
            {describeError(unmanaged.error)}
          </p>
        )}
        {unmanaged.data && unmanaged.data.items.length === 0 && <p>None.</p>}
        {unmanaged.data && unmanaged.data.items.length > 0 && (
          <table>
            <caption className="visually-hidden">Unmanaged hosts</caption>
            <thead>
              <tr>
                <th scope="col">Host</th>
                <th scope="col">First seen</th>
                <th scope="col">Last seen</th>
                <th scope="col">Last report</th>
                {canAct && <th scope="col">Action</th>}
              </tr>
            </thead>
            <tbody>
              {unmanaged.data.items.map((host) => (
                <tr key={host.host}>
                  <th scope="row">{host.host}</th>
                  <td>
                    <time dateTime={host.firstSeen}>{new Date(host.firstSeen).toLocaleString()}</time>
                  </td>
                  <td>
                    <time dateTime={host.lastSeen}>{new Date(host.lastSeen).toLocaleString()}</time>
                  </td>
                  <td>
                    <code>{host.reportId}</code>
                  </td>
                  {canAct && (
                    <td>
                      <button type="button" aria-label={`Declare ${host.host}`} onClick={() => void declare(host.host)}>
                        Declare
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="drift-stale">
        <h2 id="drift-stale">Stale hosts</h2>
        <p className="muted">Declared hosts whose last report is older than the server&apos;s stale threshold.</p>
        {stale.error !== undefined && (
          <p className="error" role="alert">
            {describeError(stale.error)}
          </p>
        )}
        {stale.data && stale.data.items.length === 0 && <p>None.</p>}
        {stale.data && stale.data.items.length > 0 && (
          <table>
            <caption className="visually-hidden">Stale hosts</caption>
            <thead>
              <tr>
                <th scope="col">Asset</th>
                <th scope="col">Last report at</th>
                <th scope="col">Report</th>
              </tr>
            </thead>
            <tbody>
              {stale.data.items.map((host) => (
                <tr key={host.asset}>
                  <th scope="row">
                    <Link to={assetPath(host.asset)}>{host.asset}</Link>
                  </th>
                  <td>
                    <time dateTime={host.lastReportAt}>{new Date(host.lastReportAt).toLocaleString()}</time>
                  </td>
                  <td>
                    <code>{host.reportId}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
