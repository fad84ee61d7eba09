import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initRepo } from './initRepo.js';

let dir: string;
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('initRepo', () => {
  it('creates a work tree repository on branch main, making missing directories', async () => {
    dir = await mkdtemp(join(tmpdir(), 'estate-git-'));
    const repo = await initRepo(join(dir, 'a', 'estate'));
    expect(repo).toMatchObject({ bare: false, workTree: join(dir, 'a', 'estate'), gitDir: join(dir, 'a', 'estate', '.git') });
    expect(execFileSync('git', ['symbolic-ref', 'HEAD'], { cwd: repo.dir, encoding: 'utf8' })).toBe('refs/heads/main\n');
    await repo.close();
  });

  it('creates a bare repository', async () => {
    dir = await mkdtemp(join(tmpdir(), 'estate-git-'));
    const repo = await initRepo(dir, { bare: true });
    expect(repo).toMatchObject({ bare: true, workTree: undefined, gitDir: dir });
    expect(execFileSync('git', ['symbolic-ref', 'HEAD'], { cwd: dir, encoding: 'utf8' })).toBe('refs/heads/main\n');
    await repo.close();
  });
});
