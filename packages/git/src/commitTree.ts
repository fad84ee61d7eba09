import type { GitIdentity } from './commitFiles.js';
import type { GitCliRepo } from './GitCliRepo.js';
import { GitError } from './GitError.js';
import { runGit } from './runGit.js';

/** Options of {@link commitTree}. */
export interface CommitTreeOptions {
  /** Id of an existing tree object (a commit id is refused: pass its tree). */
  tree: string;
  /** Revisions of the parents, in order; empty for a root commit, two or more for a merge. */
  parents: string[];
  /** The whole message; a final newline is added when missing. Trailers are the caller's. */
  message: string;
  /** Defaults to `Estate <estate@localhost>`, as in commitFiles. */
  author?: GitIdentity;
  /** Defaults to `Estate <estate@localhost>` (not to the author: the service commits for people). */
  committer?: GitIdentity;
}

/** A full object id (SHA-1 or SHA-256). */
const FULL_OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** The same default as commitFiles, so every commit Estate writes looks alike. */
const DEFAULT_IDENTITY: GitIdentity = { name: 'Estate', email: 'estate@localhost' };

/**
 * Writes a commit of `tree` with `parents` (`git commit-tree`) and returns its sha. No ref moves:
 * publish the commit with updateRef. `--no-gpg-sign` keeps a `commit.gpgSign` in the server's git
 * config from making git wait for a key.
 *
 * Throws GitError E_REV_NOT_FOUND for a parent that names no commit, E_OBJECT_NOT_FOUND if `tree`
 * is not a tree in the repository.
 */
export async function commitTree(repo: GitCliRepo, options: CommitTreeOptions): Promise<string> {
  const { tree } = options;
  if (tree === '' || tree.startsWith('-')) throw treeNotFound(repo, tree, 'not found');
  // A full sha needs no git process to resolve; if it names no commit, commit-tree fails and the
  // check below says so.
  const parents = await Promise.all(options.parents.map((parent) => (FULL_OID.test(parent) ? parent : repo.resolveCommit(parent))));
  const author = options.author ?? DEFAULT_IDENTITY;
  const committer = options.committer ?? DEFAULT_IDENTITY;
  const env = {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: committer.name,
    GIT_COMMITTER_EMAIL: committer.email,
    ...(author.date !== undefined && { GIT_AUTHOR_DATE: author.date }),
    ...(committer.date !== undefined && { GIT_COMMITTER_DATE: committer.date }),
  };
  const cwd = repo.workTree ?? repo.gitDir;
  const message = options.message.endsWith('\n') ? options.message : `${options.message}\n`;
  try {
    const args = ['commit-tree', '--no-gpg-sign', tree, ...parents.flatMap((parent) => ['-p', parent])];
    return (await runGit(args, { cwd, env, input: message })).toString('utf8').trim();
  } catch (err) {
    for (const parent of parents) await repo.resolveCommit(parent);
    const type = await runGit(['cat-file', '-t', tree], { cwd }).then(
      (out) => out.toString('utf8').trim(),
      () => undefined,
    );
    if (type !== 'tree') throw treeNotFound(repo, tree, type === undefined ? 'not found' : `is a ${type}, not a tree`, err);
    throw err;
  }
}

function treeNotFound(repo: GitCliRepo, tree: string, problem: string, cause?: unknown): GitError {
  return new GitError('E_OBJECT_NOT_FOUND', `tree '${tree}' ${problem} in '${repo.dir}'`, { oid: tree }, { cause });
}
