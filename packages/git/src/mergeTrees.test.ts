import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commitFiles } from './commitFiles.js';
import { commitTree } from './commitTree.js';
import type { GitCliRepo } from './GitCliRepo.js';
import { mergeTrees } from './mergeTrees.js';
import { useTempRepos } from './testing/tempRepos.js';

const { newRepo } = useTempRepos('estate-merge');

type Files = Record<string, string | null>;

/** A bare repo with `base` on main, `ours` on top of it on main and `theirs` on top of it on cr/1. */
async function fork(base: Files, ours: Files, theirs: Files): Promise<{ repo: GitCliRepo; base: string; ours: string; theirs: string }> {
  const repo = await newRepo({ bare: true });
  const baseSha = await commitFiles(repo, { ref: 'refs/heads/main', files: base, message: 'base' });
  const oursSha = await commitFiles(repo, { ref: 'refs/heads/main', parent: baseSha, files: ours, message: 'ours' });
  const theirsSha = await commitFiles(repo, { ref: 'refs/heads/cr/1', parent: baseSha, files: theirs, message: 'theirs' });
  return { repo, base: baseSha, ours: oursSha, theirs: theirsSha };
}

/** path → content of every blob in a tree. */
async function snapshot(repo: GitCliRepo, tree: string): Promise<Record<string, string | undefined>> {
  const entries = await repo.listTree(tree);
  const blobs = await repo.readBlobs(entries.map((e) => e.oid));
  return Object.fromEntries(entries.map((e, i) => [e.path, blobs[i]?.toString('utf8')]));
}

function treeOf(repo: GitCliRepo, commit: string): string {
  return execFileSync('git', ['rev-parse', `${commit}^{tree}`], { cwd: repo.gitDir, encoding: 'utf8' }).trim();
}

const LINES = 'one\ntwo\nthree\nfour\nfive\nsix\nseven\n';

describe('mergeTrees', () => {
  it('merges changes to different files and to different lines of one file', async () => {
    const { repo, ours, theirs } = await fork(
      { 'assets/a.yaml': 'a\n', 'assets/b.yaml': 'b\n', 'lines.txt': LINES },
      { 'assets/a.yaml': 'a2\n', 'lines.txt': LINES.replace('two', 'TWO'), 'assets/gone.yaml': null },
      { 'assets/b.yaml': 'b2\n', 'lines.txt': LINES.replace('six', 'SIX'), 'assets/new.yaml': 'new\n' },
    );
    const result = await mergeTrees(repo, ours, theirs);
    expect(result.conflicts).toEqual([]);
    expect(result.tree).toMatch(/^[0-9a-f]{40}$/);
    expect(await snapshot(repo, result.tree ?? '')).toEqual({
      'assets/a.yaml': 'a2\n',
      'assets/b.yaml': 'b2\n',
      'assets/new.yaml': 'new\n',
      'lines.txt': LINES.replace('two', 'TWO').replace('six', 'SIX'),
    });
    // The tree can be committed as the merge.
    const merge = await commitTree(repo, { tree: result.tree ?? '', parents: [ours, theirs], message: 'merge' });
    expect((await repo.readCommit(merge)).parents).toEqual([ours, theirs]);
  });

  it('accepts branch names and is clean when both sides made the same change', async () => {
    const { repo } = await fork({ a: 'old\n', b: 'b\n' }, { a: 'same\n', b: null }, { a: 'same\n', b: null });
    const result = await mergeTrees(repo, 'main', 'cr/1');
    expect(result.conflicts).toEqual([]);
    expect(await snapshot(repo, result.tree ?? '')).toEqual({ a: 'same\n' });
  });

  it('is clean, with ours, when theirs is already merged', async () => {
    const { repo, base, ours } = await fork({ a: '1\n' }, { a: '2\n' }, {});
    const result = await mergeTrees(repo, ours, base);
    expect(result).toEqual({ tree: treeOf(repo, ours), conflicts: [] });
  });

  it('reports a content conflict', async () => {
    const { repo, ours, theirs } = await fork({ 'assets/a.yaml': LINES, keep: 'k' }, { 'assets/a.yaml': LINES.replace('four', 'OURS') }, { 'assets/a.yaml': LINES.replace('four', 'THEIRS') });
    expect(await mergeTrees(repo, ours, theirs)).toEqual({
      conflicts: [{ path: 'assets/a.yaml', reason: 'content', message: 'CONFLICT (content): Merge conflict in assets/a.yaml' }],
    });
  });

  it('reports modify/delete and add/add conflicts, one per path, sorted', async () => {
    const { repo } = await fork(
      { 'b-deleted-by-us.yaml': 'x\n', 'c-deleted-by-them.yaml': 'y\n' },
      { 'b-deleted-by-us.yaml': null, 'c-deleted-by-them.yaml': 'y2\n', 'a-added.yaml': 'ours\n', 'd-clean.yaml': 'd\n' },
      { 'b-deleted-by-us.yaml': 'x2\n', 'c-deleted-by-them.yaml': null, 'a-added.yaml': 'theirs\n' },
    );
    expect(await mergeTrees(repo, 'main', 'cr/1')).toEqual({
      conflicts: [
        { path: 'a-added.yaml', reason: 'add/add', message: 'CONFLICT (add/add): Merge conflict in a-added.yaml' },
        {
          path: 'b-deleted-by-us.yaml',
          reason: 'modify/delete',
          message: 'CONFLICT (modify/delete): b-deleted-by-us.yaml deleted in main and modified in cr/1.  Version cr/1 of b-deleted-by-us.yaml left in tree.',
        },
        {
          path: 'c-deleted-by-them.yaml',
          reason: 'modify/delete',
          message: 'CONFLICT (modify/delete): c-deleted-by-them.yaml deleted in cr/1 and modified in main.  Version main of c-deleted-by-them.yaml left in tree.',
        },
      ],
    });
  });

  it('reports file/directory conflicts under both names git uses', async () => {
    const { repo } = await fork({ x: 'file\n' }, { x: 'file2\n' }, { x: null, 'x/y.yaml': 'y\n' });
    const { tree, conflicts } = await mergeTrees(repo, 'main', 'cr/1');
    expect(tree).toBeUndefined();
    expect(conflicts.map(({ path, reason }) => ({ path, reason }))).toEqual([
      { path: 'x', reason: 'file/directory' },
      { path: 'x~main', reason: 'file/directory' },
    ]);
  });

  it('keeps paths with spaces, newlines and non-ASCII characters intact', async () => {
    const odd = 'assets/wéb 01\nhost.yaml';
    const { repo } = await fork({ [odd]: '1\n' }, { [odd]: '2\n' }, { [odd]: '3\n' });
    const { conflicts } = await mergeTrees(repo, 'main', 'cr/1');
    expect(conflicts).toEqual([{ path: odd, reason: 'content', message: `CONFLICT (content): Merge conflict in ${odd}` }]);
  });

  it('refuses unknown revisions and unrelated histories', async () => {
    const { repo, ours } = await fork({ a: '1\n' }, { a: '2\n' }, {});
    for (const rev of ['nope', '--help', '']) {
      await expect(mergeTrees(repo, ours, rev), rev).rejects.toMatchObject({
        code: 'E_REV_NOT_FOUND',
        message: `revision '${rev}' not found in '${repo.dir}'`,
        data: { rev },
      });
    }
    await expect(mergeTrees(repo, 'nope', ours)).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND', data: { rev: 'nope' } });
    const orphan = await commitFiles(repo, { ref: 'refs/heads/orphan', files: { z: 'z' }, message: 'orphan' });
    await expect(mergeTrees(repo, 'main', orphan)).rejects.toMatchObject({
      code: 'E_NO_MERGE_BASE',
      message: `cannot merge '${orphan}' into 'main' in '${repo.dir}': they share no history`,
    });
  });
});
