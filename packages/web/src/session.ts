/**
 * The API token of this tab. It lives in sessionStorage only: gone when the tab closes, never put
 * in a URL (where history, logs and Referer headers would keep it), never in localStorage.
 */
const TOKEN_KEY = 'estate.token';

/** The token signed in with in this tab, if any. */
export function readToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** Keeps the token for this tab. */
export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** Forgets the token (sign-out, or the server refused it). */
export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}
