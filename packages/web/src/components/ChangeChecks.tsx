import type { ChangeChecks, EstateDiff } from '@estate/client';
import type { ReactElement } from 'react';
import { fieldPath, formatValue } from '../fieldChanges';
import { assetPath, Link } from '../router';

const STATUS_WORDS: Record<string, string> = { passed: 'Passed', failed: 'Failed', warning: 'Warning' };

/** The checks of a change (or of a dry run): each with its outcome and message, then new problems and conflicts. */
export function ChecksList({ checks }: { checks: ChangeChecks }): ReactElement {
  return (
    <>
      <ul className="checks" aria-label="Checks">
        {checks.results.map((result) => (
          <li key={result.name} className={`check ${result.status}`}>
            <span className="status">{STATUS_WORDS[result.status] ?? result.status}</span> <strong>{result.name}</strong>: {result.message}
          </li>
        ))}
      </ul>
      {checks.diagnostics.length > 0 && (
        <>
          <h3>New problems</h3>
          <ul className="diagnostics">
            {checks.diagnostics.map((problem, index) => (
              <li key={index}>
                <code>
                  {problem.path}:{problem.line}:{problem.col}
                </code>{' '}
                {problem.code}: {problem.message}
              </li>
            ))}
          </ul>
        </>
      )}
      {checks.conflicts.length > 0 && (
        <>
          <h3>Conflicts with main</h3>
          <ul>
            {checks.conflicts.map((conflict) => (
              <li key={conflict.path}>
                <code>{conflict.path}</code>: {conflict.reason}
              </li>
            ))}
          </ul>
        </>
      )}
      {checks.preexistingErrors > 0 && <p className="muted">Main already has {checks.preexistingErrors} problem(s) this change leaves as they are; they do not block it.</p>}
    </>
  );
}

/** A semantic diff: per asset, each changed field with its value before and after, side by side. */
export function ChangeDiff({ diff, label }: { diff: EstateDiff; label: string }): ReactElement {
  const { summary } = diff;
  if (diff.assets.length === 0) return <p className="muted">No asset changes.</p>;
  return (
    <div className="diff">
      <p className="muted">
        {summary.changed} changed, {summary.added} added, {summary.removed} removed, {summary.moved} moved.
      </p>
      {diff.assets.map((asset) => (
        <section key={asset.id} className="diff-asset" aria-label={`${label}: ${asset.id}`}>
          <h3>
            {asset.status === 'removed' ? asset.id : <Link to={assetPath(asset.id)}>{asset.id}</Link>} <span className={`diff-status ${asset.status}`}>{asset.status}</span>
          </h3>
          <p className="muted">
            {asset.status === 'moved' && asset.fromPath ? (
              <>
                <code>{asset.fromPath}</code> → <code>{asset.path}</code>
              </>
            ) : (
              <code>{asset.path}</code>
            )}
          </p>
          {asset.fields.length > 0 && (
            <table className="diff-fields">
              <caption className="visually-hidden">Fields of {asset.id}, before and after</caption>
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Before</th>
                  <th scope="col">After</th>
                </tr>
              </thead>
              <tbody>
                {asset.fields.map((field) => (
                  <tr key={`${field.op} ${field.pointer}`}>
                    <th scope="row">
                      <code>{fieldPath(field.pointer)}</code>
                    </th>
                    <td className="old">{field.op === 'add' ? <span className="muted">(none)</span> : <code>{formatValue(field.old, 400)}</code>}</td>
                    <td className="new">{field.op === 'remove' ? <span className="muted">(removed)</span> : <code>{formatValue(field.new, 400)}</code>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      ))}
    </div>
  );
}
