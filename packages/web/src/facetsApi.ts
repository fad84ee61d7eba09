import { getJson } from './opsApi';

/** The answer of `GET /api/v1/assets/facets`: matches in all, per kind and per owner (`''`: none), most first. */
export interface Facets {
  commit: { seq: number; sha: string };
  total: number;
  kinds: Array<{ kind: string; count: number }>;
  owners: Array<{ owner: string; count: number }>;
}

/** Counts of the assets matching the browser's filters; each facet's counts leave its own filter out. */
export function assetFacets(query: { q?: string; kind?: string; owner?: string; selector?: string; at?: string }): Promise<Facets> {
  return getJson<Facets>('/api/v1/assets/facets', query);
}
