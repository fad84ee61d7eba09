import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDiagnostic, resolveConfig } from '@estate/core';
import { describe, expect, it } from 'vitest';
import { commitFiles } from './commitFiles.js';
import { loadCommitConfig, loadWorkTreeConfig } from './configReader.js';
import { runGit } from './runGit.js';
import { useTempRepos } from './testing/tempRepos.js';

const temp = useTempRepos('config-reader');
const ENVS = ['dev', 'prod'];
const FILES = {
  'estate.yaml': 'apiVersion: estate/v1\nkind: Estate\nmetadata: {name: t}\nspec: {environments: [dev, prod]}\n',
  'config/shop/base.yaml': 'http:\n  port: 80\nlevel: info\n',
  'config/shop/prod.yaml': 'level: warn\n',
  'config/shop/prod/eu-1.yaml': 'http: {port: 8443}\n',
  'config/shop/README.md': '# shop config\n',
  'config/shop/qa.yaml': 'level: debug\n',
  'assets/base.yaml': 'not: config\n',
};

describe('loadCommitConfig', () => {
  it('reads the config files of a commit and only those', async () => {
    const repo = await temp.newRepo({ bare: true });
    const commit = await commitFiles(repo, { ref: 'refs/heads/main', files: FILES, message: 'config', expectedOld: null });
    const set = await loadCommitConfig(repo, commit, ENVS);
    expect(set.diagnostics.map(formatDiagnostic)).toEqual([
      "config/shop/qa.yaml:1:1: error[E_CONFIG_LAYOUT]: environment 'qa' of 'config/shop/qa.yaml' is not declared in estate.yaml spec.environments (declared: dev, prod)",
    ]);
    expect([...set.apps.keys()]).toEqual(['shop']);
    expect(resolveConfig(set, 'shop', 'prod', 'eu-1')).toEqual({
      values: { http: { port: 8443 }, level: 'warn' },
      sources: { '/http/port': 'config/shop/prod/eu-1.yaml', '/level': 'config/shop/prod.yaml' },
      diagnostics: [],
    });
  });
});

describe('loadWorkTreeConfig', () => {
  const write = async (dir: string): Promise<void> => {
    for (const [path, text] of Object.entries(FILES)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), text);
    }
  };

  it('reads a plain directory', async () => {
    const dir = await temp.tempDir();
    await write(dir);
    const set = await loadWorkTreeConfig(dir, ENVS);
    expect(set.diagnostics.map((d) => d.path)).toEqual(['config/shop/qa.yaml']);
    expect(resolveConfig(set, 'shop', 'dev').values).toEqual({ http: { port: 80 }, level: 'info' });
  });

  it('reads the files git would track in a work tree', async () => {
    const repo = await temp.newRepo();
    const dir = repo.workTree!;
    await write(dir);
    await writeFile(join(dir, '.gitignore'), 'config/shop/qa.yaml\n');
    await runGit(['add', '.'], { cwd: dir });
    const set = await loadWorkTreeConfig(dir, ENVS);
    expect(set.diagnostics).toEqual([]);
    expect(resolveConfig(set, 'shop', 'prod').values).toEqual({ http: { port: 80 }, level: 'warn' });
  });
});
