import { EstateError } from '@estate/core';
import type { FastifyInstance } from 'fastify';
import { buildOpenApiDocument } from './openapi.js';
import type { RouteContext } from './RouteContext.js';
import * as schemas from './schemas.js';

/** `/healthz`, `/readyz`, `/metrics` and `/api/openapi.json`. */
export function registerOperationalRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { store, status, metrics } = ctx;

  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { summary: 'The process is up', tags: ['operations'], querystring: schemas.noQuery, response: { 200: schemas.healthResponse } } },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return { status: 'ok' };
    },
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Something is indexed: the API can answer (503 E_NOT_READY before)',
        tags: ['operations'],
        querystring: schemas.noQuery,
        response: { 200: schemas.readyResponse },
      },
    },
    async (_request, reply) => {
      const current = status();
      const head = current.head ?? (await store.head());
      if (!head) throw new EstateError('E_NOT_READY', `nothing is indexed yet (indexer ${current.state})`, { state: current.state });
      reply.header('cache-control', 'no-store');
      // lastError is left out on purpose: this route is public and an error may name URLs or paths.
      return {
        status: current.headErrors > 0 ? 'degraded' : 'ready',
        state: current.state,
        head: { seq: head.seq, sha: head.sha },
        ...(current.mainSha !== undefined ? { mainSha: current.mainSha } : {}),
        errors: current.headErrors,
        lagSeconds: current.lagSeconds,
        commitsIndexed: current.commitsIndexed,
      };
    },
  );

  app.get(
    '/metrics',
    {
      config: { access: 'viewer', contentType: 'text/plain' },
      schema: {
        summary: 'Prometheus metrics (needs a viewer token unless the server runs with --open-read)',
        tags: ['operations'],
        querystring: schemas.noQuery,
        response: { 200: schemas.metricsResponse },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store').type('text/plain; version=0.0.4; charset=utf-8');
      return metrics.render(status());
    },
  );

  let document: string | undefined;
  app.get(
    '/api/openapi.json',
    {
      config: { access: 'public' },
      schema: { summary: 'This OpenAPI 3.1 document', tags: ['operations'], querystring: schemas.noQuery, response: { 200: schemas.openApiResponse } },
    },
    async (_request, reply) => {
      // Routes cannot be added once the server listens, so the document is made once.
      document ??= JSON.stringify(buildOpenApiDocument(ctx.routes, { title: 'Estate API', version: '1' }));
      reply.header('cache-control', 'no-cache').type('application/json; charset=utf-8');
      return document;
    },
  );
}
