import type { HistoryEntry } from '@estate/client';
import type { ReactElement } from 'react';
import { fieldPath, formatValue } from '../fieldChanges';

/** The commits that changed an asset, newest first, each with its field-level changes. */
export function HistoryList({ entries }: { entries: HistoryEntry[] }): ReactElement {
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
          </div>
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
