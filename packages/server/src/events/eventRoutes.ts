import type Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import type { LiveEvents } from './LiveEvents.js';

const eventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    types: {
      type: 'string',
      maxLength: 1024,
      pattern: '^[a-z.,]*$',
      description: 'Only events of these types or type prefixes, comma-separated (`main,change,drift.opened`); default all.',
    },
  },
} as const;

/**
 * `GET /api/v1/events` (viewer): the live event stream of {@link LiveEvents} as server-sent
 * events, resumable with `Last-Event-ID`. Streams end when the server closes.
 */
export function registerEventRoutes(app: FastifyInstance, deps: { events: LiveEvents }): void {
  const { events } = deps;
  app.get<{ Querystring: { types?: string } }>(
    '/api/v1/events',
    {
      config: { access: 'viewer', contentType: 'text/event-stream' },
      schema: {
        summary: 'Server-sent events: main.moved, change-request events and drift events as they happen (resumable with Last-Event-ID).',
        tags: ['events'],
        querystring: eventsQuery,
      },
    },
    async (request, reply) => {
      const types = (request.query.types ?? '').split(',').filter(Boolean);
      const lastEventId = request.headers['last-event-id'];
      reply.hijack();
      events.subscribe(reply.raw, { types, ...(typeof lastEventId === 'string' && lastEventId !== '' ? { lastEventId } : {}) });
    },
  );
  app.addHook('preClose', async () => events.close());
}

/** The newest row of the drift event log (0 when empty): the live stream starts after it. */
export function lastDriftEventId(db: Database.Database): number {
  return (db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM drift_events').get() as { id: number }).id;
}
