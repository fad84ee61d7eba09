import { describe, expect, it } from 'vitest';
import { commitFiles } from './commitFiles.js';
import { mergeBase } from './mergeBase.js';
import { useTempRepos } from './testing/tempRepos.js';

const { newRepo } = useTempRepos('estate-merge-base');

describe('mergeBase', () => {
  it('finds the fork point, an ancestor itself, or nothing for unrelated histories', async () => {
    const repo = await newRepo({ bare: true });
    const base = await commitFiles(repo, { ref: 'refs/heads/main', files: { a: '1' }, message: 'base' });
    const main = await commitFiles(repo, { ref: 'refs/heads/main', parent: base, files: { a: '2' }, message: 'main' });
    const side = await commitFiles(repo, { ref: 'refs/heads/cr/1', parent: base, files: { b: 'b' }, message: 'side' });
    const orphan = await commitFiles(repo, { ref: 'refs/heads/orphan', files: { z: 'z' }, message: 'orphan' });

    expect(await mergeBase(repo, main, side)).toBe(base);
    expect(await mergeBase(repo, 'cr/1', 'main')).toBe(base);
    expect(await mergeBase(repo, base, main)).toBe(base);
    expect(await mergeBase(repo, main, orphan)).toBeUndefined();
  });

  it('refuses unknown revisions', async () => {
    const repo = await newRepo({ bare: true });
    const base = await commitFiles(repo, { ref: 'refs/heads/main', files: { a: '1' }, message: 'base' });
    for (const rev of ['nope', '-h', '']) {
      await expect(mergeBase(repo, base, rev), rev).rejects.toMatchObject({
        code: 'E_REV_NOT_FOUND',
        message: `revision '${rev}' not found in '${repo.dir}'`,
        data: { rev },
      });
    }
  });
});
