import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLabelSelector } from '@estate/core';
import { describeStoreContract } from '../testing/storeContract.js';
import { MAX_MERGED_VALUES, MAX_TERM_CANDIDATES, planAssetQuery, type IndexedWalk } from './sqliteAssetQuery.js';
import { SCHEMA_VERSION } from './sqliteSchema.js';
import { openSqliteStore } from './sqliteStore.js';
import type { AssetQuery, AssetWrite, CommitBatch } from './Store.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
/** A path for a new store file in a temporary directory removed after the tests. */
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'estate-sqlite-'));
  dirs.push(dir);
  return join(dir, 'index.db');
}

describeStoreContract('SQLite file', () => openSqliteStore(tempFile()));
describeStoreContract('SQLite :memory:', () => openSqliteStore(':memory:'));

const sha = (n: number): string => n.toString(16).padStart(40, 'a');

function asset(id: string, env = 'prod'): AssetWrite {
  const [kind, name] = id.split('/') as [string, string];
  return {
    id,
    kind,
    name,
    path: `assets/${name}.yaml`,
    blobId: sha(999),
    document: { apiVersion: 'estate/v1', kind, metadata: { name, labels: { env } }, spec: {} },
    labels: { env },
    owner: undefined,
    searchText: name,
    references: [],
  };
}

function batch(n: number, assets: [string, AssetWrite | null][]): CommitBatch {
  const signature = { name: 'a', email: 'a@example.com', date: `2024-01-0${n}T00:00:00Z` };
  return {
    commit: { sha: sha(n), parents: n > 1 ? [sha(n - 1)] : [], author: signature, committer: signature, message: `c${n}`, errors: 0 },
    assets: new Map(assets),
    diagnostics: new Map(),
  };
}

describe('openSqliteStore', () => {
  it('keeps everything across close and reopen', async () => {
    const file = tempFile();
    const store = await openSqliteStore(file);
    await store.appendCommit(batch(1, [['host/a', asset('host/a')]]));
    await store.createToken({ id: 't', name: 'n', role: 'viewer', scopes: {}, groups: [], createdAt: '2024-01-01T00:00:00.000Z' }, 'h');
    await store.close();

    const reopened = await openSqliteStore(file);
    expect(await reopened.head()).toEqual({ seq: 1, sha: sha(1) });
    expect(await reopened.getAsset('host/a', 1)).toMatchObject({ id: 'host/a', from: { seq: 1 } });
    expect(await reopened.tokenByHash('h')).toMatchObject({ id: 't' });
    expect(await reopened.appendCommit(batch(2, [['host/a', null]]))).toBe(2);
    await reopened.close();
  });

  it('uses WAL journaling with synchronous=NORMAL, foreign keys and a busy timeout', async () => {
    const file = tempFile();
    const store = await openSqliteStore(file);
    await store.appendCommit(batch(1, [['host/a', asset('host/a')]]));
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      // A second connection reads while the store's connection is open.
      expect(raw.prepare('SELECT count(*) AS n FROM asset_versions').get()).toEqual({ n: 1 });
    } finally {
      raw.close();
      await store.close();
    }
  });

  it('refuses a file with a newer schema version, naming both versions', async () => {
    const file = tempFile();
    await (await openSqliteStore(file)).close();
    const raw = new Database(file);
    raw.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION + 1));
    raw.close();
    const opening = openSqliteStore(file);
    await expect(opening).rejects.toMatchObject({ code: 'E_STORE_VERSION', data: { version: SCHEMA_VERSION + 1, supported: SCHEMA_VERSION } });
    await expect(opening).rejects.toThrow(`schema version ${SCHEMA_VERSION + 1}, newer than ${SCHEMA_VERSION}`);
  });

  it('creates the schema in a new file and records its version', async () => {
    const file = tempFile();
    await (await openSqliteStore(file)).close();
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({ value: String(SCHEMA_VERSION) });
      const tables = raw.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'asset\\_search\\_%' ESCAPE '\\' ORDER BY name").all().map((r) => r.name);
      expect(tables).toEqual(['asset_labels', 'asset_refs', 'asset_search', 'asset_versions', 'commits', 'diagnostics', 'meta', 'models', 'tokens']);
    } finally {
      raw.close();
    }
  });

  it('leaves the previous head intact, on disk too, when a write fails halfway through a commit', async () => {
    const file = tempFile();
    const store = await openSqliteStore(file);
    await store.appendCommit(batch(1, [['host/a', asset('host/a')]]));
    // host/b is written and host/a closed before the invalid row (a NULL kind) makes SQLite throw.
    const broken = { ...asset('host/c'), kind: null } as unknown as AssetWrite;
    const failing = batch(2, [
      ['host/b', asset('host/b')],
      ['host/a', asset('host/a', 'staging')],
      ['host/c', broken],
    ]);
    await expect(store.appendCommit(failing)).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_NOTNULL' });
    const expectIntact = async (s: typeof store): Promise<void> => {
      expect(await s.head()).toEqual({ seq: 1, sha: sha(1) });
      expect(await s.getAsset('host/b', 2)).toBeUndefined();
      expect(await s.getAsset('host/a', 2)).toMatchObject({ document: { metadata: { labels: { env: 'prod' } } } });
      expect(await s.getAsset('host/a', 2)).not.toHaveProperty('to');
      expect((await s.listAssets({ seq: 2, limit: 10, selector: parseLabelSelector('env=prod') })).map((a) => a.id)).toEqual(['host/a']);
      expect(await s.changedAssetIds(1, 2)).toEqual([]);
    };
    await expectIntact(store);
    await store.close();
    const reopened = await openSqliteStore(file);
    await expectIntact(reopened);
    // The same commit, fixed, goes in as seq 2.
    failing.assets.delete('host/c');
    expect(await reopened.appendCommit(failing)).toBe(2);
    await reopened.close();
  });

  it('walks indexes in id order, with no sort, for owner, label=, kind, label sets and all, at the head and in the past', async () => {
    const file = tempFile();
    await (await openSqliteStore(file)).close();
    const raw = new Database(file, { readonly: true });
    try {
      const base = { seq: 1, limit: 10, after: 'x', terms: ['a'], selector: parseLabelSelector('tier,!legacy,zone in (a,b)') };
      const queries = [
        { ...base, owner: 'team/a', kind: 'host' },
        { ...base, selector: parseLabelSelector('env=prod,tier') },
        { ...base, kind: 'host' },
        { ...base, selector: parseLabelSelector('env in (prod,staging),!legacy') },
        { ...base, selector: parseLabelSelector('env') },
        { ...base, selector: [] },
        { ...base, kind: 'host', selector: parseLabelSelector('env=prod,role in (web,db),!legacy') },
      ];
      // Every estimate equal (the first candidate walks), or label sets the fewest (a set walks).
      const estimates = [(): number => 1, (walk: IndexedWalk): number => (walk.on === 'label' && walk.values.length > 1 ? 1 : 2)];
      const keys = new Set<string>();
      for (const [atHead, query, estimate] of [true, false].flatMap((atHead) => queries.flatMap((query) => estimates.map((e) => [atHead, query, e] as const)))) {
        const plan = planAssetQuery(query, { atHead, labelValues: () => ['a', 'b', 'c'], estimate });
        keys.add(plan.key);
        const steps = raw
          .prepare<[Record<string, string | number>], { detail: string }>(`EXPLAIN QUERY PLAN ${plan.sql}`)
          .all(plan.params)
          .map((r) => r.detail);
        expect(steps.join('\n'), plan.key).not.toMatch(/TEMP B-TREE|SCAN av\b|SCAN l\b/);
      }
      expect([...keys].filter((key) => key.startsWith('head ')).map((key) => key.split(' ')[1]).sort()).toEqual(
        expect.arrayContaining(['kind', 'label-merge2', 'label-merge3', 'label=', 'owner', 'scan']),
      );
    } finally {
      raw.close();
    }
  });

  it('walks the index with the fewest entries, a label set of few values included', () => {
    const query = { seq: 1, limit: 10, kind: 'host', selector: parseLabelSelector('env=prod,role in (web,db),tier') };
    const counts = (set: number) => (walk: IndexedWalk): number => (walk.on === 'kind' ? 60 : walk.on === 'label' && walk.values.length === 1 ? 90 : set);
    const plan = (set: number): string => planAssetQuery(query, { atHead: true, labelValues: () => undefined, estimate: counts(set) }).key;
    expect(plan(35)).toBe('head label-merge2 +kind +in1 +exists');
    expect(plan(70)).toBe('head kind +in1 +in +exists');
    const many = { ...query, selector: parseLabelSelector(`role in (${Array.from({ length: MAX_MERGED_VALUES + 1 }, (_, i) => `r${i}`).join(',')})`) };
    const asked: IndexedWalk[] = [];
    planAssetQuery(many, { atHead: true, labelValues: () => undefined, estimate: (walk) => (asked.push(walk), 0) });
    expect(asked).toEqual([]); // too many values to merge: not a candidate, kind walks alone
  });

  it('sorts the matches instead when a term or a label has too many candidates to merge', async () => {
    const store = await openSqliteStore(':memory:');
    const many = MAX_TERM_CANDIDATES + 5;
    const assets: [string, AssetWrite][] = Array.from({ length: many }, (_, i) => {
      const id = `host/h${String(i).padStart(5, '0')}`;
      const write = asset(id, `v${i % (MAX_MERGED_VALUES + 3)}`);
      return [id, { ...write, searchText: `common ${i % 7 === 0 ? 'seventh' : ''}` }];
    });
    await store.appendCommit(batch(1, assets));
    const ids = async (query: Omit<AssetQuery, 'seq' | 'limit'>): Promise<string[]> => (await store.listAssets({ seq: 1, limit: 5000, ...query })).map((a) => a.id);
    const expected = (keep: (i: number) => boolean): string[] => assets.filter((_, i) => keep(i)).map(([id]) => id);
    expect(await ids({ terms: ['common'] })).toEqual(expected(() => true)); // too many for the trigram index
    expect(await ids({ terms: ['seventh'] })).toEqual(expected((i) => i % 7 === 0)); // few: from the trigram index
    expect(await ids({ selector: parseLabelSelector('env') })).toHaveLength(many); // too many values to merge
    const values = Array.from({ length: MAX_MERGED_VALUES + 1 }, (_, i) => `v${i}`);
    expect(await ids({ selector: [{ key: 'env', op: 'in', values }] })).toEqual(expected((i) => i % (MAX_MERGED_VALUES + 3) <= MAX_MERGED_VALUES));
    expect(await ids({ selector: [{ key: 'env', op: 'in', values }], after: 'host/h01000' })).toEqual(
      expected((i) => i > 1000 && i % (MAX_MERGED_VALUES + 3) <= MAX_MERGED_VALUES),
    );
    await store.close();
  });
});
