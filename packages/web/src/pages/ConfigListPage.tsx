import { useEffect, type ReactElement } from 'react';
import { describeError } from '../api';
import { getJson, type ConfigListItem } from '../opsApi';
import { Link } from '../router';
import { useLoad } from '../useLoad';

/** The UI's address of a config: `/config/<app>/<env>` (`?cluster=` for a cluster with its own file). */
export function configPagePath(app: string, env: string, cluster?: string): string {
  return `/config/${encodeURIComponent(app)}/${encodeURIComponent(env)}${cluster ? `?cluster=${encodeURIComponent(cluster)}` : ''}`;
}

/** Every app and env with config on main (`GET /api/v1/config`): its version, secrets, and problems holding it back. */
export function ConfigListPage(): ReactElement {
  const list = useLoad('configs', () => getJson<{ items: ConfigListItem[] }>('/api/v1/config'));
  useEffect(() => {
    document.title = 'Config · Estate';
  }, []);
  const items = list.data?.items ?? [];
  return (
    <>
      <h1>Application config</h1>
      <p className="muted">Each app&apos;s config per environment (and cluster with a file of its own), as main serves it now.</p>
      {list.error !== undefined && (
        <p className="error" role="alert">
          {describeError(list.error)}
        </p>
      )}
      {!list.data && list.error === undefined && <p role="status">Loading…</p>}
      {list.data && items.length === 0 && <p role="status">No config on main: add files under config/&lt;app&gt;/.</p>}
      {items.length > 0 && (
        <table>
          <caption className="visually-hidden">Configs on main</caption>
          <thead>
            <tr>
              <th scope="col">App</th>
              <th scope="col">Environment</th>
              <th scope="col">Cluster</th>
              <th scope="col">Version</th>
              <th scope="col">Updated</th>
              <th scope="col">Secrets</th>
              <th scope="col">Problems</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={`${item.app}/${item.env}/${item.cluster ?? ''}`}>
                <th scope="row">{item.app}</th>
                <td>
                  <Link to={configPagePath(item.app, item.env, item.cluster)} aria-label={`${item.app} in ${item.env}${item.cluster ? `, cluster ${item.cluster}` : ''}`}>
                    {item.env}
                  </Link>
                </td>
                <td>{item.cluster ?? <span className="muted">—</span>}</td>
                <td>
                  #{item.seq} <code>{item.version.slice(0, 8)}</code>
                </td>
                <td>
                  <time dateTime={item.updatedAt}>{new Date(item.updatedAt).toLocaleString()}</time>
                </td>
                <td>{item.secrets ? 'yes' : 'no'}</td>
                <td>{item.problems ? <span className="error">{item.problems.join('; ')}</span> : <span className="muted">none</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
