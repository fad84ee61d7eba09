import { afterEach, describe, expect, it } from 'vitest';
import { GitCliRepo, loadCommitEstate } from '@estate/git';
import { openSqliteStore } from '../store/sqliteStore.js';
import type { Store } from '../store/Store.js';
import { hostYaml, makeTestRepo, serviceYaml, teamYaml, type TestRepo } from '../testing/gitRepo.js';
import { dumpStore } from '../../../../tests/server/storeDump.js';
import { Indexer } from './Indexer.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ repo: TestRepo; git: GitCliRepo }> {
  const repo = makeTestRepo();
  cleanups.push(() => repo.remove());
  const git = await GitCliRepo.open(repo.dir);
  cleanups.push(() => git.close());
  return { repo, git };
}

async function newStore(): Promise<Store> {
  const store = await openSqliteStore(':memory:');
  cleanups.push(() => store.close());
  return store;
}

/** A history touching every kind of change: add, modify, move, delete, break, dangle, schema. */
function writeHistory(repo: TestRepo): string[] {
  const shas: string[] = [];
  shas.push(repo.commit('add team and hosts', { 'assets/teams/platform.yaml': teamYaml('platform'), 'assets/hosts/web-01.yaml': hostYaml('web-01'), 'assets/hosts/web-02.yaml': hostYaml('web-02', { ip: '10.0.0.2', env: 'staging' }) }));
  shas.push(repo.commit('add service', { 'assets/services/shop.yaml': serviceYaml('shop', ['host/web-01', 'host/web-02']) }));
  shas.push(repo.commit('change web-01', { 'assets/hosts/web-01.yaml': hostYaml('web-01', { ip: '10.0.0.11', extra: '  cpus: 8\n' }) }));
  shas.push(repo.commit('move web-02', { 'assets/hosts/web-02.yaml': null, 'assets/hosts/dc1/web-02.yaml': hostYaml('web-02', { ip: '10.0.0.2', env: 'staging' }) }));
  shas.push(repo.commit('break yaml', { 'assets/hosts/web-01.yaml': 'apiVersion: [\n' }));
  shas.push(repo.commit('fix yaml, duplicate ip', { 'assets/hosts/web-01.yaml': hostYaml('web-01', { ip: '10.0.0.2' }) }));
  shas.push(repo.commit('delete web-02 (service dangles)', { 'assets/hosts/dc1/web-02.yaml': null }));
  shas.push(repo.commit('custom kind', {
    'schemas/certificate.yaml': 'apiVersion: estate/v1\nkind: Schema\nmetadata:\n  name: Certificate\nspec:\n  schema:\n    type: object\n    properties:\n      host: {type: string, x-estate-ref: Host, x-estate-relation: installedOn, x-estate-inverse: certificates}\n',
    'assets/certs/shop.yaml': 'apiVersion: estate/v1\nkind: Certificate\nmetadata:\n  name: shop\n  owner: team/platform\nspec:\n  host: host/web-01\n',
  }));
  shas.push(repo.commit('readme only', { 'README.md': 'hello\n' }));
  shas.push(repo.commit('restore web-02', { 'assets/hosts/web-02.yaml': hostYaml('web-02', { ip: '10.0.0.22' }) }));
  return shas;
}

describe('Indexer', () => {
  it('answers at every commit exactly as loading that commit does', async () => {
    const { repo, git } = await setup();
    const shas = writeHistory(repo);
    const store = await newStore();
    const indexer = new Indexer(git, store);
    await indexer.sync();
    expect(await store.head()).toEqual({ seq: shas.length + 1, sha: shas.at(-1) });
    for (const sha of shas) {
      const commit = (await store.findCommit(sha))!;
      const estate = await loadCommitEstate(git, sha);
      const assets = await store.listAssets({ seq: commit.seq, limit: 1000 });
      expect(assets.map((a) => [a.id, a.path, a.document])).toEqual(
        [...estate.assets.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((a) => [a.id, a.path, a.document.value]),
      );
      expect(await store.diagnosticsAt(commit.seq)).toEqual(estate.diagnostics);
      expect(commit.errors).toBe(estate.diagnostics.length);
    }
    const broken = (await store.findCommit(shas[4]!))!;
    expect(broken.errors).toBeGreaterThan(0);
    expect((await store.diagnosticsAt(broken.seq)).map((d) => d.code)).toContain('E_YAML_SYNTAX');
    expect(indexer.status()).toMatchObject({ state: 'ready', head: { sha: shas.at(-1) }, mainSha: shas.at(-1), lagSeconds: 0, headErrors: 0 });
  });

  it('builds, one commit at a time, the same store as a reindex from scratch', async () => {
    const { repo, git } = await setup();
    const incremental = await newStore();
    const indexer = new Indexer(git, incremental);
    await indexer.sync();
    const shas = writeHistory(repo);
    // Replay: move main back to each commit in turn and let the indexer follow it.
    const tip = shas.at(-1)!;
    repo.git('update-ref', 'refs/heads/main', shas[0]!);
    for (const sha of shas) {
      repo.git('update-ref', 'refs/heads/main', sha);
      await indexer.sync();
    }
    expect((await incremental.head())?.sha).toBe(tip);

    const rebuilt = await newStore();
    await new Indexer(git, rebuilt).sync();
    expect(await dumpStore(rebuilt)).toEqual(await dumpStore(incremental));
  });

  it('records the errors of a commit pushed around the gates and reports main as degraded', async () => {
    const { repo, git } = await setup();
    const store = await newStore();
    const indexer = new Indexer(git, store);
    repo.commit('host', { 'assets/hosts/web-01.yaml': hostYaml('web-01', { owner: 'team/nobody' }) });
    await indexer.sync();
    const status = indexer.status();
    expect(status.headErrors).toBe(1);
    const head = (await store.head())!;
    expect((await store.diagnosticsAt(head.seq)).map((d) => d.code)).toEqual(['E_DANGLING_REF']);
    expect((await store.commitBySeq(head.seq))?.errors).toBe(1);

    // A restarted indexer knows the head's errors without loading the estate.
    const again = new Indexer(git, store);
    await again.sync();
    expect(again.status()).toMatchObject({ state: 'ready', headErrors: 1 });
  });

  it('stores a new version only for the documents of a file that really changed', async () => {
    const { repo, git } = await setup();
    const store = await newStore();
    const pool = (ip: string): string => `${teamYaml('platform')}---\n${hostYaml('web-01', { ip })}`;
    repo.commit('pool', { 'assets/pool.yaml': pool('10.0.0.1') });
    repo.commit('change the host', { 'assets/pool.yaml': pool('10.0.0.9') });
    await new Indexer(git, store).sync();
    expect((await store.assetVersions('host/web-01', { limit: 10 })).length).toBe(2);
    expect((await store.assetVersions('team/platform', { limit: 10 })).length).toBe(1);
  });

  it('goes back to the shared history when main is rewritten, and answers as a reindex does', async () => {
    const { repo, git } = await setup();
    const store = await newStore();
    const indexer = new Indexer(git, store);
    const first = repo.commit('a', { 'assets/teams/platform.yaml': teamYaml('platform') });
    repo.commit('b', { 'assets/hosts/web-01.yaml': hostYaml('web-01') });
    repo.commit('c', { 'assets/hosts/web-02.yaml': hostYaml('web-02', { ip: '10.0.0.2' }) });
    await indexer.sync();
    repo.git('reset', '-q', '--hard', first);
    const other = repo.commit('d', { 'assets/hosts/web-09.yaml': hostYaml('web-09') });
    await indexer.sync();
    expect(await store.head()).toEqual({ seq: 3, sha: other });
    expect((await store.listAssets({ seq: 3, limit: 10 })).map((a) => a.id)).toEqual(['host/web-09', 'team/platform']);
    expect(await store.findCommit(first)).toMatchObject({ seq: 2 });
    expect((await store.assetVersions('host/web-01', { limit: 10 }))).toEqual([]);

    // Back by one commit, then forward again.
    repo.git('reset', '-q', '--hard', first);
    await indexer.sync();
    expect(await store.head()).toEqual({ seq: 2, sha: first });
    repo.commit('e', { 'assets/hosts/web-03.yaml': hostYaml('web-03', { ip: '10.0.0.3' }) });
    await indexer.sync();

    const rebuilt = await newStore();
    await new Indexer(git, rebuilt).sync();
    expect(await dumpStore(store)).toEqual(await dumpStore(rebuilt));
  });

  it('follows a merge pushed as main whose first parent is another branch, as a reindex does', async () => {
    const { repo, git } = await setup();
    const store = await newStore();
    const indexer = new Indexer(git, store);
    const base = repo.commit('team', { 'assets/teams/platform.yaml': teamYaml('platform') });
    repo.commit('on main', { 'assets/hosts/web-01.yaml': hostYaml('web-01') });
    await indexer.sync();
    // Someone's old main: two commits of their own, then `git pull` (a merge), pushed as main.
    repo.git('checkout', '-q', '-b', 'old', base);
    repo.commit('theirs 1', { 'assets/hosts/web-02.yaml': hostYaml('web-02', { ip: '10.0.0.2' }) });
    repo.commit('theirs 2', { 'assets/hosts/web-02.yaml': hostYaml('web-02', { ip: '10.0.0.22' }) });
    repo.git('merge', '-q', '--no-ff', '-m', 'merge main', 'main');
    const merge = repo.git('rev-parse', 'HEAD').trim();
    repo.git('update-ref', 'refs/heads/main', merge);
    await indexer.sync();
    expect((await store.listCommits({ limit: 10 })).map((c) => c.message)).toEqual(['merge main', 'theirs 2', 'theirs 1', 'team', 'init estate']);

    const rebuilt = await newStore();
    await new Indexer(git, rebuilt).sync();
    expect(await dumpStore(store)).toEqual(await dumpStore(rebuilt));
  });

  it('resumes after a failed write without losing or repeating a commit', async () => {
    const { repo, git } = await setup();
    const store = await newStore();
    const shas = writeHistory(repo);
    const failing = new Proxy(store, {
      get(target, property) {
        if (property === 'appendCommits') return async () => Promise.reject(new Error('disk full'));
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    // Index part of the history, then fail while writing the rest.
    repo.git('update-ref', 'refs/heads/main', shas[3]!);
    const indexer = new Indexer(git, store);
    await indexer.sync();
    repo.git('update-ref', 'refs/heads/main', shas.at(-1)!);
    const broken = new Indexer(git, failing);
    await expect(broken.sync()).rejects.toThrow('disk full');
    expect(broken.status().lastError).toBe('disk full');
    expect((await store.head())?.sha).toBe(shas[3]);
    await indexer.sync();
    expect((await store.head())?.sha).toBe(shas.at(-1));

    const rebuilt = await newStore();
    await new Indexer(git, rebuilt).sync();
    expect(await dumpStore(store)).toEqual(await dumpStore(rebuilt));
  });

  it('follows the branch as it moves: visible shortly after a commit', async () => {
    const { repo, git } = await setup();
    const store = await newStore();
    const indexer = new Indexer(git, store, { pollMs: 200 });
    indexer.start();
    cleanups.push(() => indexer.stop());
    const sha = repo.commit('host', { 'assets/hosts/web-01.yaml': hostYaml('web-01', { owner: 'team/nobody' }) });
    await expect.poll(async () => (await store.head())?.sha, { timeout: 5000, interval: 20 }).toBe(sha);
  });
});
