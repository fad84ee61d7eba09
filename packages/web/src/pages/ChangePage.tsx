import type { ApprovalRecord, Change, EstateClient } from '@estate/client';
import { useEffect, useRef, useState, type ReactElement } from 'react';
import { describeError } from '../api';
import { allowedActions, isFrozen, STATE_TITLES } from '../changeState';
import { ChangeDiff, ChecksList } from '../components/ChangeChecks';
import { LiveStatus } from '../components/LiveStatus';
import { useIdentity } from '../identity';
import { Link, navigate } from '../router';
import { useLiveRevision, type LiveEvent } from '../useLiveEvents';
import { useLoad } from '../useLoad';

/** Whether a live event (`change.*`, `review.*`) is about the change request `id`. */
function concerns(event: LiveEvent, id: number): boolean {
  const change = event.data['change'] as { id?: unknown } | undefined;
  return change?.id === id;
}

/** The newer of two answers about one change request (the later `updatedAt`; the loaded one on a tie). */
function newer(action: Change | undefined, loaded: Change | undefined): Change | undefined {
  if (!action || !loaded) return loaded ?? action;
  return action.updatedAt > loaded.updatedAt ? action : loaded;
}

/** One change request: what it changes, its checks, approvals, blockers, and the actions the user may take. */
export function ChangePage({ client, id }: { client: EstateClient; id: number }): ReactElement {
  // Events about this change request (someone else approves, merges, pushes) read it again.
  const live = useLiveRevision(['change', 'review'], (event) => concerns(event, id));
  const loaded = useLoad(`change ${id} ${live.revision}`, () => client.getChange(id));
  // The answer of the last action stands until a newer one is loaded (every action answers the change request).
  const [updated, setUpdated] = useState<Change | undefined>();
  const change = newer(updated?.id === id ? updated : undefined, loaded.data?.id === id ? loaded.data : undefined);
  useEffect(() => {
    document.title = `Change request ${id} · Estate`;
  }, [id]);

  if (loaded.error !== undefined && !change) {
    return (
      <>
        <h1>Change request {id}</h1>
        <p className="error" role="alert">
          {describeError(loaded.error)}
        </p>
        <p>
          <Link to="/changes">All change requests</Link>
        </p>
      </>
    );
  }
  if (!change) return <p role="status">Loading change request {id}…</p>;
  const checks = change.checks;
  const active = change.state === 'open' || change.state === 'approved';
  return (
    <>
      <p>
        <Link to="/changes">Change requests</Link> / {change.id}
      </p>
      <h1>{change.title}</h1>
      <LiveStatus status={live.status} what="follows approvals, checks and merges as they happen" />
      <dl className="facts">
        <dt>State</dt>
        <dd>
          <span className={`state ${change.state}`}>{STATE_TITLES[change.state]}</span>
          {change.emergency && <span className="badge danger"> emergency: {change.emergency.reason}</span>}
        </dd>
        <dt>Author</dt>
        <dd>
          {change.author}
          {change.contributors.length > 0 && <span className="muted"> (also changed by {change.contributors.join(', ')})</span>}
        </dd>
        <dt>Opened</dt>
        <dd>
          <time dateTime={change.createdAt}>{new Date(change.createdAt).toLocaleString()}</time> <span className="muted">via {change.source}</span>
        </dd>
        <dt>Branch</dt>
        <dd>
          <code>{change.branch}</code>, revision {change.revision}
        </dd>
        {change.reverts !== undefined && (
          <>
            <dt>Reverts</dt>
            <dd>
              <Link to={`/changes/${change.reverts}`}>change request {change.reverts}</Link>
            </dd>
          </>
        )}
        {change.merged && (
          <>
            <dt>Merged</dt>
            <dd>
              by {change.merged.by} as <code>{change.merged.sha.slice(0, 8)}</code>, <time dateTime={change.merged.at}>{new Date(change.merged.at).toLocaleString()}</time>
            </dd>
          </>
        )}
        {change.closed && (
          <>
            <dt>Closed</dt>
            <dd>
              by {change.closed.by}
              {change.closed.reason ? `: ${change.closed.reason}` : ''}
            </dd>
          </>
        )}
        {change.review && (
          <>
            <dt>Post-merge review</dt>
            <dd>{change.review.acknowledged ? `acknowledged by ${change.review.acknowledged.by}` : `pending, due ${new Date(change.review.dueAt).toLocaleString()}${change.review.overdue ? ' (overdue)' : ''}`}</dd>
          </>
        )}
      </dl>
      {change.description && <p className="description">{change.description}</p>}

      <Actions client={client} change={change} onChanged={setUpdated} />

      {active && (
        <section aria-labelledby="blockers-title">
          <h2 id="blockers-title">What stands between it and main</h2>
          {change.blockers.length === 0 ? (
            <p>Nothing: it may merge now.</p>
          ) : (
            <ul className="blockers">
              {change.blockers.map((blocker) => (
                <li key={`${blocker.code} ${blocker.message}`}>
                  <code>{blocker.code}</code> {blocker.message}
                </li>
              ))}
            </ul>
          )}
          {checks && checks.freezes.length > 0 && (
            <>
              <h3>Freeze windows{isFrozen(change) ? ' holding it now' : ''}</h3>
              <ul>
                {checks.freezes.map((freeze) => (
                  <li key={freeze.window.name}>
                    <strong>{freeze.window.name}</strong>: {freeze.window.reason} (until <time dateTime={freeze.endsAt}>{new Date(freeze.endsAt).toLocaleString()}</time>)
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      )}

      <section aria-labelledby="approvals-title">
        <h2 id="approvals-title">Approvals</h2>
        {change.requiredApprovals.length === 0 ? (
          <p className="muted">No approval needed.</p>
        ) : (
          <table>
            <caption className="visually-hidden">Approvals required and given</caption>
            <thead>
              <tr>
                <th scope="col">Requirement</th>
                <th scope="col">Needs</th>
                <th scope="col">Given by</th>
                <th scope="col">Missing</th>
              </tr>
            </thead>
            <tbody>
              {change.requiredApprovals.map((requirement) => (
                <tr key={requirement.id}>
                  <th scope="row">
                    <code>{requirement.id}</code> <span className="muted">({requirement.risk} risk: {requirement.reason})</span>
                  </th>
                  <td>
                    {requirement.count} by {requirement.approvers.role}
                    {requirement.approvers.groups.length > 0 ? ` in ${requirement.approvers.groups.join(' or ')}` : ''}
                  </td>
                  <td>{requirement.given.length > 0 ? requirement.given.join(', ') : <span className="muted">nobody yet</span>}</td>
                  <td>{requirement.missing}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Verdicts title="Approved" records={change.approvals} />
        <Verdicts title="Rejected" records={change.rejections} />
        <Verdicts title="Stale (given to an earlier revision)" records={change.staleApprovals} />
      </section>

      {checks && (
        <section aria-labelledby="checks-title">
          <h2 id="checks-title">Checks: {checks.status}</h2>
          <p className="muted">
            Run <time dateTime={checks.ranAt}>{new Date(checks.ranAt).toLocaleString()}</time> against main at <code>{checks.main.slice(0, 8)}</code>; risk {checks.policy.risk}.
          </p>
          <ChecksList checks={checks} />
        </section>
      )}

      {checks && (
        <section aria-labelledby="diff-title">
          <h2 id="diff-title">{active ? 'What merging it changes on main' : 'What it changed'}</h2>
          <ChangeDiff diff={active ? checks.diff.main : checks.diff.base} label="Changes" />
        </section>
      )}
    </>
  );
}

function Verdicts({ title, records }: { title: string; records: ApprovalRecord[] }): ReactElement | null {
  if (records.length === 0) return null;
  return (
    <>
      <h3>{title}</h3>
      <ul className="verdicts">
        {records.map((record) => (
          <li key={`${record.user} ${record.revision} ${record.at}`}>
            <strong>{record.user}</strong> <span className="muted">({record.role}, revision {record.revision}, <time dateTime={record.at}>{new Date(record.at).toLocaleString()}</time>)</span>
            {record.comment ? `: ${record.comment}` : ''}
          </li>
        ))}
      </ul>
    </>
  );
}

type Action = 'approve' | 'reject' | 'merge' | 'close' | 'revert' | 'review';
const CONFIRMED: ReadonlySet<Action> = new Set(['merge', 'revert']);
const ACTION_TITLES: Record<Action, string> = { approve: 'Approve', reject: 'Reject', merge: 'Merge', close: 'Close', revert: 'Revert', review: 'Acknowledge review' };

/** The buttons the user's role allows here; merge and revert ask first; a refusal shows the server's message. */
function Actions({ client, change, onChanged }: { client: EstateClient; change: Change; onChanged: (change: Change) => void }): ReactElement | null {
  const identity = useIdentity();
  const [comment, setComment] = useState('');
  const [confirming, setConfirming] = useState<Action | undefined>();
  const [busy, setBusy] = useState<Action | undefined>();
  const [failure, setFailure] = useState<unknown>();
  const [done, setDone] = useState<string | undefined>();
  const confirmButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
  }, [confirming]);
  if (!identity) return null;
  const allowed = allowedActions(change, identity);
  const offered = (Object.keys(ACTION_TITLES) as Action[]).filter((action) => allowed[action]);
  if (offered.length === 0) return null;
  const commented = allowed.approve || allowed.reject || allowed.close || allowed.review;

  const run = async (action: Action): Promise<void> => {
    setConfirming(undefined);
    setBusy(action);
    setFailure(undefined);
    setDone(undefined);
    const text = comment.trim() || undefined;
    try {
      const calls: Record<Action, () => Promise<Change>> = {
        approve: () => client.approveChange(change.id, text),
        reject: () => client.rejectChange(change.id, text),
        merge: () => client.mergeChange(change.id),
        close: () => client.closeChange(change.id, text),
        revert: () => client.revertChange(change.id),
        review: () => client.acknowledgeReview(change.id, text),
      };
      const answer = await calls[action]();
      setComment('');
      if (action === 'revert') {
        navigate(`/changes/${answer.id}`);
        return;
      }
      onChanged(answer);
      setDone(`${ACTION_TITLES[action]}: done. The change request is now ${STATE_TITLES[answer.state].toLowerCase()}.`);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section aria-labelledby="actions-title" className="actions">
      <h2 id="actions-title">Actions</h2>
      {commented && (
        <div className="field">
          <label htmlFor="action-comment">Comment (for approve, reject, close or review)</label>
          <textarea id="action-comment" rows={2} value={comment} onChange={(event) => setComment(event.target.value)} />
        </div>
      )}
      {confirming ? (
        <div className="confirm" role="group" aria-labelledby="confirm-question">
          <p id="confirm-question">
            {confirming === 'merge' ? `Merge change request ${change.id} onto main now?` : `Open a change request that reverts change request ${change.id}?`}
          </p>
          <button ref={confirmButton} type="button" className="primary" onClick={() => void run(confirming)}>
            Yes, {confirming}
          </button>{' '}
          <button type="button" onClick={() => setConfirming(undefined)}>
            Cancel
          </button>
        </div>
      ) : (
        <div className="form-actions">
          {offered.map((action) => (
            <button key={action} type="button" className={action === 'merge' || action === 'approve' ? 'primary' : action === 'reject' ? 'danger' : undefined} disabled={busy !== undefined} onClick={() => (CONFIRMED.has(action) ? setConfirming(action) : void run(action))}>
              {busy === action ? `${ACTION_TITLES[action]}…` : ACTION_TITLES[action]}
            </button>
          ))}
        </div>
      )}
      {failure !== undefined && (
        <p className="error" role="alert">
          {describeError(failure)}
        </p>
      )}
      {done && <p role="status">{done}</p>}
    </section>
  );
}
