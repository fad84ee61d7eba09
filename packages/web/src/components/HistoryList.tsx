import type { HistoryEntry, Provenance } from '@estate/client';
import type { ReactElement } from 'react';
import { fieldPath, formatValue } from '../fieldChanges';
import { Link } from '../router';
import { ProvenanceLine } from './Provenance';

/**
 * The commits that changed an asset, newest first, each with its field-level changes; with
 * `provenance`, how each commit reached main; with `viewAt`, a link to the asset as of each commit.
 */
export function HistoryList({ entries, provenance, viewAt }: { entries: HistoryEntry[]; provenance?: ReadonlyMap<string, Provenance>; viewAt?: (sha: string) => string }): ReactElement {
  return (
    <ol className="history">
      {entries.map((entry) => (
        <li key={`${entry.commit.sha} ${entry.change}`}>
          <div>
            <span className="change">{entry.change}</span> in <code>{entry.commit.sha.slice(0, 8)}</code> <q>{entry.commit.subject}</q>
          </div>
          <div className="muted">
            {entry.commit.author.name} · <time dateTime={entry.commit.author.date}>{new Date(entry.commit.author.date).toLocaleString()}</time>
            {entry.change === 'moved' && entry.fromPath ? ` · moved from ${entry.fromPath} to ${entry.path}` : ` · ${entry.path}`}
            {viewAt && entry.change !== 'removed' && (
              <>
                {' · '}
                <Link to={viewAt(entry.commit.sha)}>View as of {entry.commit.sha.slice(0, 8)}</Link>
              </>
            )}
          </div>
          {provenance?.has(entry.commit.sha) && (
            <div className="provenance">
              <ProvenanceLine provenance={provenance.get(entry.commit.sha)!} />
            </div>
          )}
          {entry.fields.length > 0 && (
            <table>
              <caption className="visually-hidden">Fields changed in {entry.commit.sha.slice(0, 8)}</caption>
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Before</th>
                  <th scope="col">After</th>
                </tr>
              </thead>
              <tbody>
                {entry.fields.map((field) => (
                  <tr key={`${field.op} ${field.pointer}`}>
                    <th scope="row">
                      <code>{fieldPath(field.pointer)}</code>
                    </th>
                    <td className="old">{field.op === 'add' ? <span className="muted">(none)</span> : <code>{formatValue(field.old)}</code>}</td>
                    <td className="new">{field.op === 'remove' ? <span className="muted">(removed)</span> : <code>{formatValue(field.new)}</code>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </li>
      ))}
    </ol>
  );
}
