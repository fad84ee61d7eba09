import { InputError, parseLabelSelector } from '@estate/core';
import type { FastifyInstance } from 'fastify';
import { answerFor, requireHead, resolveAt } from '../http/commitAnswer.js';
import type { RouteContext } from '../http/RouteContext.js';
import type { AssetCounts, AssetQuery, Store } from '../store/Store.js';

const facetsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kind: { type: 'string', minLength: 1, maxLength: 64, description: 'Kind name or id prefix, any case (Host, host).' },
    selector: { type: 'string', minLength: 1, maxLength: 2048, description: 'Label selector: env=prod,role in (web,api),!legacy.' },
    owner: { type: 'string', minLength: 1, maxLength: 253, description: 'Owner reference, e.g. team/web.' },
    q: { type: 'string', minLength: 1, maxLength: 256, description: 'Words that must all occur in the name, description, labels or spec values.' },
    at: { type: 'string', minLength: 1, maxLength: 64, description: 'A commit sha (or unambiguous prefix) or an ISO 8601 time; default the head.' },
  },
} as const;

const counts = (key: string): Record<string, unknown> => ({
  type: 'array',
  items: { type: 'object', required: [key, 'count'], properties: { [key]: { type: 'string' }, count: { type: 'integer' } } },
});

const facetsResponse = {
  type: 'object',
  required: ['commit', 'total', 'kinds', 'owners'],
  properties: {
    commit: { type: 'object', required: ['seq', 'sha'], properties: { seq: { type: 'integer' }, sha: { type: 'string' } } },
    total: { type: 'integer', description: 'Assets matching every filter.' },
    kinds: { ...counts('kind'), description: 'Matches per kind, with every filter but kind applied; most first.' },
    owners: { ...counts('owner'), description: "Matches per owner ('' for none), with every filter but owner applied; most first." },
  },
} as const;

/** Counts kept, by commit and filters: the browser asks the same again as people page and return. */
const CACHED_COUNTS = 256;

interface FacetsQuery {
  kind?: string;
  selector?: string;
  owner?: string;
  q?: string;
  at?: string;
}

/**
 * `GET /api/v1/assets/facets` (viewer): how many assets match the asset list's filters, in all
 * and per kind and per owner. Each facet's counts leave out its own filter (the kind counts say
 * what choosing another kind would give), as faceted search does.
 */
export function registerFacetRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { store, kinds } = ctx;
  const counted = new CountCache(store);
  app.get<{ Querystring: FacetsQuery }>(
    '/api/v1/assets/facets',
    {
      config: { access: 'viewer', conditional: true },
      schema: {
        summary: 'Counts of the assets matching a search, in all, per kind and per owner',
        tags: ['assets'],
        querystring: facetsQuery,
        response: { 200: facetsResponse },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const head = await requireHead(store);
      const { commit, pinned } = await resolveAt(store, head, query.at);
      if (answerFor(request, reply, commit, head, pinned)) return reply;
      let kind: string | undefined;
      if (query.kind !== undefined) {
        const known = await kinds.at(commit);
        kind = known.resolve(query.kind)?.name;
        if (kind === undefined) {
          throw new InputError('E_BAD_PARAM', `unknown kind '${query.kind}': known kinds are ${known.names.map((k) => k.name).join(', ') || '(none)'}`, { parameter: 'kind', value: query.kind });
        }
      }
      const selector = query.selector === undefined ? undefined : parseLabelSelector(query.selector);
      const terms = query.q?.toLowerCase().split(/\s+/).filter(Boolean);
      const base: Omit<AssetQuery, 'limit' | 'after'> = { seq: commit.seq, ...(selector ? { selector } : {}), ...(terms?.length ? { terms } : {}) };
      // Without a kind or owner filter, one count gives both facets.
      const withOwner = await counted.count(commit.sha, { ...base, ...(query.owner !== undefined ? { owner: query.owner } : {}) });
      const byKind = withOwner.kinds;
      const byOwner = query.owner === undefined && kind === undefined ? withOwner.owners : (await counted.count(commit.sha, { ...base, ...(kind !== undefined ? { kind } : {}) })).owners;
      const total = kind !== undefined ? (byKind[kind] ?? 0) : Object.values(byKind).reduce((sum, n) => sum + n, 0);
      return {
        commit,
        total,
        kinds: sorted(byKind).map(([name, count]) => ({ kind: name, count })),
        owners: sorted(byOwner).map(([owner, count]) => ({ owner, count })),
      };
    },
  );
}

/** Most first, then by name. */
function sorted(counts: Record<string, number>): Array<[string, number]> {
  return Object.entries(counts).sort(([a, m], [b, n]) => n - m || a.localeCompare(b));
}

/** {@link Store.countAssets} with its answers kept per commit (sha: a reindexed seq may name another) and query. */
class CountCache {
  readonly #store: Store;
  readonly #kept = new Map<string, AssetCounts>();

  constructor(store: Store) {
    this.#store = store;
  }

  async count(sha: string, query: Omit<AssetQuery, 'limit' | 'after'>): Promise<AssetCounts> {
    const key = `${sha} ${JSON.stringify(query)}`;
    const kept = this.#kept.get(key);
    if (kept) return kept;
    const counts = await this.#store.countAssets(query);
    if (this.#kept.size >= CACHED_COUNTS) this.#kept.delete(this.#kept.keys().next().value!);
    this.#kept.set(key, counts);
    return counts;
  }
}
