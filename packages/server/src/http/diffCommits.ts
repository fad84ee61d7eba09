import { diffValues, type AssetDiff, type EstateDiff } from '@estate/core';
import type { Store } from '../store/Store.js';

/**
 * The semantic difference of the estate between two commits of main, in the shapes of
 * `estate diff --format json` (core's `diffEstates`): only assets with a version starting or
 * ending between the two are read. `from` may be after `to`: the diff is then the way back.
 */
export async function diffCommits(store: Store, fromSeq: number, toSeq: number): Promise<EstateDiff> {
  const ids = fromSeq === toSeq ? [] : await store.changedAssetIds(Math.min(fromSeq, toSeq), Math.max(fromSeq, toSeq));
  const assets: AssetDiff[] = [];
  for (const id of [...new Set(ids)].sort()) {
    const [before, after] = await Promise.all([store.getAsset(id, fromSeq), store.getAsset(id, toSeq)]);
    if (!before && !after) continue;
    if (!after) {
      assets.push({ id, kind: before!.kind, status: 'removed', path: before!.path, fields: [] });
      continue;
    }
    if (!before) {
      assets.push({ id, kind: after.kind, status: 'added', path: after.path, fields: [] });
      continue;
    }
    const fields = diffValues(before.document, after.document);
    const moved = before.path !== after.path;
    if (fields.length === 0 && !moved) continue;
    assets.push({ id, kind: after.kind, status: fields.length ? 'changed' : 'moved', path: after.path, ...(moved ? { fromPath: before.path } : {}), fields });
  }
  const summary = { added: 0, removed: 0, changed: 0, moved: 0 };
  for (const asset of assets) summary[asset.status]++;
  return { summary, assets };
}
