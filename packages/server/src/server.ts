import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConflictError, EstateError, InputError, MemoryParseCache } from '@estate/core';
import { GitCliRepo, initRepo, loadCommitPolicies, runGit } from '@estate/git';
import Database from 'better-sqlite3';
import { AuditLog } from './audit/AuditLog.js';
import { registerAuditRoutes } from './audit/auditRoutes.js';
import { registerChangeRoutes } from './changes/changeRoutes.js';
import { ConfigIndex } from './config/ConfigIndex.js';
import { registerConfigRoutes } from './config/configRoutes.js';
import { registerConfigSourcesRoutes } from './config/configSourcesRoutes.js';
import { ConfigService } from './config/ConfigService.js';
import { ConfigVersionStore } from './config/ConfigVersionStore.js';
import { loadServerIdentities } from './config/serverIdentity.js';
import { changePushHandler } from './changes/changePushHandler.js';
import { ChangeService } from './changes/ChangeService.js';
import { RevisionReader } from './changes/RevisionReader.js';
import { SqliteChangeStore } from './changes/SqliteChangeStore.js';
import { DriftActions } from './drift/DriftActions.js';
import { registerDriftActionRoutes } from './drift/driftActionRoutes.js';
import { DriftAlerts, type DriftAlertOptions } from './drift/DriftAlerts.js';
import { DriftEngine, type DriftOptions } from './drift/DriftEngine.js';
import { registerDesiredRoutes } from './drift/desiredRoutes.js';
import { registerDriftRoutes } from './drift/driftRoutes.js';
import { registerDriftOverviewRoutes } from './drift/driftOverviewRoutes.js';
import { DriftStore } from './drift/DriftStore.js';
import { ShadowChanges } from './drift/ShadowChanges.js';
import { enforcementRecorder } from './drift/recordEnforcement.js';
import { registerGitHttp } from './gitHttp/registerGitHttp.js';
import { registerFacetRoutes } from './facets/facetRoutes.js';
import { lastDriftEventId, registerEventRoutes } from './events/eventRoutes.js';
import { LiveEvents } from './events/LiveEvents.js';
import { AssetTimeline } from './timeline/AssetTimeline.js';
import { FirstReports } from './timeline/FirstReports.js';
import { registerTimelineRoutes } from './timeline/timelineRoutes.js';
import { buildApp } from './http/app.js';
import { CoalescedRun } from './indexer/CoalescedRun.js';
import { Indexer } from './indexer/Indexer.js';
import { registerIngestRoutes } from './ingest/ingestRoutes.js';
import { compileIngestOptions, IngestService, type IngestOptions } from './ingest/IngestService.js';
import { IngestThread } from './ingest/IngestThread.js';
import type { Ingest } from './ingest/types.js';
import { SqliteIngestStore } from './ingest/SqliteIngestStore.js';
import { registerWebhookRoutes } from './webhooks/webhookRoutes.js';
import { WebhookDispatcher } from './webhooks/WebhookDispatcher.js';
import { openSqliteStore } from './store/sqliteStore.js';
import type { Store, TokenRecord } from './store/Store.js';

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** Where the server keeps its repo, store and lock. */
  dataDir: string;
  /** An existing bare repository to serve instead of `<dataDir>/estate.git`. */
  repo?: string;
  /** Seeds a new `<dataDir>/estate.git` from this repository (path or URL). */
  importFrom?: string;
  host?: string;
  /** 0 picks a free port. Default 7780. */
  port?: number;
  /** Serve reads without a token (demos). */
  openRead?: boolean;
  /** How often the branch is checked besides watching it; default 1000 ms. */
  pollMs?: number;
  /** Human-readable events (indexing progress, warnings). */
  log?: (level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>) => void;
  /** The URL users reach the server at, for links in messages (default: the listening address). */
  publicUrl?: string;
  /** Environment variables webhook secrets are read from (default: the process's). */
  env?: Record<string, string | undefined>;
  /** Report ingestion: backlog bound, batch sizes, report processors (docs/ingest.md). */
  ingest?: Partial<IngestOptions>;
  /**
   * Queue and apply reports in a worker thread of their own (default true; docs/ingest.md#the-ingest-thread).
   * Extra `ingest.processors` need it off (functions do not cross to another thread); the thread
   * takes them as {@link ServeOptions.ingestProcessorModules}.
   */
  ingestThread?: boolean;
  /** Modules (file URLs) whose `processor` export the ingest thread runs after the built-in report processors. */
  ingestProcessorModules?: string[];
  /** The drift engine: the stale threshold (docs/drift.md). */
  drift?: Partial<DriftOptions>;
  /** Drift alerts to the webhooks: windows and limits (docs/drift.md#alerts). */
  alerts?: Partial<DriftAlertOptions>;
}

/** A server that is listening. */
export interface RunningServer {
  /** `http://host:port` as bound. */
  url: string;
  dataDir: string;
  repoDir: string;
  store: Store;
  indexer: Indexer;
  changes: ChangeService;
  audit: AuditLog;
  webhooks: WebhookDispatcher;
  config: ConfigService;
  configIndex: ConfigIndex;
  ingest: Ingest;
  drift: DriftEngine;
  /** Drift items, unmanaged hosts, the drift event log and revert requests (in ingest.db). */
  driftStore: DriftStore;
  /** Drift, stale-host and dead-letter alerts to the webhooks (docs/drift.md#alerts). */
  alerts: DriftAlerts;
  /** Shadow mode's change requests, one per host (docs/drift.md#shadow). */
  shadow: ShadowChanges;
  /** The server's age recipient: estate.yaml lists it so the server can decrypt config secrets. */
  secretsRecipient: string;
  /** Stops listening and indexing, and releases the data dir. */
  close(): Promise<void>;
}

/** The default port of `estate serve`. */
export const DEFAULT_PORT = 7780;
/** How long a merge waits for the indexer to show it before answering. */
const INDEX_WAIT_MS = 5_000;
/** How long stopping waits for open connections to finish before cutting them. */
const CLOSE_GRACE_MS = 2_000;
/** How often open change requests are checked against a moved main. */
const FOLLOW_MS = 500;

/**
 * Opens the data dir's store file for the state that is not a cache of Git (change requests,
 * audit trail, webhooks): a second connection beside the read model's, in WAL mode with every commit
 * synced, waiting up to 10 s for another writer (another process, such as `estate token create`).
 */
export function openWorkflowDb(dataDir: string): Database.Database {
  const db = new Database(join(dataDir, 'estate.db'), { timeout: 10_000 });
  db.pragma('journal_mode = WAL');
  // FULL: an acknowledged approval, merge record or audit entry survives a power loss too.
  db.pragma('synchronous = FULL');
  return db;
}

/** Waits for `promise` at most `ms`; never rejects (the caller answers either way). */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * Starts the Estate server: takes the data dir's lock, opens (or creates, or imports) the bare
 * estate repo and the SQLite store, listens, and follows `main`. Indexing runs in the background;
 * `/readyz` tells when the first commit is indexed.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const lock = await lockDataDir(dataDir);
  const cleanup: Array<() => Promise<unknown>> = [() => lock.release()];
  const undo = async (): Promise<void> => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  };
  try {
    const repo = await openEstateRepo(dataDir, options);
    cleanup.push(() => repo.close());
    const store = await openDataStore(dataDir);
    cleanup.push(() => store.close());
    const log = options.log ?? (() => undefined);
    const cache = new MemoryParseCache();
    const identities = await loadServerIdentities(dataDir);
    log('info', `config secrets: the server's age recipient is ${identities.recipient}`);
    const workflowDb = openWorkflowDb(dataDir);
    cleanup.push(async () => workflowDb.close());
    const audit = new AuditLog(workflowDb);
    const records = new SqliteChangeStore(workflowDb);
    const webhooks = new WebhookDispatcher(workflowDb, { log, ...(options.env ? { env: options.env } : {}) });
    const configVersions = new ConfigVersionStore(workflowDb);
    const config = new ConfigService({ versions: configVersions, identities: () => identities.identities, recipient: () => identities.recipient, audit, log });
    const configIndex = new ConfigIndex({
      repo,
      store,
      versions: configVersions,
      identities: () => identities.identities,
      onVersions: (versions) => {
        config.onVersions(versions).catch((error: unknown) => log('error', `pushing config versions failed: ${(error as Error).message}`));
      },
      log,
    });
    cleanup.push(async () => config.close());
    cleanup.push(() => webhooks.stop());
    // Reports go to their own file: their fsyncs do not wait on the workflow database's writers.
    const inThread = options.ingestThread ?? true;
    const ingestFile = join(dataDir, 'ingest.db');
    // With the ingest thread, this connection reads (and writes what users do); the thread's checkpoints the WAL.
    const ingestStore = new SqliteIngestStore(ingestFile, { log: (message) => log('warn', message), checkpoint: !inThread });
    cleanup.push(async () => ingestStore.close());
    // Drift is recorded in ingest.db by a report processor, in the transaction that applies the report.
    const driftStore = new DriftStore(ingestStore.db);
    // Each host's first report, for its timeline (host_observations keeps only the latest).
    const firstReports = new FirstReports(ingestStore.db);
    // The live event stream (GET /api/v1/events): main moving, change requests, new drift events.
    const live = new LiveEvents({ drift: driftStore, driftAfterId: lastDriftEventId(ingestStore.db) });
    cleanup.push(async () => live.close());
    let ingest: Ingest;
    let drift: DriftEngine;
    if (inThread) {
      const thread = await IngestThread.start(ingestFile, compileIngestOptions({ log, ...options.ingest }), { drift: options.drift ?? {}, processorModules: options.ingestProcessorModules ?? [] });
      ingest = thread;
      drift = new DriftEngine(driftStore, { repo, log, evaluateAll: (snapshot) => thread.evaluateAll(snapshot) }, options.drift);
    } else {
      drift = new DriftEngine(driftStore, { repo, log }, options.drift);
      ingest = new IngestService(ingestStore, { log, ...options.ingest, processors: [enforcementRecorder(driftStore, () => drift.commit?.sha), drift.processor, firstReports.processor, ...(options.ingest?.processors ?? [])] });
    }
    // Runs after the app closed (no new reports): commits the pending ones and drains the queue.
    cleanup.push(async () => ingest.close());
    const followConfig = (): void => {
      configIndex.sync().catch((error: unknown) => log('error', `reading config from main failed; retrying on the next commit: ${(error as Error).message}`));
    };
    let stopping = false;
    const driftRefresh = new CoalescedRun(async () => {
      const head = await store.head();
      if (head) await drift.refresh(head, store, (sha) => loadCommitPolicies(repo, sha));
    }, () => !stopping);
    const followDrift = (): void => {
      driftRefresh.run().catch((error: unknown) => log('error', `drift: reading the declared hosts failed; retrying on the next commit: ${(error as Error).message}`));
    };
    const indexer = new Indexer(repo, store, {
      cache,
      onIndexed: (commits) => {
        configIndex.report(commits);
        live.mainMoved(commits);
        followConfig();
        followDrift();
      },
      ...(options.pollMs ? { pollMs: options.pollMs } : {}),
      log,
      onProgress: progressLogger(log),
    });
    cleanup.push(() => indexer.stop());

    let url = options.publicUrl ?? '';
    const publicUrl = (): string => url;
    // Alerts read the drift event log and the dead letters of ingest.db and dispatch to the webhooks.
    const alerts = new DriftAlerts({ db: ingestStore.db, drift: driftStore, engine: drift, webhooks, publicUrl }, { log, ...options.alerts });
    cleanup.push(async () => alerts.stop());
    const changes = new ChangeService({
      repo,
      changes: records,
      audit,
      webhooks,
      onEvent: (event) => live.publish(event.type, event.data),
      reader: new RevisionReader(repo, cache),
      waitForIndexed: () => withTimeout(indexer.sync(), INDEX_WAIT_MS),
      publicUrl,
      log,
    });
    await changes.recover();
    const driftActions = new DriftActions({ drift: driftStore, store, changes, audit });
    const shadow = new ShadowChanges({ db: ingestStore.db, drift: driftStore, engine: drift, actions: driftActions, changes, audit, log });
    drift.onEvaluated(() => shadow.kick());
    if (ingest instanceof IngestThread) ingest.onEvaluated(() => shadow.kick());
    cleanup.push(() => shadow.stop());
    const governedSince = changes.governedSince(await repo.tryResolveCommit('refs/heads/main'));
    const governedFromSeq = async (): Promise<number> => {
      if (governedSince === '') return 0;
      const commit = await store.findCommit(governedSince);
      // Until that commit is indexed, everything indexed is older than it.
      return commit ? commit.seq + 1 : Number.MAX_SAFE_INTEGER;
    };
    const timeline = new AssetTimeline({ store, db: ingestStore.db, drift: driftStore, firstReports, changes, governedFromSeq, repo });

    // Refused writes are audited (refused reads are not: they change nothing). Over git, a refused
    // push already fails at its GET of the ref list (a fetch only needs viewer).
    const auditDenied = (token: TokenRecord, request: { method: string; url: string; required: string }): void => {
      if ((request.method === 'GET' || request.method === 'HEAD') && !request.url.startsWith('/estate.git')) return;
      audit.append({ actor: token.name, event: 'access.denied', subject: `route/${request.method} ${request.url}`, details: { role: token.role, required: request.required, tokenId: token.id } });
    };
    // Warnings and errors of the HTTP layer (a 500's cause) go to stderr as JSON lines.
    const app = await buildApp({
      store,
      status: () => indexer.status(),
      openRead: options.openRead ?? false,
      logger: { level: 'warn', stream: process.stderr },
      onDenied: (token, request) => auditDenied(token, request),
      extend: (instance, ctx) => {
        registerChangeRoutes(instance, { changes, store, governedFromSeq });
        registerAuditRoutes(instance, { audit });
        registerEventRoutes(instance, { events: live });
        registerFacetRoutes(instance, ctx);
        registerConfigRoutes(instance, { service: config, versions: configVersions, index: configIndex, store, recipient: () => identities.recipient });
        registerConfigSourcesRoutes(instance, { service: config, versions: configVersions, index: configIndex, store, audit });
        instance.addHook('preClose', async () => config.close());
        registerWebhookRoutes(instance, { webhooks, audit });
        registerIngestRoutes(instance, { ingest, store: ingestStore });
        ctx.metrics.gauges.push(() => ingest.metrics());
        registerDriftRoutes(instance, { engine: drift, drift: driftStore });
        registerDriftOverviewRoutes(instance, { db: ingestStore.db, engine: drift, store });
        registerDriftActionRoutes(instance, { actions: driftActions, engine: drift });
        registerTimelineRoutes(instance, { timeline, store, kinds: ctx.kinds });
        registerDesiredRoutes(instance, { engine: drift, drift: driftStore, store, repo });
        ctx.metrics.gauges.push(() => drift.metrics());
        ctx.metrics.gauges.push(() => alerts.metrics());
        registerGitHttp(instance, {
          repoDir: repo.gitDir,
          hooksDir: join(dataDir, 'git-hooks'),
          tokens: store,
          openRead: options.openRead ?? false,
          handler: changePushHandler({ repo, changes, records, publicUrl }),
          publicUrl,
          onDenied: (token, request) => auditDenied(token, request),
        });
        ctx.metrics.gauges.push(() => {
          const pending = changes.reviews(true);
          return [
            { name: 'estate_emergency_reviews_pending', help: 'Emergency changes whose post-merge review nobody acknowledged yet.', value: pending.length },
            { name: 'estate_emergency_reviews_overdue', help: 'Emergency changes whose post-merge review is past due (24 h).', value: pending.filter((r) => r.overdue).length },
            { name: 'estate_change_requests_active', help: 'Change requests open or approved.', value: records.list({ state: 'active', limit: 100_000 }).length },
            { name: 'estate_config_watchers', help: 'Open config watch (SSE) connections.', value: config.watcherCount },
            { name: 'estate_config_held', help: 'Configs held at their last good version because their files at main have problems.', value: configIndex.problems().size },
          ];
        });
      },
    });
    // Connections still open after a grace period (a client that connected and never sent a
    // request, a stuck one) are cut, so that stopping never hangs.
    cleanup.push(async () => {
      const force = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
      try {
        await app.close();
      } finally {
        clearTimeout(force);
      }
    });
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? DEFAULT_PORT });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const host = options.host ?? '127.0.0.1';
    const listening = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    url ||= listening;
    indexer.start();
    followConfig();
    followDrift();
    webhooks.start();
    alerts.start();
    // Checks of open change requests follow main; estate.yaml's webhooks too.
    let configuredFor: string | undefined;
    const follow = async (): Promise<void> => {
      changes.announceOverdueReviews();
      await changes.recheckIfMainMoved(() => indexer.status().mainSha);
      const main = indexer.status().mainSha;
      if (main !== undefined && main !== configuredFor) {
        configuredFor = main;
        const config = (await changes.estateAt(main).catch(() => undefined))?.config;
        webhooks.setConfigured(config?.webhooks ?? []);
      }
    };
    let following: Promise<void> | undefined;
    const timer = setInterval(() => {
      following ??= follow()
        .catch((error: unknown) => log('warn', `following main for change requests failed: ${(error as Error).message}`))
        .finally(() => (following = undefined));
    }, FOLLOW_MS);
    timer.unref();
    // First of the cleanup steps: nothing may touch the store once it closes.
    cleanup.push(async () => {
      clearInterval(timer);
      await following;
      await changes.idle();
      await indexer.stop();
      await configIndex.idle();
      stopping = true;
      await driftRefresh.idle();
    });
    return {
      url: listening,
      dataDir,
      repoDir: repo.gitDir,
      store,
      indexer,
      changes,
      audit,
      webhooks,
      config,
      configIndex,
      ingest,
      drift,
      driftStore,
      alerts,
      shadow,
      secretsRecipient: identities.recipient,
      close: undo,
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** Options of {@link reindex}. */
export interface ReindexOptions {
  dataDir: string;
  repo?: string;
  onProgress?: (done: number, total: number) => void;
}

/** What {@link reindex} did. */
export interface ReindexResult {
  /** Commits indexed (main's first-parent history). */
  commits: number;
  /** Assets at the head. */
  assets: number;
  seconds: number;
  /** Seconds until the first commit (the whole estate of the oldest commit) was in the store. */
  firstCommitSeconds: number | undefined;
}

/**
 * Rebuilds the read model from the repo: forgets every indexed commit (tokens stay) and indexes
 * main's first-parent history again. Refused while a server holds the data dir.
 */
export async function reindex(options: ReindexOptions): Promise<ReindexResult> {
  const started = performance.now();
  const dataDir = resolve(options.dataDir);
  if (!existsSync(dataDir)) throw new InputError('E_NO_DATA_DIR', `data dir '${dataDir}' does not exist; start the server once with --data ${options.dataDir}`, { dataDir });
  const lock = await lockDataDir(dataDir);
  try {
    if (options.repo === undefined && !existsSync(join(dataDir, 'estate.git'))) {
      throw new InputError('E_NOT_A_REPO', `'${dataDir}' has no estate.git; name the repository the server serves with --repo`, { dataDir });
    }
    const repo = await openEstateRepo(dataDir, { repo: options.repo });
    const store = await openDataStore(dataDir);
    try {
      await store.clearIndex();
      let firstCommitSeconds: number | undefined;
      const onProgress = (done: number, total: number): void => {
        firstCommitSeconds ??= (performance.now() - started) / 1000;
        options.onProgress?.(done, total);
      };
      await new Indexer(repo, store, { onProgress }).sync();
      const head = await store.head();
      const assets = head ? Object.values(await store.countByKind(head.seq)).reduce((a, b) => a + b, 0) : 0;
      return { commits: head?.seq ?? 0, assets, seconds: (performance.now() - started) / 1000, firstCommitSeconds };
    } finally {
      await store.close();
      await repo.close();
    }
  } finally {
    await lock.release();
  }
}

/**
 * Opens the data dir's store, for token commands and the server. With `create: false` a data
 * dir without a store is refused (`E_NO_DATA_DIR`): a mistyped `--data` must not quietly make a
 * new store. The store's files are readable by their owner only (they hold token hashes).
 */
export async function openDataStore(dataDir: string, options: { create?: boolean } = {}): Promise<Store> {
  const file = join(dataDir, 'estate.db');
  if (!existsSync(file)) {
    if (options.create === false) {
      throw new InputError('E_NO_DATA_DIR', `'${dataDir}' holds no Estate store (estate.db); name the server's data dir with --data (estate serve creates it)`, { dataDir });
    }
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // SQLite gives its -wal and -shm files the database file's mode.
    await writeFile(file, '', { mode: 0o600, flag: 'a' });
  }
  await chmod(file, 0o600);
  return openSqliteStore(file);
}

/** The bare repository the server serves: `--repo`, an import, or `<dataDir>/estate.git`. */
async function openEstateRepo(dataDir: string, options: { repo?: string; importFrom?: string }): Promise<GitCliRepo> {
  if (options.repo !== undefined && options.importFrom !== undefined) {
    throw new InputError('E_USAGE', '--repo and --import exclude each other: --import seeds the data dir\'s own repository');
  }
  if (options.repo !== undefined) {
    const repo = await GitCliRepo.open(resolve(options.repo));
    // The .git dir of a checkout opens without a work tree too; core.bare tells them apart.
    if (!repo.bare || (await runGit(['rev-parse', '--is-bare-repository'], { cwd: repo.gitDir })).toString().trim() !== 'true') {
      await repo.close();
      throw new InputError('E_NOT_BARE', `'${options.repo}' has a work tree; the server needs a bare repository. Make one with: git clone --bare ${options.repo} ${options.repo.replace(/\/+$/, '')}.git (or serve it with --import ${options.repo})`, { repo: options.repo });
    }
    return repo;
  }
  const dir = join(dataDir, 'estate.git');
  if (options.importFrom !== undefined) {
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      throw new ConflictError('E_EXISTS', `${dir} already exists; drop --import to serve it, or import into another --data dir`, { repo: dir });
    }
    await runGit(['clone', '--bare', '--quiet', '--', options.importFrom, dir], { cwd: dataDir });
    const repo = await GitCliRepo.open(dir);
    if ((await repo.tryResolveCommit('refs/heads/main')) === undefined) {
      await repo.close();
      await rm(dir, { recursive: true, force: true });
      throw new InputError('E_NO_MAIN', `'${options.importFrom}' has no branch 'main'; Estate follows main (rename yours with: git branch -m <branch> main)`, { source: options.importFrom });
    }
    return repo;
  }
  return existsSync(dir) ? GitCliRepo.open(dir) : initRepo(dir, { bare: true });
}

/**
 * Reports a long indexing run now and then (every 5 s, and at its end when it took longer):
 * a cold index of a big estate must not look like a hang.
 */
function progressLogger(log: NonNullable<ServeOptions['log']>): (done: number, total: number) => void {
  let started: number | undefined;
  let lastReport = 0;
  return (done, total) => {
    const now = performance.now();
    if (started === undefined || done <= 1) started = now - 1;
    const finished = done >= total;
    if (now - lastReport < 5000 && !(finished && now - started > 5000)) return;
    lastReport = now;
    const seconds = ((now - started) / 1000).toFixed(1);
    log('info', finished ? `indexed ${total} commits of main in ${seconds} s` : `indexing main: ${done}/${total} commits (${seconds} s)`);
  };
}

/** Data dirs this process holds: a second holder in the same process is refused too. */
const heldDataDirs = new Set<string>();

/**
 * Takes the data dir's lock so two processes never index into the same store: an exclusive lock
 * on `<dataDir>/server.lock` (an SQLite file), which the operating system releases when the holder
 * dies, so a lock is never left behind. `server.pid` names the holder for the error message.
 */
async function lockDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  const pidFile = join(dataDir, 'server.pid');
  const refuse = async (cause?: unknown): Promise<never> => {
    const pid = (await readFile(pidFile, 'utf8').catch(() => '')).trim();
    const who = /^\d+$/.test(pid) ? `process ${pid}` : 'another process';
    throw new EstateError('E_DATA_DIR_LOCKED', `data dir '${dataDir}' is in use by ${who} (an estate server or reindex); stop it first`, { dataDir, ...(pid ? { pid: Number(pid) } : {}) }, { cause });
  };
  if (heldDataDirs.has(dataDir)) return refuse();
  const lock = new Database(join(dataDir, 'server.lock'), { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); COMMIT');
  } catch (err) {
    lock.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return refuse(err);
    throw err;
  }
  heldDataDirs.add(dataDir);
  await writeFile(pidFile, `${process.pid}\n`, { mode: 0o600 });
  return {
    release: async () => {
      if (!heldDataDirs.delete(dataDir)) return;
      await rm(pidFile, { force: true });
      lock.close();
    },
  };
}
