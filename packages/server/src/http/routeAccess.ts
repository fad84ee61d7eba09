import type { TokenRecord, TokenRole } from '../store/Store.js';

/** Who may call a route: anyone (`public`), a token with at least this human role, or an agent token (`agent`: nothing else may). */
export type Access = 'public' | TokenRole;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; a route that does not say is for `admin` only (fail closed). */
    access?: Access;
    /** The answer names a commit and carries an ETag (documented as possibly `304`). */
    conditional?: boolean;
    /** Media type of successful answers, for the OpenAPI document (default JSON). */
    contentType?: string;
    /**
     * The route reads its request body itself, as a stream, with its own limit (git packs of any
     * size): the app-wide Content-Length check against the body limit skips it.
     */
    rawBody?: boolean;
    /** `false` leaves the route out of the OpenAPI document (git's protocol routes are not the API). */
    openapi?: boolean;
    /** Tokens scoped to apps (`scopes.apps`) may call the route, for their apps' config only; they are refused every other route. */
    appScoped?: boolean;
  }
  interface FastifySchema {
    /** For the OpenAPI document (Fastify ignores them). */
    summary?: string;
    description?: string;
    tags?: string[];
  }
  interface FastifyRequest {
    /** The token that authenticated the request; undefined for public routes and anonymous reads. */
    token: TokenRecord | undefined;
  }
}
