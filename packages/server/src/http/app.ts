import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { EstateError, NotAllowedError } from '@estate/core';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { authenticate, roleAtLeast, TokenCache } from '../auth/tokens.js';
import type { Store, TokenRecord } from '../store/Store.js';
import { registerAssetRoutes } from './assetRoutes.js';
import { registerCommitRoutes } from './commitRoutes.js';
import { toErrorResponse, type ErrorBody } from './errorResponse.js';
import type { IndexStatus } from './IndexStatus.js';
import { KindCatalog } from './KindCatalog.js';
import { HttpMetrics } from './metrics.js';
import type { DocumentedRoute, RouteSchema } from './openapi.js';
import { registerOperationalRoutes } from './operationalRoutes.js';
import type { Access } from './routeAccess.js';
import { registerTokenRoutes } from './tokenRoutes.js';
import { registerWebUi } from './webUi.js';
import type { RouteContext } from './RouteContext.js';

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  store: Store;
  /** The indexer's current status, read by `/readyz` and `/metrics`. */
  status: () => IndexStatus;
  /** Reads (viewer routes, `/metrics` included) work without a token; a token that is sent must still be valid. */
  openRead?: boolean;
  /** Fastify's logger option; default none. Request logging stays off either way (it costs per request). */
  logger?: FastifyServerOptions['logger'];
  /** Largest request body in bytes (default 1 MiB); larger ones are refused with `413 E_TOO_LARGE`. */
  bodyLimit?: number;
  /** Registers more routes (change requests, audit, git…) with the app's auth, errors and metrics. */
  extend?: (app: FastifyInstance, ctx: RouteContext) => void;
  /** Called when a token is refused a route for its role (`403`), e.g. to audit refused writes. */
  onDenied?: (token: TokenRecord, request: { method: string; url: string; required: Access }) => void;
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** `touchToken` is written at most this often per token by this process. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * The HTTP API of docs/api.md on Fastify: routes, authentication by bearer token and role, the
 * standard error body for every failure, ETags, metrics and the OpenAPI document generated from
 * the route schemas. The app is returned unstarted: call `listen` (or `inject`) on it.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { store } = options;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    return503OnClosing: true,
    // Fastify's Ajv removes unknown properties by default; they must fail instead (E_BAD_PARAM).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    clientErrorHandler: answerClientError,
  });

  const routes: DocumentedRoute[] = [];
  const ctx: RouteContext = { store, status: options.status, kinds: new KindCatalog(store), metrics: new HttpMetrics(), routes };

  app.addHook('onRoute', (route) => {
    if (route.config?.openapi === false) return;
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      if (method === 'HEAD') continue; // Fastify's automatic HEAD twin of each GET
      routes.push({
        method,
        url: route.url,
        schema: route.schema as RouteSchema | undefined,
        access: route.config?.access ?? 'admin',
        conditional: route.config?.conditional ?? false,
        contentType: route.config?.contentType ?? 'application/json',
      });
    }
  });

  app.decorateRequest('token', undefined);
  const touched = new Map<string, number>();
  const tokens = new TokenCache(store);
  app.addHook('onRequest', async (request) => {
    // Refuse an announced oversized body before reading it or anything else (Fastify's own limit
    // covers chunked bodies of routes that read one).
    const length = request.headers['content-length'];
    if (length !== undefined && Number(length) > bodyLimit && !request.routeOptions.config.rawBody) {
      throw new EstateError('E_TOO_LARGE', `the request body is larger than the limit of ${bodyLimit} bytes`, { limit: bodyLimit });
    }
    const access: Access = request.is404 ? 'public' : (request.routeOptions.config.access ?? 'admin');
    if (access === 'public') return;
    const header = request.headers.authorization;
    if (header === undefined && options.openRead && access === 'viewer') return;
    const token = await authenticate(tokens, header);
    if (!roleAtLeast(token.role, access)) {
      options.onDenied?.(token, { method: request.method, url: request.routeOptions.url ?? request.url, required: access });
      throw new NotAllowedError('E_FORBIDDEN', `this needs the role '${access}'; token '${token.id}' has '${token.role}'`, { required: access, role: token.role });
    }
    if ((token.scopes['apps']?.length ?? 0) > 0 && request.routeOptions.config.appScoped !== true) {
      throw new NotAllowedError('E_FORBIDDEN', `token '${token.id}' is scoped to the config of ${token.scopes['apps']!.join(', ')}: it may call /api/v1/config only`, { apps: token.scopes['apps'] });
    }
    request.token = token;
    const now = Date.now();
    if (now - (touched.get(token.id) ?? 0) >= TOUCH_INTERVAL_MS) {
      touched.set(token.id, now);
      store.touchToken(token.id, new Date(now)).catch((error: unknown) => request.log.warn({ err: error }, 'could not record the use of a token'));
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    ctx.metrics.observe(request.method, request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched'), reply.statusCode, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error, request, reply) => {
    const response = toErrorResponse(error);
    if (response.internal) request.log.error({ err: error }, 'internal error answering %s %s', request.method, request.routeOptions.url ?? '');
    // An error after the ETag was set must not be cached under it.
    reply.removeHeader('etag');
    reply.code(response.status).headers(response.headers).send(response.body);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0]!.slice(0, 256);
    const body: ErrorBody = { error: { code: 'E_NOT_FOUND', message: `no route ${request.method} ${path}`, details: { method: request.method, path } } };
    reply.code(404).header('cache-control', 'no-store').send(body);
  });

  registerAssetRoutes(app, ctx);
  registerCommitRoutes(app, ctx);
  registerOperationalRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerWebUi(app);
  options.extend?.(app, ctx);
  return app;
}

/**
 * Requests too malformed for Fastify to route (bad HTTP syntax, headers over Node's limit) get
 * the standard error body too, then the connection is closed.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy(error);
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body: ErrorBody = {
    error: { code: status === 431 ? 'E_TOO_LARGE' : 'E_BAD_REQUEST', message: status === 431 ? 'request headers too large' : `malformed request (${STATUS_CODES[status]})`, details: {} },
  };
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}
