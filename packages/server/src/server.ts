import { existsSync, readdirSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConflictError, EstateError, InputError, MemoryParseCache } from '@estate/core';
import { GitCliRepo, initRepo, runGit } from '@estate/git';
import { buildApp } from './http/app.js';
import { Indexer } from './indexer/Indexer.js';
import { openSqliteStore } from './store/sqliteStore.js';
import type { Store } from './store/Store.js';

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
}

/** A server that is listening. */
export interface RunningServer {
  /** `http://host:port` as bound. */
  url: string;
  dataDir: string;
  repoDir: string;
  store: Store;
  indexer: Indexer;
  /** Stops listening and indexing, and releases the data dir. */
  close(): Promise<void>;
}

/** The default port of `estate serve`. */
export const DEFAULT_PORT = 7780;

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
    const indexer = new Indexer(repo, store, { cache: new MemoryParseCache(), ...(options.pollMs ? { pollMs: options.pollMs } : {}), ...(options.log ? { log: options.log } : {}) });
    cleanup.push(() => indexer.stop());
    const app = await buildApp({ store, status: () => indexer.status(), openRead: options.openRead ?? false });
    cleanup.push(() => app.close());
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? DEFAULT_PORT });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const host = options.host ?? '127.0.0.1';
    indexer.start();
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      dataDir,
      repoDir: repo.gitDir,
      store,
      indexer,
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

/** Opens the data dir's store (made if missing), for token commands and the server. */
export async function openDataStore(dataDir: string): Promise<Store> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  return openSqliteStore(join(dataDir, 'estate.db'));
}

/** The bare repository the server serves: `--repo`, an import, or `<dataDir>/estate.git`. */
async function openEstateRepo(dataDir: string, options: { repo?: string; importFrom?: string }): Promise<GitCliRepo> {
  if (options.repo !== undefined && options.importFrom !== undefined) {
    throw new InputError('E_USAGE', '--repo and --import exclude each other: --import seeds the data dir\'s own repository');
  }
  if (options.repo !== undefined) {
    const repo = await GitCliRepo.open(resolve(options.repo));
    if (!repo.bare) {
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
 * Takes `<dataDir>/server.lock` (holding the owner's pid) so two processes never index into the
 * same store. A lock left by a process that died is taken over.
 */
async function lockDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  const file = join(dataDir, 'server.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => rm(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new EstateError('E_DATA_DIR_LOCKED', `data dir '${dataDir}' is in use by process ${pid} (an estate server or reindex); stop it first`, { dataDir, pid });
      }
      await rm(file, { force: true });
    }
  }
  throw new EstateError('E_DATA_DIR_LOCKED', `could not lock data dir '${dataDir}'`, { dataDir });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
