import { isObject, type Asset, type Relation } from '@estate/core';
import type { AssetWrite } from '../store/Store.js';

/** Longest search text kept per asset; the rest of a huge spec is not searchable. */
const MAX_SEARCH_TEXT = 64 * 1024;

/** Turns a validated asset and its declared references into what the store keeps of it. */
export function toAssetWrite(asset: Asset, references: Relation[]): AssetWrite {
  const document = asset.document.value as Record<string, unknown>;
  const labels: Record<string, string> = {};
  if (isObject(asset.metadata.labels)) {
    for (const [key, value] of Object.entries(asset.metadata.labels)) if (typeof value === 'string') labels[key] = value;
  }
  return {
    id: asset.id,
    kind: asset.kind,
    name: asset.name,
    path: asset.path,
    blobId: asset.blobId,
    document,
    labels,
    owner: typeof asset.metadata.owner === 'string' ? asset.metadata.owner : undefined,
    searchText: searchTextOf(asset, labels),
    references: references.map((r) => ({ to: r.to, type: r.type, inverse: r.inverse, field: r.field })),
  };
}

/**
 * What `q` searches, lower-cased: the id, description, labels and every scalar value of the spec,
 * one per line (so a term never matches across two values).
 */
export function searchTextOf(asset: Asset, labels: Record<string, string>): string {
  const parts: string[] = [asset.id];
  if (typeof asset.metadata.description === 'string') parts.push(asset.metadata.description);
  for (const [key, value] of Object.entries(labels)) parts.push(`${key}=${value}`);
  let size = parts.reduce((n, p) => n + p.length + 1, 0);
  const visit = (value: unknown): void => {
    if (size > MAX_SEARCH_TEXT) return;
    if (Array.isArray(value)) value.forEach(visit);
    else if (isObject(value)) Object.values(value).forEach(visit);
    else if (value !== null && value !== undefined) {
      const text = String(value);
      parts.push(text);
      size += text.length + 1;
    }
  };
  visit(asset.spec);
  return parts.join('\n').toLowerCase();
}
