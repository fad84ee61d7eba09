import type { FastifyInstance } from 'fastify';
import { listTokens } from '../auth/tokens.js';
import type { RouteContext } from './RouteContext.js';
import * as schemas from './schemas.js';

/**
 * `GET /api/v1/tokens`: the API tokens, for admins (never the tokens or their hashes); and
 * `GET /api/v1/whoami`: the caller's own token (id, name, role, groups, scopes, expiry), for the UI.
 */
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

  app.get(
    '/api/v1/whoami',
    {
      // Any token may learn about itself, an app-scoped one too; it reveals nothing else.
      config: { access: 'viewer', appScoped: true },
      schema: { summary: "The caller's token: id, name, role, groups, scopes (none for an anonymous read)", tags: ['tokens'], querystring: schemas.noQuery, response: { 200: schemas.whoamiResponse } },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const token = request.token;
      if (token === undefined) return {};
      const { id, name, role, groups, scopes, expiresAt } = token;
      return { token: { id, name, role, groups, scopes, ...(expiresAt !== undefined ? { expiresAt } : {}) } };
    },
  );
}
