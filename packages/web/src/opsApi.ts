import { EstateApiError } from '@estate/client';
import { readToken } from './session';

/** A config on main as `GET /api/v1/config` lists it. */
export interface ConfigListItem {
  app: string;
  env: string;
  cluster?: string;
  version: string;
  seq: number;
  updatedAt: string;
  /** It has a secrets file. */
  secrets: boolean;
  /** Why it is held at its last good version. */
  problems?: string[];
}

/** `GET /api/v1/config/:app/:env/sources`: the merged values (no secrets) and the file of each leaf. */
export interface ConfigSources {
  app: string;
  env: string;
  cluster?: string;
  version: string;
  seq: number;
  committedAt: string;
  author: string;
  values: Record<string, unknown>;
  /** JSON pointer of each leaf → the file it came from. */
  sources: Record<string, string>;
  /** The secrets file's keys (never values), and whether this token may reveal them. */
  secrets?: { file: string; keys: Array<{ key: string; pointer: string }>; reveal: boolean };
}

/** One secret's value (`GET /api/v1/config/:app/:env/secrets/:key`). */
export interface RevealedSecret {
  key: string;
  version: string;
  value: unknown;
}

/** One bucket of `GET /api/v1/drift/history`. */
export interface DriftHistoryBucket {
  start: string;
  end: string;
  opened: number;
  resolved: number;
  open: number;
}

/** One group of `GET /api/v1/drift/summary`. */
export interface DriftGroup {
  env?: string;
  kind: string;
  assets: string[];
  open: number;
  ignored: number;
}

/** A host that reports without a Host asset. */
export interface UnmanagedHost {
  host: string;
  firstSeen: string;
  lastSeen: string;
  reportId: string;
}

/** A declared host whose last report is older than the stale threshold. */
export interface StaleHost {
  asset: string;
  host: string;
  lastReportAt: string;
  reportId: string;
}

/**
 * GETs an API route the typed client has no method for, with the tab's token in the
 * `Authorization` header (never in the URL). Failures are {@link EstateApiError}s with the server's code.
 */
export async function getJson<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') url.searchParams.set(name, value);
  const token = readToken();
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, redirect: 'error' });
  } catch (error) {
    throw new EstateApiError('E_UNREACHABLE', 'cannot reach the Estate server', 0, {}, { cause: error });
  }
  const body = (await response.json().catch(() => undefined)) as (T & { error?: { code: string; message: string; details?: Record<string, unknown> } }) | undefined;
  if (!response.ok || body === undefined) {
    throw new EstateApiError(body?.error?.code ?? 'E_BAD_RESPONSE', body?.error?.message ?? `the server answered ${response.status}`, response.status, body?.error?.details ?? {});
  }
  return body;
}

/** The path of a config's routes. */
export function configApiPath(app: string, env: string): string {
  return `/api/v1/config/${encodeURIComponent(app)}/${encodeURIComponent(env)}`;
}

/** Saves `text` as a file named `name` through a Blob URL: the download never puts the token in an address. */
export function downloadText(text: string, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has taken the file once the click is handled.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
