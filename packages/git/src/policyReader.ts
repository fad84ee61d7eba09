import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { isPolicyPath, loadPolicies, POLICY_PREFIX, type PolicySet } from '@estate/core';
import { GitCliRepo } from './GitCliRepo.js';
import { GitError } from './GitError.js';

/** Loads the policies (`policies/**.yaml`) of one commit from git objects. */
export async function loadCommitPolicies(repo: GitCliRepo, commit: string): Promise<PolicySet> {
  const entries = (await repo.listTree(commit, [POLICY_PREFIX])).filter((entry) => isPolicyPath(entry.path));
  const blobs = await repo.readBlobs(entries.map((entry) => entry.oid));
  return loadPolicies(entries.map((entry, i) => ({ path: entry.path, text: blobs[i]!.toString('utf8') })));
}

/** Loads the policies of a directory as they are on disk (in a git work tree, the files git would track). */
export async function loadWorkTreePolicies(dir: string): Promise<PolicySet> {
  let repo: GitCliRepo | undefined;
  try {
    repo = await GitCliRepo.open(dir);
  } catch (error) {
    if (!(error instanceof GitError && error.code === 'E_NOT_A_REPO')) throw error;
  }
  try {
    const root = repo?.workTree ?? dir;
    const paths = repo ? await repo.listWorkTreeFiles([POLICY_PREFIX]) : await walkPolicyFiles(dir);
    const files = paths.filter(isPolicyPath).flatMap((path) => {
      try {
        return [{ path, text: readFileSync(join(root, path), 'utf8') }];
      } catch {
        return []; // listed by the index but not on disk (sparse checkout): nothing to check here
      }
    });
    return loadPolicies(files);
  } finally {
    await repo?.close();
  }
}

async function walkPolicyFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(dir, POLICY_PREFIX), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
}
