import type { FastifyInstance } from 'fastify';
import { decodeCursor, encodeCursor, type CursorList } from '../http/cursor.js';
import type { WebhookDispatcher } from './WebhookDispatcher.js';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_FORMATS, type WebhookFormat } from './types.js';

/** The cursor list of the delivery log. */
const DELIVERIES_CURSOR: CursorList = 'webhookDeliveries';

/**
 * Where webhook creations and removals are recorded: the audit trail's `append` fits. Details hold
 * the url's host only, since some receivers (chat services) put a secret in the url's path.
 */
export interface WebhookAuditPort {
  append(event: { actor: string; event: 'webhook.created' | 'webhook.deleted'; subject: string; details: Record<string, unknown> }): unknown;
}

const webhookParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,80}$', description: 'The webhook id: wh_… (API) or cfg-<name> (estate.yaml).' } },
} as const;

const deliveryParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'The delivery id of the delivery log.' } },
} as const;

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'secret'],
  properties: {
    url: { type: 'string', description: 'Where events are POSTed: http or https.' },
    events: {
      type: 'array',
      items: { type: 'string' },
      description: `Event types or patterns: * (default, all), a family (change.*, review.*, drift.*, host.*, ingest.*), or types among ${WEBHOOK_EVENT_TYPES.join(', ')}.`,
    },
    format: { type: 'string', enum: [...WEBHOOK_FORMATS], description: 'Body format: estate (default, the JSON payload) or slack ({text, blocks}).' },
    secret: { type: 'string', description: 'Key of the HMAC-SHA256 signature (16 to 1,024 characters). Never returned.' },
    description: { type: 'string', description: 'What the webhook is for (at most 1,024 characters).' },
  },
} as const;

const deliveriesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Items per page.' },
    cursor: { type: 'string', minLength: 1, maxLength: 1024, description: 'The nextCursor of the previous page.' },
  },
} as const;

const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

const webhook = {
  type: 'object',
  required: ['id', 'url', 'events', 'source', 'format', 'createdAt'],
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    events: { type: 'array', items: { type: 'string' } },
    source: { type: 'string', enum: ['api', 'estate.yaml'] },
    format: { type: 'string', enum: [...WEBHOOK_FORMATS] },
    createdAt: { type: 'string' },
    description: { type: 'string' },
  },
} as const;

const delivery = {
  type: 'object',
  required: ['id', 'uuid', 'webhookId', 'event', 'state', 'createdAt', 'attempts'],
  properties: {
    id: { type: 'integer' },
    uuid: { type: 'string', description: 'The payload id and X-Estate-Delivery header (the same on every attempt and redelivery).' },
    webhookId: { type: 'string' },
    event: { type: 'string' },
    dedupKey: { type: 'string', description: 'The event’s dedupKey (drift alerts), when it has one.' },
    state: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    createdAt: { type: 'string' },
    nextAttemptAt: { type: 'string', description: 'Pending deliveries: when the next attempt is due.' },
    attempts: {
      type: 'array',
      items: {
        type: 'object',
        required: ['at', 'durationMs'],
        properties: {
          at: { type: 'string' },
          status: { type: 'integer', description: 'The receiver’s HTTP status, when it answered.' },
          error: { type: 'string', description: 'Why there is no status (timeout, refused connection…).' },
          durationMs: { type: 'integer' },
        },
      },
    },
  },
} as const;

const webhookList = { type: 'object', required: ['items'], properties: { items: { type: 'array', items: webhook } } } as const;
const deliveryPage = {
  type: 'object',
  required: ['items'],
  properties: {
    items: { type: 'array', items: delivery },
    nextCursor: { type: 'string', description: 'Present when there are more items: pass it as cursor.' },
  },
} as const;
const noContent = { type: 'null', description: 'Removed.' } as const;

/**
 * The webhook API (docs/webhooks.md), for admins only: a webhook's url may hold a receiver's
 * secret and its delivery log tells what happens in the estate. `POST /api/v1/webhooks` adds one
 * (the secret is never returned), `GET /api/v1/webhooks` lists them with the estate.yaml ones,
 * `GET|DELETE /api/v1/webhooks/:id`, `GET /api/v1/webhooks/:id/deliveries` pages the delivery log
 * newest first, `POST /api/v1/webhooks/deliveries/:id/redeliver` re-queues a delivery.
 */
export function registerWebhookRoutes(app: FastifyInstance, deps: { webhooks: WebhookDispatcher; audit?: WebhookAuditPort }): void {
  const { webhooks, audit } = deps;
  const actor = (request: { token?: { name: string } | undefined }): string => request.token?.name ?? 'system';

  app.post<{ Body: { url: string; events?: string[]; secret: string; description?: string; format?: WebhookFormat } }>(
    '/api/v1/webhooks',
    {
      config: { access: 'admin' },
      schema: { summary: 'Adds a webhook (admin)', tags: ['webhooks'], querystring: noQuery, body: createBody, response: { 201: webhook } },
    },
    async (request, reply) => {
      const { url, events, secret, description, format } = request.body;
      const created = webhooks.create({
        url,
        secret,
        ...(events !== undefined ? { events } : {}),
        ...(description !== undefined ? { description } : {}),
        ...(format !== undefined ? { format } : {}),
      });
      audit?.append({ actor: actor(request), event: 'webhook.created', subject: `webhook/${created.id}`, details: { host: new URL(created.url).host, events: created.events } });
      reply.code(201).header('cache-control', 'no-store').header('location', `/api/v1/webhooks/${created.id}`);
      return created;
    },
  );

  app.get(
    '/api/v1/webhooks',
    {
      config: { access: 'admin' },
      schema: { summary: 'Webhooks, from the API and from estate.yaml (admin)', tags: ['webhooks'], querystring: noQuery, response: { 200: webhookList } },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return { items: webhooks.list() };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/webhooks/:id',
    {
      config: { access: 'admin' },
      schema: { summary: 'One webhook (admin)', tags: ['webhooks'], params: webhookParams, querystring: noQuery, response: { 200: webhook } },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return webhooks.get(request.params.id);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/webhooks/:id',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Removes a webhook made through the API, with its delivery log (admin)',
        description: 'A webhook of estate.yaml is refused with 409 E_WEBHOOK_CONFIGURED: remove it from estate.yaml through a change request.',
        tags: ['webhooks'],
        params: webhookParams,
        querystring: noQuery,
        response: { 204: noContent },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      // get() first: an unknown id is a 404, not `false`.
      const existing = webhooks.get(id);
      webhooks.remove(id);
      audit?.append({ actor: actor(request), event: 'webhook.deleted', subject: `webhook/${id}`, details: { host: new URL(existing.url).host } });
      return reply.code(204).header('cache-control', 'no-store').send();
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit: number; cursor?: string } }>(
    '/api/v1/webhooks/:id/deliveries',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'The delivery log of a webhook, newest first, with every attempt (admin)',
        tags: ['webhooks'],
        params: webhookParams,
        querystring: deliveriesQuery,
        response: { 200: deliveryPage },
      },
    },
    async (request, reply) => {
      const { limit, cursor } = request.query;
      const afterId = cursor === undefined ? undefined : decodeCursor(DELIVERIES_CURSOR, cursor, ['number'])[0];
      const items = webhooks.deliveries(request.params.id, { limit: limit + 1, ...(afterId !== undefined ? { afterId } : {}) });
      const page = items.slice(0, limit);
      const last = page[page.length - 1];
      reply.header('cache-control', 'no-store');
      return { items: page, ...(items.length > limit && last ? { nextCursor: encodeCursor(DELIVERIES_CURSOR, last.id) } : {}) };
    },
  );

  app.post<{ Params: { id: number } }>(
    '/api/v1/webhooks/deliveries/:id/redeliver',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Re-queues a failed or delivered delivery now, with the same id and body (admin)',
        description: 'It goes to the back of its webhook’s queue with a fresh round of retries. A pending delivery is refused with 409 E_WEBHOOK_DELIVERY_PENDING.',
        tags: ['webhooks'],
        params: deliveryParams,
        querystring: noQuery,
        response: { 202: delivery },
      },
    },
    async (request, reply) => {
      webhooks.redeliver(request.params.id);
      reply.code(202).header('cache-control', 'no-store');
      return webhooks.delivery(request.params.id);
    },
  );
}
