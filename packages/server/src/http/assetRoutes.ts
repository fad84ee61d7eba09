import { InputError, NotFoundError, parseLabelSelector, type RelationDirection } from '@estate/core';
import type { FastifyInstance } from 'fastify';
import type { AssetVersionJson, CommitRef } from '../store/Store.js';
import { assetAnswerJson, assetListJson, JSON_TYPE } from './assetJson.js';
import { answerFor, requireHead, resolveAt, type ResolvedCommit } from './commitAnswer.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { KindName, KindsAt } from './KindCatalog.js';
import { readHistoryPage } from './readHistoryPage.js';
import type { RouteContext } from './RouteContext.js';
import * as schemas from './schemas.js';
import { traverseStoredRelations } from './traverseStoredRelations.js';

interface AssetParams {
  kind: string;
  name: string;
}

/** The asset routes: list, point lookup, history and relations (docs/api.md). */
export function registerAssetRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { store, kinds } = ctx;
  const read = { access: 'viewer', conditional: true } as const;

  app.get<{ Querystring: { kind?: string; selector?: string; owner?: string; q?: string; at?: string; limit: number; cursor?: string } }>(
    '/api/v1/assets',
    {
      config: read,
      schema: {
        summary: 'List assets, filtered, sorted by id',
        tags: ['assets'],
        querystring: schemas.assetListQuery,
        response: { 200: schemas.assetListResponse },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const head = await requireHead(store);
      let resolved: ResolvedCommit;
      let after: string | undefined;
      if (query.cursor !== undefined) {
        // A cursor keeps the commit of the first page, so paging sees one consistent state of
        // the estate even while main moves on.
        const [seq, sha, last] = decodeCursor('assets', query.cursor, ['number', 'string', 'string']);
        const commit = await store.commitBySeq(seq);
        if (commit?.sha !== sha) throw new InputError('E_BAD_PARAM', 'the cursor names a commit that is no longer indexed: start again without cursor', { parameter: 'cursor' });
        resolved = query.at === undefined ? { commit: { seq, sha }, pinned: false } : await resolveAt(store, head, query.at);
        if (resolved.commit.seq !== seq) throw new InputError('E_BAD_PARAM', `the cursor belongs to another commit than at='${query.at}'`, { parameter: 'cursor' });
        after = last;
      } else {
        resolved = await resolveAt(store, head, query.at);
      }
      const { commit } = resolved;
      if (answerFor(request, reply, commit, head, resolved.pinned)) return reply;
      let kind: KindName | undefined;
      if (query.kind !== undefined) {
        const known = await kinds.at(commit);
        kind = known.resolve(query.kind);
        if (!kind) {
          throw new InputError('E_BAD_PARAM', `unknown kind '${query.kind}': known kinds are ${knownList(known)}`, {
            parameter: 'kind',
            value: query.kind,
            kinds: known.names.map((k) => k.name),
          });
        }
      }
      const selector = query.selector === undefined ? undefined : parseLabelSelector(query.selector);
      const terms = query.q?.toLowerCase().split(/\s+/).filter(Boolean);
      const found = await store.listAssetsJson({
        seq: commit.seq,
        limit: query.limit + 1,
        ...(kind ? { kind: kind.name } : {}),
        ...(query.owner !== undefined ? { owner: query.owner } : {}),
        ...(selector ? { selector } : {}),
        ...(terms?.length ? { terms } : {}),
        ...(after !== undefined ? { after } : {}),
      });
      const items = found.slice(0, query.limit);
      const last = items[items.length - 1];
      const nextCursor = found.length > query.limit && last ? encodeCursor('assets', commit.seq, commit.sha, last.id) : undefined;
      // The documents go out as stored, unparsed (assetJson.ts): the schema above documents the answer.
      return reply.type(JSON_TYPE).send(assetListJson(commit, items, nextCursor));
    },
  );

  app.get<{ Params: AssetParams; Querystring: { at?: string } }>(
    '/api/v1/assets/:kind/:name',
    {
      config: read,
      schema: {
        summary: 'One asset as of a commit',
        tags: ['assets'],
        params: schemas.assetParams,
        querystring: schemas.atQuery,
        response: { 200: schemas.assetResponse },
      },
    },
    async (request, reply) => {
      const head = await requireHead(store);
      const { commit, pinned } = await resolveAt(store, head, request.query.at);
      if (answerFor(request, reply, commit, head, pinned)) return reply;
      const version = await findAsset(ctx, request.params, commit);
      return reply.type(JSON_TYPE).send(assetAnswerJson(commit, version));
    },
  );

  app.get<{ Params: AssetParams; Querystring: { limit: number; cursor?: string } }>(
    '/api/v1/assets/:kind/:name/history',
    {
      config: read,
      schema: {
        summary: "An asset's changes on main, newest first",
        tags: ['assets'],
        params: schemas.assetParams,
        querystring: schemas.pageQuery,
        response: { 200: schemas.historyResponse },
      },
    },
    async (request, reply) => {
      const { limit, cursor } = request.query;
      const head = await requireHead(store);
      const before = cursor === undefined ? undefined : decodeCursor('history', cursor, ['number'])[0];
      if (answerFor(request, reply, head, head, false)) return reply;
      // The kind may be gone at the head while its assets' history remains: ids use the
      // lower-cased kind name (core's kind registry), so fall back to that.
      const kind = (await kinds.at(head)).resolve(request.params.kind);
      const id = `${kind?.idPrefix ?? request.params.kind.toLowerCase()}/${request.params.name}`;
      const page = await readHistoryPage(store, id, { limit, ...(before !== undefined ? { before } : {}) });
      if (!page.found && before === undefined) throw new NotFoundError('E_ASSET_NOT_FOUND', `asset '${id}' never existed on main`, { asset: id });
      return {
        commit: head,
        asset: id,
        items: page.items,
        ...(page.next !== undefined ? { nextCursor: encodeCursor('history', page.next) } : {}),
      };
    },
  );

  app.get<{ Params: AssetParams; Querystring: { direction: RelationDirection; depth: number; type?: string; at?: string; limit: number } }>(
    '/api/v1/assets/:kind/:name/relations',
    {
      config: read,
      schema: {
        summary: 'Assets related to an asset, with the shortest path to each',
        description: 'direction=in answers impact questions: what depends on this asset.',
        tags: ['assets'],
        params: schemas.assetParams,
        querystring: schemas.relationsQuery,
        response: { 200: schemas.relationsResponse },
      },
    },
    async (request, reply) => {
      const { direction, depth, type, at, limit } = request.query;
      const head = await requireHead(store);
      const { commit, pinned } = await resolveAt(store, head, at);
      if (answerFor(request, reply, commit, head, pinned)) return reply;
      const version = await findAsset(ctx, request.params, commit);
      const types = type
        ?.split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      // One more than asked for tells whether the answer was cut.
      const items = await traverseStoredRelations(store, version.id, commit.seq, { direction, depth, ...(types?.length ? { types } : {}) }, limit + 1);
      const truncated = items.length > limit;
      return { commit, asset: version.id, items: truncated ? items.slice(0, limit) : items, truncated };
    },
  );
}

/** The asset `:kind/:name` names at a commit: `404 E_KIND_NOT_FOUND` or `E_ASSET_NOT_FOUND` otherwise. */
async function findAsset(ctx: RouteContext, params: AssetParams, commit: CommitRef): Promise<AssetVersionJson> {
  const known = await ctx.kinds.at(commit);
  const kind = known.resolve(params.kind);
  if (!kind) {
    throw new NotFoundError('E_KIND_NOT_FOUND', `no kind '${params.kind}' at commit ${commit.sha.slice(0, 12)}: known kinds are ${knownList(known)}`, {
      kind: params.kind,
      kinds: known.names.map((k) => k.name),
    });
  }
  const id = `${kind.idPrefix}/${params.name}`;
  const version = await ctx.store.getAssetJson(id, commit.seq);
  if (!version) throw new NotFoundError('E_ASSET_NOT_FOUND', `asset '${id}' does not exist at commit ${commit.sha.slice(0, 12)}`, { asset: id, commit });
  return version;
}

function knownList(known: KindsAt): string {
  return known.names.map((k) => k.name).join(', ') || '(none)';
}
