import { describe, expect, it } from 'vitest';
import { assetHistory } from './assetHistory.js';
import { commitFiles } from './commitFiles.js';
import type { GitCliRepo } from './GitCliRepo.js';
import { useTempRepos } from './testing/tempRepos.js';

const temp = useTempRepos('estate-history');
const newRepo = (): Promise<GitCliRepo> => temp.newRepo({ bare: true });

const host = (name: string, cpus: number): string =>
  `apiVersion: estate/v1\nkind: Host\nmetadata: {name: ${name}}\nspec:\n  hostname: ${name}.example.com\n  cpus: ${cpus}\n`;

describe('assetHistory', () => {
  it('follows an asset through a commit that broke its file and one that repaired it', async () => {
    const repo = await newRepo();
    const step = (message: string, files: Record<string, string>): Promise<string> =>
      commitFiles(repo, { ref: 'refs/heads/main', parent: 'main', files, message });
    const added = await commitFiles(repo, { ref: 'refs/heads/main', files: { 'assets/a.yaml': host('a', 1) }, message: 'add' });
    await step('break', { 'assets/a.yaml': `${host('a', 2)}  oops: [unclosed\n` });
    const repaired = await step('repair', { 'assets/a.yaml': host('a', 3) });
    const changed = await step('more cores', { 'assets/a.yaml': host('a', 4) });

    const entries = await assetHistory(repo, 'host/a', { rev: 'main' });
    expect(entries.map((e) => [e.commit.sha, e.change, e.fields])).toEqual([
      [changed, 'changed', [{ op: 'replace', pointer: '/spec/cpus', old: 3, new: 4 }]],
      // Not "added": the broken version hid the asset, the one before it still had it.
      [repaired, 'changed', [{ op: 'replace', pointer: '/spec/cpus', old: 1, new: 3 }]],
      [added, 'added', []],
    ]);
    expect((await assetHistory(repo, 'host/a', { rev: 'main', limit: 2 })).map((e) => e.commit.sha)).toEqual([changed, repaired]);
  });

  it('reports an asset added while repairing a broken file as added there', async () => {
    const repo = await newRepo();
    await commitFiles(repo, { ref: 'refs/heads/main', files: { 'assets/hosts.yaml': host('b', 1) }, message: 'add b' });
    await commitFiles(repo, { ref: 'refs/heads/main', parent: 'main', files: { 'assets/hosts.yaml': `${host('b', 1)}  oops: [\n` }, message: 'break' });
    const repaired = await commitFiles(repo, {
      ref: 'refs/heads/main',
      parent: 'main',
      files: { 'assets/hosts.yaml': `${host('b', 1)}---\n${host('a', 2)}` },
      message: 'repair, add a',
    });
    expect((await assetHistory(repo, 'host/a', { rev: 'main' })).map((e) => [e.commit.sha, e.change])).toEqual([[repaired, 'added']]);
  });
});
