import type { CommitRef, EstateClient } from '@estate/client';
import { useEffect, useState, type FormEvent, type ReactElement } from 'react';
import { assetPath, Link, navigate } from '../router';
import { localTimeToIso, withAt } from '../timeTravel';
import { useLoad } from '../useLoad';

/** Commits of the asset's history offered in the picker. */
const CHOICES = 50;

/**
 * Time travel on the asset page: pick a commit that changed the asset, or a date and time (the
 * last commit of main at or before it); the address's `at` holds the choice. While travelling, a
 * banner names the commit shown and leads back to now.
 */
export function TimeTravel({ client, id, at, search, commit, revision }: { client: EstateClient; id: string; at: string | undefined; search: string; commit: CommitRef; revision: number }): ReactElement {
  const history = useLoad(`time travel ${id} ${revision}`, () => client.assetHistory(id, { limit: CHOICES }));
  const [sha, setSha] = useState(at ?? '');
  const [time, setTime] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  useEffect(() => setSha(at ?? ''), [at]);
  const go = (value: string | undefined): void => navigate(`${assetPath(id)}${withAt(search, value)}`);
  const showTime = (event: FormEvent): void => {
    event.preventDefault();
    const iso = localTimeToIso(time);
    if (!iso) {
      setProblem('Enter a date and time.');
      return;
    }
    setProblem(undefined);
    go(iso);
  };
  const entries = history.data?.asset === id ? history.data.items : [];
  const listed = entries.some((entry) => entry.commit.sha === sha);
  return (
    <section aria-labelledby="time-title" className="time-travel">
      <h2 id="time-title">Time travel</h2>
      {at !== undefined && (
        <p className="banner" role="note">
          Showing {id} as of commit <code>{commit.sha.slice(0, 8)}</code>
          {at !== commit.sha ? ` (asked for ${at})` : ''}. <Link to={`${assetPath(id)}${withAt(search, undefined)}`}>Back to now</Link>
        </p>
      )}
      <div className="controls">
        <label>
          Commit that changed it
          <select
            value={listed ? sha : ''}
            onChange={(event) => {
              setSha(event.target.value);
              go(event.target.value || undefined);
            }}
          >
            <option value="">Now (main&apos;s head)</option>
            {at !== undefined && !listed && <option value={sha}>{sha.slice(0, 12)}</option>}
            {entries.map((entry) => (
              <option key={`${entry.commit.sha} ${entry.change}`} value={entry.commit.sha}>
                {entry.commit.sha.slice(0, 8)} · {new Date(entry.commit.author.date).toLocaleString()} · {entry.change}: {entry.commit.subject.slice(0, 60)}
              </option>
            ))}
          </select>
        </label>
        <form onSubmit={showTime} className="controls">
          <label>
            Or a date and time
            <input type="datetime-local" value={time} onChange={(event) => setTime(event.target.value)} aria-invalid={problem !== undefined} aria-describedby={problem ? 'time-problem' : undefined} />
          </label>
          <button type="submit">Show as of then</button>
        </form>
      </div>
      {problem && (
        <p id="time-problem" className="error" role="alert">
          {problem}
        </p>
      )}
    </section>
  );
}
