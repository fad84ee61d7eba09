import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commitFiles } from './commitFiles.js';
import { commitTree } from './commitTree.js';
import type { GitCliRepo } from './GitCliRepo.js';
import { useTempRepos } from './testing/tempRepos.js';

const { newRepo } = useTempRepos('estate-commit-tree');

function git(repo: GitCliRepo, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo.gitDir, encoding: 'utf8' }).trim();
}

describe('commitTree', () => {
  it('commits a tree with parents in order and moves no ref', async () => {
    const repo = await newRepo({ bare: true });
    const first = await commitFiles(repo, { ref: 'refs/heads/main', files: { a: '1' }, message: 'first' });
    const side = await commitFiles(repo, { ref: 'refs/heads/side', parent: first, files: { b: '2' }, message: 'side' });
    const tree = git(repo, 'rev-parse', `${side}^{tree}`);

    const merge = await commitTree(repo, {
      tree,
      parents: ['main', side],
      message: 'Merge change request 7\n\nChange-Request: 7\nApproved-by: Bob <bob@example.com>',
    });

    expect(await repo.readCommit(merge)).toMatchObject({
      parents: [first, side],
      authorName: 'Estate',
      authorEmail: 'estate@localhost',
      committerName: 'Estate',
      committerEmail: 'estate@localhost',
      subject: 'Merge change request 7',
      body: 'Change-Request: 7\nApproved-by: Bob <bob@example.com>',
    });
    expect(git(repo, 'rev-parse', `${merge}^{tree}`)).toBe(tree);
    const raw = execFileSync('git', ['cat-file', 'commit', merge], { cwd: repo.gitDir, encoding: 'utf8' });
    expect(raw).toMatch(/\n\nMerge change request 7\n\nChange-Request: 7\nApproved-by: Bob <bob@example.com>\n$/);
    expect(git(repo, 'log', '-1', '--format=%(trailers:key=Approved-by,valueonly)', merge)).toBe('Bob <bob@example.com>');
    expect(await repo.resolveCommit('main')).toBe(first);
    expect(git(repo, 'fsck', '--strict', '--no-progress', '--no-dangling')).toBe('');
  });

  it('makes a root commit with the given identities', async () => {
    const repo = await newRepo({ bare: true });
    const emptyTree = git(repo, 'mktree');
    const sha = await commitTree(repo, {
      tree: emptyTree,
      parents: [],
      message: 'Empty',
      author: { name: 'Ada Lovelace', email: 'ada@example.com', date: '2024-05-01T12:00:00+02:00' },
      committer: { name: 'Estate Server', email: 'server@example.com', date: '2024-05-02T08:30:00Z' },
    });
    expect(await repo.readCommit(sha)).toMatchObject({
      parents: [],
      authorName: 'Ada Lovelace',
      authorEmail: 'ada@example.com',
      authorDate: '2024-05-01T12:00:00+02:00',
      committerName: 'Estate Server',
      committerEmail: 'server@example.com',
      committerDate: '2024-05-02T08:30:00+00:00',
      subject: 'Empty',
      body: '',
    });
  });

  it('rejects unknown parents and trees', async () => {
    const repo = await newRepo({ bare: true });
    const first = await commitFiles(repo, { ref: 'refs/heads/main', files: { a: '1' }, message: 'first' });
    const tree = git(repo, 'rev-parse', `${first}^{tree}`);
    await expect(commitTree(repo, { tree, parents: [first, 'nope'], message: 'x' })).rejects.toMatchObject({
      code: 'E_REV_NOT_FOUND',
      message: `revision 'nope' not found in '${repo.dir}'`,
    });
    await expect(commitTree(repo, { tree, parents: ['1'.repeat(40)], message: 'x' })).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND', data: { rev: '1'.repeat(40) } });
    const missing = '1234567890123456789012345678901234567890';
    await expect(commitTree(repo, { tree: missing, parents: [], message: 'x' })).rejects.toMatchObject({
      code: 'E_OBJECT_NOT_FOUND',
      message: `tree '${missing}' not found in '${repo.dir}'`,
      data: { oid: missing },
    });
    await expect(commitTree(repo, { tree: first, parents: [], message: 'x' })).rejects.toMatchObject({
      code: 'E_OBJECT_NOT_FOUND',
      message: `tree '${first}' is a commit, not a tree in '${repo.dir}'`,
    });
    await expect(commitTree(repo, { tree: '--help', parents: [], message: 'x' })).rejects.toMatchObject({
      code: 'E_OBJECT_NOT_FOUND',
      message: `tree '--help' not found in '${repo.dir}'`,
    });
  });
});
