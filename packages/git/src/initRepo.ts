import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { GitCliRepo } from './GitCliRepo.js';
import { runGit } from './runGit.js';

/** Options of {@link initRepo}. */
export interface InitRepoOptions {
  /** Create a bare repository (no work tree), as a server keeps. */
  bare?: boolean;
}

/**
 * Creates a repository in `dir` (made if missing) with initial branch `main` and opens it. Running
 * it on an existing repository is harmless, as with `git init`.
 */
export async function initRepo(dir: string, options: InitRepoOptions = {}): Promise<GitCliRepo> {
  const absolute = resolve(dir);
  await mkdir(absolute, { recursive: true });
  await runGit(['init', '--quiet', '--initial-branch=main', ...(options.bare ? ['--bare'] : [])], { cwd: absolute });
  return GitCliRepo.open(absolute);
}
