import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PathLogEntry } from './GitCliRepo.js';
import { useTempRepos } from './testing/tempRepos.js';

const { newRepo } = useTempRepos('estate-git-objects');

describe('readCommitEntry', () => {
  it('reads each commit as git log does: metadata, message and changes against the first parent', async () => {
    const repo = await newRepo();
    const dir = repo.workTree!;
    const git = (env: Record<string, string>, ...args: string[]): string =>
      execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', ...env } }).trim();
    const write = (files: Record<string, string | null>): void => {
      for (const [path, content] of Object.entries(files)) {
        const file = join(dir, path);
        if (content === null) rmSync(file, { recursive: true, force: true });
        else {
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, content);
        }
      }
    };
    const commit = (message: string, date: string, change: () => void): void => {
      change();
      git({}, 'add', '-A');
      git({ GIT_AUTHOR_NAME: 'Zoë Ü', GIT_AUTHOR_EMAIL: 'zoe@example.com', GIT_AUTHOR_DATE: date, GIT_COMMITTER_NAME: 'Bob', GIT_COMMITTER_EMAIL: 'bob@example.com', GIT_COMMITTER_DATE: date }, '-c', 'commit.gpgSign=false', 'commit', '-q', '--allow-empty', '--cleanup=verbatim', '-m', message);
    };
    commit('first\n', '2024-01-01T12:00:00+05:30', () => write({ 'a.txt': 'a', 'dir/b.txt': 'b', 'dir/deep/c.txt': 'c', 'x/y.txt': 'y' }));
    commit('\n\nsubject on\ntwo lines   \n\n\nbody line 1\n\nbody line 2\n\n\n', '2024-02-01T08:15:00-07:00', () => write({ 'a.txt': 'a2', 'dir/deep/c.txt': null, 'dir/new.txt': 'n' }));
    commit('dir becomes a file, a file becomes a dir', '2024-03-01T00:00:00+00:00', () => {
      write({ x: null });
      write({ x: 'now a file', 'a.txt': null, 'a.txt/inner.txt': 'i' });
    });
    commit('modes: exec bit and a symlink', '2024-04-01T00:00:00Z', () => {
      chmodSync(join(dir, 'dir/b.txt'), 0o755);
      symlinkSync('dir/new.txt', join(dir, 'link'));
    });
    commit('symlink becomes a file', '2024-05-01T00:00:00+01:00', () => {
      rmSync(join(dir, 'link'));
      write({ link: 'plain' });
    });
    commit('empty', '2024-06-01T00:00:00+01:00', () => undefined);

    const logged: PathLogEntry[] = [];
    for await (const entry of repo.iterateFirstParentChain('HEAD')) logged.push(entry);
    expect(logged).toHaveLength(6);
    for (const entry of logged) {
      const read = await repo.readCommitEntry(entry.commit.sha);
      expect(read.commit).toEqual(entry.commit);
      expect(read.changes).toEqual([...entry.changes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
    }
    expect(logged[1]!.commit.subject).toBe('subject on two lines');
    expect(logged[3]!.changes.map((c) => `${c.status} ${c.path}`).sort()).toEqual(['A link', 'M dir/b.txt']);
    expect(logged[4]!.changes.map((c) => `${c.status} ${c.path}`)).toEqual(['T link']);
    expect(await repo.readParents(logged[2]!.commit.sha)).toEqual([logged[1]!.commit.sha]);
    expect(await repo.readParents('f'.repeat(40))).toBeUndefined();
    await expect(repo.readCommitEntry('0'.repeat(40))).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND' });
  });
});
