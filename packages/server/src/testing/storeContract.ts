import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareDiagnostics, matchesSelector, parseLabelSelector, type Diagnostic } from '@estate/core';
import type {
  AssetQuery,
  AssetVersion,
  AssetVersionJson,
  AssetWrite,
  CommitBatch,
  EstateModel,
  Store,
  StoredEdge,
  StoredReference,
  TokenRecord,
} from '../store/Store.js';

/**
 * The behaviour every {@link Store} adapter must have, as a vitest suite: call it from the
 * adapter's test file with a function that opens a new, empty store (each test gets its own).
 *
 * Most expectations are computed from a small reference model of the scenario below (assets
 * added, changed, rewritten unchanged, deleted and re-added; labels and references changing;
 * targets disappearing; diagnostics per path changing and clearing; committer dates going
 * backwards), so every query is checked at every commit, not only the ones spelled out.
 */
export function describeStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    /** Appends the scenario and returns its seqs. */
    const appendScenario = async (): Promise<number[]> => {
      const seqs: number[] = [];
      for (const batch of SCENARIO) seqs.push(await store.appendCommit(batch));
      return seqs;
    };

    describe('commits', () => {
      it('starts empty and numbers appended commits 1, 2, 3… with the last as head', async () => {
        expect(await store.head()).toBeUndefined();
        expect(await store.listCommits({ limit: 10 })).toEqual([]);
        expect(await appendScenario()).toEqual([1, 2, 3, 4, 5]);
        expect(await store.head()).toEqual({ seq: 5, sha: SHAS[4] });
      });

      it('returns commit records by seq, full sha, prefix of any case', async () => {
        await appendScenario();
        const first = await store.commitBySeq(1);
        expect(first).toEqual({
          seq: 1,
          sha: SHAS[0],
          parents: [],
          author: SCENARIO[0]!.commit.author,
          committer: SCENARIO[0]!.commit.committer,
          message: 'first\n\nwith a body\n',
          errors: 3,
          indexedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
        });
        expect((await store.commitBySeq(2))?.parents).toEqual([SHAS[0]]);
        expect(await store.commitBySeq(6)).toBeUndefined();
        expect(await store.findCommit(SHAS[2]!)).toMatchObject({ seq: 3, sha: SHAS[2] });
        expect(await store.findCommit(SHAS[3]!.slice(0, 7))).toMatchObject({ seq: 4 });
        expect(await store.findCommit(SHAS[3]!.slice(0, 10).toUpperCase())).toMatchObject({ seq: 4 });
      });

      it('returns the commits of several seqs in one call, by seq, leaving out unknown ones', async () => {
        await appendScenario();
        const all = await Promise.all([1, 2, 3, 4, 5].map(async (seq) => (await store.commitBySeq(seq))!));
        expect(await store.commitsBySeq([4, 1, 9, 4, 2, 0])).toEqual([all[0], all[1], all[3]]);
        expect(await store.commitsBySeq([5, 4, 3, 2, 1])).toEqual(all);
        expect(await store.commitsBySeq([])).toEqual([]);
        expect(await store.commitsBySeq([7])).toEqual([]);
      });

      it('answers undefined for an unknown sha, refuses an ambiguous prefix and a malformed one', async () => {
        await appendScenario();
        expect(await store.findCommit('0123456789abcdef0123456789abcdef01234567')).toBeUndefined();
        expect(await store.findCommit('0123')).toBeUndefined();
        // SHAS[1] and SHAS[2] share the prefix 'deadbee'.
        const ambiguous = store.findCommit('deadbee');
        await expect(ambiguous).rejects.toMatchObject({ code: 'E_AMBIGUOUS' });
        await expect(ambiguous).rejects.toThrow(/deadbee.*ambiguous/);
        expect(await store.findCommit('deadbee1')).toMatchObject({ seq: 2 });
        for (const bad of ['abc', 'xyz123', 'dead beef', '']) {
          await expect(store.findCommit(bad), bad).rejects.toMatchObject({ code: 'E_BAD_PARAM' });
        }
      });

      it('lists commits newest first, paging with beforeSeq', async () => {
        await appendScenario();
        const seqs = async (options: { limit: number; beforeSeq?: number }): Promise<number[]> =>
          (await store.listCommits(options)).map((c) => c.seq);
        expect(await seqs({ limit: 2 })).toEqual([5, 4]);
        expect(await seqs({ limit: 2, beforeSeq: 4 })).toEqual([3, 2]);
        expect(await seqs({ limit: 10, beforeSeq: 2 })).toEqual([1]);
        expect(await seqs({ limit: 10, beforeSeq: 1 })).toEqual([]);
        expect(await seqs({ limit: 0 })).toEqual([]);
        expect((await store.listCommits({ limit: 1 }))[0]).toEqual(await store.commitBySeq(5));
      });

      it('finds the commit at a time in main order, even when committer dates go backwards', async () => {
        await appendScenario();
        // Committer dates: Jan 1, Jan 2, Dec 31 (before both), Jan 3, Jan 4. Main reached seq 3 after
        // seq 2, so before Jan 2 the answer never is seq 3.
        const at = async (iso: string): Promise<number | undefined> => (await store.commitAtTime(new Date(iso)))?.seq;
        expect(await at('2023-12-31T12:00:00Z')).toBeUndefined();
        expect(await at('2024-01-01T08:59:59Z')).toBeUndefined();
        expect(await at('2024-01-01T09:00:00Z')).toBe(1); // 10:00+01:00
        expect(await at('2024-01-02T09:59:59Z')).toBe(1);
        expect(await at('2024-01-02T10:00:00Z')).toBe(3);
        expect(await at('2024-01-02T23:00:00Z')).toBe(3);
        expect(await at('2024-01-03T10:00:00Z')).toBe(4);
        expect(await at('2030-01-01T00:00:00Z')).toBe(5);
        expect((await store.commitAtTime(new Date('2024-01-04T10:00:00Z')))?.sha).toBe(SHAS[4]);
        await expect(store.commitAtTime(new Date('not a date'))).rejects.toMatchObject({ code: 'E_BAD_PARAM' });
      });
    });

    describe('assets', () => {
      it('returns the version valid at each seq, with the commits that open and close it', async () => {
        await appendScenario();
        for (const id of ALL_IDS) {
          for (let seq = 0; seq <= SCENARIO.length + 1; seq++) {
            expect(await store.getAsset(id, seq), `${id} at ${seq}`).toEqual(expectedVersion(id, seq));
          }
        }
        expect(await store.getAsset('host/nope', 5)).toBeUndefined();
        // Spelled out: deleted at 3, re-added at 4 with new content.
        expect(await store.getAsset('network/n1', 2)).toMatchObject({ from: { seq: 1, sha: SHAS[0] }, to: { seq: 3, sha: SHAS[2] } });
        expect(await store.getAsset('network/n1', 3)).toBeUndefined();
        const readded = await store.getAsset('network/n1', 5);
        expect(readded).toMatchObject({ kind: 'network', name: 'n1', from: { seq: 4, sha: SHAS[3] } });
        expect(readded).not.toHaveProperty('to');
        expect(readded?.document).toMatchObject({ metadata: { labels: { env: 'staging' } } });
      });

      it('returns the same versions with the document as its JSON text on request', async () => {
        await appendScenario();
        for (const id of ALL_IDS) {
          for (let seq = 0; seq <= SCENARIO.length + 1; seq++) {
            expect(await store.getAssetJson(id, seq), `${id} at ${seq}`).toEqual(asJson(expectedVersion(id, seq)));
          }
        }
        for (const seq of [1, 3, 5]) {
          for (const filter of QUERIES) {
            const query: AssetQuery = { ...filter, seq, limit: 1000 };
            expect(await store.listAssetsJson(query), `${JSON.stringify(filter)} at ${seq}`).toEqual((await store.listAssets(query)).map(asJson));
          }
        }
        expect(await store.listAssetsJson({ seq: 5, limit: 2, after: 'host/e' })).toEqual([asJson(expectedVersion('host/web-01', 5)), asJson(expectedVersion('network/n1', 5))]);
        expect(await store.listAssetsJson({ seq: 5, limit: 0 })).toEqual([]);
      });

      it('keeps the JSON text of a document exactly as JSON.stringify wrote it', async () => {
        // Parsed from text, as the indexer's documents are: `__proto__` is then an own key.
        const document = JSON.parse(
          String.raw`{"apiVersion":"estate/v1","kind":"host","metadata":{"name":"odd","labels":{"zone":"zürich 🏔","10":"ten","2":"two"}},
          "spec":{"quote":"say \"hi\"\\ \n\t\u0001 \u2028 / \ud83c","numbers":[0,-0,0.1,1e21,-1.5e-7,9007199254740993],"nested":[[{}],[],null,true],"__proto__":{"x":1}}}`,
        ) as Record<string, unknown>;
        const odd: AssetWrite = { ...write('host/odd'), document };
        await store.appendCommit({ ...SCENARIO[0]!, assets: new Map([['host/odd', odd]]) });
        const text = JSON.stringify(document);
        expect(text).toContain('"__proto__":{"x":1}');
        expect((await store.getAssetJson('host/odd', 1))?.documentJson).toBe(text);
        expect((await store.listAssetsJson({ seq: 1, limit: 10 })).map((v) => v.documentJson)).toEqual([text]);
        expect(JSON.stringify((await store.getAsset('host/odd', 1))?.document)).toBe(text);
      });

      it('stores a write whose content equals the current version as a new version', async () => {
        await appendScenario();
        const versions = await store.assetVersions('service/api', { limit: 10 });
        expect(versions.map((v) => [v.from.seq, v.to?.seq])).toEqual([
          [3, undefined],
          [1, 3],
        ]);
        expect(versions[0]!.document).toEqual(versions[1]!.document);
      });

      it('lists assets by kind, owner, every selector operator and terms, at every seq', async () => {
        await appendScenario();
        for (let seq = 0; seq <= SCENARIO.length + 1; seq++) {
          for (const filter of QUERIES) {
            const query: AssetQuery = { ...filter, seq, limit: 1000 };
            const items = await store.listAssets(query);
            const label = `${JSON.stringify(filter)} at ${seq}`;
            expect(items.map((a) => a.id), label).toEqual(expectedIds(query));
            for (const item of items) expect(item, label).toEqual(expectedVersion(item.id, seq));
          }
        }
      });

      it('answers the spelled-out examples', async () => {
        await appendScenario();
        const ids = async (query: Omit<AssetQuery, 'limit'>): Promise<string[]> => (await store.listAssets({ limit: 100, ...query })).map((a) => a.id);
        const selector = parseLabelSelector;
        expect(await ids({ seq: 1, selector: selector('env=prod') })).toEqual(['host/web-01', 'network/n1', 'service/api']);
        expect(await ids({ seq: 5, selector: selector('env=prod') })).toEqual(['host/db-01', 'host/web-01', 'service/api']);
        expect(await ids({ seq: 1, selector: selector('env!=prod') })).toEqual(['host/web-02']);
        expect(await ids({ seq: 4, selector: selector('env!=prod') })).toEqual(['host/web-02', 'network/n1', 'network/n2']);
        expect(await ids({ seq: 2, selector: selector('role in (web,api)') })).toEqual(['host/web-01', 'host/web-02']);
        expect(await ids({ seq: 2, selector: selector('role notin (web)') })).toEqual(['host/db-01', 'host/web-01', 'network/n1', 'service/api']);
        expect(await ids({ seq: 4, selector: selector('canary') })).toEqual(['host/web-02']);
        expect(await ids({ seq: 4, selector: selector('!env') })).toEqual(['host/web-02', 'network/n2']);
        expect(await ids({ seq: 4, kind: 'host', selector: selector('role,env=prod') })).toEqual(['host/web-01']);
        expect(await ids({ seq: 2, owner: 'team/a' })).toEqual(['host/web-01', 'host/web-02']);
        expect(await ids({ seq: 4, owner: 'team/a' })).toEqual(['host/web-01']);
        expect(await ids({ seq: 1, kind: 'network' })).toEqual(['network/n1']);
        expect(await ids({ seq: 3, kind: 'network' })).toEqual([]);
        expect(await ids({ seq: 1, terms: ['100%'] })).toEqual(['host/web-02']);
        expect(await ids({ seq: 1, terms: ['%'] })).toEqual(['host/web-02']);
        expect(await ids({ seq: 1, terms: ['_'] })).toEqual([]);
        expect(await ids({ seq: 1, terms: ['web', 'env=staging'] })).toEqual(['host/web-02']);
        expect(await ids({ seq: 1, terms: [] })).toHaveLength(4);
      });

      it('pages through every list with after and limit', async () => {
        await appendScenario();
        for (const seq of [1, 2, 4, 5]) {
          for (const filter of [{}, { kind: 'host' }, { selector: parseLabelSelector('env') }, { selector: parseLabelSelector('env in (prod,staging)') }]) {
            const all = expectedIds({ ...filter, seq, limit: 1000 });
            const paged: string[] = [];
            let after: string | undefined;
            for (;;) {
              const page = await store.listAssets({ ...filter, seq, limit: 2, ...(after === undefined ? {} : { after }) });
              expect(page.length).toBeLessThanOrEqual(2);
              paged.push(...page.map((a) => a.id));
              if (page.length < 2) break;
              after = page[1]!.id;
            }
            expect(paged, `${JSON.stringify(filter)} at ${seq}`).toEqual(all);
          }
        }
        // `after` need not be an existing id.
        expect((await store.listAssets({ seq: 5, limit: 10, after: 'host/e' })).map((a) => a.id)).toEqual(['host/web-01', 'network/n1', 'network/n2', 'service/api']);
        expect(await store.listAssets({ seq: 5, limit: 0 })).toEqual([]);
      });

      it('pages versions of one asset newest first with beforeSeq', async () => {
        await appendScenario();
        const history = async (id: string, options: { limit: number; beforeSeq?: number }): Promise<[number, number | undefined][]> =>
          (await store.assetVersions(id, options)).map((v) => [v.from.seq, v.to?.seq]);
        expect(await history('network/n1', { limit: 10 })).toEqual([
          [4, undefined],
          [1, 3],
        ]);
        expect(await history('host/web-02', { limit: 1 })).toEqual([[4, 5]]);
        expect(await history('host/web-02', { limit: 1, beforeSeq: 4 })).toEqual([[1, 4]]);
        expect(await history('host/web-02', { limit: 5, beforeSeq: 1 })).toEqual([]);
        expect(await history('host/nope', { limit: 5 })).toEqual([]);
        const [newest] = await store.assetVersions('network/n1', { limit: 1 });
        expect(newest).toEqual(expectedVersion('network/n1', 4));
        const [older] = await store.assetVersions('network/n1', { limit: 1, beforeSeq: 4 });
        expect(older).toEqual(expectedVersion('network/n1', 2));
      });

      it('names the assets that changed in a range of seqs', async () => {
        await appendScenario();
        expect(await store.changedAssetIds(0, 1)).toEqual(['host/web-01', 'host/web-02', 'network/n1', 'service/api']);
        expect(await store.changedAssetIds(1, 2)).toEqual(['host/db-01', 'host/web-01']);
        expect(await store.changedAssetIds(2, 3)).toEqual(['network/n1', 'service/api']);
        expect(await store.changedAssetIds(3, 5)).toEqual(['host/web-02', 'network/n1', 'network/n2']);
        expect(await store.changedAssetIds(4, 5)).toEqual(['host/web-02']);
        expect(await store.changedAssetIds(0, 5)).toEqual([...HISTORY.keys()].sort());
        expect(await store.changedAssetIds(5, 5)).toEqual([]);
      });

      it('counts current assets per kind at each seq', async () => {
        await appendScenario();
        expect(await store.countByKind(0)).toEqual({});
        expect(await store.countByKind(1)).toEqual({ host: 2, network: 1, service: 1 });
        expect(await store.countByKind(3)).toEqual({ host: 3, service: 1 });
        expect(await store.countByKind(5)).toEqual({ host: 2, network: 2, service: 1 });
        expect(await store.countByKind(9)).toEqual({ host: 2, network: 2, service: 1 });
      });
    });

    describe('edges', () => {
      it('follows references out and in, only to assets that exist at that seq', async () => {
        await appendScenario();
        for (const id of ALL_IDS) {
          for (let seq = 0; seq <= SCENARIO.length + 1; seq++) {
            for (const direction of ['out', 'in'] as const) {
              expect(sortEdges(await store.edges(id, seq, direction)), `${direction} of ${id} at ${seq}`).toEqual(expectedEdges(id, seq, direction));
            }
          }
        }
      });

      it('answers the spelled-out examples', async () => {
        await appendScenario();
        const targets = async (id: string, seq: number, direction: 'in' | 'out'): Promise<string[]> =>
          (await store.edges(id, seq, direction)).map((e) => e.to).sort();
        const memberOf = { from: 'host/web-01', to: 'network/n1', relation: 'memberOf', names: ['memberOf', 'members'], field: 'spec.network' };
        expect(await store.edges('host/web-01', 1, 'out')).toEqual([memberOf]);
        expect(await targets('host/web-01', 2, 'out')).toEqual(['network/n1']); // n2 does not exist yet
        expect(await targets('host/web-01', 3, 'out')).toEqual([]); // n1 deleted
        expect(await targets('host/web-01', 4, 'out')).toEqual(['network/n1', 'network/n2']);
        expect(sortEdges(await store.edges('network/n1', 1, 'in'))).toEqual([
          { from: 'network/n1', to: 'host/web-01', relation: 'members', names: ['memberOf', 'members'], field: 'spec.network' },
          { from: 'network/n1', to: 'host/web-02', relation: 'members', names: ['memberOf', 'members'], field: 'spec.network' },
        ]);
        expect(await targets('network/n1', 3, 'in')).toEqual([]);
        expect(await targets('network/n1', 4, 'in')).toEqual(['host/web-01', 'host/web-02']);
        expect(await targets('network/n1', 5, 'in')).toEqual(['host/web-01']);
        expect(await targets('host/web-02', 4, 'in')).toEqual(['service/api']);
        expect(await targets('host/web-02', 5, 'in')).toEqual([]);
        expect(await targets('service/api', 5, 'out')).toEqual(['host/web-01']);
      });
    });

    describe('diagnostics and model', () => {
      it('holds the diagnostics of each path as last written, sorted by path and position', async () => {
        await appendScenario();
        for (let seq = 0; seq <= SCENARIO.length + 1; seq++) {
          expect(await store.diagnosticsAt(seq), `at ${seq}`).toEqual(expectedDiagnostics(seq));
        }
        const at = async (seq: number): Promise<string[]> => (await store.diagnosticsAt(seq)).map((d) => `${d.path}:${d.line}:${d.col}:${d.code}`);
        expect(await at(1)).toEqual(['assets/hosts/web-01.yaml:3:5:E_SCHEMA', 'assets/services/api.yaml:2:1:E_SCHEMA', 'assets/services/api.yaml:7:3:E_DANGLING_REF']);
        expect(await at(3)).toEqual(['assets/hosts/db-01.yaml:4:2:E_UNIQUE', 'assets/services/api.yaml:2:1:E_SCHEMA', 'assets/services/api.yaml:7:3:E_DANGLING_REF']);
        expect(await at(5)).toEqual(['assets/hosts/db-01.yaml:4:2:E_UNIQUE']);
        expect((await store.diagnosticsAt(1))[2]).toEqual(SCENARIO[0]!.diagnostics.get('assets/services/api.yaml')![0]);
      });

      it('returns the model written last at or before the seq', async () => {
        await appendScenario();
        expect(await store.modelAt(0)).toBeUndefined();
        expect(await store.modelAt(1)).toEqual(MODEL_1);
        expect(await store.modelAt(2)).toEqual(MODEL_1);
        expect(await store.modelAt(3)).toEqual(MODEL_3);
        expect(await store.modelAt(9)).toEqual(MODEL_3);
      });
    });

    describe('atomic appends', () => {
      /** A batch that would change everything, to see that nothing of it is left after a refusal. */
      const sprawlingBatch = (sha: string): CommitBatch => ({
        commit: commitOf(sha, [SHAS[4]!], '2024-01-05T10:00:00Z', 'sprawling'),
        assets: new Map([
          ['host/new', write('host/new', { labels: { env: 'prod' }, refs: [ref('network/n1')] })],
          ['host/web-01', null],
        ]),
        diagnostics: new Map([['assets/hosts/new.yaml', [diagnostic('assets/hosts/new.yaml', 1, 1, 'E_SCHEMA')]]]),
        model: { kinds: [], config: { sprawling: true } },
      });

      const expectScenarioIntact = async (): Promise<void> => {
        expect(await store.head()).toEqual({ seq: 5, sha: SHAS[4] });
        expect(await store.listCommits({ limit: 10 })).toHaveLength(5);
        expect(await store.getAsset('host/new', 6)).toBeUndefined();
        expect(await store.getAsset('host/web-01', 6)).toEqual(expectedVersion('host/web-01', 5));
        expect(await store.listAssets({ seq: 6, limit: 100, selector: parseLabelSelector('env=prod') })).toHaveLength(3);
        expect(await store.edges('network/n1', 6, 'in')).toHaveLength(1);
        expect(await store.changedAssetIds(5, 6)).toEqual([]);
        expect(await store.diagnosticsAt(6)).toEqual(expectedDiagnostics(5));
        expect(await store.modelAt(6)).toEqual(MODEL_3);
      };

      it('refuses a commit already indexed, leaving nothing half-written', async () => {
        await appendScenario();
        const duplicate = store.appendCommit(sprawlingBatch(SHAS[1]!));
        await expect(duplicate).rejects.toMatchObject({ code: 'E_CONFLICT' });
        await expect(duplicate).rejects.toThrow(SHAS[1]!);
        await expectScenarioIntact();
        expect(await store.appendCommit(sprawlingBatch('1234512345123451234512345123451234512345'))).toBe(6);
        expect(await store.getAsset('host/new', 6)).toMatchObject({ from: { seq: 6 } });
      });

      it('refuses a batch with an inconsistent row after others were written, leaving nothing', async () => {
        await appendScenario();
        const batch = sprawlingBatch('1234512345123451234512345123451234512345');
        batch.assets.set('host/other', write('host/different'));
        const refused = store.appendCommit(batch);
        await expect(refused).rejects.toMatchObject({ code: 'E_BAD_PARAM' });
        await expect(refused).rejects.toThrow(/host\/different/);
        await expectScenarioIntact();
        batch.assets.delete('host/other');
        expect(await store.appendCommit(batch)).toBe(6);
      });

      it('stores several commits in one transaction, all or none', async () => {
        await appendScenario();
        const good = sprawlingBatch('1234512345123451234512345123451234512345');
        const refused = store.appendCommits([good, sprawlingBatch(SHAS[1]!)]);
        await expect(refused).rejects.toMatchObject({ code: 'E_CONFLICT' });
        await expectScenarioIntact();
        expect(await store.appendCommits([good])).toEqual([6]);
        expect(await store.appendCommits([])).toEqual([]);
        expect(await store.head()).toEqual({ seq: 6, sha: good.commit.sha });
      });

      it('forgets the commits after a seq on truncateAfter, answering as it did then', async () => {
        await appendScenario();
        // A version's `to` names the commit that ended it: after the truncation that is unknown.
        const asOf = (versions: AssetVersion[]) => versions.map(({ to: _to, ...version }) => version);
        const answersAt = async (seq: number) => ({
          assets: asOf(await store.listAssets({ seq, limit: 100 })),
          prod: asOf(await store.listAssets({ seq, limit: 100, selector: parseLabelSelector('env=prod') })),
          found: asOf(await store.listAssets({ seq, limit: 100, terms: ['web'] })),
          edges: await store.edges('network/n1', seq, 'in'),
          diagnostics: await store.diagnosticsAt(seq),
          model: await store.modelAt(seq),
          kinds: await store.countByKind(seq),
        });
        const before = [await answersAt(2), await answersAt(3)];
        await store.truncateAfter(3);
        expect(await store.head()).toEqual({ seq: 3, sha: SHAS[2] });
        expect([await answersAt(2), await answersAt(3)]).toEqual(before);
        expect(await store.findCommit(SHAS[3]!)).toBeUndefined();
        expect(await store.listCommits({ limit: 10 })).toHaveLength(3);
        expect(await store.changedAssetIds(3, 5)).toEqual([]);
        const next = sprawlingBatch('1234512345123451234512345123451234512345');
        expect(await store.appendCommits([next])).toEqual([4]);
        expect(await store.getAsset('host/new', 4)).toMatchObject({ from: { seq: 4 } });
        await store.truncateAfter(0);
        expect(await store.head()).toBeUndefined();
        expect(await store.listAssets({ seq: 1, limit: 10, terms: ['web'] })).toEqual([]);
      });

      it('forgets the index on clearIndex but keeps tokens, and indexes again from seq 1', async () => {
        await appendScenario();
        await store.createToken(TOKEN, 'hash-1');
        await store.clearIndex();
        expect(await store.head()).toBeUndefined();
        expect(await store.listCommits({ limit: 10 })).toEqual([]);
        expect(await store.findCommit(SHAS[0]!)).toBeUndefined();
        expect(await store.getAsset('host/web-01', 1)).toBeUndefined();
        expect(await store.listAssets({ seq: 1, limit: 10 })).toEqual([]);
        expect(await store.assetVersions('host/web-01', { limit: 10 })).toEqual([]);
        expect(await store.diagnosticsAt(1)).toEqual([]);
        expect(await store.modelAt(1)).toBeUndefined();
        expect(await store.countByKind(1)).toEqual({});
        expect(await store.tokenByHash('hash-1')).toEqual(TOKEN);
        expect(await appendScenario()).toEqual([1, 2, 3, 4, 5]);
        expect(await store.getAsset('host/web-01', 5)).toEqual(expectedVersion('host/web-01', 5));
      });
    });

    describe('tokens', () => {
      it('creates, finds by hash and lists tokens, never with their hash', async () => {
        const second: TokenRecord = { id: 'tok-2', name: 'ci', role: 'editor', scopes: {}, groups: [], createdAt: '2024-02-01T00:00:00.000Z', expiresAt: '2025-02-01T00:00:00.000Z' };
        await store.createToken(TOKEN, 'hash-1');
        await store.createToken(second, 'hash-2');
        expect(await store.tokenByHash('hash-1')).toEqual(TOKEN);
        expect(await store.tokenByHash('hash-2')).toEqual(second);
        expect(await store.tokenByHash('hash-3')).toBeUndefined();
        expect(await store.listTokens()).toEqual([TOKEN, second]);
        expect(JSON.stringify(await store.listTokens())).not.toContain('hash-');
      });

      it('refuses a second token with the same id or hash', async () => {
        await store.createToken(TOKEN, 'hash-1');
        await expect(store.createToken(TOKEN, 'hash-9')).rejects.toMatchObject({ code: 'E_CONFLICT' });
        await expect(store.createToken({ ...TOKEN, id: 'tok-9' }, 'hash-1')).rejects.toMatchObject({ code: 'E_CONFLICT' });
        expect(await store.listTokens()).toEqual([TOKEN]);
      });

      it('revokes a token, keeping it findable', async () => {
        await store.createToken(TOKEN, 'hash-1');
        expect(await store.revokeToken('tok-1', new Date('2024-03-01T00:00:00Z'))).toBe(true);
        expect(await store.tokenByHash('hash-1')).toEqual({ ...TOKEN, revokedAt: '2024-03-01T00:00:00.000Z' });
        expect(await store.revokeToken('tok-9', new Date())).toBe(false);
      });

      it('records use at most about once a minute per token', async () => {
        await store.createToken(TOKEN, 'hash-1');
        await store.createToken({ ...TOKEN, id: 'tok-2' }, 'hash-2');
        const t0 = Date.parse('2024-03-01T00:00:00Z');
        const lastUsed = async (hash: string): Promise<string | undefined> => (await store.tokenByHash(hash))?.lastUsedAt;
        expect(await lastUsed('hash-1')).toBeUndefined();
        await store.touchToken('tok-1', new Date(t0));
        expect(await lastUsed('hash-1')).toBe('2024-03-01T00:00:00.000Z');
        await store.touchToken('tok-1', new Date(t0 + 30_000));
        expect(await lastUsed('hash-1')).toBe('2024-03-01T00:00:00.000Z');
        await store.touchToken('tok-2', new Date(t0 + 30_000));
        expect(await lastUsed('hash-2')).toBe('2024-03-01T00:00:30.000Z');
        await store.touchToken('tok-1', new Date(t0 + 61_000));
        expect(await lastUsed('hash-1')).toBe('2024-03-01T00:01:01.000Z');
        await store.touchToken('tok-9', new Date(t0)); // unknown: nothing to record, no error
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The scenario and its reference model.

const TOKEN: TokenRecord = { id: 'tok-1', name: 'alice', role: 'admin', scopes: { kinds: ['host'] }, groups: ['sre', 'dba'], createdAt: '2024-01-01T00:00:00.000Z' };
const MODEL_1: EstateModel = { kinds: [{ name: 'host', schema: { type: 'object' } }], config: { estate: 'one' } };
const MODEL_3: EstateModel = { kinds: [{ name: 'host' }, { name: 'network' }], config: { estate: 'three' } };

const hash = (text: string): string => createHash('sha1').update(text).digest('hex');
/** Five commit ids; the second and third share the prefix `deadbee` (but not `deadbee1`). */
const SHAS = [hash('c1'), `deadbee1${hash('c2').slice(8)}`, `deadbee2${hash('c3').slice(8)}`, hash('c4'), hash('c5')] as const;

function ref(to: string, type = 'memberOf', inverse = 'members', field = 'spec.network'): StoredReference {
  return { to, type, inverse, field };
}

function write(id: string, options: { labels?: Record<string, string>; owner?: string; refs?: StoredReference[]; description?: string } = {}): AssetWrite {
  const [kind, name] = id.split('/') as [string, string];
  const labels = options.labels ?? {};
  const description = options.description ?? `the ${kind} ${name}`;
  const document = {
    apiVersion: 'estate/v1',
    kind,
    metadata: { name, labels, ...(options.owner === undefined ? {} : { owner: options.owner }) },
    spec: { description, refs: (options.refs ?? []).map((r) => r.to) },
  };
  return {
    id,
    kind,
    name,
    path: `assets/${kind}s/${name}.yaml`,
    blobId: hash(JSON.stringify(document)),
    document,
    labels,
    owner: options.owner,
    searchText: [name, description, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)].join(' ').toLowerCase(),
    references: options.refs ?? [],
  };
}

function diagnostic(path: string, line: number, col: number, code: Diagnostic['code'], asset?: string): Diagnostic {
  return { code, path, line, col, message: `${code} at ${line}:${col}`, ...(asset === undefined ? {} : { asset }) };
}

function commitOf(sha: string, parents: string[], date: string, message: string): CommitBatch['commit'] {
  return {
    sha,
    parents,
    author: { name: 'Ann Author', email: 'ann@example.com', date: '2023-06-01T00:00:00+02:00' },
    committer: { name: 'Cy Committer', email: 'cy@example.com', date },
    message,
    errors: 0,
  };
}

const API_REFS = [ref('host/web-01', 'runsOn', 'hosts', 'spec.hosts/0'), ref('host/web-02', 'runsOn', 'hosts', 'spec.hosts/1')];
const WEB_01 = 'assets/hosts/web-01.yaml';
const API = 'assets/services/api.yaml';

const SCENARIO: CommitBatch[] = [
  {
    commit: { ...commitOf(SHAS[0], [], '2024-01-01T10:00:00+01:00', 'first\n\nwith a body\n'), errors: 3 },
    assets: new Map([
      ['network/n1', write('network/n1', { labels: { env: 'prod' }, owner: 'team/net' })],
      ['host/web-01', write('host/web-01', { labels: { env: 'prod', role: 'web' }, owner: 'team/a', refs: [ref('network/n1')] })],
      ['host/web-02', write('host/web-02', { labels: { env: 'staging', role: 'web' }, owner: 'team/a', refs: [ref('network/n1')], description: 'load 100% cpu' })],
      ['service/api', write('service/api', { labels: { env: 'prod', tier: '1' }, owner: 'team/b', refs: API_REFS })],
    ]),
    diagnostics: new Map([
      [WEB_01, [diagnostic(WEB_01, 3, 5, 'E_SCHEMA', 'host/web-01')]],
      [API, [diagnostic(API, 7, 3, 'E_DANGLING_REF', 'service/api'), diagnostic(API, 2, 1, 'E_SCHEMA')]],
    ]),
    model: MODEL_1,
  },
  {
    commit: commitOf(SHAS[1], [SHAS[0]], '2024-01-02T10:00:00Z', 'second'),
    assets: new Map([
      ['host/web-01', write('host/web-01', { labels: { env: 'prod', role: 'api' }, owner: 'team/a', refs: [ref('network/n2', 'memberOf', 'members', 'spec.backup'), ref('network/n1')] })],
      ['host/db-01', write('host/db-01', { labels: { env: 'prod' }, owner: 'team/b' })],
    ]),
    diagnostics: new Map([
      [WEB_01, [diagnostic(WEB_01, 3, 5, 'E_SCHEMA', 'host/web-01'), diagnostic(WEB_01, 1, 1, 'E_NAME')]],
      ['assets/hosts/db-01.yaml', [diagnostic('assets/hosts/db-01.yaml', 4, 2, 'E_UNIQUE', 'host/db-01')]],
    ]),
  },
  {
    // Committed "before" the first two: a rebased or clock-skewed commit.
    commit: commitOf(SHAS[2], [SHAS[1]], '2023-12-31T10:00:00Z', 'third'),
    assets: new Map<string, AssetWrite | null>([
      ['network/n1', null],
      ['service/api', write('service/api', { labels: { env: 'prod', tier: '1' }, owner: 'team/b', refs: API_REFS })],
    ]),
    diagnostics: new Map([[WEB_01, []]]),
    model: MODEL_3,
  },
  {
    commit: commitOf(SHAS[3], [SHAS[2], SHAS[1]], '2024-01-03T10:00:00Z', 'fourth'),
    assets: new Map([
      ['network/n1', write('network/n1', { labels: { env: 'staging' }, owner: 'team/net', description: 'back again' })],
      ['network/n2', write('network/n2')],
      ['host/web-02', write('host/web-02', { labels: { role: 'web', canary: 'true' }, owner: 'team/c', refs: [ref('network/n1')] })],
    ]),
    diagnostics: new Map(),
  },
  {
    commit: commitOf(SHAS[4], [SHAS[3]], '2024-01-04T10:00:00Z', 'fifth'),
    assets: new Map([['host/web-02', null]]),
    diagnostics: new Map([[API, []]]),
  },
];

const ALL_IDS = ['network/n1', 'network/n2', 'host/web-01', 'host/web-02', 'host/db-01', 'service/api', 'host/never'];

const QUERIES: Omit<AssetQuery, 'seq' | 'limit'>[] = [
  {},
  { kind: 'host' },
  { kind: 'network' },
  { kind: 'nope' },
  { owner: 'team/a' },
  { owner: 'team/b', kind: 'host' },
  ...[
    'env=prod',
    'env!=prod',
    'env in (prod,staging)',
    'env notin (prod,staging)',
    'role',
    '!role',
    'env=prod,role=web',
    'env=prod,!canary',
    'role in (web,api),env!=staging',
    'canary,role=web',
    'env in (nothing)',
    'tier=1,env',
  ].flatMap((text) => {
    const selector = parseLabelSelector(text);
    return [{ selector }, { selector, kind: 'host' }, { selector, owner: 'team/a' }, { selector, terms: ['web'] }];
  }),
  { selector: [{ key: 'env', op: 'in', values: [] }] },
  { selector: [{ key: 'env', op: 'notin', values: [] }] },
  { terms: ['web'] },
  { terms: ['web', 'env=prod'] },
  { terms: ['zzz'] },
  { terms: ['%'] },
  { kind: 'host', owner: 'team/a', terms: ['web'], selector: parseLabelSelector('env') },
];

interface ModelVersion {
  write: AssetWrite;
  from: number;
  to?: number;
}

/** Every version of every asset, in the order written. */
const HISTORY: Map<string, ModelVersion[]> = (() => {
  const history = new Map<string, ModelVersion[]>();
  SCENARIO.forEach((batch, i) => {
    const seq = i + 1;
    for (const [id, change] of batch.assets) {
      const versions = history.get(id) ?? [];
      const open = versions.at(-1);
      if (open && open.to === undefined) open.to = seq;
      if (change !== null) versions.push({ write: change, from: seq });
      history.set(id, versions);
    }
  });
  return history;
})();

function modelVersionAt(id: string, seq: number): ModelVersion | undefined {
  return HISTORY.get(id)?.find((v) => v.from <= seq && (v.to === undefined || v.to > seq));
}

function expectedVersion(id: string, seq: number): AssetVersion | undefined {
  const v = modelVersionAt(id, seq);
  if (v === undefined) return undefined;
  const version: AssetVersion = {
    id,
    kind: v.write.kind,
    name: v.write.name,
    path: v.write.path,
    blobId: v.write.blobId,
    document: v.write.document,
    from: { seq: v.from, sha: SHAS[v.from - 1]! },
  };
  if (v.to !== undefined) version.to = { seq: v.to, sha: SHAS[v.to - 1]! };
  return version;
}

/** A version as getAssetJson and listAssetsJson return it. */
function asJson(version: AssetVersion | undefined): AssetVersionJson | undefined {
  if (version === undefined) return undefined;
  const { document, ...rest } = version;
  return { ...rest, documentJson: JSON.stringify(document) };
}

function expectedIds(query: AssetQuery): string[] {
  return [...HISTORY.keys()]
    .sort()
    .filter((id) => {
      const v = modelVersionAt(id, query.seq)?.write;
      return (
        v !== undefined &&
        (query.kind === undefined || v.kind === query.kind) &&
        (query.owner === undefined || v.owner === query.owner) &&
        matchesSelector(query.selector ?? [], v.labels) &&
        (query.terms ?? []).every((t) => v.searchText.includes(t)) &&
        (query.after === undefined || id > query.after)
      );
    })
    .slice(0, query.limit);
}

function expectedEdges(id: string, seq: number, direction: 'in' | 'out'): StoredEdge[] {
  const self = modelVersionAt(id, seq);
  if (self === undefined) return [];
  const edges: StoredEdge[] = [];
  for (const other of HISTORY.keys()) {
    const from = modelVersionAt(other, seq);
    if (from === undefined) continue;
    for (const r of from.write.references) {
      if (direction === 'out' && other === id && modelVersionAt(r.to, seq)) {
        edges.push({ from: id, to: r.to, relation: r.type, names: [r.type, r.inverse], field: r.field });
      }
      if (direction === 'in' && r.to === id) {
        edges.push({ from: id, to: other, relation: r.inverse, names: [r.type, r.inverse], field: r.field });
      }
    }
  }
  return sortEdges(edges);
}

function sortEdges(edges: StoredEdge[]): StoredEdge[] {
  const key = (e: StoredEdge): string => `${e.from} ${e.to} ${e.relation} ${e.field}`;
  return [...edges].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function expectedDiagnostics(seq: number): Diagnostic[] {
  const byPath = new Map<string, Diagnostic[]>();
  SCENARIO.slice(0, Math.max(0, seq)).forEach((batch) => {
    for (const [path, list] of batch.diagnostics) byPath.set(path, list);
  });
  return [...byPath.values()].flat().sort(compareDiagnostics);
}
