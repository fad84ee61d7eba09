import type { EstateClient } from '@estate/client';
import { useEffect, useState, type ReactElement } from 'react';
import { createClient, describeError, whoami, type Identity } from './api';
import { roleAtLeast } from './changeState';
import { IdentityContext } from './identity';
import { EditAssetPage, NewAssetPage } from './pages/AssetEditor';
import { ChangeList } from './pages/ChangeList';
import { ChangePage } from './pages/ChangePage';
import { AssetPage } from './pages/AssetPage';
import { AuditPage } from './pages/AuditPage';
import { ConfigListPage } from './pages/ConfigListPage';
import { ConfigPage } from './pages/ConfigPage';
import { DriftPage } from './pages/DriftPage';
import { EstateBrowser } from './pages/EstateBrowser';
import { NotFound } from './pages/NotFound';
import { SignIn } from './pages/SignIn';
import { Link, usePlace } from './router';
import { clearToken, readToken, saveToken } from './session';
import { applyTheme, currentTheme, type Theme } from './theme';

/** A signed-in session: the token's identity and a client that sends the token. */
interface Session {
  identity: Identity;
  client: EstateClient;
}

/** The UI: sign-in until a token is accepted, then the page of the current address. */
export function App(): ReactElement {
  const [session, setSession] = useState<Session | undefined>();
  const [checking, setChecking] = useState(() => readToken() !== undefined);
  const [signInError, setSignInError] = useState<string | undefined>();

  const signIn = async (token: string, stored: boolean): Promise<void> => {
    try {
      const identity = await whoami(token);
      if (!stored) saveToken(token);
      setSession({ identity, client: createClient(token) });
      setSignInError(undefined);
    } catch (error) {
      // A refused token is forgotten; one the server could not check (unreachable) is kept for a retry.
      if ((error as { status?: number }).status === 401) clearToken();
      setSignInError(describeError(error));
    } finally {
      setChecking(false);
    }
  };

  useEffect(() => {
    const token = readToken();
    if (token !== undefined) void signIn(token, true);
  }, []);

  const signOut = (): void => {
    clearToken();
    setSession(undefined);
  };

  if (checking) return <p className="muted" role="status">Checking your session…</p>;
  if (!session) {
    return (
      <>
        <Header />
        <main id="main">
          <SignIn error={signInError} onToken={(token) => signIn(token, false)} />
        </main>
      </>
    );
  }
  return (
    <>
      <Header identity={session.identity} onSignOut={signOut} />
      <main id="main">
        <IdentityContext.Provider value={session.identity}>
          <Page client={session.client} />
        </IdentityContext.Provider>
      </main>
    </>
  );
}

/** The page the address names. */
function Page({ client }: { client: EstateClient }): ReactElement {
  const { pathname, search } = usePlace();
  if (pathname === '/') return <EstateBrowser client={client} search={search} />;
  // Change requests and the edit form (W1).
  if (pathname === '/changes' || pathname === '/changes/') return <ChangeList client={client} search={search} />;
  const change = /^\/changes\/(\d+)\/?$/.exec(pathname);
  if (change) return <ChangePage key={change[1]} client={client} id={Number(change[1])} />;
  const edit = /^\/assets\/([^/]+)\/([^/]+)\/edit\/?$/.exec(pathname);
  if (edit) return <EditAssetPage client={client} id={`${decodeURIComponent(edit[1]!)}/${decodeURIComponent(edit[2]!)}`} />;
  if (pathname === '/new') return <NewAssetPage client={client} search={search} />;
  const asset = /^\/assets\/([^/]+)\/([^/]+)\/?$/.exec(pathname);
  if (asset) return <AssetPage client={client} id={`${decodeURIComponent(asset[1]!)}/${decodeURIComponent(asset[2]!)}`} search={search} />;
  // Drift, config and audit (W2).
  if (pathname === '/drift' || pathname === '/drift/') return <DriftPage client={client} search={search} />;
  if (pathname === '/config' || pathname === '/config/') return <ConfigListPage />;
  const config = /^\/config\/([^/]+)\/([^/]+)\/?$/.exec(pathname);
  if (config) return <ConfigPage key={pathname} client={client} app={decodeURIComponent(config[1]!)} env={decodeURIComponent(config[2]!)} search={search} />;
  if (pathname === '/audit' || pathname === '/audit/') return <AuditPage client={client} search={search} />;
  return <NotFound />;
}

/** The bar on every page: the name, navigation, who is signed in with which role, theme, sign-out. */
function Header({ identity, onSignOut }: { identity?: Identity; onSignOut?: () => void }): ReactElement {
  const [theme, setTheme] = useState<Theme>(() => currentTheme());
  const other: Theme = theme === 'dark' ? 'light' : 'dark';
  const toggle = (): void => {
    applyTheme(other, true);
    setTheme(other);
  };
  return (
    <header className="topbar">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Link className="brand" to="/">
        Estate
      </Link>
      {identity && (
        <nav aria-label="Main">
          <ul>
            <li>
              <Link to="/">Browse assets</Link>
            </li>
            <li>
              <Link to="/changes">Change requests</Link>
            </li>
            {roleAtLeast(identity.role, 'editor') && (
              <li>
                <Link to="/new">New asset</Link>
              </li>
            )}
            <li>
              <Link to="/drift">Drift</Link>
            </li>
            <li>
              <Link to="/config">Config</Link>
            </li>
            <li>
              <Link to="/audit">Audit</Link>
            </li>
          </ul>
        </nav>
      )}
      <div className="who">
        {identity && (
          <span>
            Signed in as <strong>{identity.name}</strong> <span className="role" aria-label={`role ${identity.role}`}>{identity.role}</span>
          </span>
        )}
        <button type="button" onClick={toggle} aria-label={`Switch to the ${other} theme`}>
          {other === 'dark' ? 'Dark' : 'Light'} theme
        </button>
        {onSignOut && (
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        )}
      </div>
    </header>
  );
}
