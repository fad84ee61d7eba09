import type { EstateClient } from '@estate/client';
import type { ReactElement } from 'react';
import { describeError } from '../api';
import { fieldPath, formatValue } from '../fieldChanges';
import { useLoad } from '../useLoad';

/**
 * The asset's open drift items (`GET /api/v1/drift?asset=`): declared against observed, since when.
 * `revision` reloads it. Drift is always today's: `past` (the page shows an earlier commit) says so.
 */
export function DriftState({ client, id, revision, past = false }: { client: EstateClient; id: string; revision: number; past?: boolean }): ReactElement {
  const drift = useLoad(`drift ${id} ${revision}`, () => client.listDrift({ asset: id, state: 'open', limit: 200 }));
  const items = drift.data?.items.filter((item) => item.asset === id);
  return (
    <section aria-labelledby="drift-title">
      <h2 id="drift-title">{past ? 'Drift now' : 'Drift'}</h2>
      {past && <p className="banner">Open drift now, against main&apos;s head: not as of the commit shown above.</p>}
      {drift.error !== undefined && (
        <p className="error" role="alert">
          {describeError(drift.error)}
        </p>
      )}
      {!items ? (
        <p role="status">Loading drift…</p>
      ) : items.length === 0 ? (
        <p className="muted">No open drift: nothing reported differs from Git.</p>
      ) : (
        <table className="drift-items">
          <caption>
            {items.length} open drift {items.length === 1 ? 'item' : 'items'} (mode {items[0]!.mode})
          </caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Declared</th>
              <th scope="col">Observed</th>
              <th scope="col">Since</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.field}>
                <th scope="row">
                  <code>{fieldPath(item.field)}</code>
                </th>
                <td className="new">
                  <code>{formatValue(item.declared)}</code>
                </td>
                <td className="old">
                  <code>{formatValue(item.observed)}</code>
                </td>
                <td>
                  <time dateTime={item.firstSeen}>{new Date(item.firstSeen).toLocaleString()}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
