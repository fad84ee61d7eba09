import type { Access } from './routeAccess.js';

/** The schemas of one registered route, as Fastify got them. */
export interface RouteSchema {
  body?: unknown;
  querystring?: unknown;
  params?: unknown;
  response?: Record<string, unknown>;
  summary?: string;
  description?: string;
  tags?: string[];
}

/** One route as the OpenAPI generator sees it. */
export interface DocumentedRoute {
  method: string;
  url: string;
  schema: RouteSchema | undefined;
  access: Access;
  /** The answer names a commit: it carries an ETag and may be `304 Not Modified`. */
  conditional: boolean;
  /** Media type of successful answers. */
  contentType: string;
}

const ERROR_BODY = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
    },
  },
};

/**
 * An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0) of the routes, made from the same
 * JSON schemas Fastify validates and serializes with, so it cannot drift from the code. OpenAPI 3.1
 * schemas are JSON Schema 2020-12, which the draft-07 subset used here is valid in.
 */
export function buildOpenApiDocument(routes: DocumentedRoute[], info: { title: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const sorted = [...routes].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : a.method < b.method ? -1 : 1));
  for (const route of sorted) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const schema = route.schema ?? {};
    const parameters = [...toParameters(schema.params, 'path'), ...toParameters(schema.querystring, 'query')];
    const responses: Record<string, unknown> = {};
    for (const [status, body] of Object.entries(schema.response ?? {})) {
      const { description, ...bodySchema } = body as Record<string, unknown>;
      responses[status.toUpperCase()] = {
        description: typeof description === 'string' ? description : 'OK',
        content: { [route.contentType]: { schema: bodySchema } },
      };
    }
    if (route.conditional) responses['304'] = { description: 'Not Modified: the ETag sent in If-None-Match still holds' };
    responses['4XX'] = { description: 'Client error', content: { 'application/json': { schema: ERROR_BODY } } };
    responses['5XX'] = { description: 'Server error; 503 E_NOT_READY before anything is indexed', content: { 'application/json': { schema: ERROR_BODY } } };
    const operation: Record<string, unknown> = {
      operationId: operationId(route.method, route.url),
      ...(schema.summary ? { summary: schema.summary } : {}),
      ...(schema.description ? { description: schema.description } : {}),
      ...(schema.tags ? { tags: schema.tags } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema.body } } } } : {}),
      responses,
      security: route.access === 'public' ? [] : [{ bearer: [] }],
      'x-estate-role': route.access,
    };
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token: est_ followed by 43 base64url characters.' } },
      schemas: { Error: ERROR_BODY },
    },
  };
}

/** OpenAPI parameter objects from the properties of a params or querystring JSON schema. */
function toParameters(schema: unknown, where: 'path' | 'query'): unknown[] {
  const object = schema as { properties?: Record<string, Record<string, unknown>>; required?: string[] } | undefined;
  if (!object?.properties) return [];
  return Object.entries(object.properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || (object.required ?? []).includes(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

/** `GET /api/v1/assets/:kind/:name/history` → `getAssetsKindNameHistory`. */
function operationId(method: string, url: string): string {
  const words = url
    .replace(/^\/api\/v1/, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}
