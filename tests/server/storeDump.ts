import type { Store } from '@estate/server';

/**
 * What a store answers about its indexed history, for comparing two stores: per sampled commit
 * (every `every`-th, and the head) the commit record (minus when it was indexed), every asset
 * with its relations both ways and its versions up to then, the diagnostics and the model.
 */
export async function dumpStore(store: Store, options: { every?: number } = {}): Promise<unknown[]> {
  const head = await store.head();
  const out: unknown[] = [];
  const every = options.every ?? 1;
  for (let seq = 1; seq <= (head?.seq ?? 0); seq++) {
    if (seq % every !== 0 && seq !== head?.seq) continue;
    const commit = await store.commitBySeq(seq);
    const assets = [];
    for (let after: string | undefined; ; ) {
      const page = await store.listAssets({ seq, limit: 1000, ...(after ? { after } : {}) });
      assets.push(...page);
      if (page.length < 1000) break;
      after = page.at(-1)!.id;
    }
    const perAsset = [];
    for (const asset of assets) {
      perAsset.push({
        asset,
        out: await store.edges(asset.id, seq, 'out'),
        in: await store.edges(asset.id, seq, 'in'),
        versions: await store.assetVersions(asset.id, { limit: 1000, beforeSeq: seq + 1 }),
      });
    }
    out.push({ commit: { ...commit, indexedAt: undefined }, assets: perAsset, diagnostics: await store.diagnosticsAt(seq), model: await store.modelAt(seq) });
  }
  return out;
}
