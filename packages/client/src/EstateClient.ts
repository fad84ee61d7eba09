import { codeForStatus, EstateApiError } from './EstateApiError.js';
import type {
  Asset,
  AssetAnswer,
  AssetPage,
  AssetQuery,
  Commit,
  CommitAnswer,
  CommitPage,
  DiffAnswer,
  Health,
  HistoryEntry,
  HistoryPage,
  KindsAnswer,
  PageQuery,
  Readiness,
  RelationsAnswer,
  RelationsQuery,
} from './types.js';

/** Options of {@link EstateClient}. */
export interface EstateClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:7780` (a path prefix is kept). */
  url: string;
  /** An API token; sent only as `Authorization: Bearer …`. */
  token?: string;
  /** The fetch to use (default: the global one); tests and proxies pass their own. */
  fetch?: typeof fetch;
  /** How long one request may take before it fails with `E_UNREACHABLE` (default 30 s). */
  timeoutMs?: number;
}

/** An asset named by kind and name, as an alternative to the id `<kind>/<name>`. */
export interface AssetName {
  kind: string;
  name: string;
}

type QueryValue = string | number | undefined;

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * A typed client of the Estate HTTP API (docs/api.md). One method per route; lists return one page
 * and have an `iterate…` twin that follows `nextCursor`. Every failure is an {@link EstateApiError}.
 * The token travels only in the `Authorization` header: never in a URL, never in an error message.
 */
/** Assets per page when {@link EstateClient.diff} gathers a paged diff. */
const DIFF_PAGE = 10_000;

export class EstateClient {
  /** The base URL, without a trailing slash and without credentials. */
  readonly url: string;
  readonly #base: URL;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: EstateClientOptions) {
    this.#base = parseBaseUrl(options.url);
    this.url = this.#base.href.replace(/\/$/, '');
    this.#token = options.token === '' ? undefined : options.token;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** One page of assets, sorted by id (`GET /api/v1/assets`). */
  async listAssets(query: AssetQuery = {}): Promise<AssetPage> {
    const { kind, selector, owner, q, at, limit, cursor } = query;
    return this.#get<AssetPage>('/api/v1/assets', { kind, selector, owner, q, at, limit, cursor });
  }

  /** Every asset matching `query`, page after page. */
  async *iterateAssets(query: Omit<AssetQuery, 'cursor'> = {}): AsyncGenerator<Asset, void, undefined> {
    yield* this.#paginate((cursor) => this.listAssets({ ...query, cursor }));
  }

  /** One asset by id (`host/web-01`) or kind and name; `E_ASSET_NOT_FOUND` (404) when it does not exist then. */
  async getAsset(id: string | AssetName, options: { at?: string } = {}): Promise<AssetAnswer> {
    return this.#get<AssetAnswer>(assetPath(id), { at: options.at });
  }

  /** One page of the commits that changed an asset, newest first. */
  async assetHistory(id: string | AssetName, options: PageQuery = {}): Promise<HistoryPage> {
    return this.#get<HistoryPage>(`${assetPath(id)}/history`, { limit: options.limit, cursor: options.cursor });
  }

  /** Every commit that changed an asset, newest first, page after page (`limit` is the page size). */
  async *iterateAssetHistory(id: string | AssetName, options: Omit<PageQuery, 'cursor'> = {}): AsyncGenerator<HistoryEntry, void, undefined> {
    yield* this.#paginate((cursor) => this.assetHistory(id, { ...options, cursor }));
  }

  /** Assets related to one, transitively, each with the shortest path to it. */
  async relations(id: string | AssetName, options: RelationsQuery = {}): Promise<RelationsAnswer> {
    const type = Array.isArray(options.type) ? (options.type.length ? options.type.join(',') : undefined) : options.type;
    return this.#get<RelationsAnswer>(`${assetPath(id)}/relations`, { direction: options.direction, depth: options.depth, type, at: options.at, limit: options.limit });
  }

  /** One page of the commits of main, newest first. */
  async listCommits(options: PageQuery = {}): Promise<CommitPage> {
    return this.#get<CommitPage>('/api/v1/commits', { limit: options.limit, cursor: options.cursor });
  }

  /** Every commit of main, newest first, page after page. */
  async *iterateCommits(options: Omit<PageQuery, 'cursor'> = {}): AsyncGenerator<Commit, void, undefined> {
    yield* this.#paginate((cursor) => this.listCommits({ ...options, cursor }));
  }

  /** One commit (full sha or prefix of ≥ 4 hex digits) with the diagnostics the estate had there. */
  async getCommit(sha: string): Promise<CommitAnswer> {
    return this.#get<CommitAnswer>(`/api/v1/commits/${encodeURIComponent(sha)}`);
  }

  /** The semantic difference between two commits (`to` defaults to the head). */
  async diff(from: string, to?: string): Promise<DiffAnswer> {
    // The server pages the assets of a big diff; this gathers every page into one answer.
    const first = await this.#get<DiffAnswer>('/api/v1/diff', { from, to, limit: DIFF_PAGE });
    const assets = [...first.assets];
    for (let cursor = first.nextCursor; cursor !== undefined; ) {
      const page = await this.#get<DiffAnswer>('/api/v1/diff', { from: first.from.sha, to: first.to.sha, limit: DIFF_PAGE, cursor });
      assets.push(...page.assets);
      cursor = page.nextCursor;
    }
    return { commit: first.commit, from: first.from, to: first.to, summary: first.summary, assets };
  }

  /** The kinds, with their schemas, as of a commit. */
  async kinds(options: { at?: string } = {}): Promise<KindsAnswer> {
    return this.#get<KindsAnswer>('/api/v1/kinds', { at: options.at });
  }

  /** Whether the process is up (`GET /healthz`). */
  async health(): Promise<Health> {
    return this.#get<Health>('/healthz');
  }

  /** Whether something is indexed, and the head (`GET /readyz`); `E_NOT_READY` (503) before. */
  async ready(): Promise<Readiness> {
    return this.#get<Readiness>('/readyz');
  }

  async *#paginate<T>(page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string }>): AsyncGenerator<T, void, undefined> {
    let cursor: string | undefined;
    const seen = new Set<string>();
    do {
      const answer = await page(cursor);
      yield* answer.items;
      cursor = answer.nextCursor;
      // A server that hands out the same cursor twice would loop forever.
      if (cursor !== undefined) {
        if (seen.has(cursor)) throw new EstateApiError('E_BAD_RESPONSE', `${this.url} returned the same page cursor twice`, 200, { cursor });
        seen.add(cursor);
      }
    } while (cursor !== undefined);
  }

  /** GETs a route and returns its JSON body; every failure becomes an {@link EstateApiError}. */
  async #get<T>(path: string, query: Record<string, QueryValue> = {}): Promise<T> {
    const url = new URL(this.#base.pathname.replace(/\/$/, '') + path, this.#base);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const where = url.href;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`;
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let response: Response;
    let text: string;
    try {
      // Redirects are not followed: the token must reach only the server it was given for.
      response = await this.#fetch(url, { method: 'GET', headers, signal, redirect: 'manual' });
      text = await response.text();
    } catch (error) {
      throw this.#unreachable(where, error);
    }
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location');
      throw new EstateApiError('E_BAD_RESPONSE', `${where} redirects${location ? ` to ${location}` : ''}; give the server's own URL`, response.status, location ? { location } : {});
    }
    const body = parseJson(text);
    if (!response.ok) {
      const reported = errorBody(body);
      if (reported) throw new EstateApiError(reported.code, this.#redact(reported.message), response.status, reported.details);
      const code = codeForStatus(response.status);
      throw new EstateApiError(code, `${where} answered ${response.status} ${response.statusText}`.trim() + describeBody(response, text), response.status);
    }
    if (body === undefined || typeof body !== 'object' || body === null) {
      throw new EstateApiError('E_BAD_RESPONSE', `${where} answered ${response.status} with something that is not the API's JSON` + describeBody(response, text), response.status);
    }
    return body as T;
  }

  #unreachable(where: string, error: unknown): EstateApiError {
    const name = error instanceof Error ? error.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new EstateApiError('E_UNREACHABLE', `no answer from ${where} within ${this.#timeoutMs} ms`, 0, {}, { cause: error });
    }
    return new EstateApiError('E_UNREACHABLE', `cannot reach ${where}: ${this.#redact(networkReason(error))}`, 0, {}, { cause: error });
  }

  /** Takes the token out of any text that could echo it (a server's message, an exception's). */
  #redact(text: string): string {
    return this.#token !== undefined && this.#token.length > 0 ? text.split(this.#token).join('<token>') : text;
  }
}

/** Checks the server URL once: http(s), no credentials (they would travel in every URL and log). */
function parseBaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new EstateApiError('E_USAGE', `'${value}' is not a URL; expected e.g. http://127.0.0.1:7780`, 0, { url: value }, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EstateApiError('E_USAGE', `'${value}' is not an http(s) URL`, 0, { url: value });
  }
  if (url.username !== '' || url.password !== '') {
    url.username = '';
    url.password = '';
    throw new EstateApiError('E_USAGE', `the server URL must not carry credentials (${url.href}); pass a token instead`, 0, { url: url.href });
  }
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** `/api/v1/assets/<kind>/<name>` for an id or a kind and name. */
function assetPath(id: string | AssetName): string {
  let kind: string;
  let name: string;
  if (typeof id === 'string') {
    const slash = id.indexOf('/');
    kind = id.slice(0, slash);
    name = id.slice(slash + 1);
    if (slash < 1 || name === '' || name.includes('/')) {
      throw new EstateApiError('E_BAD_PARAM', `'${id}' is not an asset id; expected <kind>/<name>, e.g. host/web-01`, 0, { id });
    }
  } else {
    ({ kind, name } = id);
    if (kind === '' || name === '') throw new EstateApiError('E_BAD_PARAM', 'an asset needs both a kind and a name', 0, { kind, name });
  }
  return `/api/v1/assets/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The `{"error": {code, message, details}}` of an error answer, if that is what it is. */
function errorBody(body: unknown): { code: string; message: string; details: Record<string, unknown> } | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = (body as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
  if (typeof code !== 'string' || !code) return undefined;
  return {
    code,
    message: typeof message === 'string' ? message : code,
    details: typeof details === 'object' && details !== null && !Array.isArray(details) ? (details as Record<string, unknown>) : {},
  };
}

/** ` (text/html: "<html>…")`: enough of an unexpected answer to recognise a proxy's page. */
function describeBody(response: Response, text: string): string {
  const type = response.headers.get('content-type')?.split(';')[0]?.trim() || 'no content type';
  const start = text.replace(/\s+/g, ' ').trim().slice(0, 80);
  return start ? ` (${type}: ${JSON.stringify(start)})` : ` (${type}, empty body)`;
}

/** The reason a request got no answer, from undici's `fetch failed` and its cause (ECONNREFUSED, ENOTFOUND…). */
function networkReason(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return typeof cause.message === 'string' && cause.message.includes(cause.code) ? cause.message : `${cause.code}`;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
