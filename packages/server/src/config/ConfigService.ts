import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import {
  ConflictError,
  decryptSecrets,
  hasErrorCode,
  InputError,
  matchesSelector,
  NotFoundError,
  parseLabelSelector,
  renderConfig,
  type ConfigFormat,
  type LabelSelector,
} from '@estate/core';
import type { AuditLog } from '../audit/AuditLog.js';
import type { TokenRecord } from '../store/Store.js';
import { streamKey, type ConfigRelease, type ConfigVersion, type ConfigVersionStore, type InstanceRecord } from './ConfigVersionStore.js';

/** Who asks for a config: the instance (for gray releases and the instances list) and its cluster. */
export interface ConfigCaller {
  cluster?: string;
  instance?: string;
  labels?: Record<string, string>;
}

/** Whether a served config holds its secrets. */
export type SecretsState = 'included' | 'withheld' | 'none';

/** The version an instance gets now, and whether as the canary of a gray release. */
export interface ServedVersion {
  version: ConfigVersion;
  release: 'stable' | 'canary';
}

/** Options of {@link ConfigService}. */
export interface ConfigServiceOptions {
  versions: ConfigVersionStore;
  /** The server's age identities (secret keys), to decrypt secrets for callers allowed them. */
  identities: () => readonly string[];
  /** The server's age recipient, named in the error when it cannot decrypt a file. */
  recipient: () => string;
  audit?: AuditLog;
  /** Period of SSE heartbeats; default 15 s. */
  heartbeatMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>) => void;
}

/** A connected SSE watcher. */
interface Watcher {
  app: string;
  env: string;
  caller: ConfigCaller;
  secrets: boolean;
  /** The connection, written to directly (see {@link ConfigService.watch}). */
  socket: Socket;
  /** Id of the last version sent; 0 before the first. */
  lastId: number;
  /** What it was last sent, for the instances list. */
  last: ServedVersion | undefined;
  /** Which slice of the heartbeat period it belongs to (see {@link ConfigService}'s heartbeat). */
  slice: number;
  /** When it was last written to (ms since the epoch). */
  lastWrite: number;
}

/** The head of every watch answer: no length and no chunked framing, so the body ends when the connection does (RFC 9112 §6.3). */
const SSE_HEAD = Buffer.from(
  'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\nretry: 2000\n\n',
);
const HEARTBEAT = Buffer.from(': heartbeat\n\n');
/**
 * Heartbeats are spread over this many slices of their period, each watcher in one: a write to
 * every one of 10k sockets at once would hold up a push for as long.
 */
const HEARTBEAT_SLICES = 16;
const EMPTY = Buffer.alloc(0);

/** An event being built for a push, and its bytes once built. */
interface EventEntry {
  event: Promise<Buffer>;
  bytes: Buffer;
}

/** A long-poll request waiting for a version other than `sha`. */
interface Waiter {
  caller: ConfigCaller;
  sha: string;
  wake: () => void;
}

/** Versions a reconnecting watcher is sent at most; an older Last-Event-ID gets the latest alone. */
const MAX_CATCH_UP = 1000;
/** A watcher whose unsent output exceeds this is too slow and is disconnected (it reconnects and catches up). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** How often instance records are written to the store. */
const INSTANCE_FLUSH_MS = 2_000;
const CACHE_LIMIT = 512;

/**
 * Serves config versions: which version each instance gets (gray releases), the config with its
 * secrets for callers allowed them, rendered answers, SSE watchers pushed each new version, long
 * polls, and the instances seen. Everything it answers comes from {@link ConfigVersionStore} and
 * memory: Git is never on the request path.
 */
export class ConfigService {
  readonly #options: ConfigServiceOptions;
  readonly #versions: ConfigVersionStore;
  readonly #watchers = new Map<string, Set<Watcher>>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #releases = new Map<string, ConfigRelease>();
  readonly #instances = new Map<string, Map<string, InstanceRecord>>();
  readonly #dirtyInstances = new Map<string, { app: string; env: string; record: InstanceRecord }>();
  readonly #secrets = new Map<number, Promise<Record<string, string>>>();
  readonly #rendered = new Map<string, Promise<string>>();
  readonly #events = new Map<string, Promise<Buffer>>();
  readonly #stable = new Map<string, ConfigVersion | undefined>();
  readonly #auditedReads = new Set<string>();
  readonly #timers: NodeJS.Timeout[] = [];
  #watcherCount = 0;
  #watchersSeen = 0;

  constructor(options: ConfigServiceOptions) {
    this.#options = options;
    this.#versions = options.versions;
    for (const release of this.#versions.allLastReleases()) this.#releases.set(`${release.app}/${release.env}`, release);
    for (const { app, env, record } of this.#versions.instances()) this.#instanceMap(app, env).set(record.instance, record);
    const heartbeatMs = options.heartbeatMs ?? 15_000;
    let slice = 0;
    const heartbeat = setInterval(() => this.#heartbeat(slice++ % HEARTBEAT_SLICES, heartbeatMs), heartbeatMs / HEARTBEAT_SLICES);
    const flush = setInterval(() => this.flushInstances(), INSTANCE_FLUSH_MS);
    heartbeat.unref();
    flush.unref();
    this.#timers.push(heartbeat, flush);
  }

  /** SSE connections open now. */
  get watcherCount(): number {
    return this.#watcherCount;
  }

  /** The version `caller` gets now: main's newest, or the baseline of a gray release it is not a canary of. */
  target(app: string, env: string, caller: ConfigCaller): ServedVersion | undefined {
    const cluster = caller.cluster && this.#versions.latest(app, env, caller.cluster) ? caller.cluster : '';
    const latest = this.#versions.latest(app, env, cluster);
    if (!latest) return undefined;
    const release = this.#releases.get(`${app}/${env}`);
    const held = release && (release.state === 'active' || (release.state === 'aborted' && latest.id <= (release.heldUntilId ?? 0)));
    if (release && held && latest.id > release.baselineId) {
      if (release.state === 'active' && inCanary(release, app, env, caller)) return { version: latest, release: 'canary' };
      const stable = this.#stableVersion(app, env, cluster, release.baselineId);
      if (stable) return { version: stable, release: 'stable' };
    }
    return { version: latest, release: 'stable' };
  }

  /** The version of a config that was current at main's commit number `commitSeq` (`?version=`). */
  atCommit(app: string, env: string, cluster: string | undefined, commitSeq: number): ConfigVersion | undefined {
    const own = cluster ? this.#versions.atCommit(app, env, cluster, commitSeq) : undefined;
    return own && !own.removed ? own : this.#versions.atCommit(app, env, '', commitSeq);
  }

  /** Whether a served version holds its secrets for a caller. */
  secretsState(version: ConfigVersion, allowed: boolean): SecretsState {
    return version.secrets === undefined ? 'none' : allowed ? 'included' : 'withheld';
  }

  /**
   * The config of a version: its values, with its secrets merged in (a dotted key is a nested path)
   * when `withSecrets`. Throws ConflictError E_SECRETS_UNAVAILABLE when the server cannot decrypt them.
   */
  async values(version: ConfigVersion, withSecrets: boolean): Promise<Record<string, unknown>> {
    if (!withSecrets || version.secrets === undefined) return version.config.values;
    const secrets = await this.#decrypted(version);
    const values = structuredClone(version.config.values);
    for (const [key, value] of Object.entries(secrets)) setPath(values, key.split('.'), value);
    return values;
  }

  /** A version rendered in a format (cached per version, format and whether secrets are in). */
  render(version: ConfigVersion, format: ConfigFormat, withSecrets: boolean): Promise<string> {
    const included = withSecrets && version.secrets !== undefined;
    return this.#cached(`${version.id}:${format}:${included}`, async () => {
      const values = await this.values(version, included);
      return format === 'json' ? JSON.stringify(values) : renderConfig(values, format);
    });
  }

  /** Records that a caller with secrets got them (once per token and version). */
  auditSecretsRead(token: TokenRecord | undefined, version: ConfigVersion): void {
    if (!token || version.secrets === undefined || !this.#options.audit) return;
    const key = `${token.id}:${version.id}`;
    if (this.#auditedReads.has(key)) return;
    if (this.#auditedReads.size > 100_000) this.#auditedReads.clear();
    this.#auditedReads.add(key);
    try {
      this.#options.audit.append({
        actor: token.name,
        event: 'config.secrets.read',
        subject: `config/${version.app}/${version.env}${version.cluster ? `/${version.cluster}` : ''}`,
        details: { version: version.sha, file: version.secrets.path, tokenId: token.id },
      });
    } catch (error) {
      this.#options.log?.('warn', `could not audit a read of secrets: ${(error as Error).message}`);
    }
  }

  /** Notes which version an instance got, for `.../instances`. */
  seen(app: string, env: string, caller: ConfigCaller, served: ServedVersion, via: InstanceRecord['via']): void {
    if (caller.instance === undefined) return;
    const record = instanceRecord(caller.instance, caller, served, via, new Date().toISOString());
    this.#instanceMap(app, env).set(caller.instance, record);
    this.#dirtyInstances.set(`${app}/${env}/${caller.instance}`, { app, env, record });
  }

  /** The instances of an app in an env; watching ones are seen now, with the version last pushed to them. */
  instances(app: string, env: string): Array<InstanceRecord & { connected: boolean }> {
    const now = new Date().toISOString();
    const records = new Map<string, InstanceRecord & { connected: boolean }>();
    for (const record of this.#instanceMap(app, env).values()) records.set(record.instance, { ...record, connected: false });
    for (const watcher of this.#watchers.get(`${app}/${env}`) ?? []) {
      if (watcher.caller.instance === undefined || !watcher.last) continue;
      records.set(watcher.caller.instance, { ...instanceRecord(watcher.caller.instance, watcher.caller, watcher.last, 'watch', now), connected: true });
    }
    return [...records.values()].sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
  }

  /** Writes the instance records noted since the last flush. */
  flushInstances(): void {
    if (this.#dirtyInstances.size === 0) return;
    const records = [...this.#dirtyInstances.values()];
    this.#dirtyInstances.clear();
    try {
      this.#versions.saveInstances(records);
    } catch (error) {
      this.#options.log?.('warn', `could not record config instances: ${(error as Error).message}`);
    }
  }

  /**
   * Streams a config to an SSE client: what it missed since `lastEventId` (a version sha), or
   * the current version, then each new one. The request must be hijacked from the HTTP framework:
   * the answer is written straight to its socket, one shared buffer per version for every watcher
   * (no per-watcher framing), which keeps a push to 10k watchers cheap.
   */
  async watch(app: string, env: string, caller: ConfigCaller, secrets: boolean, lastEventId: string | undefined, socket: Socket): Promise<void> {
    if (socket.destroyed) return; // the client left already: its 'close' has fired
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.write(SSE_HEAD);
    const watcher: Watcher = { app, env, caller, secrets, socket, lastId: 0, last: undefined, slice: this.#watchersSeen++ % HEARTBEAT_SLICES, lastWrite: Date.now() };
    const served = this.target(app, env, caller);
    if (lastEventId !== undefined && served) {
      const known = this.#versions.bySha(app, env, served.version.cluster, lastEventId);
      if (known) watcher.lastId = known.id;
    }
    const key = `${app}/${env}`;
    let set = this.#watchers.get(key);
    if (!set) this.#watchers.set(key, (set = new Set()));
    set.add(watcher);
    this.#watcherCount++;
    socket.on('close', () => {
      if (set.delete(watcher)) this.#watcherCount--;
      if (set.size === 0 && this.#watchers.get(key) === set) this.#watchers.delete(key);
      if (watcher.last) this.seen(app, env, caller, watcher.last, 'watch');
    });
    await this.#push([watcher]);
    if (watcher.last) this.seen(app, env, caller, watcher.last, 'watch');
  }

  /**
   * Waits up to `ms` for a version other than `sha` to be due for `caller` (long poll). True when
   * one is; false when the time ran out.
   */
  waitForChange(app: string, env: string, caller: ConfigCaller, sha: string, ms: number): Promise<boolean> {
    if (this.target(app, env, caller)?.version.sha !== sha) return Promise.resolve(true);
    const key = `${app}/${env}`;
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (!set) this.#waiters.set(key, (set = new Set()));
      const waiter: Waiter = {
        caller,
        sha,
        wake: () => {
          clearTimeout(timer);
          set.delete(waiter);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        set.delete(waiter);
        resolve(false);
      }, ms);
      set.add(waiter);
    });
  }

  /** Pushes new versions to the watchers and long polls of their configs. */
  async onVersions(versions: readonly ConfigVersion[]): Promise<void> {
    const apps = new Set(versions.map((v) => `${v.app}/${v.env}`));
    await Promise.all([...apps].map((key) => this.#notify(key)));
  }

  /** Starts a gray release: from now on, new versions reach only the canary instances. */
  startRelease(app: string, env: string, plan: { selector?: string; percentage?: number }, by: string): ConfigRelease {
    if ((plan.selector === undefined) === (plan.percentage === undefined)) {
      throw new InputError('E_BAD_PARAM', 'a release names its canaries by a label selector or by a percentage of instances: give one of selector and percentage', {});
    }
    if (plan.selector !== undefined) parseLabelSelector(plan.selector);
    if (plan.percentage !== undefined && !(plan.percentage > 0 && plan.percentage < 100)) {
      throw new InputError('E_BAD_PARAM', `percentage must be above 0 and below 100, not ${plan.percentage}`, { parameter: 'percentage' });
    }
    if (!this.#hasConfig(app, env)) throw configNotFound(app, env);
    const current = this.#releases.get(`${app}/${env}`);
    if (current?.state === 'active') {
      throw new ConflictError('E_RELEASE_ACTIVE', `release ${current.id} of ${app}/${env} is still active: promote or abort it first`, { release: current.id });
    }
    const release = this.#versions.createRelease({ app, env, ...plan, baselineId: this.#versions.maxId(), createdBy: by, createdAt: new Date().toISOString() });
    this.#releases.set(`${app}/${env}`, release);
    this.#auditRelease('config.release.started', by, release);
    return release;
  }

  /** Ends an active release: `promoted` gives every instance main's newest version; `aborted` keeps them all at the baseline until a newer version lands. */
  async endRelease(app: string, env: string, id: number, outcome: 'promoted' | 'aborted', by: string): Promise<ConfigRelease> {
    const release = this.#versions.release(id);
    if (!release || release.app !== app || release.env !== env) throw new NotFoundError('E_RELEASE_NOT_FOUND', `${app}/${env} has no release ${id}`, { release: id });
    const heldUntil = outcome === 'aborted' ? this.#versions.maxId() : undefined;
    if (!this.#versions.endRelease(id, outcome, heldUntil, by, new Date().toISOString())) {
      throw new ConflictError('E_RELEASE_ENDED', `release ${id} of ${app}/${env} already ended (${release.state})`, { release: id, state: release.state });
    }
    const ended = this.#versions.release(id)!;
    if (this.#releases.get(`${app}/${env}`)?.id === id) this.#releases.set(`${app}/${env}`, ended);
    this.#auditRelease(outcome === 'promoted' ? 'config.release.promoted' : 'config.release.aborted', by, ended);
    await this.#notify(`${app}/${env}`);
    return ended;
  }

  /** Releases of an app in an env, newest first, each with the versions at stake. */
  releases(app: string, env: string): ConfigRelease[] {
    return this.#versions.releases(app, env, 100);
  }

  /** Ends every watcher and long poll (the server is closing) and writes the instances. */
  close(): void {
    for (const timer of this.#timers) clearInterval(timer);
    for (const set of this.#watchers.values()) for (const watcher of set) watcher.socket.destroy();
    for (const set of this.#waiters.values()) for (const waiter of set) waiter.wake();
    this.flushInstances();
  }

  #hasConfig(app: string, env: string): boolean {
    const latest = this.#versions.latest(app, env, '');
    return latest !== undefined && !latest.removed;
  }

  async #notify(key: string): Promise<void> {
    const [app, env] = key.split('/') as [string, string];
    for (const waiter of [...(this.#waiters.get(key) ?? [])]) {
      if (this.target(app, env, waiter.caller)?.version.sha !== waiter.sha) waiter.wake();
    }
    const watchers = this.#watchers.get(key);
    if (watchers) await this.#push([...watchers]);
  }

  /**
   * Sends each watcher (all of one app and env) the versions it is due. The events are built
   * first, once per version, secrets state and release, then written in one synchronous pass;
   * without a gray release, what is due is worked out once per cluster and last version sent.
   */
  async #push(watchers: Watcher[]): Promise<void> {
    const first = watchers[0];
    if (!first) return;
    const release = this.#releases.get(`${first.app}/${first.env}`);
    const perInstance = release !== undefined && release.state !== 'promoted';
    const targets = new Map<string, ServedVersion | undefined>();
    // What is due, by target version id, then by the id of the version last sent.
    const dues = new Map<number, Map<number, EventEntry[][]>>();
    const events = new Map<number, EventEntry>();
    const plans: Array<{ watcher: Watcher; served: ServedVersion; events: EventEntry[] }> = [];
    for (const watcher of watchers) {
      const cluster = watcher.caller.cluster ?? '';
      let served: ServedVersion | undefined;
      if (perInstance) served = this.target(watcher.app, watcher.env, watcher.caller);
      else if (targets.has(cluster)) served = targets.get(cluster);
      else targets.set(cluster, (served = this.target(watcher.app, watcher.env, watcher.caller)));
      if (!served || served.version.id === watcher.lastId) continue;
      let byLast = dues.get(served.version.id);
      if (!byLast) dues.set(served.version.id, (byLast = new Map()));
      // Entries per secrets state: [without, with].
      let planned = byLast.get(watcher.lastId);
      if (!planned) byLast.set(watcher.lastId, (planned = []));
      const slot = watcher.secrets ? 1 : 0;
      if (!planned[slot]) {
        const list: EventEntry[] = [];
        for (const version of this.#due(watcher, served.version)) {
          const canary = version.id === served.version.id && served.release === 'canary';
          const key = version.id * 4 + slot * 2 + (canary ? 1 : 0);
          let entry = events.get(key);
          if (!entry) events.set(key, (entry = { event: this.#event(version, watcher.secrets, canary ? 'canary' : 'stable'), bytes: EMPTY }));
          list.push(entry);
        }
        planned[slot] = list;
      }
      plans.push({ watcher, served, events: planned[slot] });
    }
    for (const entry of events.values()) entry.bytes = await entry.event;
    const now = Date.now();
    for (const { watcher, served, events: planned } of plans) {
      watcher.lastId = served.version.id;
      watcher.last = served;
      watcher.lastWrite = now;
      const { socket } = watcher;
      if (socket.destroyed) continue;
      for (const entry of planned) socket.write(entry.bytes);
      if (socket.writableLength > MAX_BUFFERED_BYTES) socket.destroy();
    }
  }

  /** The versions a watcher is sent to reach `target`: those it missed, in order, or the target alone. */
  #due(watcher: Watcher, target: ConfigVersion): ConfigVersion[] {
    if (watcher.lastId === 0 || target.id < watcher.lastId) return [target];
    const list = this.#versions.between(target.app, target.env, target.cluster, watcher.lastId, target.id, MAX_CATCH_UP + 1);
    // Longer gaps than a catch-up allows (or versions of another cluster's file) get the target alone.
    if (list.length === 0 || list.length > MAX_CATCH_UP || list.at(-1)!.id !== target.id) return [target];
    // Versions an aborted release held back were never served: they are not caught up on.
    const release = this.#releases.get(`${watcher.app}/${watcher.env}`);
    if (release?.state !== 'aborted') return list;
    return list.filter((v) => !(v.id > release.baselineId && v.id <= (release.heldUntilId ?? 0)));
  }

  /** One SSE event for a version, as bytes (cached). */
  #event(version: ConfigVersion, secrets: boolean, release: ServedVersion['release']): Promise<Buffer> {
    const state = this.secretsState(version, secrets);
    const key = `${version.id}:${state}:${release}`;
    let event = this.#events.get(key);
    if (!event) {
      event = this.#buildEvent(version, state, release);
      event.catch(() => this.#events.delete(key));
      if (this.#events.size >= CACHE_LIMIT) this.#events.delete(this.#events.keys().next().value!);
      this.#events.set(key, event);
    }
    return event;
  }

  async #buildEvent(version: ConfigVersion, state: SecretsState, release: ServedVersion['release']): Promise<Buffer> {
    if (version.removed) {
      return Buffer.from(`id: ${version.sha}\nevent: removed\ndata: ${JSON.stringify({ app: version.app, env: version.env, version: version.sha, seq: version.seq })}\n\n`);
    }
    let config: Record<string, unknown>;
    let secretsState: SecretsState = state;
    try {
      config = await this.values(version, state === 'included');
    } catch (error) {
      if (!hasErrorCode(error, 'E_SECRETS_UNAVAILABLE')) throw error;
      config = version.config.values;
      secretsState = 'withheld';
    }
    const data = { app: version.app, env: version.env, ...(version.cluster ? { cluster: version.cluster } : {}), version: version.sha, seq: version.seq, secrets: secretsState, release, config };
    return Buffer.from(`id: ${version.sha}\nevent: config\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Writes a heartbeat to the watchers of one slice that were not written to for about a period. */
  #heartbeat(slice: number, periodMs: number): void {
    const due = Date.now() - periodMs + periodMs / HEARTBEAT_SLICES;
    for (const set of this.#watchers.values()) {
      for (const watcher of set) {
        if (watcher.slice !== slice || watcher.lastWrite > due || watcher.socket.destroyed) continue;
        watcher.socket.write(HEARTBEAT);
        watcher.lastWrite = Date.now();
      }
    }
  }

  #decrypted(version: ConfigVersion): Promise<Record<string, string>> {
    let values = this.#secrets.get(version.id);
    if (!values) {
      const file = version.secrets!;
      values = decryptSecrets(file.text, this.#options.identities(), file.path).catch((error: unknown) => {
        this.#secrets.delete(version.id);
        if (hasErrorCode(error, 'E_SECRET_DECRYPT') || hasErrorCode(error, 'E_SECRET_IDENTITY')) {
          throw new ConflictError(
            'E_SECRETS_UNAVAILABLE',
            `the server cannot decrypt ${file.path}: add its age recipient ${this.#options.recipient()} to the environment's recipients in estate.yaml, then run: estate secret rotate ${version.app} ${version.env}`,
            { file: file.path, recipient: this.#options.recipient() },
          );
        }
        throw error;
      });
      if (this.#secrets.size >= CACHE_LIMIT) this.#secrets.delete(this.#secrets.keys().next().value!);
      this.#secrets.set(version.id, values);
    }
    return values;
  }

  #cached(key: string, make: () => Promise<string>): Promise<string> {
    let value = this.#rendered.get(key);
    if (!value) {
      value = make();
      value.catch(() => this.#rendered.delete(key));
      if (this.#rendered.size >= CACHE_LIMIT * 4) this.#rendered.delete(this.#rendered.keys().next().value!);
      this.#rendered.set(key, value);
    }
    return value;
  }

  #stableVersion(app: string, env: string, cluster: string, baselineId: number): ConfigVersion | undefined {
    const key = `${streamKey(app, env, cluster)}:${baselineId}`;
    if (!this.#stable.has(key)) {
      if (this.#stable.size >= CACHE_LIMIT) this.#stable.clear();
      const version = this.#versions.atOrBefore(app, env, cluster, baselineId);
      this.#stable.set(key, version?.removed ? undefined : version);
    }
    return this.#stable.get(key);
  }

  #instanceMap(app: string, env: string): Map<string, InstanceRecord> {
    const key = `${app}/${env}`;
    let map = this.#instances.get(key);
    if (!map) this.#instances.set(key, (map = new Map()));
    return map;
  }

  #auditRelease(event: 'config.release.started' | 'config.release.promoted' | 'config.release.aborted', by: string, release: ConfigRelease): void {
    this.#options.audit?.append({
      actor: by,
      event,
      subject: `config/${release.app}/${release.env}`,
      details: { release: release.id, ...(release.selector !== undefined ? { selector: release.selector } : {}), ...(release.percentage !== undefined ? { percentage: release.percentage } : {}) },
    });
  }
}

/** E_CONFIG_NOT_FOUND for an app and env without config. */
export function configNotFound(app: string, env: string): NotFoundError {
  return new NotFoundError('E_CONFIG_NOT_FOUND', `no config for app '${app}' in environment '${env}' on main`, { app, env });
}

/** What the instances list says of an instance that was served `served`. */
function instanceRecord(instance: string, caller: ConfigCaller, served: ServedVersion, via: InstanceRecord['via'], lastSeen: string): InstanceRecord {
  return { instance, labels: caller.labels ?? {}, version: served.version.sha, release: served.release, lastSeen, via };
}

/**
 * Whether an instance is a canary of a release: its labels match the selector, or its sticky
 * bucket (a hash of app, env and instance id, 0–9999) falls under the percentage. Raising the
 * percentage keeps every canary a canary. Callers that name no instance are never canaries.
 */
export function inCanary(release: Pick<ConfigRelease, 'selector' | 'percentage'>, app: string, env: string, caller: ConfigCaller): boolean {
  if (caller.instance === undefined) return false;
  if (release.selector !== undefined) return matchesSelector(parsedSelector(release.selector), caller.labels ?? {});
  const bucket = createHash('sha256').update(`${app}/${env}/${caller.instance}`).digest().readUInt32BE(0) % 10_000;
  return bucket < (release.percentage ?? 0) * 100;
}

const selectors = new Map<string, LabelSelector>();

/** A release's selector, parsed once (every watcher of its config is matched against it at each push). */
function parsedSelector(text: string): LabelSelector {
  let selector = selectors.get(text);
  if (!selector) {
    if (selectors.size >= CACHE_LIMIT) selectors.clear();
    selectors.set(text, (selector = parseLabelSelector(text)));
  }
  return selector;
}

/** Sets a nested value, replacing what is in the way (a secret wins over a plain value). */
function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  if (path.some((segment) => segment === '__proto__' || segment === 'constructor' || segment === 'prototype')) return;
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}
