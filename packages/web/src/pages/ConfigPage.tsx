import type { ConfigVersionEntry, EstateClient, GrayRelease } from '@estate/client';
import { useEffect, useState, type ReactElement } from 'react';
import { describeError } from '../api';
import { roleAtLeast } from '../changeState';
import { configRows, shortFile, type ConfigRow } from '../configValues';
import { fieldPath, formatValue } from '../fieldChanges';
import { configApiPath, getJson, type ConfigSources, type RevealedSecret } from '../opsApi';
import { Link } from '../router';
import { useIdentity } from '../identity';
import { useLoad } from '../useLoad';
import { configPagePath } from './ConfigListPage';

/** How a secret shows until it is revealed. */
const MASK = '••••';
const VERSIONS_PAGE = 20;

/**
 * One app's config in one env: the merged values with the file each came from, secrets masked (a
 * token allowed them may reveal one at a time; the server audits it), the gray release with promote
 * and abort (approver and up), and the versions with what each changed.
 */
export function ConfigPage({ client, app, env, search }: { client: EstateClient; app: string; env: string; search: string }): ReactElement {
  const role = useIdentity()?.role ?? 'viewer';
  const params = new URLSearchParams(search);
  const cluster = params.get('cluster') || undefined;
  const version = params.get('version') || undefined;
  const [revision, setRevision] = useState(0);
  const title = `${app} · ${env}${cluster ? ` · ${cluster}` : ''}`;
  useEffect(() => {
    document.title = `${title} config · Estate`;
  }, [title]);
  const sources = useLoad(`sources ${app} ${env} ${cluster ?? ''} ${version ?? ''} ${revision}`, () => getJson<ConfigSources>(`${configApiPath(app, env)}/sources`, { cluster, version }));
  const current = sources.data && sources.data.app === app && sources.data.env === env ? sources.data : undefined;

  return (
    <>
      <p>
        <Link to="/config">Config</Link> / {app}
      </p>
      <h1>{title}</h1>
      {sources.error !== undefined && (
        <p className="error" role="alert">
          {describeError(sources.error)}
        </p>
      )}
      {!current && sources.error === undefined && <p role="status">Loading…</p>}
      {current && (
        <>
          <dl className="facts">
            <dt>Version</dt>
            <dd>
              #{current.seq} <code>{current.version.slice(0, 12)}</code>
              {version && (
                <>
                  {' '}
                  (an older version: <Link to={configPagePath(app, env, cluster)}>show the current one</Link>)
                </>
              )}
            </dd>
            <dt>Committed</dt>
            <dd>
              <time dateTime={current.committedAt}>{new Date(current.committedAt).toLocaleString()}</time> by {current.author}
            </dd>
            {current.secrets && (
              <>
                <dt>Secrets</dt>
                <dd>
                  <code>{shortFile(current.secrets.file, app)}</code>, {current.secrets.reveal ? 'this token may reveal them (each reveal is audited)' : 'masked: this token may not read them'}
                </dd>
              </>
            )}
          </dl>
          <ValuesTable config={current} cluster={cluster} />
        </>
      )}
      <Release client={client} app={app} env={env} role={role} revision={revision} onChange={() => setRevision((n) => n + 1)} />
      <Versions client={client} app={app} env={env} cluster={cluster} revision={revision} />
    </>
  );
}

/** The merged values, each with its file; secrets masked with a reveal button when the server allows it. */
function ValuesTable({ config, cluster }: { config: ConfigSources; cluster: string | undefined }): ReactElement {
  const rows = configRows(config.values, config.sources, config.secrets);
  return (
    <section aria-labelledby="config-values">
      <h2 id="config-values">Values</h2>
      {rows.length === 0 ? (
        <p>The config is empty.</p>
      ) : (
        <table>
          <caption className="visually-hidden">Values of the merged config and the file each came from</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.pointer}>
                <th scope="row">
                  <code>{fieldPath(row.pointer)}</code>
                </th>
                <td>{row.secretKey === undefined ? <code>{formatValue(row.value, 400)}</code> : <SecretValue config={config} row={row} cluster={cluster} />}</td>
                <td>
                  <code>{shortFile(row.file, config.app)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** A masked secret; Reveal asks the server for it (allowed tokens only, audited there). */
function SecretValue({ config, row, cluster }: { config: ConfigSources; row: ConfigRow; cluster: string | undefined }): ReactElement {
  const [shown, setShown] = useState<{ value?: unknown; error?: unknown } | undefined>();
  const key = row.secretKey!;
  const reveal = async (): Promise<void> => {
    try {
      const answer = await getJson<RevealedSecret>(`${configApiPath(config.app, config.env)}/secrets/${encodeURIComponent(key)}`, { cluster, version: config.version });
      setShown({ value: answer.value });
    } catch (error) {
      setShown({ error });
    }
  };
  if (shown?.error !== undefined) {
    return (
      <span className="error" role="alert">
        {describeError(shown.error)}
      </span>
    );
  }
  return (
    <span className="secret">
      {shown ? <code>{formatValue(shown.value, 400)}</code> : <code aria-label={`secret ${key}, masked`}>{MASK}</code>}
      {config.secrets?.reveal && (
        <>
          {' '}
          {shown ? (
            <button type="button" onClick={() => setShown(undefined)} aria-label={`Hide ${key}`}>
              Hide
            </button>
          ) : (
            <button type="button" onClick={() => void reveal()} aria-label={`Reveal ${key}`}>
              Reveal
            </button>
          )}
        </>
      )}
    </span>
  );
}

/** The newest gray release of the app in the env, with promote and abort while it is active (approver and up). */
function Release({ client, app, env, role, revision, onChange }: { client: EstateClient; app: string; env: string; role: string; revision: number; onChange: () => void }): ReactElement {
  const releases = useLoad(`releases ${app} ${env} ${revision}`, () => client.listConfigReleases(app, env));
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const release: GrayRelease | undefined = releases.data?.items[0];
  const end = async (outcome: 'promote' | 'abort'): Promise<void> => {
    if (!release) return;
    setBusy(true);
    try {
      await client.endConfigRelease(app, env, release.id, outcome);
      setFailure(undefined);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
    onChange();
  };
  const canaries = release ? (release.selector !== undefined ? `instances matching ${release.selector}` : `${release.percentage}% of instances`) : '';
  return (
    <section aria-labelledby="config-release">
      <h2 id="config-release">Gray release</h2>
      {releases.error !== undefined && (
        <p className="error" role="alert">
          {describeError(releases.error)}
        </p>
      )}
      {releases.data && !release && <p>No gray release: every instance gets main&apos;s newest version.</p>}
      {release && (
        <>
          <p role="status" aria-live="polite" className={`release ${release.state}`}>
            Release #{release.id}: <strong>{release.state}</strong>. Canaries: {canaries}. Started by {release.createdBy} at{' '}
            <time dateTime={release.createdAt}>{new Date(release.createdAt).toLocaleString()}</time>
            {release.endedBy && release.endedAt && (
              <>
                ; {release.state} by {release.endedBy} at <time dateTime={release.endedAt}>{new Date(release.endedAt).toLocaleString()}</time>
              </>
            )}
            .
          </p>
          {release.state === 'active' && (
            <p className="muted">New versions of main reach the canaries only; every other instance stays at the version current when it started.</p>
          )}
          {release.state === 'active' && roleAtLeast(role, 'approver') && (
            <div className="controls">
              <button type="button" className="primary" disabled={busy} onClick={() => void end('promote')}>
                Promote release #{release.id}
              </button>
              <button type="button" disabled={busy} onClick={() => void end('abort')}>
                Abort release #{release.id}
              </button>
            </div>
          )}
        </>
      )}
      {failure !== undefined && (
        <p className="error" role="alert">
          {describeError(failure)}
        </p>
      )}
    </section>
  );
}

/** Versions of the config, newest first, with what each changed against the one before (secrets only as “changed”). */
function Versions({ client, app, env, cluster, revision }: { client: EstateClient; app: string; env: string; cluster: string | undefined; revision: number }): ReactElement {
  const [before, setBefore] = useState<number[]>([]);
  useEffect(() => setBefore([]), [app, env, cluster]);
  const page = before.at(-1);
  const versions = useLoad(`versions ${app} ${env} ${cluster ?? ''} ${page ?? ''} ${revision}`, () =>
    client.listConfigVersions(app, env, { ...(cluster ? { cluster } : {}), limit: VERSIONS_PAGE, ...(page ? { before: page } : {}) }),
  );
  return (
    <section aria-labelledby="config-versions">
      <h2 id="config-versions">Versions</h2>
      {versions.error !== undefined && (
        <p className="error" role="alert">
          {describeError(versions.error)}
        </p>
      )}
      <ol className="history">
        {(versions.data?.items ?? []).map((entry) => (
          <VersionEntry key={entry.id} entry={entry} app={app} env={env} cluster={cluster} />
        ))}
      </ol>
      <nav className="pager" aria-label="Version pages">
        <button type="button" disabled={before.length === 0} onClick={() => setBefore(before.slice(0, -1))}>
          Newer versions
        </button>
        <button type="button" disabled={versions.data?.nextBefore === undefined} onClick={() => versions.data?.nextBefore && setBefore([...before, versions.data.nextBefore])}>
          Older versions
        </button>
      </nav>
    </section>
  );
}

function VersionEntry({ entry, app, env, cluster }: { entry: ConfigVersionEntry; app: string; env: string; cluster: string | undefined }): ReactElement {
  const address = `${configPagePath(app, env, cluster)}${cluster ? '&' : '?'}version=${entry.version}`;
  return (
    <li>
      <div>
        <strong>#{entry.seq}</strong> <code>{entry.version.slice(0, 8)}</code> by {entry.author} · <time dateTime={entry.committedAt}>{new Date(entry.committedAt).toLocaleString()}</time>
        {entry.removed && <span className="muted"> · the config was removed</span>}{' '}
        {!entry.removed && <Link to={address}>View version #{entry.seq}</Link>}
      </div>
      {entry.changes.length > 0 && (
        <table>
          <caption className="visually-hidden">Changes in version #{entry.seq}</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Change</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {entry.changes.map((change) => (
              <tr key={change.path}>
                <th scope="row">
                  <code>{change.secret ? `secret ${change.path.slice('secret:'.length)}` : fieldPath(change.path)}</code>
                </th>
                <td>{change.change}</td>
                {change.secret ? (
                  <td colSpan={2} className="muted">
                    secret value {change.change} (values are never shown)
                  </td>
                ) : (
                  <>
                    <td className="old">{change.change === 'added' ? <span className="muted">(none)</span> : <code>{formatValue(change.from)}</code>}</td>
                    <td className="new">{change.change === 'removed' ? <span className="muted">(removed)</span> : <code>{formatValue(change.to)}</code>}</td>
                  </>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </li>
  );
}
