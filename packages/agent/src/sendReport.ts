import { EstateApiError } from '@estate/client';
import type { Report } from './types.js';

/** What became of one attempt to send a report. */
export type SendOutcome =
  | { kind: 'delivered'; status: number }
  /** Try again later; `retryAfterMs` when the server said when (429/503 `Retry-After`). */
  | { kind: 'retry'; error: EstateApiError; retryAfterMs?: number }
  /** The server refused this report for good (400, 404, 409, 413, 422 …): sending it again cannot help. */
  | { kind: 'rejected'; error: EstateApiError };

/** Where and how to send reports. */
export interface ReportEndpoint {
  /** The server's base URL, e.g. `https://estate.example.com/`. */
  server: URL;
  /** The agent token (sent only as `Authorization: Bearer`). */
  token: string;
  fetch: typeof fetch;
  timeoutMs: number;
}

/** One `POST /api/v1/reports`; never throws: every failure is an outcome. */
export async function sendReport(endpoint: ReportEndpoint, report: Report): Promise<SendOutcome> {
  const url = new URL('api/v1/reports', endpoint.server);
  let response: Response;
  let text: string;
  try {
    response = await endpoint.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${endpoint.token}` },
      body: JSON.stringify(report),
      redirect: 'manual',
      signal: AbortSignal.timeout(endpoint.timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const reason = error instanceof Error ? ((error.cause as { code?: string } | undefined)?.code ?? error.message) : String(error);
    return { kind: 'retry', error: new EstateApiError('E_UNREACHABLE', `cannot reach ${url.href}: ${reason}`, 0, {}, { cause: error }) };
  }
  const { status } = response;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  const error = new EstateApiError(errorCode(text, status), `${url.href} answered ${status} to report seq ${report.seq}`, status);
  // 401/403: the token may be fixed or enrolled later; 408/429/5xx: the server is busy or down.
  if (status === 401 || status === 403 || status === 408 || status === 429 || status >= 500 || (status >= 300 && status < 400)) {
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after'), Date.now()) : undefined;
    return retryAfterMs === undefined ? { kind: 'retry', error } : { kind: 'retry', error, retryAfterMs };
  }
  return { kind: 'rejected', error };
}

/** `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The server's `error.code` if the body carries one, else a code for the status. */
function errorCode(text: string, status: number): string {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown } };
    if (typeof body.error?.code === 'string') return body.error.code;
  } catch {
    // Not the API's JSON (a proxy's page): fall through to the status.
  }
  return status === 429 ? 'E_RATE_LIMITED' : status >= 500 ? 'E_SERVER' : `E_HTTP_${status}`;
}
