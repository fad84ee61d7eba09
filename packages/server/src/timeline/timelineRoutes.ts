import { InputError, NotFoundError } from '@estate/core';
import type { FastifyInstance } from 'fastify';
import { parseTime, requireHead } from '../http/commitAnswer.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import type { KindCatalog } from '../http/KindCatalog.js';
import { assetParams } from '../http/schemas.js';
import type { Store } from '../store/Store.js';
import type { AssetTimeline, TimelinePosition } from './AssetTimeline.js';

const timelineQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50, description: 'Entries per page.' },
    cursor: { type: 'string', minLength: 1, maxLength: 1024, description: 'The nextCursor of the previous page.' },
    since: { type: 'string', minLength: 1, maxLength: 64, description: 'Only entries at or after this ISO 8601 time.' },
  },
} as const;

const anyValue = {};
const entry = {
  type: 'object',
  required: ['at', 'source', 'type', 'summary'],
  additionalProperties: true,
  properties: {
    at: { type: 'string', description: 'ISO 8601 UTC: the commit time, the time of the event, or when the report was collected.' },
    source: { type: 'string', enum: ['declared', 'observed'] },
    type: { type: 'string', description: 'asset.added|changed|moved|removed; drift.opened|changed|resolved, host.enforced, host.stale, …; report.first|latest.' },
    summary: { type: 'string', description: 'One readable line; file contents never appear.' },
  },
} as const;

const timelineResponse = {
  type: 'object',
  required: ['asset', 'verdict', 'openDrift', 'items'],
  properties: {
    asset: { type: 'string' },
    verdict: { type: 'string', description: 'Does the asset differ from Git, since when, and is the difference explained by a Git change.' },
    openDrift: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'declared', 'observed', 'firstSeen', 'reportId'],
        properties: {
          field: { type: 'string' },
          declared: anyValue,
          observed: anyValue,
          firstSeen: { type: 'string' },
          reportId: { type: 'string' },
          explainedBy: { type: 'object', additionalProperties: true, description: 'The commit that changed the declared value while the host kept the earlier one; absent: changed outside Git.' },
        },
      },
    },
    items: { type: 'array', items: entry },
    nextCursor: { type: 'string', description: 'Present when there are more entries: pass it as cursor.' },
  },
} as const;

/** `GET /api/v1/assets/:kind/:name/timeline` (viewer): the 3 a.m. answer (docs/drift.md). */
export function registerTimelineRoutes(app: FastifyInstance, deps: { timeline: AssetTimeline; store: Store; kinds: KindCatalog }): void {
  const { timeline, store, kinds } = deps;
  app.get<{ Params: { kind: string; name: string }; Querystring: { limit: number; cursor?: string; since?: string } }>(
    '/api/v1/assets/:kind/:name/timeline',
    {
      config: { access: 'viewer' },
      schema: {
        summary: "An asset's declared changes (commits, change requests, approvers) and what its host reported (drift, restores, reports), newest first, with a verdict",
        tags: ['assets', 'drift'],
        params: assetParams,
        querystring: timelineQuery,
        response: { 200: timelineResponse },
      },
    },
    async (request, reply) => {
      const { limit, cursor, since } = request.query;
      const sinceTime = since === undefined ? undefined : parseTime(since);
      if (since !== undefined && !sinceTime) throw new InputError('E_BAD_PARAM', `parameter 'since' must be an ISO 8601 time, not '${since}'`, { parameter: 'since', value: since });
      const from = cursor === undefined ? undefined : toPosition(decodeCursor('timeline', cursor, ['number', 'number', 'number', 'number']));
      const head = await requireHead(store);
      // As for /history: the kind may be gone at the head while the asset's past remains.
      const kind = (await kinds.at(head)).resolve(request.params.kind);
      const prefix = kind?.idPrefix ?? request.params.kind.toLowerCase();
      const id = `${prefix}/${request.params.name}`;
      const host = prefix === 'host' ? request.params.name : undefined;
      if (!(await timeline.exists(id, host))) throw new NotFoundError('E_ASSET_NOT_FOUND', `asset '${id}' never existed on main and nothing reported on it`, { asset: id });
      const page = await timeline.page(id, host, { limit, ...(from ? { from } : {}), ...(sinceTime ? { since: sinceTime } : {}) });
      const { next, ...answer } = page;
      reply.header('cache-control', 'no-store');
      return { ...answer, ...(next ? { nextCursor: encodeCursor('timeline', next.commitBefore, next.eventBefore, next.lastAtMs, next.milestones) } : {}) };
    },
  );
}

function toPosition([commitBefore, eventBefore, lastAtMs, milestones]: [number, number, number, number]): TimelinePosition {
  return { commitBefore, eventBefore, lastAtMs, milestones };
}
