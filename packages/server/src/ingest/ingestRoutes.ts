import type { FastifyInstance } from 'fastify';
import { roleAtLeast } from '../auth/tokens.js';

import { NotFoundError } from '@estate/core';
import { DEAD_LETTERS_LISTED } from './IngestService.js';
import type { SqliteIngestStore } from './SqliteIngestStore.js';
import type { HostObservation, Ingest } from './types.js';

const hostParams = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description: 'The host name.' } },
} as const;

const deadLetterParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'The dead letter id.' } },
} as const;

const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

const accepted = {
  type: 'object',
  required: ['reportId'],
  properties: { reportId: { type: 'string' }, queued: { type: 'boolean' }, duplicate: { type: 'boolean' } },
} as const;

const observation = {
  type: 'object',
  required: ['host', 'seq', 'reportId', 'collectedAt', 'observedAt', 'facts'],
  properties: {
    host: { type: 'string' },
    seq: { type: 'integer' },
    reportId: { type: 'string' },
    collectedAt: { type: 'string' },
    observedAt: { type: 'string', description: 'When the report was applied.' },
    facts: { type: 'object', additionalProperties: true },
  },
} as const;

const deadLetterList = {
  type: 'object',
  required: ['items', 'total'],
  properties: {
    total: { type: 'integer', description: 'Every dead letter; items holds the oldest 1,000 at most.' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'reportId', 'host', 'seq', 'reason', 'attempts', 'failedAt'],
        properties: {
          id: { type: 'integer' },
          reportId: { type: 'string' },
          host: { type: 'string' },
          seq: { type: 'integer' },
          reason: { type: 'string' },
          attempts: { type: 'integer' },
          failedAt: { type: 'string' },
        },
      },
    },
  },
} as const;

/**
 * The ingestion API: agents post reports (`agent` tokens, each for its own hosts only), viewers
 * read a host's latest observation, admins list and replay dead letters.
 */
export function registerIngestRoutes(app: FastifyInstance, deps: { ingest: Ingest; store: SqliteIngestStore }): void {
  const { ingest, store } = deps;

  // Reports are read as text (JSON only): the ingest thread parses and checks them, off this
  // thread (docs/ingest.md#the-ingest-thread).
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    scope.post(
      '/api/v1/reports',
      {
        config: { access: 'agent' },
        schema: {
          summary: "Post a host's fact report (agent token of that host); 202 once it is on disk",
          description: 'Body: {reportId (ULID), host, seq (>= 1), collectedAt (ISO 8601), facts, errors?} as in docs/ingest.md. A reportId seen before answers 202 {duplicate: true}.',
          tags: ['ingest'],
          querystring: noQuery,
          response: { 202: accepted },
        },
      },
      async (request, reply) => {
        ingest.admit();
        const result = await ingest.submitText(request.body as string, request.token!);
        reply.code(202).header('cache-control', 'no-store');
        return result.duplicate ? { reportId: result.reportId, duplicate: true } : { reportId: result.reportId, queued: true };
      },
    );
  });

  app.get(
    '/api/v1/hosts/:name/observation',
    {
      config: { access: 'viewer' },
      schema: { summary: "A host's latest observed facts, with the report that produced them", tags: ['ingest'], params: hostParams, querystring: noQuery, response: { 200: observation } },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const host = (request.params as { name: string }).name;
      const observation = store.observation(host);
      if (!observation) throw new NotFoundError('E_OBSERVATION_NOT_FOUND', `host '${host}' has no applied report`, { host });
      // Managed files can hold credentials: their contents are for editors and up (who may adopt them anyway).
      return request.token !== undefined && roleAtLeast(request.token.role, 'editor') ? observation : withoutFileContents(observation);
    },
  );

  app.get(
    '/api/v1/reports/dead-letters',
    {
      config: { access: 'admin' },
      schema: { summary: 'Reports that kept failing, with the reason: the oldest 1,000 and the total (admin)', tags: ['ingest'], querystring: noQuery, response: { 200: deadLetterList } },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return { items: store.deadLetters(DEAD_LETTERS_LISTED), total: store.deadLetterCount() };
    },
  );

  app.post(
    '/api/v1/reports/dead-letters/:id/replay',
    {
      config: { access: 'admin' },
      schema: { summary: "Queue a dead letter's report again (admin)", tags: ['ingest'], params: deadLetterParams, querystring: noQuery, response: { 202: accepted } },
    },
    async (request, reply) => {
      const reportId = await ingest.replay((request.params as { id: number }).id);
      reply.code(202).header('cache-control', 'no-store');
      return { reportId, queued: true };
    },
  );
}

/** The observation with each managed file's `content` left out (`contentRedacted: true` instead). */
function withoutFileContents(observation: HostObservation): HostObservation {
  const files = observation.facts.files;
  if (files === undefined) return observation;
  const redacted = Object.fromEntries(
    Object.entries(files).map(([path, file]) => {
      if (!('content' in file)) return [path, file];
      const rest: Record<string, unknown> = { ...file };
      delete rest['content'];
      return [path, { ...rest, contentRedacted: true }];
    }),
  );
  return { ...observation, facts: { ...observation.facts, files: redacted as NonNullable<HostObservation['facts']['files']> } };
}
