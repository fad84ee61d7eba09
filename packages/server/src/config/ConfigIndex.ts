import {
  buildKindRegistry,
  decryptSecrets,
  hasErrorCode,
  parseSecretsFile,
  parseYamlFile,
  readEstateConfig,
  resolveConfig,
  type ConfigSet,
  type EstateConfig,
} from '@estate/core';
import { loadCommitConfig, runGit, type GitCliRepo } from '@estate/git';
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

/** Files whose change can change a served config. */
const CONFIG_PATHS = ['config', 'estate.yaml'];
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
  #running: Promise<void> | undefined;
  #again = false;
  /** Problems that hold a config at its last good version, by stream key. */
  readonly #problems = new Map<string, string[]>();

  constructor(options: ConfigIndexOptions) {
    this.#options = options;
  }

  /** Why configs are held at an older version (their files at main have problems), by `app/env/cluster`. */
  problems(): ReadonlyMap<string, string[]> {
    return this.#problems;
  }

  /** Reads up to the read model's head; calls during a run cause one more run after it. */
  sync(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.#again = false;
          await this.#syncOnce();
        } while (this.#again);
      } finally {
        this.#running = undefined;
      }
    };
    this.#running = run();
    return this.#running;
  }

  /** Resolves when no run is going (before the store closes). */
  async idle(): Promise<void> {
    await this.#running?.catch(() => undefined);
  }

  async #syncOnce(): Promise<void> {
    const { store, versions, repo } = this.#options;
    const head = await store.head();
    if (!head) return;
    const progress = versions.progress();
    if (progress?.sha === head.sha) return;
    let shas: string[];
    if (progress === undefined) {
      shas = await configCommits(repo, head.sha);
    } else if (await repo.isAncestor(progress.sha, head.sha)) {
      shas = await configCommits(repo, head.sha, progress.sha);
    } else {
      // main was rewritten: what was served stays in the history; the new head is read afresh.
      shas = [head.sha];
    }
    for (let start = 0; start < shas.length; start += COMMITS_PER_APPEND) {
      const batch = shas.slice(start, start + COMMITS_PER_APPEND);
      const appended: NewConfigVersion[] = [];
      const latest = new Map<string, NewConfigVersion>();
      for (const sha of batch) {
        const commit = await store.findCommit(sha);
        if (!commit) continue; // not on main any more (rewritten meanwhile): the next run sorts it out
        const snapshots = await this.#snapshotsAt(sha);
        const seen = new Set<string>();
        const meta = { sha, commitSeq: commit.seq, committedAt: commit.committer.date, author: commit.author.name };
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
      const last = batch.at(-1)!;
      const lastCommit = await store.findCommit(last);
      const mark = start + COMMITS_PER_APPEND >= shas.length ? head : { sha: last, seq: lastCommit?.seq ?? head.seq };
      const stored = versions.append(appended, { sha: mark.sha, commitSeq: mark.seq });
      if (stored.length > 0) this.#options.onVersions?.(stored);
    }
    if (shas.length === 0) versions.append([], { sha: head.sha, commitSeq: head.seq });
  }

  /** Every config's snapshot at a commit; configs with problems are left out (and recorded). */
  async #snapshotsAt(sha: string): Promise<Snapshot[]> {
    const { repo } = this.#options;
    const estate = await readEstateYaml(repo, sha);
    const environments = estate?.environments.map((e) => e.name) ?? [];
    const set = await loadCommitConfig(repo, sha, environments);
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

/** The commits of main's first-parent chain after `since` that changed config or estate.yaml, oldest first. */
async function configCommits(repo: GitCliRepo, head: string, since?: string): Promise<string[]> {
  const out = await runGit(['rev-list', '--first-parent', '--reverse', head, ...(since ? [`^${since}`] : []), '--', ...CONFIG_PATHS], { cwd: repo.gitDir });
  return out.toString('utf8').split('\n').filter(Boolean);
}

/** The estate.yaml of a commit, if it has a usable one. */
async function readEstateYaml(repo: GitCliRepo, sha: string): Promise<EstateConfig | undefined> {
  const entry = (await repo.listTree(sha, ['estate.yaml'])).find((e) => e.path === 'estate.yaml');
  if (!entry) return undefined;
  const parsed = parseYamlFile('estate.yaml', await repo.readBlob(entry.oid));
  return readEstateConfig({ file: { path: 'estate.yaml', blobId: entry.oid }, parsed }, buildKindRegistry([])).config;
}

/** The messages of the problems resolving one config (its files' and its schema's). */
function resolutionProblems(set: ConfigSet, app: string, env: string, cluster: string): string[] {
  return resolveConfig(set, app, env, cluster || undefined).diagnostics.map((d) => `${d.code} ${d.path}:${d.line}:${d.col}: ${d.message}`);
}

function sameContent(version: Pick<NewConfigVersion, 'config' | 'secrets'>, snapshot: Snapshot): boolean {
  return JSON.stringify(version.config.values) === JSON.stringify(snapshot.config.values) && version.secrets?.text === snapshot.secrets?.text;
}
