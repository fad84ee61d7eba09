import { isPolicyPath, loadPolicies, POLICY_PREFIX, type PolicySet } from '@estate/core';
import type { GitCliRepo } from './GitCliRepo.js';
import { readCommitTextFiles, readWorkTreeTextFiles } from './textFileReader.js';

/** Loads the policies (`policies/**.yaml`) of one commit from git objects. */
export async function loadCommitPolicies(repo: GitCliRepo, commit: string): Promise<PolicySet> {
  return loadPolicies(await readCommitTextFiles(repo, commit, POLICY_PREFIX, isPolicyPath));
}

/** Loads the policies of a directory as they are on disk (in a git work tree, the files git would track). */
export async function loadWorkTreePolicies(dir: string): Promise<PolicySet> {
  return loadPolicies(await readWorkTreeTextFiles(dir, POLICY_PREFIX, isPolicyPath));
}
