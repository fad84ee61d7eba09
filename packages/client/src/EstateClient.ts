import { codeForStatus, EstateApiError } from './EstateApiError.js';
import type {
  Asset,
  AssetAnswer,
  AssetPage,
  AssetQuery,
  AuditAnchor,
  AuditEntry,
  AuditExportQuery,
  AuditPage,
  AuditQuery,
  AuditVerification,
  Change,
  ChangeListItem,
  ChangeOperation,
  ChangePage,
  ChangeQuery,
  Commit,
  CommitAnswer,
  ConfigInstance,
  GrayRelease,
  ConfigVersionEntry,
  DeadLetter,
  DriftAdoptAnswer,
  DriftIgnoreAnswer,
  DriftItem,
  DriftPage,
  DriftQuery,
  DriftRevertAnswer,
  CommitPage,
  CreateChangeInput,
  DiffAnswer,
  DryRunAnswer,
  Health,
  HistoryEntry,
  HistoryPage,
  KindsAnswer,
  PageQuery,
  Provenance,
  ProvenancePage,
  ProvenanceQuery,
  Readiness,
  RelationsAnswer,
  RelationsQuery,
  ReplayAnswer,
  ReviewsAnswer,
  TimelinePage,
  TimelineQuery,
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

type QueryValue = string | number | boolean | undefined;

/** How a request is sent and its answer read. */
interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** A JSON body (POST and PATCH always send one, `{}` by default). */
  body?: unknown;
  /** `text`: the answer's body as it is (exports); default JSON. */
  as?: 'json' | 'text';
}

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

  // ---- change requests ---------------------------------------------------------------------

  /**
   * Opens a change request from operations (`POST /api/v1/changes`, editor): the server commits
   * them on a new branch and runs the checks. With `dryRun`, only the checks of the would-be
   * change come back and nothing is created.
   */
  async createChange(input: CreateChangeInput & { dryRun: true }): Promise<DryRunAnswer>;
  async createChange(input: CreateChangeInput): Promise<Change>;
  async createChange(input: CreateChangeInput): Promise<Change | DryRunAnswer> {
    const { title, description, base, operations, dryRun } = input;
    return this.#request<Change | DryRunAnswer>('POST', '/api/v1/changes', { body: { title, description, base, operations, dryRun } });
  }

  /** One page of change requests, newest first (`GET /api/v1/changes`). */
  async listChanges(query: ChangeQuery = {}): Promise<ChangePage> {
    const { state, author, mine, waiting, emergency, limit, cursor } = query;
    return this.#get<ChangePage>('/api/v1/changes', { state, author, mine, waiting, emergency, limit, cursor });
  }

  /** Every change request matching `query`, newest first, page after page. */
  async *iterateChanges(query: Omit<ChangeQuery, 'cursor'> = {}): AsyncGenerator<ChangeListItem, void, undefined> {
    yield* this.#paginate((cursor) => this.listChanges({ ...query, cursor }));
  }

  /** One change request with its checks, diffs, approvals and blockers; `E_CHANGE_NOT_FOUND` (404) when there is none. */
  async getChange(id: number): Promise<Change> {
    return this.#get<Change>(changePath(id));
  }

  /** Changes a change request's title or description (its author or an admin); approvals stay. */
  async editChange(id: number, input: { title?: string; description?: string }): Promise<Change> {
    return this.#request<Change>('PATCH', changePath(id), { body: { title: input.title, description: input.description } });
  }

  /** Adds operations to an open change request: a new revision, so earlier approvals go stale. */
  async addOperations(id: number, operations: ChangeOperation[]): Promise<Change> {
    return this.#request<Change>('POST', `${changePath(id)}/operations`, { body: { operations } });
  }

  /** Approves the current revision (approver); never the caller's own change (`E_SELF_APPROVAL`). */
  async approveChange(id: number, comment?: string): Promise<Change> {
    return this.#request<Change>('POST', `${changePath(id)}/approve`, { body: { comment } });
  }

  /** Rejects the current revision: the merge is blocked until the rejecter approves a revision. */
  async rejectChange(id: number, comment?: string): Promise<Change> {
    return this.#request<Change>('POST', `${changePath(id)}/reject`, { body: { comment } });
  }

  /**
   * Merges onto main. With `emergency` (a reason; admin only) freezes and missing approvals are
   * skipped and a post-merge review opens. Refusals: `E_CONFLICT`, `E_CHECKS_FAILED`, `E_FROZEN`,
   * `E_REJECTED`, `E_APPROVALS_REQUIRED`.
   */
  async mergeChange(id: number, options: { emergency?: string } = {}): Promise<Change> {
    return this.#request<Change>('POST', `${changePath(id)}/merge`, { body: { emergency: options.emergency } });
  }

  /** Closes a change request without merging it (its author, an approver or an admin). */
  async closeChange(id: number, reason?: string): Promise<Change> {
    return this.#request<Change>('POST', `${changePath(id)}/close`, { body: { reason } });
  }

  /** Opens a change request that reverts a merged one. */
  async revertChange(id: number): Promise<Change> {
    return this.#request<Change>('POST', `${changePath(id)}/revert`);
  }

  /** Acknowledges an emergency change's post-merge review (an approver other than who made it). */
  async acknowledgeReview(id: number, comment?: string): Promise<Change> {
    return this.#request<Change>('POST', `${changePath(id)}/review`, { body: { comment } });
  }

  /** Post-merge reviews of emergency changes, due first (default: the pending ones). */
  async listReviews(state?: 'pending' | 'overdue' | 'all'): Promise<ReviewsAnswer> {
    return this.#get<ReviewsAnswer>('/api/v1/reviews', { state });
  }

  /** Which change request put a commit of main there, who approved it, emergency or not. */
  async provenance(sha: string): Promise<Provenance> {
    return this.#get<Provenance>(`/api/v1/provenance/${encodeURIComponent(sha)}`);
  }

  /** One page of main's commits, newest first, each with its provenance. */
  async listProvenance(query: ProvenanceQuery = {}): Promise<ProvenancePage> {
    return this.#get<ProvenancePage>('/api/v1/provenance', { limit: query.limit, cursor: query.cursor, status: query.status });
  }

  /** Every commit of main with its provenance, newest first, page after page. */
  async *iterateProvenance(query: Omit<ProvenanceQuery, 'cursor'> = {}): AsyncGenerator<Provenance, void, undefined> {
    yield* this.#paginate((cursor) => this.listProvenance({ ...query, cursor }));
  }

  // ---- audit trail -------------------------------------------------------------------------

  /** One page of audit entries, oldest first (`GET /api/v1/audit`). */
  async listAudit(query: AuditQuery = {}): Promise<AuditPage> {
    const { since, until, actor, event, subject, limit, cursor } = query;
    return this.#get<AuditPage>('/api/v1/audit', { since, until, actor, event, subject, limit, cursor });
  }

  /** Every audit entry matching `query`, oldest first, page after page. */
  async *iterateAudit(query: Omit<AuditQuery, 'cursor'> = {}): AsyncGenerator<AuditEntry, void, undefined> {
    yield* this.#paginate((cursor) => this.listAudit({ ...query, cursor }));
  }

  /**
   * The server's own verdict on its audit trail (`GET /api/v1/audit/verify`). An auditor who does
   * not trust the server fetches the entries with {@link iterateAudit} and checks them locally.
   */
  async verifyAudit(options: { anchor?: AuditAnchor } = {}): Promise<AuditVerification> {
    return this.#get<AuditVerification>('/api/v1/audit/verify', { anchor: options.anchor && `${options.anchor.seq}:${options.anchor.hash}` });
  }

  /** The audit trail (or the part between `since` and `until`) as JSON Lines or CSV text. */
  async exportAudit(query: AuditExportQuery): Promise<string> {
    return this.#request<string>('GET', '/api/v1/audit/export', { query: { since: query.since, until: query.until, format: query.format }, as: 'text' });
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

  /** Host reports that kept failing, oldest first (admin). */
  async listDeadLetters(): Promise<{ items: DeadLetter[] }> {
    return this.#get('/api/v1/reports/dead-letters');
  }

  /** Queues a dead letter's report again, with no attempts counted (admin); `E_DEAD_LETTER_NOT_FOUND` when there is none. */
  async replayDeadLetter(id: number): Promise<ReplayAnswer> {
    return this.#request<ReplayAnswer>('POST', `/api/v1/reports/dead-letters/${encodeURIComponent(String(id))}/replay`);
  }

  /** One page of drift items, in the order they opened (`GET /api/v1/drift`; viewer). */
  async listDrift(query: DriftQuery = {}): Promise<DriftPage> {
    const { asset, selector, state, limit, cursor } = query;
    return this.#get<DriftPage>('/api/v1/drift', { asset, selector, state, limit, cursor });
  }

  /**
   * One page of an asset's timeline, newest first, with the verdict: its declared changes with their
   * change requests, and what its host reported (`GET /api/v1/assets/:kind/:name/timeline`; viewer).
   */
  async assetTimeline(id: string | AssetName, query: TimelineQuery = {}): Promise<TimelinePage> {
    return this.#get<TimelinePage>(`${assetPath(id)}/timeline`, { limit: query.limit, cursor: query.cursor, since: query.since });
  }

  /** Every drift item matching `query`, in the order they opened, page after page. */
  async *iterateDrift(query: Omit<DriftQuery, 'cursor'> = {}): AsyncGenerator<DriftItem, void, undefined> {
    yield* this.#paginate((cursor) => this.listDrift({ ...query, cursor }));
  }

  /**
   * Opens a change request adopting the observed values of an asset's open drift items (all, or
   * `fields`); `E_NOTHING_TO_ADOPT` when none can be adopted (`POST /api/v1/drift/adopt`; editor).
   */
  async adoptDrift(input: { asset: string; fields?: string[]; title?: string }): Promise<DriftAdoptAnswer> {
    return this.#request<DriftAdoptAnswer>('POST', '/api/v1/drift/adopt', { body: input });
  }

  /** Asks an enforcing agent to restore a managed file's field from Git; `E_NOT_REVERTIBLE` for other fields (editor). */
  async revertDrift(asset: string, field: string): Promise<DriftRevertAnswer> {
    return this.#request<DriftRevertAnswer>('POST', '/api/v1/drift/revert', { body: { asset, field } });
  }

  /** Ignores an open drift item while its observed value stays the same (editor). */
  async ignoreDrift(asset: string, field: string, reason: string): Promise<DriftIgnoreAnswer> {
    return this.#request<DriftIgnoreAnswer>('POST', '/api/v1/drift/ignore', { body: { asset, field, reason } });
  }

  /** Opens the change request declaring an unmanaged host as a Host asset from its latest report (editor). */
  async declareHost(host: string, options: { name?: string; labels?: Record<string, string> } = {}): Promise<{ change: Change }> {
    return this.#request<{ change: Change }>('POST', `/api/v1/drift/unmanaged/${encodeURIComponent(host)}/declare`, { body: options });
  }

  /** Gray releases of an app's config in an env, newest first. */
  async listConfigReleases(app: string, env: string): Promise<{ items: GrayRelease[] }> {
    return this.#get(`${configPath(app, env)}/releases`);
  }

  /** Starts a gray release: new versions reach the canaries (by label selector or sticky percentage) first. Needs an approver. */
  async startConfigRelease(app: string, env: string, plan: { selector?: string; percentage?: number }): Promise<GrayRelease> {
    return this.#request<GrayRelease>('POST', `${configPath(app, env)}/releases`, { body: plan });
  }

  /** Promotes (every instance gets main's newest version) or aborts (back to the baseline) a gray release. */
  async endConfigRelease(app: string, env: string, id: number, outcome: 'promote' | 'abort'): Promise<GrayRelease> {
    return this.#request<GrayRelease>('POST', `${configPath(app, env)}/releases/${id}/${outcome}`);
  }

  /** The instances that asked for a config: the version each got, stable or canary, last seen. */
  async listConfigInstances(app: string, env: string): Promise<{ items: ConfigInstance[] }> {
    return this.#get(`${configPath(app, env)}/instances`);
  }

  /** Versions of a config, newest first, with what each changed. */
  async listConfigVersions(app: string, env: string, options: { cluster?: string; limit?: number; before?: number } = {}): Promise<{ items: ConfigVersionEntry[]; nextBefore?: number }> {
    return this.#get(`${configPath(app, env)}/versions`, { cluster: options.cluster, limit: options.limit, before: options.before });
  }

  /** GETs a route and returns its JSON body. */
  async #get<T>(path: string, query: Record<string, QueryValue> = {}): Promise<T> {
    return this.#request<T>('GET', path, { query });
  }

  /** Sends a request and returns its JSON body (or text); every failure becomes an {@link EstateApiError}. */
  async #request<T>(method: 'GET' | 'POST' | 'PATCH', path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.#base.pathname.replace(/\/$/, '') + path, this.#base);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const where = url.href;
    const asText = options.as === 'text';
    const headers: Record<string, string> = { accept: asText ? '*/*' : 'application/json' };
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`;
    let body: string | undefined;
    if (method !== 'GET') {
      // JSON.stringify leaves out undefined members: unset options are not sent.
      body = JSON.stringify(options.body ?? {});
      headers['content-type'] = 'application/json';
    }
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let response: Response;
    let text: string;
    try {
      // Redirects are not followed: the token must reach only the server it was given for.
      response = await this.#fetch(url, { method, headers, signal, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
      text = await response.text();
    } catch (error) {
      throw this.#unreachable(where, error);
    }
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location');
      throw new EstateApiError('E_BAD_RESPONSE', `${where} redirects${location ? ` to ${location}` : ''}; give the server's own URL`, response.status, location ? { location } : {});
    }
    if (response.ok && asText) return text as T;
    const parsed = parseJson(text);
    if (!response.ok) {
      const reported = errorBody(parsed);
      if (reported) throw new EstateApiError(reported.code, this.#redact(reported.message), response.status, reported.details);
      const code = codeForStatus(response.status);
      throw new EstateApiError(code, `${where} answered ${response.status} ${response.statusText}`.trim() + describeBody(response, text), response.status);
    }
    if (parsed === undefined || typeof parsed !== 'object' || parsed === null) {
      throw new EstateApiError('E_BAD_RESPONSE', `${where} answered ${response.status} with something that is not the API's JSON` + describeBody(response, text), response.status);
    }
    return parsed as T;
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

/** `/api/v1/changes/<id>`; a change request's id is a positive integer. */
function changePath(id: number): string {
  if (!Number.isSafeInteger(id) || id < 1) {
    throw new EstateApiError('E_BAD_PARAM', `'${String(id)}' is not a change request id; expected a positive integer, e.g. 12`, 0, { id });
  }
  return `/api/v1/changes/${id}`;
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

/** The route of an app's config in an env (names are DNS labels; anything else is refused here). */
function configPath(app: string, env: string): string {
  for (const [what, name] of [['app', app], ['env', env]] as const) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
      throw new EstateApiError('E_BAD_PARAM', `'${name}' is not an ${what} name; expected a DNS-1123 label such as checkout`, 0, { [what]: name });
    }
  }
  return `/api/v1/config/${app}/${env}`;
}
