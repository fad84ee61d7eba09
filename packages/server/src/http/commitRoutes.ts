import { NotFoundError } from '@estate/core';
import type { FastifyInstance } from 'fastify';
import { answerFor, requireHead, resolveAt } from './commitAnswer.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { diffCommits } from './diffCommits.js';
import type { RouteContext } from './RouteContext.js';
import * as schemas from './schemas.js';

/** Commits of main, the diff between two of them, and the kinds at one (docs/api.md). */
export function registerCommitRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { store, kinds } = ctx;
  const read = { access: 'viewer', conditional: true } as const;

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/api/v1/commits',
    {
      config: read,
      schema: { summary: 'Indexed commits of main, newest first', tags: ['commits'], querystring: schemas.pageQuery, response: { 200: schemas.commitListResponse } },
    },
    async (request, reply) => {
      const { limit, cursor } = request.query;
      const head = await requireHead(store);
      const before = cursor === undefined ? undefined : decodeCursor('commits', cursor, ['number'])[0];
      if (answerFor(request, reply, head, head, false)) return reply;
      const found = await store.listCommits({ limit: limit + 1, ...(before !== undefined ? { beforeSeq: before } : {}) });
      const items = found.slice(0, limit);
      const last = items[items.length - 1];
      return { commit: head, items, ...(found.length > limit && last ? { nextCursor: encodeCursor('commits', last.seq) } : {}) };
    },
  );

  app.get<{ Params: { sha: string } }>(
    '/api/v1/commits/:sha',
    {
      config: read,
      schema: {
        summary: 'One commit of main, with the diagnostics the estate had at it',
        tags: ['commits'],
        params: schemas.commitParams,
        querystring: schemas.noQuery,
        response: { 200: schemas.commitResponse },
      },
    },
    async (request, reply) => {
      const head = await requireHead(store);
      const { commit, pinned } = await resolveAt(store, head, request.params.sha, 'sha');
      if (answerFor(request, reply, commit, head, pinned)) return reply;
      const [record, diagnostics] = await Promise.all([store.commitBySeq(commit.seq), store.diagnosticsAt(commit.seq)]);
      if (!record) throw new NotFoundError('E_COMMIT_NOT_FOUND', `no indexed commit of main matches '${request.params.sha}'`, { sha: request.params.sha });
      return { commit, item: { ...record, diagnostics } };
    },
  );

  app.get<{ Querystring: { from: string; to?: string; limit: number; cursor?: string } }>(
    '/api/v1/diff',
    {
      config: read,
      schema: {
        summary: 'Semantic diff of the estate between two commits',
        description: 'from may be after to: the diff then shows the way back.',
        tags: ['commits'],
        querystring: schemas.diffQuery,
        response: { 200: schemas.diffResponse },
      },
    },
    async (request, reply) => {
      const head = await requireHead(store);
      const from = await resolveAt(store, head, request.query.from, 'from');
      const to = await resolveAt(store, head, request.query.to, 'to');
      if (answerFor(request, reply, to.commit, head, from.pinned && to.pinned, from.commit.sha)) return reply;
      const { limit, cursor } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor('diff', cursor, ['string'])[0];
      const { summary, assets } = await diffCommits(store, from.commit.seq, to.commit.seq);
      // Pages of the assets, by id; the summary counts the whole diff on every page.
      const start = after === undefined ? 0 : assets.findIndex((asset) => asset.id > after);
      const page = start === -1 ? [] : assets.slice(start, start + limit);
      const more = start !== -1 && start + limit < assets.length;
      return { commit: to.commit, from: from.commit, to: to.commit, summary, assets: page, ...(more ? { nextCursor: encodeCursor('diff', page.at(-1)!.id) } : {}) };
    },
  );

  app.get<{ Querystring: { at?: string } }>(
    '/api/v1/kinds',
    {
      config: read,
      schema: { summary: 'The kinds of assets and their schemas as of a commit', tags: ['kinds'], querystring: schemas.atQuery, response: { 200: schemas.kindsResponse } },
    },
    async (request, reply) => {
      const head = await requireHead(store);
      const { commit, pinned } = await resolveAt(store, head, request.query.at);
      if (answerFor(request, reply, commit, head, pinned)) return reply;
      return { commit, items: (await kinds.at(commit)).items };
    },
  );
}
