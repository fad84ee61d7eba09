import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { configProblems, EstateError, hasErrorCode, MemoryParseCache, type Diagnostic, type Estate, type PolicySet } from '@estate/core';
import { GitCliRepo, loadCommitConfig, loadCommitEstate, loadCommitPolicies, loadWorkTreeConfig, loadWorkTreeEstate, loadWorkTreePolicies } from '@estate/git';
import { createProgress, type CliIo } from './io.js';

/** Which estate a read command looks at: a commit, or the work tree as it is on disk. */
export interface LoadedEstate {
  estate: Estate;
  /** The commit sha, or `worktree`. */
  source: string;
}

/** State shared by the commands of one CLI run. */
export class CliContext {
  /** One parse cache per run: a diff of two revisions parses shared blobs once. */
  readonly cache = new MemoryParseCache();

  constructor(readonly io: CliIo) {}

  /** Resolves `--repo` against the working directory. */
  repoDir(repo: string | undefined): string {
    return resolve(this.io.cwd, repo ?? '.');
  }

  /** Opens the estate repo at `--repo`; exit code 2 when it is not a git repository. */
  async openRepo(repo: string | undefined): Promise<GitCliRepo> {
    return GitCliRepo.open(this.repoDir(repo));
  }

  /**
   * The top level of the work tree holding `--repo` (the directory itself outside git): where
   * repo-relative paths are written, whichever subdirectory the command runs in. Throws
   * E_BARE_REPO for a repository without a work tree.
   */
  async workTreeRoot(repo: string | undefined): Promise<string> {
    const dir = this.repoDir(repo);
    let git: GitCliRepo;
    try {
      git = await GitCliRepo.open(dir);
    } catch (error) {
      if (hasErrorCode(error, 'E_NOT_A_REPO')) return dir;
      throw error;
    }
    try {
      if (git.workTree === undefined) {
        throw new EstateError('E_BARE_REPO', `'${dir}' is a bare repository: it has no work tree to write files to`, { dir });
      }
      return git.workTree;
    } finally {
      await git.close();
    }
  }

  /**
   * Loads the estate at `rev`, or the work tree when `rev` is undefined (HEAD in a bare repo).
   * Shows progress on a terminal for large estates.
   */
  async loadEstate(repo: string | undefined, rev: string | undefined, label = 'reading'): Promise<LoadedEstate> {
    const dir = this.repoDir(repo);
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new EstateError('E_USAGE', `'${dir}' is not a directory; --repo names the estate repo's directory`, { dir });
    }
    const progress = createProgress(this.io, label);
    const options = { cache: this.cache, onProgress: progress.update };
    try {
      // Outside git, only the work tree can be read; `--rev` then reports E_NOT_A_REPO.
      const git = await GitCliRepo.open(dir).catch((error: unknown) => {
        if (rev === undefined && hasErrorCode(error, 'E_NOT_A_REPO')) return undefined;
        throw error;
      });
      try {
        if (rev === undefined && !git?.bare) return { estate: await loadWorkTreeEstate(dir, options), source: 'worktree' };
        const commit = await git!.resolveCommit(rev ?? 'HEAD');
        return { estate: await loadCommitEstate(git!, commit, options), source: commit };
      } finally {
        await git?.close();
      }
    } finally {
      progress.done();
    }
  }
}

/** The policies (`policies/**.yaml`) of what {@link CliContext.loadEstate} loaded: the same commit, or the work tree. */
export async function loadPoliciesOf(ctx: CliContext, repo: string | undefined, loaded: LoadedEstate): Promise<PolicySet> {
  const dir = ctx.repoDir(repo);
  if (loaded.source === 'worktree') return loadWorkTreePolicies(dir);
  const git = await GitCliRepo.open(dir);
  try {
    return await loadCommitPolicies(git, loaded.source);
  } finally {
    await git.close();
  }
}

/**
 * The problems of the application config (`config/`) of what {@link CliContext.loadEstate}
 * loaded: layout, each app's schema in every environment, and the form of secrets files (their
 * values stay encrypted: nothing is decrypted here).
 */
export async function configDiagnosticsOf(ctx: CliContext, repo: string | undefined, loaded: LoadedEstate): Promise<Diagnostic[]> {
  const dir = ctx.repoDir(repo);
  const environments = loaded.estate.config?.environments.map((e) => e.name) ?? [];
  let set;
  if (loaded.source === 'worktree') set = await loadWorkTreeConfig(dir, environments);
  else {
    const git = await GitCliRepo.open(dir);
    try {
      set = await loadCommitConfig(git, loaded.source, environments);
    } finally {
      await git.close();
    }
  }
  return configProblems(set, applicationNames(loaded.estate));
}

/** The names of an estate's `Application` assets: the apps `config/` may hold. */
function applicationNames(estate: Estate): Set<string> {
  return new Set([...estate.assets.values()].filter((asset) => asset.kind === 'Application').map((asset) => asset.name));
}

/**
 * Says on stderr that a read command answers from an estate with validation errors (its answer
 * may be missing the broken assets), without failing the command.
 */
export function warnIfInvalid(io: CliIo, loaded: LoadedEstate): void {
  const count = loaded.estate.diagnostics.length;
  if (count === 0) return;
  const where = loaded.source === 'worktree' ? 'the work tree' : loaded.source.slice(0, 12);
  io.stderr(`warning: ${where} has ${count} validation error${count === 1 ? '' : 's'}; run estate validate\n`);
}

/** Finds an asset by id, or fails with E_ASSET_NOT_FOUND (exit 1) naming where it looked. */
export function requireAsset(loaded: LoadedEstate, id: string): NonNullable<ReturnType<Estate['assets']['get']>> {
  const asset = loaded.estate.assets.get(normalizeId(id));
  if (!asset) {
    const where = loaded.source === 'worktree' ? 'in the work tree' : `at ${loaded.source.slice(0, 12)}`;
    throw new EstateError('E_ASSET_NOT_FOUND', `asset '${id}' not found ${where}`, { id, source: loaded.source });
  }
  return asset;
}

/** Accepts `Host/web-01` as well as `host/web-01`; refuses anything that is not `<kind>/<name>`. */
export function normalizeId(id: string): string {
  const match = /^([A-Za-z][A-Za-z0-9]*)\/([^/]+)$/.exec(id);
  if (!match) throw new EstateError('E_USAGE', `'${id}' is not an asset id; expected <kind>/<name>, e.g. host/web-01`, { id });
  return `${match[1]!.toLowerCase()}/${match[2]}`;
}
