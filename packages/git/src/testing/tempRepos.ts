import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { GitCliRepo } from '../GitCliRepo.js';
import { initRepo } from '../initRepo.js';

/**
 * Temporary directories and repositories for a test file, removed (repos closed first) after each
 * test. Call once at the top level of the file.
 */
export function useTempRepos(prefix: string): {
  tempDir(): Promise<string>;
  track(repo: GitCliRepo): GitCliRepo;
  newRepo(options?: { bare?: boolean }): Promise<GitCliRepo>;
} {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const tempDir = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  };
  const track = (repo: GitCliRepo): GitCliRepo => {
    cleanups.push(() => repo.close());
    return repo;
  };
  return { tempDir, track, newRepo: async (options = {}) => track(await initRepo(await tempDir(), options)) };
}
