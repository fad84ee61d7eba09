import {
  buildKindRegistry,
  CONFIG_PREFIX,
  decryptSecrets,
  hasErrorCode,
  isConfigPath,
  loadConfigFiles,
  parseSecretsFile,
  parseYamlFile,
  readEstateConfig,
  resolveConfig,
  type ConfigSet,
  type EstateConfig,
} from '@estate/core';
import { runGit, type GitCliRepo } from '@estate/git';
import { CoalescedRun } from '../indexer/CoalescedRun.js';
import type { IndexedCommit } from '../indexer/Indexer.js';
import type { Store } from '../store/Store.js';
import type { ConfigVersion, ConfigVersionStore, NewConfigVersion, StoredConfig } from './ConfigVersionStore.js';
import { streamKey } from './ConfigVersionStore.js';

/** Options of {@link ConfigIndex}. */
export interface ConfigIndexOptions {
  repo: GitCliRepo;
  /** The read model: which commits of main are indexed, and their numbers. */
  store: Pick<Store, 'head' | 'findCommit'>;
  versions: ConfigVersionStore;
  /** The server's age identities, to check the MAC of secrets files it can read. */
  identities: () => readonly string[];
  /** Called with the versions each run appended (in order), once they are stored. */
  onVersions?: (versions: ConfigVersion[]) => void;
  log?: (level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>) => void;
}

/** A config's snapshot at one commit, before it is compared with the stored versions. */
interface Snapshot {
  app: string;
  env: string;
  cluster: string;
  config: StoredConfig;
  secrets?: { path: string; text: string };
}

const ESTATE_FILE = 'estate.yaml';
/** Files whose change can change a served config. */
const CONFIG_PATHS = ['config', ESTATE_FILE];
/** Reported commits kept at most while a run is going (beyond, git is asked). */
const MAX_REPORTED = 10_000;
/** Commits of main read per transaction while catching up. */
const COMMITS_PER_APPEND = 50;

/**
 * Turns the commits of main the read model has indexed into config versions: for each commit that
 * changed `config/` or `estate.yaml`, every app's config in every env (and cluster with a file of
 * its own) is resolved, and a version is appended for each config whose values or secrets file
 * changed. A config whose files have problems (syntax, schema, a secrets file failing its MAC)
 * keeps its last good version, with a warning: a broken push never reaches applications. Serving
 * reads these versions only; Git stays off the request path.
 */
export class ConfigIndex {
  readonly #options: ConfigIndexOptions;
  readonly #run = new CoalescedRun(() => this.#syncOnce());
  /** Problems that hold a config at its last good version, by stream key. */
  readonly #problems = new Map<string, string[]>();
  #reported: IndexedCommit[] = [];
  /** Blob ids of estate.yaml and the config files at commit `sha`, kept up to date from the indexer's changes. */
  #files: { sha: string; oids: Map<string, string> } | undefined;

  constructor(options: ConfigIndexOptions) {
    this.#options = options;
  }

  /** True once main has been read at least once (before that, no config can be answered for). */
  ready(): boolean {
    return this.#options.versions.progress() !== undefined;
  }

  /** Why configs are held at an older version (their files at main have problems), by `app/env/cluster`. */
  problems(): ReadonlyMap<string, string[]> {
    return this.#problems;
  }

  /** Reads up to the read model's head; calls during a run cause one more run after it. */
  sync(): Promise<void> {
    return this.#run.run();
  }

  /** Resolves when no run is going (before the store closes). */
  async idle(): Promise<void> {
    await this.#run.idle();
  }

  /**
   * Hands over the commits the indexer just stored: when they continue from where this index
   * stopped, only those that changed config are read, without asking git which ones did.
   */
  report(commits: readonly IndexedCommit[]): void {
    this.#reported.push(...commits);
    if (this.#reported.length > MAX_REPORTED) this.#reported.splice(0, this.#reported.length - MAX_REPORTED);
  }

  async #syncOnce(): Promise<void> {
    const { versions } = this.#options;
    const reported = this.#reported;
    this.#reported = [];
    const head = await this.#options.store.head();
    if (!head) return;
    const progress = versions.progress();
    if (progress?.sha === head.sha) return;
    const commits = (progress && fromReports(reported, progress.sha, head.sha)) ?? (await this.#commitsFromGit(head.sha, progress?.sha));
    // The files known at the last commit read hold until the next commit that changes them.
    let filesValid = this.#files !== undefined && this.#files.sha === progress?.sha;
    for (let start = 0; start < commits.length; start += COMMITS_PER_APPEND) {
      const batch = commits.slice(start, start + COMMITS_PER_APPEND);
      const appended: NewConfigVersion[] = [];
      const latest = new Map<string, NewConfigVersion>();
      for (const commit of batch) {
        const snapshots = await this.#snapshotsAt(commit, filesValid);
        filesValid = true;
        const seen = new Set<string>();
        const meta = { sha: commit.sha, commitSeq: commit.seq, committedAt: commit.committerDate, author: commit.authorName };
        for (const snapshot of snapshots) {
          const key = streamKey(snapshot.app, snapshot.env, snapshot.cluster);
          seen.add(key);
          const last = latest.get(key) ?? versions.latest(snapshot.app, snapshot.env, snapshot.cluster);
          if (last && !last.removed && sameContent(last, snapshot)) continue;
          const version: NewConfigVersion = { ...snapshot, ...meta, removed: false };
          appended.push(version);
          latest.set(key, version);
        }
        for (const last of [...versions.allLatest(), ...latest.values()]) {
          const key = streamKey(last.app, last.env, last.cluster);
          if (seen.has(key) || last.removed || this.#problems.has(key) || latest.get(key)?.removed) continue;
          const removed: NewConfigVersion = { app: last.app, env: last.env, cluster: last.cluster, ...meta, removed: true, config: { values: {}, sources: {} } };
          appended.push(removed);
          latest.set(key, removed);
        }
      }
      const done = start + COMMITS_PER_APPEND >= commits.length ? { sha: head.sha, commitSeq: head.seq } : { sha: batch.at(-1)!.sha, commitSeq: batch.at(-1)!.seq };
      const stored = versions.append(appended, done);
      if (stored.length > 0) this.#options.onVersions?.(stored);
    }
    if (commits.length === 0) versions.append([], { sha: head.sha, commitSeq: head.seq });
    if (this.#files && filesValid) this.#files.sha = head.sha;
  }

  /**
   * The commits of main after `since` (all, without it) up to `head` that changed config or
   * estate.yaml, oldest first, asking git. When main no longer passes through `since` (it was
   * rewritten), the head alone: what was served stays in the history, the new head is read afresh.
   */
  async #commitsFromGit(head: string, since: string | undefined): Promise<IndexedCommit[]> {
    const { repo, store } = this.#options;
    let shas: string[];
    if (since === undefined || (await repo.isAncestor(since, head))) {
      const out = await runGit(['rev-list', '--first-parent', '--reverse', head, ...(since ? [`^${since}`] : []), '--', ...CONFIG_PATHS], { cwd: repo.gitDir });
      shas = out.toString('utf8').split('\n').filter(Boolean);
    } else {
      shas = [head];
    }
    const commits: IndexedCommit[] = [];
    for (const sha of shas) {
      const commit = await store.findCommit(sha);
      // A commit no longer on main (rewritten meanwhile) is skipped: the next run sorts it out.
      if (commit) commits.push({ sha, seq: commit.seq, parent: commit.parents[0], authorName: commit.author.name, committerDate: commit.committer.date, changes: undefined });
    }
    return commits;
  }

  /** Every config's snapshot at a commit; configs with problems are left out (and recorded). */
  async #snapshotsAt(commit: IndexedCommit, filesValid: boolean): Promise<Snapshot[]> {
    const { sha } = commit;
    const oids = await this.#filesAt(commit, filesValid);
    const paths = [...oids.keys()];
    const blobs = await this.#options.repo.readBlobs(paths.map((path) => oids.get(path)!));
    const estateAt = paths.indexOf(ESTATE_FILE);
    const estate = estateAt < 0 ? undefined : readEstateYaml(oids.get(ESTATE_FILE)!, blobs[estateAt]!);
    const environments = estate?.environments.map((e) => e.name) ?? [];
    const files = paths.flatMap((path, i) => (i === estateAt ? [] : [{ path, text: blobs[i]!.toString('utf8') }]));
    const set = loadConfigFiles(files, environments);
    this.#problems.clear();
    const snapshots: Snapshot[] = [];
    for (const [app, files] of set.apps) {
      for (const env of environments) {
        const secrets = files.secrets.get(env);
        const secretsProblem = secrets ? await this.#checkSecrets(secrets.path, secrets.text) : undefined;
        const clusters = ['', ...[...(files.clusters.get(env)?.keys() ?? [])].sort()];
        for (const cluster of clusters) {
          const key = streamKey(app, env, cluster);
          const problems = resolutionProblems(set, app, env, cluster);
          if (secretsProblem) problems.push(secretsProblem);
          if (problems.length > 0) {
            this.#problems.set(key, problems);
            this.#options.log?.('warn', `config ${key.replace(/\/$/, '')} at ${sha.slice(0, 12)} has problems; applications keep its last good version`, { problems });
            continue;
          }
          const { values, sources } = resolveConfig(set, app, env, cluster || undefined);
          snapshots.push({ app, env, cluster, config: { values, sources }, ...(secrets ? { secrets: { path: secrets.path, text: secrets.text } } : {}) });
        }
      }
    }
    return snapshots;
  }

  /**
   * The blob ids of estate.yaml and the config files at a commit: the files known at its parent
   * plus its changes when those are known (no git process), else a listing of its tree.
   */
  async #filesAt(commit: IndexedCommit, filesValid: boolean): Promise<Map<string, string>> {
    let oids: Map<string, string>;
    if (filesValid && this.#files && commit.changes) {
      oids = this.#files.oids;
      for (const change of commit.changes) {
        if (change.path !== ESTATE_FILE && !isConfigPath(change.path)) continue;
        if (change.newOid) oids.set(change.path, change.newOid);
        else oids.delete(change.path);
      }
    } else {
      const entries = await this.#options.repo.listTree(commit.sha, [CONFIG_PREFIX, ESTATE_FILE]);
      oids = new Map(entries.filter((e) => e.path === ESTATE_FILE || isConfigPath(e.path)).map((e) => [e.path, e.oid]));
    }
    this.#files = { sha: commit.sha, oids };
    return oids;
  }

  /** Why a secrets file must not be served, if so: a bad form, or a MAC that fails for a file the server can read. */
  async #checkSecrets(path: string, text: string): Promise<string | undefined> {
    try {
      parseSecretsFile(path, text);
    } catch (error) {
      return `${(error as Error).message}`;
    }
    const identities = this.#options.identities();
    if (identities.length === 0) return undefined;
    try {
      await decryptSecrets(text, identities, path);
      return undefined;
    } catch (error) {
      // A file the server is not a recipient of is served as it is: no one gets its values from here.
      if (hasErrorCode(error, 'E_SECRET_DECRYPT')) return undefined;
      return (error as Error).message;
    }
  }
}

/** The reported commits from the one after `since` to `head`, if they are an unbroken first-parent chain; only those that changed config. */
function fromReports(reported: readonly IndexedCommit[], since: string, head: string): IndexedCommit[] | undefined {
  const start = reported.findIndex((c) => c.parent === since);
  if (start < 0 || reported.at(-1)!.sha !== head) return undefined;
  const chain = reported.slice(start);
  if (chain.some((c, i) => i > 0 && c.parent !== chain[i - 1]!.sha)) return undefined;
  return chain.filter((c) => c.changes === undefined || c.changes.some(({ path }) => path === ESTATE_FILE || path.startsWith(CONFIG_PREFIX)));
}

/** estate.yaml's content, if usable. */
function readEstateYaml(blobId: string, bytes: Uint8Array): EstateConfig | undefined {
  const parsed = parseYamlFile(ESTATE_FILE, bytes);
  return readEstateConfig({ file: { path: ESTATE_FILE, blobId }, parsed }, buildKindRegistry([])).config;
}

/** The messages of the problems resolving one config (its files' and its schema's). */
function resolutionProblems(set: ConfigSet, app: string, env: string, cluster: string): string[] {
  return resolveConfig(set, app, env, cluster || undefined).diagnostics.map((d) => `${d.code} ${d.path}:${d.line}:${d.col}: ${d.message}`);
}

function sameContent(version: Pick<NewConfigVersion, 'config' | 'secrets'>, snapshot: Snapshot): boolean {
  return JSON.stringify(version.config.values) === JSON.stringify(snapshot.config.values) && version.secrets?.text === snapshot.secrets?.text;
}
