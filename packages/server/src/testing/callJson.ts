// Test helper (left out of the build): one JSON call over real HTTP.

/** A parsed JSON answer: tests read into it freely and assert what they find. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonBody = any;

/** Sends `method url` with an optional bearer token and JSON body; returns the status and the parsed body. */
export async function callJson(method: string, url: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: JsonBody }> {
  const response = await fetch(url, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as JsonBody) : undefined };
}
