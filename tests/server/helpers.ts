/**
 * Helpers of the server's end-to-end tests, which run the real `estate serve` (tests/cli/helpers.ts
 * `serveEstate`) over real repositories and ask it over real HTTP.
 */

/** A parsed JSON answer: tests read into it freely and assert what they find. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonBody = any;

/** GET as JSON with an optional bearer token; returns status, headers and parsed body. */
export async function getJson(url: string, token?: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: JsonBody }> {
  const response = await fetch(url, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (metrics, 304)
  }
  return { status: response.status, headers: response.headers, body };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
