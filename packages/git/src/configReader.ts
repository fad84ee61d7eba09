import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { CONFIG_PREFIX, isConfigPath, loadConfigFiles, type ConfigSet } from '@estate/core';
import { GitCliRepo } from './GitCliRepo.js';
import { GitError } from './GitError.js';

/**
 * Loads the application config (YAML files under `config/`) of one commit from git objects.
 * `environments` are the envs declared in that commit's `estate.yaml`.
 */
export async function loadCommitConfig(repo: GitCliRepo, commit: string, environments: string[]): Promise<ConfigSet> {
  const entries = (await repo.listTree(commit, [CONFIG_PREFIX])).filter((entry) => isConfigPath(entry.path));
  const blobs = await repo.readBlobs(entries.map((entry) => entry.oid));
  return loadConfigFiles(
    entries.map((entry, i) => ({ path: entry.path, text: blobs[i]!.toString('utf8') })),
    environments,
  );
}

/**
 * Loads the application config of a directory as it is on disk (in a git work tree, the files git
 * would track; elsewhere, every file under `config/`).
 */
export async function loadWorkTreeConfig(dir: string, environments: string[]): Promise<ConfigSet> {
  let repo: GitCliRepo | undefined;
  try {
    repo = await GitCliRepo.open(dir);
  } catch (error) {
    if (!(error instanceof GitError && error.code === 'E_NOT_A_REPO')) throw error;
  }
  try {
    const root = repo?.workTree ?? dir;
    const paths = repo ? await repo.listWorkTreeFiles([CONFIG_PREFIX]) : await walkConfigFiles(dir);
    const files = paths.filter(isConfigPath).flatMap((path) => {
      try {
        return [{ path, text: readFileSync(join(root, path), 'utf8') }];
      } catch {
        return []; // listed by the index but not on disk (sparse checkout): nothing to read
      }
    });
    return loadConfigFiles(files, environments);
  } finally {
    await repo?.close();
  }
}

async function walkConfigFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(dir, CONFIG_PREFIX), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
}
