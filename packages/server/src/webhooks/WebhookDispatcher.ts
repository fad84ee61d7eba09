import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import { ConflictError, InputError, NotFoundError } from '@estate/core';
import { renderSlackBody } from './slackBody.js';
import { signWebhookBody } from './signWebhookBody.js';
import {
  WEBHOOK_EVENT_TYPES,
  type ConfiguredWebhook,
  type WebhookAttempt,
  type WebhookDefinition,
  type WebhookDelivery,
  type WebhookDeliveryState,
  type WebhookDispatcherOptions,
  type WebhookEvent,
  type WebhookFormat,
  type WebhookLog,
} from './types.js';
import { checkWebhookEvents, checkWebhookFormat, checkWebhookSecret, checkWebhookUrl, MAX_DESCRIPTION_LENGTH, matchesWebhookEvents } from './webhookInput.js';

/**
 * The webhook tables. A delivery row is written when the event is dispatched and holds the exact
 * body that is signed and sent, so a restart (or a redelivery) sends the same bytes again.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS webhook_hooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,              -- JSON array of types and patterns
    secret TEXT,                       -- API webhooks; NULL for estate.yaml ones (the secret is in the environment)
    description TEXT,
    source TEXT NOT NULL,              -- api | estate.yaml
    created_at TEXT NOT NULL,
    format TEXT NOT NULL DEFAULT 'estate' -- estate | slack: how bodies are written
  );
  CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    webhook_id TEXT NOT NULL,
    event TEXT NOT NULL,
    body TEXT NOT NULL,                -- the exact bytes signed and sent
    state TEXT NOT NULL,               -- pending | delivered | failed
    queue_seq INTEGER NOT NULL,        -- send order within a webhook; a redelivery goes to the back
    created_at TEXT NOT NULL,
    base_ms INTEGER NOT NULL,          -- start of the current round (dispatch or redelivery), ms since the epoch
    round_attempts INTEGER NOT NULL,   -- attempts of the current round
    next_ms INTEGER,                   -- pending: when the next attempt is due
    updated_ms INTEGER NOT NULL,
    dedup_key TEXT                     -- the event's dedupKey: at most one delivery per webhook and key
  );
  CREATE INDEX IF NOT EXISTS webhook_deliveries_queue ON webhook_deliveries (webhook_id, state, queue_seq);
  CREATE INDEX IF NOT EXISTS webhook_deliveries_seq ON webhook_deliveries (queue_seq);
  CREATE INDEX IF NOT EXISTS webhook_deliveries_log ON webhook_deliveries (webhook_id, id);
  CREATE INDEX IF NOT EXISTS webhook_deliveries_done ON webhook_deliveries (updated_ms) WHERE state <> 'pending';
  CREATE TABLE IF NOT EXISTS webhook_attempts (
    delivery_id INTEGER NOT NULL,
    n INTEGER NOT NULL,                -- 1, 2, 3… over every round of the delivery
    at TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, n)
  ) WITHOUT ROWID;
`;

/** Columns added after the first release, for databases made before them: table, column, definition. */
const ADDED_COLUMNS: ReadonlyArray<readonly [string, string, string]> = [
  ['webhook_hooks', 'format', "TEXT NOT NULL DEFAULT 'estate'"],
  ['webhook_deliveries', 'dedup_key', 'TEXT'],
];

/** Indexes on the added columns, made once they exist. */
const LATER_INDEXES = `
  CREATE UNIQUE INDEX IF NOT EXISTS webhook_deliveries_dedup ON webhook_deliveries (webhook_id, dedup_key) WHERE dedup_key IS NOT NULL;
`;

/** Longest dedupKey accepted. */
const MAX_DEDUP_KEY_LENGTH = 200;

/** 5 s, 30 s, 2 min, 10 min, 30 min, 1 h: about 1 h 47 min from the first attempt to the last. */
const DEFAULT_RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000];
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_AGE_MS = 24 * 3_600_000;
const DEFAULT_RETENTION_MS = 30 * 24 * 3_600_000;
const DEFAULT_MAX_RETRY_AFTER_MS = 3_600_000;
/** Each wait is the scheduled delay ±20 %, so receivers that failed together are not retried together. */
const JITTER = 0.2;
/** The sender looks at the queue at least this often (a clock that jumps, a timer past Node's limit). */
const MAX_TIMER_MS = 60_000;
/** After an error of the sender itself (the database), it tries again this much later. */
const SENDER_ERROR_RETRY_MS = 5_000;
/** Old deliveries are deleted at most this often. */
const PRUNE_INTERVAL_MS = 3_600_000;
/** Longest error text kept for an attempt. */
const MAX_ERROR_LENGTH = 300;
const MAX_PAGE = 10_000;
/** DNS-1123 label, as for asset names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 4648 §6 base32 alphabet, lower-cased, for readable ids. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const EVENT_TYPES: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES);
/** Statuses whose `Retry-After` is honoured (RFC 6585 §4, RFC 9110 §15.6.4). */
const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503]);

interface HookRow {
  id: string;
  url: string;
  events: string;
  secret: string | null;
  description: string | null;
  source: 'api' | 'estate.yaml';
  created_at: string;
  format: WebhookFormat;
}

interface DeliveryRow {
  id: number;
  uuid: string;
  webhook_id: string;
  event: string;
  body: string;
  state: WebhookDeliveryState;
  queue_seq: number;
  created_at: string;
  base_ms: number;
  round_attempts: number;
  next_ms: number | null;
  updated_ms: number;
  dedup_key: string | null;
}

interface AttemptRow {
  delivery_id: number;
  n: number;
  at: string;
  status: number | null;
  error: string | null;
  duration_ms: number;
}

/** The head of one webhook's queue, with what sending it needs. */
interface HeadRow extends DeliveryRow {
  url: string;
  secret: string | null;
}

/** What one request came to. */
interface AttemptOutcome {
  at: Date;
  status?: number;
  error?: string;
  durationMs: number;
  retryAfterMs?: number;
}

type CompiledOptions = Required<Omit<WebhookDispatcherOptions, 'log'>> & { log: WebhookLog };

/**
 * Applies the defaults of {@link WebhookDispatcherOptions} and checks the values once. Throws
 * InputError `E_BAD_PARAM` for a negative or non-finite delay or a timeout that is not positive.
 */
export function compileWebhookDispatcherOptions(options: WebhookDispatcherOptions = {}): CompiledOptions {
  const compiled: CompiledOptions = {
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    now: options.now ?? (() => new Date()),
    log: options.log ?? (() => undefined),
    retryDelaysMs: [...(options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS)],
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    // The composition root may pass its own; the process environment is where operators put secrets.
    env: options.env ?? process.env,
    maxAgeMs: options.maxAgeMs ?? DEFAULT_MAX_AGE_MS,
    retentionMs: options.retentionMs ?? DEFAULT_RETENTION_MS,
    maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
  };
  for (const [i, delay] of compiled.retryDelaysMs.entries()) {
    if (!Number.isFinite(delay) || delay < 0) throw new InputError('E_BAD_PARAM', `retryDelaysMs[${i}] must be a number of milliseconds ≥ 0, not ${delay}`, { parameter: 'retryDelaysMs' });
  }
  for (const name of ['timeoutMs', 'maxAgeMs', 'retentionMs', 'maxRetryAfterMs'] as const) {
    const value = compiled[name];
    if (!Number.isFinite(value) || value <= 0) throw new InputError('E_BAD_PARAM', `${name} must be a positive number of milliseconds, not ${value}`, { parameter: name });
  }
  return compiled;
}

/**
 * Sends events (change requests, drift alerts) to webhooks (docs/webhooks.md), in the tables `webhook_*` of the
 * SQLite file it is given.
 *
 * {@link dispatch} writes one delivery row per matching webhook, synchronously, so the event and
 * the action that caused it commit together; a background sender ({@link start}) POSTs them. The
 * rows are the queue: deliveries not yet sent when the process stops are sent after the next
 * start. Delivery is at least once: a request cut short by a stop or a crash is sent again, with
 * the same `X-Estate-Delivery` id for the receiver to recognise.
 *
 * Order: the deliveries of one webhook are sent one at a time, in the order of their events; while
 * one waits for a retry, the ones after it wait too (head-of-line blocking), so a receiver never
 * sees `change.merged` before the `change.approved` that preceded it. Webhooks do not wait for
 * each other. A delivery is given up after its retries, or after its next failed attempt once it
 * is older than `maxAgeMs` (it waited behind others), so a receiver that is down for long does not
 * hold an unbounded backlog; a given-up delivery can be re-queued with {@link redeliver}.
 */
export class WebhookDispatcher {
  private readonly db: Database.Database;
  private readonly options: CompiledOptions;
  private readonly sql;
  /** Secrets of the estate.yaml webhooks, from the environment, by webhook id. Never stored. */
  private configuredSecrets = new Map<string, string>();
  /** Warnings already logged about estate.yaml webhooks, so each is logged once. */
  private readonly warned = new Set<string>();
  /** Requests under way, by webhook id: at most one per webhook. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private running = false;
  private pumpQueued = false;
  private timer: NodeJS.Timeout | undefined;
  private stopController = new AbortController();
  private lastPruneMs = 0;

  /** Creates the tables if needed. Throws InputError `E_BAD_PARAM` for invalid options. */
  constructor(db: Database.Database, options?: WebhookDispatcherOptions) {
    this.db = db;
    this.options = compileWebhookDispatcherOptions(options);
    db.exec(SCHEMA);
    for (const [table, column, definition] of ADDED_COLUMNS) {
      const columns = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`).all();
      if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    }
    db.exec(LATER_INDEXES);
    this.sql = {
      hooks: db.prepare<[], HookRow>('SELECT * FROM webhook_hooks ORDER BY created_at, id'),
      hook: db.prepare<[string], HookRow>('SELECT * FROM webhook_hooks WHERE id = ?'),
      configuredHooks: db.prepare<[], HookRow>("SELECT * FROM webhook_hooks WHERE source = 'estate.yaml'"),
      insertHook: db.prepare<[HookRow]>(
        'INSERT INTO webhook_hooks (id, url, events, secret, description, source, created_at, format) VALUES (@id, @url, @events, @secret, @description, @source, @created_at, @format)',
      ),
      updateConfiguredHook: db.prepare<[{ id: string; url: string; events: string; format: WebhookFormat }]>(
        'UPDATE webhook_hooks SET url = @url, events = @events, format = @format WHERE id = @id',
      ),
      hasDedupKey: db.prepare<[string, string], { found: number }>('SELECT 1 AS found FROM webhook_deliveries WHERE webhook_id = ? AND dedup_key = ?'),
      deleteHook: db.prepare<[string]>('DELETE FROM webhook_hooks WHERE id = ?'),
      deleteHookAttempts: db.prepare<[string]>('DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = ?)'),
      deleteHookDeliveries: db.prepare<[string]>('DELETE FROM webhook_deliveries WHERE webhook_id = ?'),
      nextQueueSeq: db.prepare<[], { seq: number }>('SELECT COALESCE(MAX(queue_seq), 0) + 1 AS seq FROM webhook_deliveries'),
      insertDelivery: db.prepare<[Omit<DeliveryRow, 'id'>]>(
        `INSERT INTO webhook_deliveries (uuid, webhook_id, event, body, state, queue_seq, created_at, base_ms, round_attempts, next_ms, updated_ms, dedup_key)
         VALUES (@uuid, @webhook_id, @event, @body, @state, @queue_seq, @created_at, @base_ms, @round_attempts, @next_ms, @updated_ms, @dedup_key)`,
      ),
      delivery: db.prepare<[number], DeliveryRow>('SELECT * FROM webhook_deliveries WHERE id = ?'),
      deliveryPage: db.prepare<[{ webhook: string; before: number; limit: number }], DeliveryRow>(
        'SELECT * FROM webhook_deliveries WHERE webhook_id = @webhook AND id < @before ORDER BY id DESC LIMIT @limit',
      ),
      attemptsOf: db.prepare<[string], AttemptRow>('SELECT * FROM webhook_attempts WHERE delivery_id IN (SELECT value FROM json_each(?)) ORDER BY delivery_id, n'),
      heads: db.prepare<[], HeadRow>(
        `SELECT d.*, h.url, h.secret FROM webhook_deliveries d JOIN webhook_hooks h ON h.id = d.webhook_id
         WHERE d.state = 'pending'
           AND d.queue_seq = (SELECT MIN(p.queue_seq) FROM webhook_deliveries p WHERE p.webhook_id = d.webhook_id AND p.state = 'pending')`,
      ),
      finishAttempt: db.prepare<[{ id: number; state: WebhookDeliveryState; round_attempts: number; next_ms: number | null; updated_ms: number; expected: number }]>(
        `UPDATE webhook_deliveries SET state = @state, round_attempts = @round_attempts, next_ms = @next_ms, updated_ms = @updated_ms
         WHERE id = @id AND state = 'pending' AND round_attempts = @expected`,
      ),
      insertAttempt: db.prepare<[Omit<AttemptRow, 'n'>]>(
        `INSERT INTO webhook_attempts (delivery_id, n, at, status, error, duration_ms)
         VALUES (@delivery_id, (SELECT COALESCE(MAX(n), 0) + 1 FROM webhook_attempts WHERE delivery_id = @delivery_id), @at, @status, @error, @duration_ms)`,
      ),
      requeue: db.prepare<[{ id: number; queue_seq: number; now: number }]>(
        `UPDATE webhook_deliveries SET state = 'pending', queue_seq = @queue_seq, base_ms = @now, round_attempts = 0, next_ms = @now, updated_ms = @now
         WHERE id = @id AND state <> 'pending'`,
      ),
      pruneAttempts: db.prepare<[number]>("DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND updated_ms < ?)"),
      pruneDeliveries: db.prepare<[number]>("DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated_ms < ?"),
    };
  }

  /**
   * Webhooks from the estate.yaml at main's head (called by the server when the estate config
   * changes, and once at start). Replaces the previous list: webhooks no longer listed are removed
   * with their deliveries; a changed url or event list applies to pending deliveries too. A
   * webhook whose secret is missing (no `secretEnv`, or the variable is unset or empty), too short,
   * or whose name, url or events are invalid, is skipped with a warning logged once.
   */
  setConfigured(hooks: ConfiguredWebhook[]): void {
    const wanted = new Map<string, { url: string; events: string[]; format: WebhookFormat; secret: string }>();
    for (const hook of hooks) {
      const name = typeof hook?.name === 'string' ? hook.name : '';
      const skip = (key: string, message: string): void => this.warnOnce(`${name}\0${key}`, `webhook '${name}' of estate.yaml is skipped: ${message}`, { webhook: `cfg-${name}` });
      if (!DNS_LABEL.test(name)) {
        skip('name', `its name must be a DNS-1123 label (lower-case letters, digits and '-', at most 63)`);
        continue;
      }
      const id = `cfg-${name}`;
      if (wanted.has(id)) {
        skip('duplicate', 'the name is used by an earlier webhook of the list');
        continue;
      }
      let url: string;
      let events: string[];
      let format: WebhookFormat;
      try {
        url = checkWebhookUrl(hook.url);
        events = checkWebhookEvents(hook.events);
        format = checkWebhookFormat(hook.format);
      } catch (error) {
        skip(`input\0${(error as Error).message}`, (error as Error).message);
        continue;
      }
      const variable = hook.secretEnv;
      const secret = typeof variable === 'string' && variable !== '' ? this.options.env[variable] : undefined;
      if (secret === undefined || secret === '') {
        skip(
          `secret\0${variable ?? ''}`,
          typeof variable === 'string' && variable !== '' ? `the environment variable ${variable} (its secretEnv) is not set` : 'it names no secretEnv',
        );
        continue;
      }
      try {
        checkWebhookSecret(secret);
      } catch (error) {
        skip(`short\0${variable}`, `the secret in ${variable}: ${(error as Error).message}`);
        continue;
      }
      wanted.set(id, { url, events, format, secret });
    }

    const now = this.options.now().toISOString();
    const removed: string[] = [];
    const added: string[] = [];
    this.write(() => {
      for (const row of this.sql.configuredHooks.all()) {
        if (wanted.has(row.id)) continue;
        this.deleteHookRows(row.id);
        removed.push(row.id);
      }
      for (const [id, hook] of wanted) {
        const events = JSON.stringify(hook.events);
        if (this.sql.updateConfiguredHook.run({ id, url: hook.url, events, format: hook.format }).changes > 0) continue;
        this.sql.insertHook.run({ id, url: hook.url, events, secret: null, description: null, source: 'estate.yaml', created_at: now, format: hook.format });
        added.push(id);
      }
    });
    this.configuredSecrets = new Map([...wanted].map(([id, hook]) => [id, hook.secret]));
    for (const id of added) this.options.log('info', `webhook ${id} of estate.yaml added`, { webhook: id });
    for (const id of removed) this.options.log('info', `webhook ${id} is no longer in estate.yaml: removed with its deliveries`, { webhook: id });
    this.wake();
  }

  /**
   * Adds a webhook. Throws InputError `E_BAD_PARAM` for a url that is not http(s) (or holds a user
   * name or password), an unknown event type or pattern or format, a secret shorter than 16
   * characters, or a description longer than 1,024. The secret is stored but never returned.
   */
  create(input: { url: string; events?: string[]; secret: string; description?: string; format?: WebhookFormat }): WebhookDefinition {
    const url = checkWebhookUrl(input.url);
    const events = checkWebhookEvents(input.events);
    const format = checkWebhookFormat(input.format);
    const secret = checkWebhookSecret(input.secret);
    const description = input.description === undefined || input.description === '' ? undefined : input.description;
    if (description !== undefined && (typeof description !== 'string' || description.length > MAX_DESCRIPTION_LENGTH)) {
      throw new InputError('E_BAD_PARAM', `a webhook description must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters`, { parameter: 'description' });
    }
    const row: HookRow = {
      id: `wh_${randomId()}`,
      url,
      events: JSON.stringify(events),
      secret,
      description: description ?? null,
      source: 'api',
      created_at: this.options.now().toISOString(),
      format,
    };
    this.write(() => this.sql.insertHook.run(row));
    return definitionFromRow(row);
  }

  /** Every webhook, API and estate.yaml ones, oldest first. */
  list(): WebhookDefinition[] {
    return this.sql.hooks.all().map(definitionFromRow);
  }

  /** The webhook `id`; throws NotFoundError `E_WEBHOOK_NOT_FOUND` when there is none. */
  get(id: string): WebhookDefinition {
    const row = this.sql.hook.get(id);
    if (!row) throw notFound(id);
    return definitionFromRow(row);
  }

  /**
   * Removes an API webhook with its deliveries (pending ones are not sent); false when there is no
   * webhook `id`. Throws ConflictError `E_WEBHOOK_CONFIGURED` for a webhook of estate.yaml, which
   * is removed by a change request to that file.
   */
  remove(id: string): boolean {
    const row = this.sql.hook.get(id);
    if (!row) return false;
    if (row.source === 'estate.yaml') {
      throw new ConflictError('E_WEBHOOK_CONFIGURED', `webhook '${id}' is declared in estate.yaml: remove it there, through a change request`, { webhook: id });
    }
    this.write(() => this.deleteHookRows(id));
    return true;
  }

  /**
   * Records one delivery per webhook subscribed to the event, durably, then wakes the sender.
   * Synchronous, so it can join the caller's transaction on this connection (the deliveries then
   * commit or roll back with the caller's change); on its own it runs in a `BEGIN IMMEDIATE`
   * transaction. Each webhook's body is written now, in its format, and stored with the delivery.
   * With a `dedupKey`, a webhook that already has a delivery with that key gets none. Throws
   * InputError `E_WEBHOOK_EVENT` for an unknown type, an invalid time, data that is not a JSON
   * object, or a dedupKey that is not a string of 1 to 200 characters.
   */
  dispatch(event: WebhookEvent): void {
    if (!EVENT_TYPES.has(event.type)) {
      throw new InputError('E_WEBHOOK_EVENT', `unknown webhook event type '${String(event.type)}': expected one of ${WEBHOOK_EVENT_TYPES.join(', ')}`, {
        type: event.type,
      });
    }
    const now = this.options.now();
    const at = event.at ?? now;
    if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new InputError('E_WEBHOOK_EVENT', `event '${event.type}' has an invalid time`, { type: event.type });
    if (typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) {
      throw new InputError('E_WEBHOOK_EVENT', `the data of event '${event.type}' must be an object`, { type: event.type });
    }
    const { dedupKey } = event;
    if (dedupKey !== undefined && (typeof dedupKey !== 'string' || dedupKey === '' || dedupKey.length > MAX_DEDUP_KEY_LENGTH)) {
      throw new InputError('E_WEBHOOK_EVENT', `the dedupKey of event '${event.type}' must be a string of 1 to ${MAX_DEDUP_KEY_LENGTH} characters`, { type: event.type });
    }
    const hooks = this.sql.hooks.all().filter((hook) => matchesWebhookEvents(JSON.parse(hook.events) as string[], event.type));
    if (hooks.length === 0) return;
    let data: string;
    try {
      data = JSON.stringify(event.data);
    } catch (error) {
      throw new InputError('E_WEBHOOK_EVENT', `the data of event '${event.type}' is not JSON: ${(error as Error).message}`, { type: event.type }, { cause: error });
    }
    const head = `"type":${JSON.stringify(event.type)},"at":${JSON.stringify(at.toISOString())},${dedupKey !== undefined ? `"dedupKey":${JSON.stringify(dedupKey)},` : ''}"data":${data}}`;
    let slack: string | undefined;
    const nowMs = now.getTime();
    this.write(() => {
      let seq = this.sql.nextQueueSeq.get()!.seq;
      for (const hook of hooks) {
        if (dedupKey !== undefined && this.sql.hasDedupKey.get(hook.id, dedupKey)) continue;
        const uuid = randomUUID();
        this.sql.insertDelivery.run({
          uuid,
          webhook_id: hook.id,
          event: event.type,
          body: hook.format === 'slack' ? (slack ??= renderSlackBody(event.type, JSON.parse(data) as Record<string, unknown>)) : `{"id":${JSON.stringify(uuid)},${head}`,
          state: 'pending',
          queue_seq: seq++,
          created_at: now.toISOString(),
          base_ms: nowMs,
          round_attempts: 0,
          next_ms: nowMs,
          updated_ms: nowMs,
          dedup_key: dedupKey ?? null,
        });
      }
    });
    this.wake();
  }

  /**
   * The delivery log of webhook `webhookId`, newest first, at most `limit` (1 to 10,000) deliveries
   * with their attempts. `afterId` continues a listing: the deliveries after that one in this
   * order, i.e. with smaller ids (pass the last id of the previous page). Throws NotFoundError
   * `E_WEBHOOK_NOT_FOUND` for an unknown webhook, InputError `E_BAD_PARAM` for a bad limit.
   */
  deliveries(webhookId: string, options: { limit: number; afterId?: number }): WebhookDelivery[] {
    const { limit, afterId } = options;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new InputError('E_BAD_PARAM', `limit must be an integer from 1 to ${MAX_PAGE}, not ${limit}`, { parameter: 'limit', value: limit });
    }
    if (afterId !== undefined && (!Number.isSafeInteger(afterId) || afterId < 0)) {
      throw new InputError('E_BAD_PARAM', `afterId must be a delivery id, not ${afterId}`, { parameter: 'afterId', value: afterId });
    }
    if (!this.sql.hook.get(webhookId)) throw notFound(webhookId);
    const rows = this.sql.deliveryPage.all({ webhook: webhookId, before: afterId ?? Number.MAX_SAFE_INTEGER, limit });
    return this.withAttempts(rows);
  }

  /** The delivery `deliveryId`; throws NotFoundError `E_WEBHOOK_DELIVERY_NOT_FOUND` when there is none. */
  delivery(deliveryId: number): WebhookDelivery {
    const row = Number.isSafeInteger(deliveryId) ? this.sql.delivery.get(deliveryId) : undefined;
    if (!row) throw deliveryNotFound(deliveryId);
    return this.withAttempts([row])[0]!;
  }

  /**
   * Re-queues a failed (or delivered) delivery now: it goes to the back of its webhook's queue
   * with a fresh round of retries, and the same id and body as before. Throws NotFoundError
   * `E_WEBHOOK_DELIVERY_NOT_FOUND` for an unknown delivery, ConflictError
   * `E_WEBHOOK_DELIVERY_PENDING` for one that is still pending.
   */
  redeliver(deliveryId: number): void {
    const nowMs = this.options.now().getTime();
    this.write(() => {
      const row = Number.isSafeInteger(deliveryId) ? this.sql.delivery.get(deliveryId) : undefined;
      if (!row) throw deliveryNotFound(deliveryId);
      if (row.state === 'pending') {
        throw new ConflictError('E_WEBHOOK_DELIVERY_PENDING', `webhook delivery ${deliveryId} is still pending: it is sent (or retried) without being asked`, {
          delivery: deliveryId,
          webhook: row.webhook_id,
        });
      }
      this.sql.requeue.run({ id: deliveryId, queue_seq: this.sql.nextQueueSeq.get()!.seq, now: nowMs });
    });
    this.wake();
  }

  /** Starts the background sender; pending deliveries (of this run or an earlier one) are sent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopController = new AbortController();
    this.wake();
  }

  /**
   * Stops the sender. Requests under way are cut short and not recorded: their deliveries stay
   * pending and are sent again after the next start. Resolves when nothing touches the database
   * any more.
   */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.stopController.abort();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Runs `work` in a transaction: the caller's if there is one (on this connection), else an immediate one. */
  private write<T>(work: () => T): T {
    const transaction = this.db.transaction(work);
    return this.db.inTransaction ? transaction() : transaction.immediate();
  }

  private deleteHookRows(id: string): void {
    this.sql.deleteHookAttempts.run(id);
    this.sql.deleteHookDeliveries.run(id);
    this.sql.deleteHook.run(id);
  }

  private withAttempts(rows: DeliveryRow[]): WebhookDelivery[] {
    const attempts = new Map<number, WebhookAttempt[]>();
    if (rows.length > 0) {
      for (const row of this.sql.attemptsOf.all(JSON.stringify(rows.map((r) => r.id)))) {
        let list = attempts.get(row.delivery_id);
        if (!list) attempts.set(row.delivery_id, (list = []));
        list.push(attemptFromRow(row));
      }
    }
    return rows.map((row) => deliveryFromRow(row, attempts.get(row.id) ?? []));
  }

  private warnOnce(key: string, message: string, data: Record<string, unknown>): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.log('warn', message, data);
  }

  /** Looks at the queues soon (not now: a caller's transaction may still be open). */
  private wake(): void {
    if (!this.running || this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Sends every due head of a queue whose webhook is idle, and sets a timer for the next one due. */
  private pump(): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let wait: number;
    try {
      const nowMs = this.options.now().getTime();
      this.prune(nowMs);
      let next = Number.POSITIVE_INFINITY;
      for (const head of this.sql.heads.all()) {
        if (this.inFlight.has(head.webhook_id)) continue;
        // An estate.yaml webhook waits for setConfigured to give its secret (after a restart).
        const secret = head.secret ?? this.configuredSecrets.get(head.webhook_id);
        if (secret === undefined) continue;
        const due = head.next_ms ?? nowMs;
        if (due > nowMs) next = Math.min(next, due);
        else this.launch(head, secret);
      }
      wait = next - nowMs;
    } catch (error) {
      this.options.log('error', 'the webhook sender could not read its queue; trying again', { error: (error as Error).message });
      wait = SENDER_ERROR_RETRY_MS;
    }
    if (Number.isFinite(wait)) {
      this.timer = setTimeout(() => this.pump(), Math.min(Math.max(wait, 0), MAX_TIMER_MS));
      this.timer.unref();
    }
  }

  private prune(nowMs: number): void {
    if (nowMs - this.lastPruneMs < PRUNE_INTERVAL_MS) return;
    this.lastPruneMs = nowMs;
    const before = nowMs - this.options.retentionMs;
    this.write(() => {
      this.sql.pruneAttempts.run(before);
      this.sql.pruneDeliveries.run(before);
    });
  }

  private launch(head: HeadRow, secret: string): void {
    const signal = this.stopController.signal;
    const work = this.send(head, secret, signal)
      .then((outcome) => {
        if (outcome) this.record(head, outcome);
      })
      .catch((error: unknown) => this.options.log('error', `webhook delivery ${head.uuid} could not be recorded`, { webhook: head.webhook_id, error: (error as Error).message }))
      .finally(() => {
        this.inFlight.delete(head.webhook_id);
        this.wake();
      });
    this.inFlight.set(head.webhook_id, work);
  }

  /** One POST of a delivery; undefined when it was cut short by {@link stop}. */
  private async send(head: HeadRow, secret: string, stopSignal: AbortSignal): Promise<AttemptOutcome | undefined> {
    const at = this.options.now();
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    try {
      const response = await this.options.fetch(head.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Estate-Webhooks/1',
          'x-estate-event': head.event,
          'x-estate-delivery': head.uuid,
          'x-estate-signature-256': signWebhookBody(secret, head.body),
          ...(head.dedup_key !== null ? { 'x-estate-dedup-key': head.dedup_key } : {}),
        },
        body: head.body,
        // A redirect is an answer like any other non-2xx: following it would send the signed body elsewhere.
        redirect: 'manual',
        signal: AbortSignal.any([stopSignal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      const durationMs = elapsed();
      const retryAfterMs = RETRY_AFTER_STATUSES.has(response.status) ? parseRetryAfter(response.headers.get('retry-after'), at) : undefined;
      // The answer's body is not read: cancelling it frees the connection.
      await response.body?.cancel().catch(() => undefined);
      return { at, status: response.status, durationMs, ...(retryAfterMs !== undefined ? { retryAfterMs: Math.min(retryAfterMs, this.options.maxRetryAfterMs) } : {}) };
    } catch (error) {
      if (stopSignal.aborted) return undefined;
      return { at, error: describeFailure(error, this.options.timeoutMs), durationMs: elapsed() };
    }
  }

  /** Writes an attempt and what follows from it: delivered, a retry at a later time, or given up. */
  private record(head: HeadRow, outcome: AttemptOutcome): void {
    const nowMs = this.options.now().getTime();
    const made = head.round_attempts + 1;
    const ok = outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300;
    const delays = this.options.retryDelaysMs;
    let state: WebhookDeliveryState = 'pending';
    let nextMs: number | null = null;
    if (ok) state = 'delivered';
    else if (made > delays.length || nowMs - head.base_ms >= this.options.maxAgeMs) state = 'failed';
    else {
      const scheduled = delays[made - 1]! * (1 - JITTER + 2 * JITTER * Math.random());
      nextMs = nowMs + Math.round(Math.max(scheduled, outcome.retryAfterMs ?? 0));
    }
    const recorded = this.write(() => {
      const changed = this.sql.finishAttempt.run({ id: head.id, state, round_attempts: made, next_ms: nextMs, updated_ms: nowMs, expected: head.round_attempts }).changes;
      if (changed === 0) return false; // removed (or re-queued) meanwhile
      this.sql.insertAttempt.run({
        delivery_id: head.id,
        at: outcome.at.toISOString(),
        status: outcome.status ?? null,
        error: outcome.error ?? null,
        duration_ms: outcome.durationMs,
      });
      return true;
    });
    if (!recorded || ok) return;
    const data: Record<string, unknown> = {
      webhook: head.webhook_id,
      delivery: head.uuid,
      event: head.event,
      attempt: made,
      ...(outcome.status !== undefined ? { status: outcome.status } : { error: outcome.error }),
    };
    const why = outcome.status !== undefined ? `HTTP ${outcome.status}` : outcome.error;
    if (state === 'failed') {
      this.options.log('warn', `webhook ${head.webhook_id}: gave up delivery ${head.uuid} (${head.event}) after ${made} attempts; last: ${why}`, data);
    } else {
      this.options.log('warn', `webhook ${head.webhook_id}: delivery ${head.uuid} (${head.event}) failed (${why}); retrying at ${new Date(nextMs!).toISOString()}`, {
        ...data,
        nextAttemptAt: new Date(nextMs!).toISOString(),
      });
    }
  }
}

/**
 * The wait a `Retry-After` header asks for (RFC 9110 §10.2.3): delay-seconds or an HTTP-date;
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, date - now.getTime());
}

/** A short, secret-free reason for a request without an answer. */
function describeFailure(error: unknown, timeoutMs: number): string {
  const err = error as { name?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | undefined;
  if (err?.name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  const cause = err?.cause;
  const text =
    typeof cause?.code === 'string'
      ? `${cause.code}${typeof cause.message === 'string' && !cause.message.includes(cause.code) ? `: ${cause.message}` : typeof cause.message === 'string' ? ` (${cause.message})` : ''}`
      : typeof cause?.message === 'string'
        ? cause.message
        : typeof err?.message === 'string'
          ? err.message
          : String(error);
  return text.slice(0, MAX_ERROR_LENGTH);
}

function randomId(): string {
  return [...randomBytes(12)].map((byte) => BASE32[byte % 32]).join('');
}

function notFound(id: string): NotFoundError {
  return new NotFoundError('E_WEBHOOK_NOT_FOUND', `webhook '${id}' does not exist`, { webhook: id });
}

function deliveryNotFound(id: number): NotFoundError {
  return new NotFoundError('E_WEBHOOK_DELIVERY_NOT_FOUND', `webhook delivery ${id} does not exist`, { delivery: id });
}

function definitionFromRow(row: HookRow): WebhookDefinition {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    source: row.source,
    format: row.format,
    createdAt: row.created_at,
    ...(row.description !== null ? { description: row.description } : {}),
  };
}

function attemptFromRow(row: AttemptRow): WebhookAttempt {
  return { at: row.at, ...(row.status !== null ? { status: row.status } : {}), ...(row.error !== null ? { error: row.error } : {}), durationMs: row.duration_ms };
}

function deliveryFromRow(row: DeliveryRow, attempts: WebhookAttempt[]): WebhookDelivery {
  return {
    id: row.id,
    uuid: row.uuid,
    webhookId: row.webhook_id,
    event: row.event,
    ...(row.dedup_key !== null ? { dedupKey: row.dedup_key } : {}),
    state: row.state,
    createdAt: row.created_at,
    ...(row.state === 'pending' && row.next_ms !== null ? { nextAttemptAt: new Date(row.next_ms).toISOString() } : {}),
    attempts,
  };
}
