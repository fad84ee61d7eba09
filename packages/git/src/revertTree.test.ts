import { describe, expect, it } from 'vitest';
import { commitFiles } from './commitFiles.js';
import { commitTree } from './commitTree.js';
import type { GitCliRepo } from './GitCliRepo.js';
import { mergeTrees } from './mergeTrees.js';
import { revertTree } from './revertTree.js';
import { useTempRepos } from './testing/tempRepos.js';

const { newRepo } = useTempRepos('estate-revert');

const MAIN = 'refs/heads/main';
const LINES = 'one\ntwo\nthree\nfour\nfive\nsix\nseven\n';

/** path → content of every blob in a tree. */
async function snapshot(repo: GitCliRepo, tree: string): Promise<Record<string, string | undefined>> {
  const entries = await repo.listTree(tree);
  const blobs = await repo.readBlobs(entries.map((e) => e.oid));
  return Object.fromEntries(entries.map((e, i) => [e.path, blobs[i]?.toString('utf8')]));
}

/** Commits `files` on main on top of the current main (or as the root commit). */
async function commit(repo: GitCliRepo, files: Record<string, string | null>, message = 'change'): Promise<string> {
  const parent = await repo.tryResolveCommit('main');
  return commitFiles(repo, { ref: MAIN, ...(parent !== undefined && { parent }), files, message });
}

describe('revertTree', () => {
  it('undoes a middle commit and keeps the later ones', async () => {
    const repo = await newRepo({ bare: true });
    await commit(repo, { 'a.yaml': 'a1\n', 'b.yaml': 'b1\n', 'lines.txt': LINES });
    const middle = await commit(repo, { 'b.yaml': 'b2\n', 'c.yaml': 'c\n', 'lines.txt': LINES.replace('two', 'TWO'), 'a.yaml': null });
    const later = await commit(repo, { 'd.yaml': 'd\n', 'lines.txt': LINES.replace('two', 'TWO').replace('six', 'SIX') });

    const { tree, conflicts } = await revertTree(repo, middle, 'main');

    expect(conflicts).toEqual([]);
    expect(await snapshot(repo, tree ?? '')).toEqual({
      'a.yaml': 'a1\n',
      'b.yaml': 'b1\n',
      'd.yaml': 'd\n',
      'lines.txt': LINES.replace('six', 'SIX'),
    });
    // Committed on top of main, it is an ordinary commit; main has not moved.
    const revert = await commitTree(repo, { tree: tree ?? '', parents: [later], message: `Revert ${middle}` });
    expect((await repo.readCommit(revert)).parents).toEqual([later]);
    expect(await repo.resolveCommit('main')).toBe(later);
  });

  it('undoes the head commit, giving its parent tree, the same way every time', async () => {
    const repo = await newRepo({ bare: true });
    await commit(repo, { a: '1\n' });
    const head = await commit(repo, { a: '2\n', b: 'b\n' });
    const first = await revertTree(repo, head, head);
    expect(await snapshot(repo, first.tree ?? '')).toEqual({ a: '1\n' });
    expect(await revertTree(repo, 'main', 'main')).toEqual(first);
  });

  it('reports a conflict with a later change to the same lines', async () => {
    const repo = await newRepo({ bare: true });
    await commit(repo, { 'host.yaml': LINES, 'other.yaml': 'o\n' });
    const middle = await commit(repo, { 'host.yaml': LINES.replace('four', 'FOUR'), 'other.yaml': 'o2\n' });
    await commit(repo, { 'host.yaml': LINES.replace('four', 'FOUR!') });

    const { tree, conflicts } = await revertTree(repo, middle, 'main');

    expect(tree).toBeUndefined();
    expect(conflicts).toEqual([{ path: 'host.yaml', reason: 'content', message: 'CONFLICT (content): Merge conflict in host.yaml' }]);
  });

  it('reports modify/delete when it would delete a file changed later', async () => {
    const repo = await newRepo({ bare: true });
    await commit(repo, { keep: 'k\n' });
    const added = await commit(repo, { 'new.yaml': 'v1\n' });
    await commit(repo, { 'new.yaml': 'v2\n' });
    const { conflicts } = await revertTree(repo, added, 'main');
    expect(conflicts).toMatchObject([{ path: 'new.yaml', reason: 'modify/delete' }]);
  });

  it('reverts a root commit to the empty tree, keeping later additions', async () => {
    const repo = await newRepo({ bare: true });
    const root = await commit(repo, { 'a.yaml': 'a\n', 'b/c.yaml': 'c\n' });
    const alone = await revertTree(repo, root, root);
    expect(alone).toEqual({ tree: '4b825dc642cb6eb9a060e54bf8d69288fbee4904', conflicts: [] });
    await commit(repo, { 'later.yaml': 'l\n' });
    const { tree, conflicts } = await revertTree(repo, root, 'main');
    expect(conflicts).toEqual([]);
    expect(await snapshot(repo, tree ?? '')).toEqual({ 'later.yaml': 'l\n' });
  });

  it('reverts a merge against its first parent', async () => {
    const repo = await newRepo({ bare: true });
    const base = await commit(repo, { a: '1\n' });
    const side = await commitFiles(repo, { ref: 'refs/heads/cr/1', parent: base, files: { 'cr.yaml': 'cr\n' }, message: 'cr' });
    const onMain = await commit(repo, { b: 'b\n' });
    const merged = await mergeTrees(repo, onMain, side);
    const merge = await commitTree(repo, { tree: merged.tree ?? '', parents: [onMain, side], message: 'Merge cr/1' });
    await commitFiles(repo, { ref: MAIN, parent: merge, files: { c: 'c\n' }, message: 'after' });

    const { tree, conflicts } = await revertTree(repo, merge, 'main');

    expect(conflicts).toEqual([]);
    expect(await snapshot(repo, tree ?? '')).toEqual({ a: '1\n', b: 'b\n', c: 'c\n' });
  });

  it('refuses a commit outside the history it is reverted onto, and unknown revisions', async () => {
    const repo = await newRepo({ bare: true });
    const base = await commit(repo, { a: '1\n' });
    const main = await commit(repo, { a: '2\n' });
    const side = await commitFiles(repo, { ref: 'refs/heads/cr/1', parent: base, files: { b: 'b\n' }, message: 'side' });
    await expect(revertTree(repo, side, 'main')).rejects.toMatchObject({
      code: 'E_NOT_ANCESTOR',
      message: `cannot revert commit ${side} onto 'main' (${main}) in '${repo.dir}': it is not in that history`,
      data: { commit: side, onto: main },
    });
    await expect(revertTree(repo, 'nope', 'main')).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND', data: { rev: 'nope' } });
    await expect(revertTree(repo, main, 'nope')).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND', data: { rev: 'nope' } });
  });
});
