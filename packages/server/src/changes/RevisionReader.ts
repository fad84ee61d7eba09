import { configProblems, type Diagnostic, type Estate, type ParseCache, type PolicySet } from '@estate/core';
import { loadCommitConfig, loadCommitEstate, loadCommitPolicies, runGit, type GitCliRepo } from '@estate/git';

/** Estates kept in memory (main's and a few change requests'): loading one costs a full validation. */
const KEPT = 8;
/** Commit → tree ids kept (40 bytes each). */
const TREES_KEPT = 10_000;

/**
 * Reads estates, policies and files at any commit of the estate repo for the change-request
 * checks, keeping the last few estates and policy sets: checks of several CRs against the same
 * main reuse main's. Parsed files are shared through the parse cache (keyed by blob id).
 */
export class RevisionReader {
  readonly #repo: GitCliRepo;
  readonly #cache: ParseCache;
  readonly #estates = new Map<string, Promise<Estate>>();
  readonly #policies = new Map<string, Promise<PolicySet>>();
  readonly #configs = new Map<string, Promise<Diagnostic[]>>();
  readonly #trees = new Map<string, string>();

  constructor(repo: GitCliRepo, cache: ParseCache) {
    this.#repo = repo;
    this.#cache = cache;
  }

  /**
   * The tree ids of commits (full shas), with one git process for those not asked before. Estates
   * and policies are best read by tree: a change request based on main's head has the same tree
   * as its merge onto main, and is then validated once.
   */
  async treesOf(commits: readonly string[]): Promise<string[]> {
    const missing = [...new Set(commits.filter((sha) => !this.#trees.has(sha)))];
    if (missing.length > 0) {
      const out = await runGit(['rev-parse', ...missing.map((sha) => `${sha}^{tree}`)], { cwd: this.#repo.gitDir });
      const trees = out.toString('utf8').trim().split('\n');
      if (this.#trees.size + missing.length > TREES_KEPT) this.#trees.clear();
      missing.forEach((sha, i) => this.#trees.set(sha, trees[i]!));
    }
    return commits.map((sha) => this.#trees.get(sha)!);
  }

  /** The validated estate of a commit or tree. */
  estate(sha: string): Promise<Estate> {
    return remember(this.#estates, sha, () => loadCommitEstate(this.#repo, sha, { cache: this.#cache }));
  }

  /** The policies (`policies/**.yaml`) of a commit or tree, with their problems. */
  policies(sha: string): Promise<PolicySet> {
    return remember(this.#policies, sha, () => loadCommitPolicies(this.#repo, sha));
  }

  /** The problems of the application config (`config/`) of a commit or tree, whose estate is `estate`. */
  configProblems(sha: string, estate: Estate): Promise<Diagnostic[]> {
    return remember(this.#configs, sha, async () => {
      const environments = estate.config?.environments.map((e) => e.name) ?? [];
      const applications = new Set([...estate.assets.values()].filter((asset) => asset.kind === 'Application').map((asset) => asset.name));
      return configProblems(await loadCommitConfig(this.#repo, sha, environments), applications);
    });
  }

  /** A file's text at a commit; undefined when the commit has no such file. */
  async readFile(sha: string, path: string): Promise<string | undefined> {
    const entry = (await this.#repo.listTree(sha, [path])).find((e) => e.path === path);
    return entry && (await this.#repo.readBlob(entry.oid)).toString('utf8');
  }
}

/** A promise from `cache`, or a new one put there; the oldest goes when more than {@link KEPT} are kept; failures are not kept. */
function remember<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  const kept = cache.get(key);
  if (kept) {
    cache.delete(key);
    cache.set(key, kept);
    return kept;
  }
  const loading = load();
  cache.set(key, loading);
  loading.catch(() => cache.delete(key));
  if (cache.size > KEPT) cache.delete(cache.keys().next().value!);
  return loading;
}
