import { EstateApiError } from '@estate/client';
import { readToken } from './session';

/** The answer of `GET /api/v1/assets/facets`: matches in all, per kind and per owner (`''`: none), most first. */
export interface Facets {
  commit: { seq: number; sha: string };
  total: number;
  kinds: Array<{ kind: string; count: number }>;
  owners: Array<{ owner: string; count: number }>;
}

/** Counts of the assets matching the browser's filters; each facet's counts leave its own filter out. */
export async function assetFacets(query: { q?: string; kind?: string; owner?: string; selector?: string; at?: string }): Promise<Facets> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
  const token = readToken();
  const response = await fetch(`/api/v1/assets/facets?${params}`, { headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, redirect: 'error' });
  const body = (await response.json().catch(() => undefined)) as (Facets & { error?: { code: string; message: string } }) | undefined;
  if (!response.ok || !body) throw new EstateApiError(body?.error?.code ?? 'E_BAD_RESPONSE', body?.error?.message ?? `the server answered ${response.status}`, response.status);
  return body;
}
