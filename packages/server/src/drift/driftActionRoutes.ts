import type { FastifyInstance } from 'fastify';
import { actorOf } from '../changes/changeRoutes.js';
import type { DriftActions } from './DriftActions.js';
import type { DriftEngine } from './DriftEngine.js';
import type { ListedDriftItem } from './DriftStore.js';

const asset = { type: 'string', pattern: '^[a-z0-9-]+/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', maxLength: 200, description: 'The asset id, e.g. host/web-01.' } as const;
const field = { type: 'string', pattern: '^/', minLength: 2, maxLength: 4096, description: "JSON pointer of a drift item's field, e.g. /spec/packages/nginx." } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

const adoptBody = {
  type: 'object',
  additionalProperties: false,
  required: ['asset'],
  properties: {
    asset,
    fields: { type: 'array', minItems: 1, maxItems: 1000, items: field, description: 'Only these fields (default: every open item of the asset).' },
    title: { type: 'string', minLength: 1, maxLength: 200, description: 'The change request title (default: drift: adopt observed state of <asset>).' },
  },
} as const;

const revertBody = { type: 'object', additionalProperties: false, required: ['asset', 'field'], properties: { asset, field } } as const;

const ignoreBody = {
  type: 'object',
  additionalProperties: false,
  required: ['asset', 'field', 'reason'],
  properties: { asset, field, reason: { type: 'string', minLength: 1, maxLength: 1000, description: 'Why the item may stay as it is.' } },
} as const;

const declareParams = {
  type: 'object',
  additionalProperties: false,
  required: ['host'],
  properties: { host: { type: 'string', minLength: 1, maxLength: 253, description: 'The host name its reports carry.' } },
} as const;

const declareBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description: "The Host asset's name (default: the host's name)." },
    labels: { type: 'object', maxProperties: 64, additionalProperties: { type: 'string', maxLength: 63 }, description: 'metadata.labels of the new Host.' },
  },
} as const;

/** What is left for people to do after ignoring an item. */
const IGNORE_NOTE = 'ignored while the observed value stays the same; to ignore this field for good, add a DriftIgnore rule in policies/ (docs/drift.md#ignore-rules-driftignore)';

/**
 * The drift actions (docs/drift.md#acting-on-drift): adopt, revert, ignore, and declare an
 * unmanaged host. Editor or higher: adopting and declaring open change requests.
 */
export function registerDriftActionRoutes(app: FastifyInstance, deps: { actions: DriftActions; engine: DriftEngine }): void {
  const { actions, engine } = deps;
  const tags = ['drift'];
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && request.body === undefined && request.url.startsWith('/api/v1/drift/unmanaged/')) request.body = {};
  });

  app.post<{ Body: { asset: string; fields?: string[]; title?: string } }>(
    '/api/v1/drift/adopt',
    {
      config: { access: 'editor' },
      schema: { summary: "Open a change request adopting the observed values of an asset's open drift items", tags, body: adoptBody, response: { 201: anyObject } },
    },
    async (request, reply) => {
      const result = await actions.adopt(actorOf(request), request.body);
      return reply.code(201).header('location', `/api/v1/changes/${result.change.id}`).header('cache-control', 'no-store').send(result);
    },
  );

  app.post<{ Body: { asset: string; field: string } }>(
    '/api/v1/drift/revert',
    {
      config: { access: 'editor' },
      schema: { summary: 'Ask an enforcing agent to restore a managed file (its content, mode or owner) from Git', tags, body: revertBody, response: { 202: anyObject } },
    },
    async (request, reply) => {
      const result = actions.requestRevert(actorOf(request), request.body);
      return reply.code(202).header('cache-control', 'no-store').send({ ...result, mode: engine.modeOf(result.asset) });
    },
  );

  app.post<{ Body: { asset: string; field: string; reason: string } }>(
    '/api/v1/drift/ignore',
    {
      config: { access: 'editor' },
      schema: { summary: 'Ignore an open drift item while its observed value stays the same', tags, body: ignoreBody, response: { 200: anyObject } },
    },
    async (request, reply) => {
      const item: Partial<ListedDriftItem> = actions.ignore(actorOf(request), request.body);
      delete item.id;
      reply.header('cache-control', 'no-store');
      return { item: { ...item, mode: engine.modeOf(request.body.asset) }, note: IGNORE_NOTE };
    },
  );

  app.post<{ Params: { host: string }; Body: { name?: string; labels?: Record<string, string> } }>(
    '/api/v1/drift/unmanaged/:host/declare',
    {
      config: { access: 'editor' },
      schema: { summary: 'Open a change request declaring an unmanaged host as a Host asset from its latest report', tags, params: declareParams, body: declareBody, response: { 201: anyObject } },
    },
    async (request, reply) => {
      const change = await actions.declare(actorOf(request), request.params.host, request.body ?? {});
      return reply.code(201).header('location', `/api/v1/changes/${change.id}`).header('cache-control', 'no-store').send({ change });
    },
  );
}
