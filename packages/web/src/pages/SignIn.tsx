import { useState, type FormEvent, type ReactElement } from 'react';

/** The token form. The token goes to sessionStorage (this tab only), never into the address. */
export function SignIn({ error, onToken }: { error: string | undefined; onToken: (token: string) => Promise<void> }): ReactElement {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (token.trim() === '') return;
    setBusy(true);
    await onToken(token.trim());
    setBusy(false);
  };
  return (
    <section className="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to Estate</h1>
      <form onSubmit={submit} method="post">
        <label htmlFor="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="off" spellCheck={false} value={token} onChange={(e) => setToken(e.target.value)} aria-describedby="token-hint" required />
        <p id="token-hint" className="muted">
          A token from <code>estate token create</code> (<code>npm start</code> prints one). It is kept for this tab only.
        </p>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button className="primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
