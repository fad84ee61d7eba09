import { InputError } from '@estate/core';
import type Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { parseTime } from '../http/commitAnswer.js';
import type { Store } from '../store/Store.js';
import type { DriftEngine } from './DriftEngine.js';

/** The width of one bucket of the drift history. */
export type DriftBucket = 'hour' | 'day';

/** One bucket of {@link driftHistory}: items opened and resolved in it, and items open at its end. */
export interface DriftHistoryBucket {
  /** ISO 8601 UTC, inclusive. */
  start: string;
  /** ISO 8601 UTC, exclusive (the next bucket's start). */
  end: string;
  opened: number;
  resolved: number;
  /** Items open at `end` (at the time of the answer for the bucket that holds it). */
  open: number;
}

/** One group of {@link driftSummary}: the assets of one kind and `env` label with open drift. */
export interface DriftGroup {
  /** The asset's `env` label at the engine's snapshot; absent when it has none (or is no longer declared). */
  env?: string;
  kind: string;
  /** Asset ids, sorted. */
  assets: string[];
  /** Open items, ignored ones left out. */
  open: number;
  /** Open items someone ignored. */
  ignored: number;
}

const BUCKET_MS: Record<DriftBucket, number> = { hour: 3_600_000, day: 86_400_000 };
/** How far back the history goes when `since` is not given. */
const DEFAULT_SPAN: Record<DriftBucket, number> = { hour: 48, day: 30 };
/** At most this many buckets in one answer. */
export const MAX_HISTORY_BUCKETS = 1000;
/** SQLite's strftime reads ISO 8601 times with an offset and answers in UTC: the bucket an event falls in. */
const BUCKET_FORMAT: Record<DriftBucket, string> = { hour: '%Y-%m-%dT%H:00:00Z', day: '%Y-%m-%dT00:00:00Z' };

/**
 * Open drift over time from the drift event log (`drift_events` in ingest.db): per bucket (UTC hours
 * or days) from the one holding `since` to the one holding `now`, the items opened
 * (`drift.opened`) and resolved (`drift.resolved`, whatever the reason), and the items open at the
 * bucket's end (every opening minus every resolution before it). An ignored item stays open here,
 * as in the drift_items table. An event's time is its report's `collectedAt`, so a report an agent
 * spooled counts in the bucket it was collected in; events dated after `now` are in no bucket.
 * One aggregate query: the log is scanned once per call, which is fine for a chart, not for a hot path.
 */
export function driftHistory(db: Database.Database, query: { bucket: DriftBucket; since?: Date; now?: Date }): DriftHistoryBucket[] {
  const width = BUCKET_MS[query.bucket];
  const now = (query.now ?? new Date()).getTime();
  const last = Math.floor(now / width) * width;
  const first = query.since === undefined ? last - (DEFAULT_SPAN[query.bucket] - 1) * width : Math.floor(query.since.getTime() / width) * width;
  if (first > last) throw new InputError('E_BAD_PARAM', `since ${query.since!.toISOString()} is in the future`, { parameter: 'since', in: 'query', reason: 'in the future' });
  const count = (last - first) / width + 1;
  if (count > MAX_HISTORY_BUCKETS) {
    throw new InputError('E_BAD_PARAM', `since ${query.since!.toISOString()} asks for ${count} buckets (bucket=${query.bucket}); at most ${MAX_HISTORY_BUCKETS}: use bucket=day or a later since`, {
      parameter: 'since',
      in: 'query',
      reason: `more than ${MAX_HISTORY_BUCKETS} buckets`,
    });
  }
  const rows = db
    .prepare(
      `SELECT strftime(?, at) AS bucket, sum(type = 'drift.opened') AS opened, sum(type = 'drift.resolved') AS resolved
       FROM drift_events WHERE type IN ('drift.opened', 'drift.resolved') GROUP BY bucket`,
    )
    .all(BUCKET_FORMAT[query.bucket]) as Array<{ bucket: string | null; opened: number; resolved: number }>;
  let open = 0;
  const counts = new Map<number, { opened: number; resolved: number }>();
  for (const row of rows) {
    if (row.bucket === null) continue;
    const start = Date.parse(row.bucket);
    if (start < first) open += row.opened - row.resolved;
    else if (start <= last) counts.set(start, row);
  }
  const buckets: DriftHistoryBucket[] = [];
  for (let start = first; start <= last; start += width) {
    const { opened, resolved } = counts.get(start) ?? { opened: 0, resolved: 0 };
    open += opened - resolved;
    buckets.push({ start: new Date(start).toISOString(), end: new Date(start + width).toISOString(), opened, resolved, open });
  }
  return buckets;
}

/**
 * The assets with open drift, grouped by `env` label and kind: labels and kinds of the Host assets
 * at the engine's snapshot (`commit`), counts from `drift_items`. Sorted by env (unlabelled last), then kind.
 */
export async function driftSummary(db: Database.Database, store: Pick<Store, 'getAsset'>, commit: { seq: number } | undefined): Promise<DriftGroup[]> {
  const rows = db
    .prepare(
      `SELECT i.asset, sum(g.item_id IS NULL) AS open, sum(g.item_id IS NOT NULL) AS ignored
       FROM drift_items i LEFT JOIN drift_ignores g ON g.item_id = i.id WHERE i.state = 'open' GROUP BY i.asset ORDER BY i.asset`,
    )
    .all() as Array<{ asset: string; open: number; ignored: number }>;
  const groups = new Map<string, DriftGroup>();
  for (const row of rows) {
    const asset = commit === undefined ? undefined : await store.getAsset(row.asset, commit.seq);
    const env = (asset?.document['metadata'] as { labels?: Record<string, string> } | undefined)?.labels?.['env'];
    const kind = asset?.kind ?? kindFromId(row.asset);
    const key = `${env ?? ''}\u0000${kind}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { ...(env === undefined ? {} : { env }), kind, assets: [], open: 0, ignored: 0 }));
    group.assets.push(row.asset);
    group.open += row.open;
    group.ignored += row.ignored;
  }
  return [...groups.values()].sort((a, b) => compareEnv(a.env, b.env) || compareText(a.kind, b.kind));
}

/** `host/web-01` → `Host`: the kind of an asset the snapshot no longer has. */
function kindFromId(id: string): string {
  const prefix = id.slice(0, Math.max(0, id.indexOf('/')));
  return prefix.charAt(0).toUpperCase() + prefix.slice(1);
}

function compareEnv(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return compareText(a, b);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const historyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    bucket: { type: 'string', enum: ['hour', 'day'], default: 'hour', description: 'The width of a bucket (UTC).' },
    since: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: `The first bucket holds this ISO 8601 time (a date alone is midnight UTC; no offset means UTC). Default: the last ${DEFAULT_SPAN.hour} hours, or ${DEFAULT_SPAN.day} days; at most ${MAX_HISTORY_BUCKETS} buckets.`,
    },
  },
} as const;

const bucketSchema = {
  type: 'object',
  required: ['start', 'end', 'opened', 'resolved', 'open'],
  properties: { start: { type: 'string' }, end: { type: 'string' }, opened: { type: 'integer' }, resolved: { type: 'integer' }, open: { type: 'integer' } },
} as const;

const groupSchema = {
  type: 'object',
  required: ['kind', 'assets', 'open', 'ignored'],
  properties: { env: { type: 'string' }, kind: { type: 'string' }, assets: { type: 'array', items: { type: 'string' } }, open: { type: 'integer' }, ignored: { type: 'integer' } },
} as const;

/**
 * The drift overview for the web UI's drift page (viewer): open drift over time
 * (`GET /api/v1/drift/history`) and the assets with open drift by env label and kind
 * (`GET /api/v1/drift/summary`). See docs/drift.md#api-viewer.
 */
export function registerDriftOverviewRoutes(app: FastifyInstance, deps: { db: Database.Database; engine: DriftEngine; store: Pick<Store, 'getAsset'> }): void {
  const { db, engine, store } = deps;

  app.get<{ Querystring: { bucket: DriftBucket; since?: string } }>(
    '/api/v1/drift/history',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Open drift over time: items opened and resolved per hour or day, and items open at the end of each',
        tags: ['drift'],
        querystring: historyQuery,
        response: {
          200: { type: 'object', required: ['bucket', 'items'], properties: { bucket: { type: 'string' }, items: { type: 'array', items: bucketSchema } } },
        },
      },
    },
    async (request, reply) => {
      const { bucket, since } = request.query;
      const from = since === undefined ? undefined : parseTime(since);
      if (since !== undefined && from === undefined) throw new InputError('E_BAD_PARAM', `parameter 'since' must be an ISO 8601 time, not '${since}'`, { parameter: 'since', in: 'query', value: since });
      const items = driftHistory(db, { bucket, ...(from === undefined ? {} : { since: from }) });
      reply.header('cache-control', 'no-store');
      return { bucket, items };
    },
  );

  app.get(
    '/api/v1/drift/summary',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Assets with open drift, grouped by their env label and kind',
        tags: ['drift'],
        querystring: { type: 'object', additionalProperties: false, properties: {} },
        response: {
          200: {
            type: 'object',
            required: ['items'],
            properties: { commit: { type: 'string', description: 'The commit of main the labels were read at.' }, items: { type: 'array', items: groupSchema } },
          },
        },
      },
    },
    async (_request, reply) => {
      const commit = engine.commit;
      reply.header('cache-control', 'no-store');
      return { ...(commit ? { commit: commit.sha } : {}), items: await driftSummary(db, store, commit) };
    },
  );
}
