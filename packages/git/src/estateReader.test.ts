import { describe, expect, it } from 'vitest';
import type { Estate } from '@estate/core';
import { commitFiles } from './commitFiles.js';
import { IncrementalEstateLoader, loadCommitEstate } from './estateReader.js';
import type { GitCliRepo } from './GitCliRepo.js';
import { useTempRepos } from './testing/tempRepos.js';

const temp = useTempRepos('estate-reader');
const newRepo = (): Promise<GitCliRepo> => temp.newRepo({ bare: true });

const ESTATE = 'apiVersion: estate/v1\nkind: Estate\nmetadata: {name: test}\nspec: {environments: [dev, prod]}\n';
const host = (name: string, extra = ''): string =>
  `apiVersion: estate/v1\nkind: Host\nmetadata: {name: ${name}}\nspec:\n  hostname: ${name}.example.com\n${extra}`;
const service = (name: string, hosts: string[]): string =>
  `apiVersion: estate/v1\nkind: Service\nmetadata: {name: ${name}}\nspec:\n  runsOn: [${hosts.map((h) => `host/${h}`).join(', ')}]\n`;

/** What a comparison of two loads should look at: ids with their files, problems, relations. */
function summary(estate: Estate): unknown {
  return {
    assets: [...estate.assets.values()].map((a) => [a.id, a.path, a.blobId, a.document.value]),
    diagnostics: estate.diagnostics,
    relations: estate.relations,
    byKind: estate.stats.byKind,
  };
}

describe('IncrementalEstateLoader', () => {
  it('answers exactly as a full load after adds, edits, deletes and renames, parsing only what changed', async () => {
    const repo = await newRepo();
    const files: Record<string, string> = { 'estate.yaml': ESTATE };
    for (let i = 0; i < 20; i++) files[`assets/hosts/web-${i}.yaml`] = host(`web-${i}`);
    files['assets/services/shop.yaml'] = service('shop', ['web-1', 'web-2']);
    const first = await commitFiles(repo, { ref: 'refs/heads/main', files, message: 'first', expectedOld: null });
    const second = await commitFiles(repo, {
      ref: 'refs/heads/main',
      parent: first,
      files: {
        'assets/hosts/web-1.yaml': host('web-1', '  cpus: 8\n'),
        'assets/hosts/web-2.yaml': null,
        'assets/hosts/moved/web-3.yaml': host('web-3'),
        'assets/hosts/web-3.yaml': null,
        'assets/hosts/web-99.yaml': host('web-99', '  cpus: many\n'),
      },
      message: 'second',
      expectedOld: first,
    });

    const loader = new IncrementalEstateLoader(repo);
    const before = await loader.load(first);
    expect(before.diagnostics).toEqual([]);
    expect(before.stats.parsed).toBe(22);

    const after = await loader.load(second);
    // web-1 changed, web-3 moved (same blob: cached), web-99 is new.
    expect(after.stats.parsed).toBe(2);
    expect(after.diagnostics.map((d) => [d.code, d.path, d.line])).toEqual([
      ['E_SCHEMA', 'assets/hosts/web-99.yaml', 6],
      ['E_DANGLING_REF', 'assets/services/shop.yaml', 5],
    ]);
    expect(summary(after)).toEqual(summary(await loadCommitEstate(repo, second)));
    expect(summary(await loader.load(first))).toEqual(summary(before));
  });
});
