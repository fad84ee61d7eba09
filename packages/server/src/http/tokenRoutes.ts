import type { FastifyInstance } from 'fastify';
import { listTokens } from '../auth/tokens.js';
import type { RouteContext } from './RouteContext.js';
import * as schemas from './schemas.js';

/** `GET /api/v1/tokens`: the API tokens, for admins (never the tokens or their hashes). */
export function registerTokenRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get(
    '/api/v1/tokens',
    {
      config: { access: 'admin' },
      schema: { summary: 'API tokens: ids, names, roles, expiry, last use (admin)', tags: ['tokens'], querystring: schemas.noQuery, response: { 200: schemas.tokenListResponse } },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return { items: await listTokens(ctx.store) };
    },
  );
}
