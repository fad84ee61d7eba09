import { commitTree } from './commitTree.js';
import type { GitCliRepo } from './GitCliRepo.js';
import { GitError } from './GitError.js';
import { mergeTrees, type MergeTreesResult } from './mergeTrees.js';
import { runGit } from './runGit.js';

/**
 * The tree that undoes `commit` (against its first parent; a root commit against the empty tree)
 * on top of `onto`, as `git revert` computes it: a three-way merge with base = `commit`, ours =
 * `onto`, theirs = `commit`'s parent. Conflicts (a later commit changed the same lines) are
 * reported as by {@link mergeTrees}. Nothing but objects is written; commit the tree with
 * commitTree.
 *
 * Git 2.39 has no `merge-tree --merge-base`, so the base is arranged instead: a synthetic commit
 * with the parent's tree and `commit` as its only parent is merged with `onto`. When `commit` is
 * an ancestor of `onto` (the precondition, checked), `commit` is the one best common ancestor of
 * the two, so git merges against it. The synthetic commit is not referenced by any ref and is
 * deterministic (fixed identity, `commit`'s dates), so repeated reverts reuse one object; conflict
 * messages name it as the side being merged in.
 *
 * Throws GitError E_REV_NOT_FOUND when `commit` or `onto` names no commit, E_NOT_ANCESTOR when
 * `commit` is not in `onto`'s history.
 */
export async function revertTree(repo: GitCliRepo, commit: string, onto: string): Promise<MergeTreesResult> {
  const [target, ontoSha] = await Promise.all([repo.readCommit(commit), repo.resolveCommit(onto)]);
  if (!(await repo.isAncestor(target.sha, ontoSha))) {
    throw new GitError(
      'E_NOT_ANCESTOR',
      `cannot revert commit ${target.sha} onto '${onto}' (${ontoSha}) in '${repo.dir}': it is not in that history`,
      { commit: target.sha, onto: ontoSha },
    );
  }
  const cwd = repo.workTree ?? repo.gitDir;
  const [parent] = target.parents;
  // `git mktree` with no input writes the empty tree and prints its id in the repository's hash.
  const args = parent === undefined ? ['mktree'] : ['rev-parse', '--verify', `${parent}^{tree}`];
  const tree = (await runGit(args, { cwd })).toString('utf8').trim();
  const identity = { name: 'Estate', email: 'estate@localhost' };
  const undo = await commitTree(repo, {
    tree,
    parents: [target.sha],
    message: `Undo ${target.sha}\n\nSynthetic commit: the merge side of a revert (revertTree).`,
    author: { ...identity, date: target.authorDate },
    committer: { ...identity, date: target.committerDate },
  });
  return mergeTrees(repo, ontoSha, undo);
}
