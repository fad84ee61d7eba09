import { InputError, parseLabelSelector } from '@estate/core';
import type { FastifyInstance } from 'fastify';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import type { DriftEngine } from './DriftEngine.js';
import type { DriftStateFilter, DriftStore } from './DriftStore.js';

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    asset: { type: 'string', minLength: 1, maxLength: 512, description: 'Only items of this asset, e.g. host/web-01.' },
    selector: { type: 'string', minLength: 1, maxLength: 4096, description: 'Only items of declared assets whose labels match this selector.' },
    state: { type: 'string', enum: ['open', 'ignored', 'resolved', 'all'], default: 'open', description: 'Items open (default; ignored ones left out), ignored, resolved, or all.' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Items per page.' },
    cursor: { type: 'string', minLength: 1, maxLength: 1024, description: 'The nextCursor of the previous page.' },
  },
} as const;

const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

const item = {
  type: 'object',
  required: ['asset', 'field', 'declared', 'observed', 'firstSeen', 'lastSeen', 'reportId', 'state', 'mode'],
  properties: {
    asset: { type: 'string' },
    field: { type: 'string', description: 'JSON pointer of the declared field.' },
    declared: {},
    observed: {},
    firstSeen: { type: 'string' },
    lastSeen: { type: 'string' },
    reportId: { type: 'string' },
    state: { type: 'string', enum: ['open', 'ignored', 'resolved'] },
    resolvedAt: { type: 'string' },
    ignored: {
      type: 'object',
      required: ['reason', 'by', 'at'],
      properties: { reason: { type: 'string' }, by: { type: 'string' }, at: { type: 'string' } },
      description: 'State ignored: who ignored the item, when and why (until its observed value changes).',
    },
    mode: { type: 'string', enum: ['observe', 'shadow', 'enforce'], description: "The asset's drift mode by the DriftMode policies at main's head." },
  },
} as const;

const itemList = {
  type: 'object',
  required: ['items'],
  properties: { items: { type: 'array', items: item }, nextCursor: { type: 'string', description: 'Present when there are more items: pass it as cursor.' } },
} as const;

const hostList = (properties: Record<string, unknown>): Record<string, unknown> => ({
  type: 'object',
  required: ['items'],
  properties: { items: { type: 'array', items: { type: 'object', required: Object.keys(properties), properties } } },
});

/** The drift API (docs/drift.md): items, unmanaged hosts and stale hosts (viewer). */
export function registerDriftRoutes(app: FastifyInstance, deps: { engine: DriftEngine; drift: DriftStore }): void {
  const { engine, drift } = deps;

  app.get<{ Querystring: { asset?: string; selector?: string; state: DriftStateFilter; limit: number; cursor?: string } }>(
    '/api/v1/drift',
    {
      config: { access: 'viewer' },
      schema: { summary: 'Drift items: declared fields that differ (or differed) from what hosts report', tags: ['drift'], querystring: listQuery, response: { 200: itemList } },
    },
    async (request, reply) => {
      const { asset, selector, state, limit, cursor } = request.query;
      const afterId = cursor === undefined ? 0 : decodeCursor('drift', cursor, ['number'])[0];
      let assets: string[] | undefined = asset === undefined ? undefined : [asset];
      if (selector !== undefined) {
        let matching: string[];
        try {
          matching = engine.assetsMatching(parseLabelSelector(selector));
        } catch (error) {
          throw new InputError('E_BAD_PARAM', (error as Error).message, { parameter: 'selector' });
        }
        assets = assets === undefined ? matching : assets.filter((id) => matching.includes(id));
      }
      const page = drift.list({ ...(assets ? { assets } : {}), state, afterId, limit: limit + 1 });
      const more = page.length > limit;
      const items = page.slice(0, limit);
      reply.header('cache-control', 'no-store');
      return {
        items: items.map(({ id: _id, ...rest }) => ({ ...rest, mode: engine.modeOf(rest.asset) })),
        ...(more ? { nextCursor: encodeCursor('drift', items[items.length - 1]!.id) } : {}),
      };
    },
  );

  app.get(
    '/api/v1/drift/unmanaged',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Hosts that report but have no Host asset',
        tags: ['drift'],
        querystring: noQuery,
        response: { 200: hostList({ host: { type: 'string' }, firstSeen: { type: 'string' }, lastSeen: { type: 'string' }, reportId: { type: 'string' } }) },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return { items: drift.unmanaged() };
    },
  );

  app.get(
    '/api/v1/drift/stale',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Declared hosts whose last report is older than the stale threshold',
        tags: ['drift'],
        querystring: noQuery,
        response: { 200: hostList({ asset: { type: 'string' }, host: { type: 'string' }, lastReportAt: { type: 'string' }, reportId: { type: 'string' } }) },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return { items: engine.stale() };
    },
  );
}
