import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitFiles } from './commitFiles.js';
import type { GitCliRepo } from './GitCliRepo.js';
import { useTempRepos } from './testing/tempRepos.js';
import { hashBlob } from './hashBlob.js';

const { newRepo } = useTempRepos('estate-git');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}

/** path → content of every blob in the commit's tree. */
async function snapshot(repo: GitCliRepo, commit: string): Promise<Record<string, string | undefined>> {
  const entries = await repo.listTree(commit);
  const blobs = await repo.readBlobs(entries.map((e) => e.oid));
  return Object.fromEntries(entries.map((e, i) => [e.path, blobs[i]?.toString('utf8')]));
}

const MAIN = 'refs/heads/main';

describe('commitFiles', () => {
  it('leaves the commit dangling when no ref is given', async () => {
    const repo = await newRepo({ bare: true });
    const sha = await commitFiles(repo, { files: { 'a.yaml': 'a: 1\n' }, message: 'loose' });
    expect(await snapshot(repo, sha)).toEqual({ 'a.yaml': 'a: 1\n' });
    expect(git(repo.gitDir, 'for-each-ref')).toBe('');
  });

  it('creates a root commit in a bare repository', async () => {
    const repo = await newRepo({ bare: true });
    const sha = await commitFiles(repo, {
      ref: MAIN,
      files: { 'estate.yaml': 'name: demo\n', 'assets/hosts/web 01.yaml': 'kind: Host\n', 'schemas/ü.json': '{}' },
      message: 'Initial estate',
      expectedOld: null,
    });
    expect(await repo.resolveCommit('main')).toBe(sha);
    expect(await snapshot(repo, sha)).toEqual({
      'assets/hosts/web 01.yaml': 'kind: Host\n',
      'estate.yaml': 'name: demo\n',
      'schemas/ü.json': '{}',
    });
    expect(await repo.readCommit(sha)).toMatchObject({
      parents: [],
      authorName: 'Estate',
      authorEmail: 'estate@localhost',
      committerName: 'Estate',
      committerEmail: 'estate@localhost',
      subject: 'Initial estate',
      body: '',
    });
    expect(git(repo.gitDir, 'cat-file', 'commit', sha)).toMatch(/\n\nInitial estate\n$/);
    expect(git(repo.gitDir, 'fsck', '--strict', '--no-progress')).toBe('');
  });

  it('adds, modifies and deletes files in nested paths on top of a parent', async () => {
    const repo = await newRepo({ bare: true });
    const first = await commitFiles(repo, {
      ref: MAIN,
      files: { 'assets/a/keep.yaml': 'keep', 'assets/a/edit.yaml': 'v1', 'assets/b/gone.yaml': 'bye' },
      message: 'first',
    });
    const binary = Uint8Array.from([0, 1, 2, 255, 10, 13]);
    const second = await commitFiles(repo, {
      ref: MAIN,
      parent: 'main',
      files: { 'assets/a/edit.yaml': 'v2', 'assets/b/gone.yaml': null, 'assets/c/d/e/new.bin': binary, 'never/there': null },
      message: 'second',
      expectedOld: first,
    });
    expect((await repo.readCommit(second)).parents).toEqual([first]);
    expect(await repo.diffTrees(first, second)).toEqual([
      { status: 'M', path: 'assets/a/edit.yaml', oldOid: hashBlob(Buffer.from('v1')), newOid: hashBlob(Buffer.from('v2')) },
      { status: 'D', path: 'assets/b/gone.yaml', oldOid: hashBlob(Buffer.from('bye')) },
      { status: 'A', path: 'assets/c/d/e/new.bin', newOid: hashBlob(binary) },
    ]);
    expect((await repo.readBlob(hashBlob(binary))).equals(binary)).toBe(true);
    expect(await repo.resolveCommit('main')).toBe(second);
  });

  it('lets a file replace a directory', async () => {
    const repo = await newRepo({ bare: true });
    const first = await commitFiles(repo, { ref: MAIN, files: { 'x/y.yaml': 'y' }, message: 'dir' });
    const second = await commitFiles(repo, { ref: MAIN, parent: first, files: { x: 'file' }, message: 'file' });
    expect(await snapshot(repo, second)).toEqual({ x: 'file' });
  });

  it('records the given author and committer', async () => {
    const repo = await newRepo({ bare: true });
    const sha = await commitFiles(repo, {
      ref: MAIN,
      files: { a: 'a' },
      message: 'Add a\n\nBecause.',
      author: { name: 'Ada Lovelace', email: 'ada@example.com', date: '2024-05-01T12:00:00+02:00' },
      committer: { name: 'Estate Server', email: 'server@example.com', date: '2024-05-02T08:30:00Z' },
    });
    expect(await repo.readCommit(sha)).toMatchObject({
      authorName: 'Ada Lovelace',
      authorEmail: 'ada@example.com',
      authorDate: '2024-05-01T12:00:00+02:00',
      committerName: 'Estate Server',
      committerEmail: 'server@example.com',
      committerDate: '2024-05-02T08:30:00+00:00',
      subject: 'Add a',
      body: 'Because.',
    });
  });

  it('refuses to move a ref that is not where expected', async () => {
    const repo = await newRepo({ bare: true });
    const first = await commitFiles(repo, { ref: MAIN, files: { a: '1' }, message: 'first', expectedOld: null });
    const second = await commitFiles(repo, { ref: MAIN, parent: first, files: { a: '2' }, message: 'second', expectedOld: first });

    // A writer that still believes main is at `first`.
    await expect(
      commitFiles(repo, { ref: MAIN, parent: first, files: { a: 'stale' }, message: 'stale', expectedOld: first }),
    ).rejects.toMatchObject({
      code: 'E_REF_CONFLICT',
      message: `ref '${MAIN}' is at ${second}, expected ${first}`,
      data: { ref: MAIN, expected: first, actual: second },
    });
    await expect(
      commitFiles(repo, { ref: MAIN, files: { a: 'root' }, message: 'root', expectedOld: null }),
    ).rejects.toMatchObject({ code: 'E_REF_CONFLICT', message: `ref '${MAIN}' is at ${second}, expected no ref` });
    await expect(
      commitFiles(repo, { ref: 'refs/heads/other', parent: first, files: {}, message: 'x', expectedOld: first }),
    ).rejects.toMatchObject({ code: 'E_REF_CONFLICT', data: { actual: undefined } });
    expect(await repo.resolveCommit('main')).toBe(second);

    // Without expectedOld the ref moves whatever it points at.
    const forced = await commitFiles(repo, { ref: MAIN, parent: first, files: { a: 'forced' }, message: 'forced' });
    expect(await repo.resolveCommit('main')).toBe(forced);
  });

  it('leaves the work tree and its index alone', async () => {
    const repo = await newRepo();
    const root = repo.workTree ?? '';
    await writeFile(join(root, 'staged.yaml'), 'staged');
    git(root, 'add', 'staged.yaml');
    const sha = await commitFiles(repo, { ref: 'refs/heads/estate', files: { 'a.yaml': 'a' }, message: 'side' });
    expect(git(root, 'status', '--porcelain')).toBe('A  staged.yaml\n');
    expect(await snapshot(repo, sha)).toEqual({ 'a.yaml': 'a' });
  });

  it('rejects bad refs, parents and paths', async () => {
    const repo = await newRepo({ bare: true });
    await expect(commitFiles(repo, { ref: 'main', files: {}, message: 'x' })).rejects.toMatchObject({
      code: 'E_GIT',
      message: "ref 'main' is not a full ref name starting with 'refs/'",
    });
    await expect(commitFiles(repo, { ref: MAIN, files: {}, message: 'x', expectedOld: 'main' })).rejects.toMatchObject({
      code: 'E_GIT',
      message: "expectedOld 'main' is not a full commit sha",
    });
    await expect(commitFiles(repo, { ref: MAIN, parent: 'nope', files: {}, message: 'x' })).rejects.toMatchObject({
      code: 'E_REV_NOT_FOUND',
      data: { rev: 'nope' },
    });
    await expect(commitFiles(repo, { ref: MAIN, parent: '1'.repeat(40), files: {}, message: 'x' })).rejects.toMatchObject({
      code: 'E_REV_NOT_FOUND',
      data: { rev: '1'.repeat(40) },
    });
    for (const path of ['../escape', 'a/./b', '.GIT/config', '/abs', 'a//b', 'a/', '', 'a\0b']) {
      await expect(commitFiles(repo, { ref: MAIN, files: { 'ok.yaml': 'x', [path]: null }, message: 'x' }), path).rejects.toMatchObject({
        code: 'E_INVALID_PATH',
        message: `invalid path ${JSON.stringify(path)}: use repo-relative paths of non-empty components other than '.', '..' and '.git'`,
        data: { path },
      });
    }
    expect(await repo.tryResolveCommit('main')).toBeUndefined();
  });
});
