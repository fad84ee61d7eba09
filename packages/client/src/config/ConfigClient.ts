import { codeForStatus, EstateApiError } from '../EstateApiError.js';
import { EstateClient } from '../EstateClient.js';
import { FileConfigCache } from './configCache.js';
import { SseParser } from './sse.js';
import type { ConfigFormat, ConfigRelease, ConfigSecrets, ConfigSnapshot } from './types.js';

/** Options of {@link createConfigClient}. */
export interface ConfigClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:7780`. */
  url: string;
  /** An API token (an app-scoped one is enough); sent only as `Authorization: Bearer …`. */
  token?: string;
  app: string;
  env: string;
  /** The cluster whose overlay applies (`config/<app>/<env>/<cluster>.yaml`). */
  cluster?: string;
  /** This instance's id: gray releases by percentage hash it, and the server lists it under `.../instances`. */
  instance?: string;
  /** This instance's labels, which gray-release selectors match. */
  labels?: Record<string, string>;
  /** Where the last-known-good copy is kept (`<cacheDir>/<app>.<env>[.<cluster>].json`); none without it. */
  cacheDir?: string;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** How long one GET may take (default 10 s). */
  timeoutMs?: number;
  /** A watch connection that receives no byte for this long is dead (default 45 s: three missed 15 s heartbeats). */
  heartbeatTimeoutMs?: number;
  /** Reconnection delays: the first at most `initialMs` (default 500, or the server's `retry:`), doubling up to `maxMs` (default 30 s), fully jittered. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Told when the cache file cannot be written (default: a process warning); the config itself is still served. */
  onCacheError?: (error: Error) => void;
}

/** Called with each new version of the config, in order. */
export type ConfigListener = (snapshot: ConfigSnapshot) => void | Promise<void>;

/** Told about a failed watch connection (the client reconnects by itself) or a listener that threw. */
export type ConfigErrorListener = (error: Error) => void;

/** The config of one app in one environment (and cluster), as an application reads and follows it. */
export interface ConfigClient {
  /**
   * The current config from the server. When the server cannot be reached or fails (5xx), the
   * last-known-good copy instead (`source: 'cache'`): the version this client last got, else the
   * cache file. Without either: `E_CONFIG_UNAVAILABLE`. Refusals (401, 403, 404) are never hidden.
   */
  get(): Promise<ConfigSnapshot>;
  /** The config rendered by the server in `format`, as text; `version` asks for an older one. */
  render(format: ConfigFormat, options?: { version?: string }): Promise<string>;
  /**
   * Follows the config over the server's watch stream: `listener` is called for each version
   * after the one the client holds (the current one first, when it holds none), in order, once
   * per version. Reconnects by itself after errors and resumes where it was (`Last-Event-ID`),
   * so no version is missed. Returns the function that unsubscribes.
   */
  subscribe(listener: ConfigListener, onError?: ConfigErrorListener): () => void;
  /** Stops watching and waits for pending cache writes; no timer or connection is left. */
  close(): Promise<void>;
}

interface CompiledOptions {
  base: string;
  token: string | undefined;
  app: string;
  env: string;
  /** The query that identifies config and caller: cluster, instance, labels. */
  identity: Record<string, string>;
  fetch: typeof fetch;
  timeoutMs: number;
  heartbeatTimeoutMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  cache: FileConfigCache | undefined;
  onCacheError: (error: Error) => void;
}

interface Subscriber {
  listener: ConfigListener;
  onError: ConfigErrorListener | undefined;
}

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Creates a {@link ConfigClient}; E_USAGE/E_BAD_PARAM for an unusable URL or names. */
export function createConfigClient(options: ConfigClientOptions): ConfigClient {
  return new HttpConfigClient(compileConfigClientOptions(options));
}

function compileConfigClientOptions(options: ConfigClientOptions): CompiledOptions {
  // EstateClient checks the URL (http(s), no credentials) and normalizes it.
  const base = new EstateClient({ url: options.url }).url;
  for (const [what, value] of [['app', options.app], ['env', options.env], ['cluster', options.cluster]] as const) {
    if (value === undefined && what === 'cluster') continue;
    if (typeof value !== 'string' || !NAME.test(value)) {
      throw new EstateApiError('E_BAD_PARAM', `'${String(value)}' is not a valid ${what} name (lower-case letters, digits and '-')`, 0, { [what]: value });
    }
  }
  const identity: Record<string, string> = {};
  if (options.cluster !== undefined) identity['cluster'] = options.cluster;
  if (options.instance !== undefined && options.instance !== '') identity['instance'] = options.instance;
  const labels = Object.entries(options.labels ?? {});
  if (labels.length > 0) identity['labels'] = labels.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join(',');
  const token = options.token === '' ? undefined : options.token;
  const key = { app: options.app, env: options.env, ...(options.cluster !== undefined ? { cluster: options.cluster } : {}), ...(token !== undefined ? { token } : {}) };
  return {
    base,
    token,
    app: options.app,
    env: options.env,
    identity,
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    timeoutMs: options.timeoutMs ?? 10_000,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 45_000,
    initialBackoffMs: options.backoff?.initialMs ?? 500,
    maxBackoffMs: options.backoff?.maxMs ?? 30_000,
    cache: options.cacheDir !== undefined ? new FileConfigCache(options.cacheDir, key) : undefined,
    onCacheError: options.onCacheError ?? ((error) => process.emitWarning(error.message, { code: 'ESTATE_CONFIG_CACHE' })),
  };
}

/** The {@link ConfigClient} over the server's config routes (docs/config.md "Client SDK and CLI"). */
class HttpConfigClient implements ConfigClient {
  readonly #o: CompiledOptions;
  /** The newest version this client got (from the server, or the cache at startup). */
  #held: ConfigSnapshot | undefined;
  readonly #subscribers = new Set<Subscriber>();
  #watch: { controller: AbortController; done: Promise<void> } | undefined;
  /** The server's `retry:`, which replaces the first backoff delay. */
  #retryMs: number | undefined;
  /** Cache writes, one after the other in the order the versions came. */
  #writes: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: CompiledOptions) {
    this.#o = options;
  }

  async get(): Promise<ConfigSnapshot> {
    this.#assertOpen();
    let snapshot: ConfigSnapshot;
    try {
      snapshot = await this.#fetchSnapshot();
    } catch (error) {
      if (!(error instanceof EstateApiError) || !(error.status === 0 || error.status >= 500)) throw error;
      const fallback = this.#held ?? (await this.#readCache());
      if (!fallback) {
        const where = this.#o.cache ? `no last-known-good copy in ${this.#o.cache.path}` : 'no cacheDir for a last-known-good copy';
        throw new EstateApiError('E_CONFIG_UNAVAILABLE', `config ${this.#o.app}/${this.#o.env} is unavailable (${error.message}) and there is ${where}`, error.status, { app: this.#o.app, env: this.#o.env, cause: error.code }, { cause: error });
      }
      this.#held ??= fallback;
      return { ...fallback, source: 'cache' };
    }
    if (this.#held?.version !== snapshot.version || this.#held.source === 'cache') this.#remember(snapshot);
    this.#held = snapshot;
    return snapshot;
  }

  async render(format: ConfigFormat, options: { version?: string } = {}): Promise<string> {
    this.#assertOpen();
    const response = await this.#send(this.#configUrl('', { format, ...(options.version !== undefined ? { version: options.version } : {}) }), { accept: '*/*' });
    return response.text;
  }

  subscribe(listener: ConfigListener, onError?: ConfigErrorListener): () => void {
    this.#assertOpen();
    const subscriber: Subscriber = { listener, onError };
    this.#subscribers.add(subscriber);
    if (!this.#watch) {
      const controller = new AbortController();
      this.#watch = { controller, done: this.#watchLoop(controller.signal) };
    }
    return () => {
      this.#subscribers.delete(subscriber);
      if (this.#subscribers.size === 0) this.#stopWatch();
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#subscribers.clear();
    const watch = this.#stopWatch();
    await watch;
    await this.#writes;
  }

  #stopWatch(): Promise<void> {
    const watch = this.#watch;
    this.#watch = undefined;
    if (!watch) return Promise.resolve();
    watch.controller.abort();
    return watch.done;
  }

  #assertOpen(): void {
    if (this.#closed) throw new EstateApiError('E_USAGE', `the config client of ${this.#o.app}/${this.#o.env} is closed`, 0);
  }

  // ---- GET -----------------------------------------------------------------------------------

  async #fetchSnapshot(): Promise<ConfigSnapshot> {
    const held = this.#held?.source === 'server' ? this.#held : undefined;
    const headers: Record<string, string> = { accept: 'application/json', ...(held ? { 'if-none-match': `"${held.version}"` } : {}) };
    const response = await this.#send(this.#configUrl('', { format: 'json' }), headers);
    if (response.status === 304 && held) return held;
    const values = parseJson(response.text);
    if (!isObject(values)) throw new EstateApiError('E_BAD_RESPONSE', `${response.url} answered ${response.status} with something that is not a config object`, response.status);
    const header = (name: string): string | undefined => response.headers.get(name) ?? undefined;
    const version = header('estate-config-version') ?? header('etag')?.replace(/^(W\/)?"|"$/g, '');
    const seq = Number(header('estate-config-seq'));
    if (!version || !Number.isSafeInteger(seq)) {
      throw new EstateApiError('E_BAD_RESPONSE', `${response.url} answered without the Estate-Config-Version and Estate-Config-Seq headers`, response.status);
    }
    return {
      app: this.#o.app,
      env: this.#o.env,
      version,
      seq,
      values,
      secrets: (header('estate-config-secrets') ?? 'none') as ConfigSecrets,
      release: (header('estate-config-release') ?? 'stable') as ConfigRelease,
      source: 'server',
    };
  }

  /** `/api/v1/config/<app>/<env><suffix>` with the caller's identity and `extra` in the query. */
  #configUrl(suffix: string, extra: Record<string, string> = {}): URL {
    const url = new URL(`${this.#o.base}/api/v1/config/${encodeURIComponent(this.#o.app)}/${encodeURIComponent(this.#o.env)}${suffix}`);
    for (const [name, value] of Object.entries({ ...extra, ...this.#o.identity })) url.searchParams.set(name, value);
    return url;
  }

  /** One GET with the token; a 2xx or 304 answer, else an {@link EstateApiError} (status 0: no answer). */
  async #send(url: URL, headers: Record<string, string>): Promise<{ status: number; headers: Headers; text: string; url: string }> {
    const where = url.href;
    let response: Response;
    let text: string;
    try {
      response = await this.#o.fetch(url, { headers: this.#headers(headers), redirect: 'manual', signal: AbortSignal.timeout(this.#o.timeoutMs) });
      text = await response.text();
    } catch (error) {
      throw this.#unreachable(where, error);
    }
    if (response.ok || response.status === 304) return { status: response.status, headers: response.headers, text, url: where };
    throw this.#refusal(where, response, text);
  }

  #headers(extra: Record<string, string>): Record<string, string> {
    return { ...extra, ...(this.#o.token !== undefined ? { authorization: `Bearer ${this.#o.token}` } : {}) };
  }

  #refusal(where: string, response: Response, text: string): EstateApiError {
    const body = parseJson(text);
    const error = isObject(body) && isObject(body['error']) ? body['error'] : undefined;
    if (error && typeof error['code'] === 'string' && typeof error['message'] === 'string') {
      return new EstateApiError(error['code'], this.#redact(error['message']), response.status, isObject(error['details']) ? error['details'] : {});
    }
    return new EstateApiError(codeForStatus(response.status), `${where} answered ${response.status} ${response.statusText}`.trim(), response.status);
  }

  #unreachable(where: string, error: unknown): EstateApiError {
    const name = error instanceof Error ? error.name : '';
    if (name === 'TimeoutError') return new EstateApiError('E_UNREACHABLE', `no answer from ${where} within ${this.#o.timeoutMs} ms`, 0, {}, { cause: error });
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new EstateApiError('E_UNREACHABLE', `cannot reach ${where}: ${this.#redact(reason)}`, 0, {}, { cause: error });
  }

  #redact(text: string): string {
    return this.#o.token !== undefined ? text.split(this.#o.token).join('<token>') : text;
  }

  // ---- cache ---------------------------------------------------------------------------------

  async #readCache(): Promise<ConfigSnapshot | undefined> {
    if (!this.#o.cache) return undefined;
    try {
      return await this.#o.cache.read();
    } catch (error) {
      this.#o.onCacheError(new Error(`cannot read the config cache ${this.#o.cache.path}: ${(error as Error).message}`, { cause: error }));
      return undefined;
    }
  }

  /** Queues a cache write of a new version; failures go to onCacheError, never to the caller. */
  #remember(snapshot: ConfigSnapshot): void {
    const cache = this.#o.cache;
    if (!cache) return;
    this.#writes = this.#writes.then(() =>
      cache.write(snapshot).catch((error: unknown) => {
        this.#o.onCacheError(new Error(`cannot write the config cache ${cache.path}: ${(error as Error).message}`, { cause: error }));
      }),
    );
  }

  // ---- watch ---------------------------------------------------------------------------------

  /** Connects, reads, and reconnects with backoff until `signal` aborts. */
  async #watchLoop(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      let healthy = false;
      try {
        healthy = await this.#watchOnce(signal);
      } catch (error) {
        if (signal.aborted) return;
        healthy = error instanceof WatchError && error.healthy;
        this.#report(error instanceof WatchError ? error.cause : error);
      }
      if (healthy) attempt = 0;
      const ceiling = Math.min(this.#o.maxBackoffMs, (this.#retryMs ?? this.#o.initialBackoffMs) * 2 ** attempt);
      attempt++;
      // Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): a restarted server is not hit by every client at once.
      await sleep(Math.random() * ceiling, signal);
    }
  }

  /**
   * One watch connection, read until it ends. Resolves `true` when it ended cleanly after data
   * arrived; throws a {@link WatchError} otherwise. No byte for `heartbeatTimeoutMs` kills it.
   */
  async #watchOnce(signal: AbortSignal): Promise<boolean> {
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    signal.addEventListener('abort', abort, { once: true });
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.#o.heartbeatTimeoutMs);
    };
    let healthy = false;
    const url = this.#configUrl('/watch');
    try {
      arm();
      const lastId = this.#held?.version;
      const response = await this.#o.fetch(url, {
        headers: this.#headers({ accept: 'text/event-stream', 'cache-control': 'no-cache', ...(lastId !== undefined ? { 'last-event-id': lastId } : {}) }),
        redirect: 'manual',
        signal: controller.signal,
      });
      if (response.status !== 200) throw this.#refusal(url.href, response, await response.text());
      if (!response.headers.get('content-type')?.startsWith('text/event-stream') || !response.body) {
        await response.body?.cancel();
        throw new EstateApiError('E_BAD_RESPONSE', `${url.href} answered 200 without an event stream`, 200);
      }
      const parser = new SseParser({
        onEvent: (event) => {
          if (event.event === 'config') this.#receive(event.data, url.href);
          else if (event.event === 'removed') this.#report(new EstateApiError('E_CONFIG_NOT_FOUND', `config ${this.#o.app}/${this.#o.env} was removed from main (version ${event.id ?? 'unknown'})`, 404, { app: this.#o.app, env: this.#o.env }));
        },
        onRetry: (ms) => (this.#retryMs = ms),
      });
      const decoder = new TextDecoder();
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        arm();
        healthy = true;
        parser.push(decoder.decode(chunk, { stream: true }));
      }
      parser.push(decoder.decode());
      parser.end();
      return healthy;
    } catch (error) {
      if (signal.aborted) throw error;
      const cause = timedOut
        ? new EstateApiError('E_UNREACHABLE', `no data from ${url.href} for ${this.#o.heartbeatTimeoutMs} ms: reconnecting`, 0)
        : error instanceof EstateApiError
          ? error
          : this.#unreachable(url.href, error);
      throw new WatchError(cause, healthy);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
    }
  }

  /** Handles one `config` event: a new version goes to the listeners and the cache. */
  #receive(data: string, where: string): void {
    const event = parseJson(data);
    if (!isObject(event) || typeof event['version'] !== 'string' || !Number.isSafeInteger(event['seq']) || !isObject(event['config'])) {
      this.#report(new EstateApiError('E_BAD_RESPONSE', `${where} sent a config event without version, seq and config`, 200));
      return;
    }
    const snapshot: ConfigSnapshot = {
      app: this.#o.app,
      env: this.#o.env,
      version: event['version'],
      seq: event['seq'] as number,
      values: event['config'],
      secrets: (typeof event['secrets'] === 'string' ? event['secrets'] : 'none') as ConfigSecrets,
      release: (typeof event['release'] === 'string' ? event['release'] : 'stable') as ConfigRelease,
      source: 'server',
    };
    const held = this.#held;
    if (held && held.version === snapshot.version) {
      // The version held, confirmed by the server (after a restart that forgot the id sent).
      if (held.source === 'cache') this.#held = snapshot;
      return;
    }
    // Stable versions only move forward (seq); a canary's end may go back to an older stable one.
    if (held && snapshot.release === 'stable' && held.release === 'stable' && snapshot.seq < held.seq) return;
    this.#held = snapshot;
    this.#remember(snapshot);
    for (const subscriber of [...this.#subscribers]) {
      try {
        const result = subscriber.listener(snapshot);
        if (result instanceof Promise) result.catch((error: unknown) => this.#reportTo(subscriber, error));
      } catch (error) {
        this.#reportTo(subscriber, error);
      }
    }
  }

  #report(error: unknown): void {
    for (const subscriber of [...this.#subscribers]) this.#reportTo(subscriber, error);
  }

  #reportTo(subscriber: Subscriber, error: unknown): void {
    try {
      subscriber.onError?.(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // An error handler that throws has nobody left to tell.
    }
  }
}

/** A failed watch connection, and whether it had received data first (which resets the backoff). */
class WatchError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly healthy: boolean,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** Waits `ms`, or less when `signal` aborts; leaves no timer behind. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
