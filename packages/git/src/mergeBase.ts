import type { GitCliRepo } from './GitCliRepo.js';
import { GitError } from './GitError.js';
import { runGit } from './runGit.js';

/**
 * The best common ancestor of two commits (`git merge-base a b`), e.g. the base a change request's
 * diff is shown against; undefined when they share no history. With several equally good
 * ancestors (criss-cross merges) git picks one. Throws GitError E_REV_NOT_FOUND when `a` or `b`
 * names no commit.
 */
export async function mergeBase(repo: GitCliRepo, a: string, b: string): Promise<string | undefined> {
  for (const rev of [a, b]) {
    if (rev === '' || rev.startsWith('-')) throw revNotFound(repo, rev);
  }
  try {
    return (await runGit(['merge-base', a, b], { cwd: repo.workTree ?? repo.gitDir })).toString('utf8').trim();
  } catch (err) {
    for (const rev of [a, b]) {
      if ((await repo.tryResolveCommit(rev)) === undefined) throw revNotFound(repo, rev, err);
    }
    // Exit status 1 without an error message: no common ancestor (git-merge-base(1)).
    if (err instanceof GitError && err.data['exitCode'] === 1) return undefined;
    throw err;
  }
}

function revNotFound(repo: GitCliRepo, rev: string, cause?: unknown): GitError {
  return new GitError('E_REV_NOT_FOUND', `revision '${rev}' not found in '${repo.dir}'`, { rev }, { cause });
}
