import { CONFIG_PREFIX, isConfigPath, loadConfigFiles, type ConfigSet } from '@estate/core';
import type { GitCliRepo } from './GitCliRepo.js';
import { readCommitTextFiles, readWorkTreeTextFiles } from './textFileReader.js';

/**
 * Loads the application config (YAML files under `config/`) of one commit from git objects.
 * `environments` are the envs declared in that commit's `estate.yaml`.
 */
export async function loadCommitConfig(repo: GitCliRepo, commit: string, environments: string[]): Promise<ConfigSet> {
  return loadConfigFiles(await readCommitTextFiles(repo, commit, CONFIG_PREFIX, isConfigPath), environments);
}

/**
 * Loads the application config of a directory as it is on disk (in a git work tree, the files git
 * would track; elsewhere, every file under `config/`).
 */
export async function loadWorkTreeConfig(dir: string, environments: string[]): Promise<ConfigSet> {
  return loadConfigFiles(await readWorkTreeTextFiles(dir, CONFIG_PREFIX, isConfigPath), environments);
}
