import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { InputError } from '@estate/core';
import type { WebhookDispatcher } from '../webhooks/WebhookDispatcher.js';
import type { DriftEngine } from './DriftEngine.js';
import type { DriftEvent, DriftStore } from './DriftStore.js';

/**
 * The alerter's state, in ingest.db beside the event log it reads, so that what it has handled
 * and what it decided commit together (docs/drift.md#alerts):
 * - `drift_alert_state`: the cursors (last drift event id, last dead letter id), the counts the
 *   rate limit held back by type, and this database's random `instance` (part of each dedupKey);
 * - `drift_alert_keys`: per asset and field, when its opening was last alerted, and a resolution
 *   held back while the field may still flap;
 * - `drift_alert_stale`: the report each stale host was last alerted for (one alert per episode);
 * - `drift_alert_outbox`: alerts decided and not yet handed to the webhook dispatcher.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS drift_alert_state (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS drift_alert_keys (
  asset TEXT NOT NULL,
  field TEXT NOT NULL,
  alerted_ms INTEGER NOT NULL,
  held TEXT,
  release_ms INTEGER,
  PRIMARY KEY (asset, field)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS drift_alert_keys_release ON drift_alert_keys(release_ms) WHERE release_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS drift_alert_stale (
  asset TEXT PRIMARY KEY,
  report_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS drift_alert_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  at TEXT NOT NULL,
  data TEXT NOT NULL
);
`;

/** The alert types, in the order a flush spends the rate limit on them. */
export const DRIFT_ALERT_TYPES = ['drift.opened', 'drift.resolved', 'host.stale', 'ingest.dead_letter'] as const;

/** One alert type. */
export type DriftAlertType = (typeof DRIFT_ALERT_TYPES)[number];

/** Options of {@link DriftAlerts}. */
export interface DriftAlertOptions {
  /** How often the event log and the dead letters are read, in ms (default 1,000). */
  pollMs: number;
  /** Alerts within this time of the first one become one delivery per type, in ms (default 5,000). */
  groupWindowMs: number;
  /** A field that resolves within this time of its opening alert and opens again is not alerted again, in ms (default 10 min). */
  flapWindowMs: number;
  /** Alert deliveries per minute at most (default 30); the items beyond are counted in the next one (`suppressed`). */
  maxPerMinute: number;
  /** How often stale hosts are looked for, in ms (default 30,000). */
  stalePollMs: number;
  /** Items listed in one delivery at most (default 100); the others are counted in `count`. */
  maxItems: number;
  /**
   * How long a flush decides before it lets the event loop run, in ms (default 5): deciding a few
   * thousand events takes tens of ms, and the answers to agents wait for the loop meanwhile.
   */
  sliceMs: number;
  /** The clock, in ms since the epoch (default `Date.now`). */
  now: () => number;
  log: (level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>) => void;
}

/** What the alerter reads and where it sends alerts. */
export interface DriftAlertsDeps {
  /** ingest.db: the drift event log, the dead letters and the alerter's tables. */
  db: Database.Database;
  drift: DriftStore;
  engine: Pick<DriftEngine, 'stale'>;
  webhooks: Pick<WebhookDispatcher, 'dispatch'>;
  /** The server's public URL, for the links in alerts. */
  publicUrl: () => string;
}

/** One item of an alert's `data.items` (docs/webhooks.md#drift-alerts); fields depend on the type. */
export type DriftAlertItem = Record<string, unknown>;

/** Events and dead letters read in one flush at most; more start the next group at once. */
const MAX_READ = 10_000;
/** Events read at once by a flush (between two, it may let the event loop run). */
const PAGE = 250;
/** Longest dead-letter reason an alert carries. */
const MAX_REASON_LENGTH = 300;
const MINUTE_MS = 60_000;
/** A path segment that names a secret: its values are never shown. */
const SECRET_SEGMENT = /secret|passw|token|credential|private[-_]?key|api[-_]?key/i;
/** Shown instead of a value that could hold a secret or a file's content. */
export const REDACTED = '(redacted)';

interface StateRow {
  cursor: number;
  deadLetterCursor: number;
  suppressed: Partial<Record<DriftAlertType, number>>;
}

interface KeyRow {
  alerted_ms: number;
  held: string | null;
  release_ms: number | null;
}

/**
 * The dedup keys as a flush decides them: read from the table, changed in memory, and written in
 * the flush's one short transaction (`null`: the row goes). Deciding reads without the write lock,
 * so the ingest thread's commits, and so the answers to agents, do not wait for it.
 */
class KeyEdits {
  readonly #read: (asset: string, field: string) => KeyRow | undefined;
  readonly #changed = new Map<string, { asset: string; field: string; row: KeyRow | null }>();

  constructor(read: (asset: string, field: string) => KeyRow | undefined) {
    this.#read = read;
  }

  get(asset: string, field: string): KeyRow | undefined {
    const change = this.#changed.get(`${asset}\0${field}`);
    return change === undefined ? this.#read(asset, field) : (change.row ?? undefined);
  }

  set(asset: string, field: string, row: KeyRow | null): void {
    this.#changed.set(`${asset}\0${field}`, { asset, field, row });
  }

  changes(): Iterable<{ asset: string; field: string; row: KeyRow | null }> {
    return this.#changed.values();
  }
}

interface DeadLetterRow {
  id: number;
  report_id: string;
  host: string;
  seq: number;
  reason: string;
  attempts: number;
  failed_at: string;
}

/** Applies the defaults of {@link DriftAlertOptions} and checks the numbers once. */
export function compileDriftAlertOptions(options: Partial<DriftAlertOptions> = {}): DriftAlertOptions {
  const compiled: DriftAlertOptions = {
    pollMs: 1_000,
    groupWindowMs: 5_000,
    flapWindowMs: 600_000,
    maxPerMinute: 30,
    stalePollMs: 30_000,
    maxItems: 100,
    sliceMs: 5,
    now: Date.now,
    log: () => undefined,
    ...options,
  };
  for (const key of ['pollMs', 'groupWindowMs', 'flapWindowMs', 'stalePollMs', 'sliceMs'] as const) {
    if (!Number.isFinite(compiled[key]) || compiled[key] < 0) throw new InputError('E_BAD_PARAM', `drift alert option ${key} must be a number of milliseconds ≥ 0, not ${compiled[key]}`, { option: key });
  }
  for (const key of ['maxPerMinute', 'maxItems'] as const) {
    if (!Number.isInteger(compiled[key]) || compiled[key] < 1) throw new InputError('E_BAD_PARAM', `drift alert option ${key} must be a positive integer, not ${compiled[key]}`, { option: key });
  }
  return compiled;
}

/**
 * True when the value of the declared field `pointer` must not be shown: a segment looks like a
 * secret's name (`secret`, `password`, `token`, `apiKey`…), or the field is a file's content
 * (`/spec/files/<path>/content`).
 */
export function isRedactedField(pointer: string): boolean {
  const segments = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (segments.some((s) => SECRET_SEGMENT.test(s))) return true;
  const files = segments.indexOf('files');
  return files >= 0 && segments[files + 2] === 'content';
}

/** `value` with every member named like a secret, or `content`, replaced by {@link REDACTED}. */
export function redactValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactValue);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, key === 'content' || SECRET_SEGMENT.test(key) ? REDACTED : redactValue(v)]));
}

/**
 * Drift alerts (issue 6, point 5; docs/drift.md#alerts): reads the drift event log after its
 * cursor and the ingest dead letters after theirs, and dispatches `drift.opened`,
 * `drift.resolved`, `host.stale` and `ingest.dead_letter` to the webhooks.
 *
 * - Dedup per asset and field: a resolution within `flapWindowMs` of the opening alert is held
 *   until that window ends; a reopening meanwhile cancels it, so a flapping field makes one alert.
 *   `drift.changed` is not alerted.
 * - Grouping: what arrives within `groupWindowMs` of the first new event becomes one delivery per
 *   type, listing the items (`data.items`, `data.count`).
 * - Rate limit: at most `maxPerMinute` deliveries a minute; the items of the ones beyond are
 *   counted and that count (`data.suppressed`) rides on the next delivery of their type.
 * - Stale hosts: every `stalePollMs` the engine's stale hosts get a `host.stale` event in the log,
 *   once per episode (until the host reports again).
 *
 * A flush decides the alerts (reading only), then writes them to an outbox in the ingest.db
 * transaction that advances the cursors; each outbox row is then dispatched (durably, in the
 * workflow database) and deleted. A crash between the two dispatches the row again with the same
 * `dedupKey`, which the dispatcher (and a receiver) recognises: nothing is lost, and nothing is
 * sent twice to a webhook that has the first delivery. Time-based state that is not in the database (the rate
 * limit's last minute, a group being gathered) starts afresh after a restart.
 */
export class DriftAlerts {
  readonly #db: Database.Database;
  readonly #deps: DriftAlertsDeps;
  readonly #o: DriftAlertOptions;
  readonly #instance: string;
  /** When each delivery of the last minute was decided (ms). */
  #sent: number[] = [];
  /** When the group being gathered started; undefined when there is none. */
  #groupStartMs: number | undefined;
  #nextStaleMs = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Counts the starts and stops: a pass of an earlier start that is still deciding gives up. */
  #generation = 0;
  #running = false;
  readonly #sql;

  /** Creates the tables if needed. Throws InputError `E_BAD_PARAM` for invalid options. */
  constructor(deps: DriftAlertsDeps, options: Partial<DriftAlertOptions> = {}) {
    this.#deps = deps;
    this.#db = deps.db;
    this.#o = compileDriftAlertOptions(options);
    this.#db.exec(SCHEMA);
    const db = this.#db;
    this.#sql = {
      state: db.prepare<[string], { value: string }>('SELECT value FROM drift_alert_state WHERE name = ?'),
      setState: db.prepare<[string, string]>('INSERT INTO drift_alert_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      key: db.prepare<[string, string], KeyRow>('SELECT alerted_ms, held, release_ms FROM drift_alert_keys WHERE asset = ? AND field = ?'),
      setKey: db.prepare<[string, string, number, string | null, number | null]>(
        'INSERT INTO drift_alert_keys (asset, field, alerted_ms, held, release_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (asset, field) DO UPDATE SET alerted_ms = excluded.alerted_ms, held = excluded.held, release_ms = excluded.release_ms',
      ),
      forget: db.prepare<[string, string]>('DELETE FROM drift_alert_keys WHERE asset = ? AND field = ?'),
      due: db.prepare<[number], { asset: string; field: string }>('SELECT asset, field FROM drift_alert_keys WHERE release_ms <= ? ORDER BY release_ms'),
      anyDue: db.prepare<[number], { found: number }>('SELECT 1 AS found FROM drift_alert_keys WHERE release_ms <= ? LIMIT 1'),
      firstSeen: db.prepare<[number], { first_seen: string }>('SELECT first_seen FROM drift_items WHERE id = ?'),
      deadLetters: db.prepare<[number, number], DeadLetterRow>('SELECT id, report_id, host, seq, reason, attempts, failed_at FROM ingest_dead_letters WHERE id > ? ORDER BY id LIMIT ?'),
      staleOf: db.prepare<[string], { report_id: string }>('SELECT report_id FROM drift_alert_stale WHERE asset = ?'),
      setStale: db.prepare<[string, string]>('INSERT INTO drift_alert_stale (asset, report_id) VALUES (?, ?) ON CONFLICT (asset) DO UPDATE SET report_id = excluded.report_id'),
      enqueue: db.prepare<[string, string, string]>('INSERT INTO drift_alert_outbox (type, at, data) VALUES (?, ?, ?)'),
      outbox: db.prepare<[], { id: number; type: string; at: string; data: string }>('SELECT * FROM drift_alert_outbox ORDER BY id LIMIT 100'),
      sent: db.prepare<[number]>('DELETE FROM drift_alert_outbox WHERE id = ?'),
    };
    let instance = this.#sql.state.get('instance')?.value;
    if (instance === undefined) {
      // First start: alerts are about what happens from now on, not the history already logged.
      instance = randomBytes(6).toString('hex');
      const max = (table: string): string => String((db.prepare(`SELECT COALESCE(MAX(id), 0) AS id FROM ${table}`).get() as { id: number }).id);
      db.transaction(() => {
        this.#sql.setState.run('cursor', max('drift_events'));
        this.#sql.setState.run('deadLetterCursor', max('ingest_dead_letters'));
        this.#sql.setState.run('instance', instance!);
      }).immediate();
    }
    this.#instance = instance;
  }

  /** Starts polling; alerts left in the outbox by an earlier run are dispatched first. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const generation = ++this.#generation;
    const alive = (): boolean => this.#generation === generation;
    const loop = async (): Promise<void> => {
      try {
        await this.#tick(alive);
      } catch (error) {
        this.#o.log('error', `drift alerts: a pass failed and will be retried: ${(error as Error).message}`);
      }
      if (!alive()) return;
      this.#timer = setTimeout(() => void loop(), this.#o.pollMs);
      this.#timer.unref();
    };
    this.#timer = setTimeout(() => void loop(), 0);
    this.#timer.unref();
  }

  /**
   * Stops polling; a flush still deciding writes nothing. A group being gathered is not lost: its
   * events are read again after the next start.
   */
  stop(): void {
    this.#running = false;
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Gauges for `/metrics`. */
  metrics(): Array<{ name: string; help: string; value: number }> {
    const suppressed = Object.values(this.#readState().suppressed).reduce((sum, n) => sum + n, 0);
    return [{ name: 'estate_drift_alerts_suppressed', help: 'Alert items held back by the rate limit, to be counted in the next alert of their type.', value: suppressed }];
  }

  /** One pass; `alive` turns false when the alerter was stopped meanwhile (a flush lets the loop run). */
  async #tick(alive: () => boolean): Promise<void> {
    const now = this.#o.now();
    if (now >= this.#nextStaleMs) {
      this.#nextStaleMs = now + this.#o.stalePollMs;
      this.#markStale(now);
    }
    this.#dispatchOutbox();
    if (this.#groupStartMs === undefined && this.#hasWork(now)) this.#groupStartMs = now;
    if (this.#groupStartMs !== undefined && now - this.#groupStartMs >= this.#o.groupWindowMs) {
      const more = await this.#flush(now, alive);
      if (!alive()) return;
      this.#groupStartMs = more ? now : undefined;
      this.#dispatchOutbox();
    }
  }

  /** Appends `host.stale` for each stale host not alerted since its last report. */
  #markStale(now: number): void {
    const stale = this.#deps.engine.stale(now);
    if (stale.length === 0) return;
    const at = new Date(now).toISOString();
    this.#db.transaction(() => {
      for (const host of stale) {
        if (this.#sql.staleOf.get(host.asset)?.report_id === host.reportId) continue;
        this.#sql.setStale.run(host.asset, host.reportId);
        this.#deps.drift.appendEvent({ at, type: 'host.stale', asset: host.asset, host: host.host, reportId: host.reportId, details: { lastReportAt: host.lastReportAt } });
      }
    }).immediate();
  }

  /** True when a flush would have something to alert (or a held-back count it may send now). */
  #hasWork(now: number): boolean {
    const state = this.#readState();
    if (this.#deps.drift.events({ afterId: state.cursor, limit: 1, types: DRIFT_ALERT_TYPES }).length > 0) return true;
    if (this.#sql.deadLetters.all(state.deadLetterCursor, 1).length > 0) return true;
    if (this.#sql.anyDue.get(now)) return true;
    return Object.keys(state.suppressed).length > 0 && this.#recentDeliveries(now) < this.#o.maxPerMinute;
  }

  /**
   * Decides the alerts of everything after the cursors, then writes them in one transaction: the
   * outbox rows, the dedup keys, the held-back counts and the cursors. Deciding only reads (it
   * takes tens of ms for a few thousand events; under the write lock, that long, it held up the
   * ingest thread's commits and so the agents' answers): this alerter is the only writer of its
   * tables, and the event log and the dead letters only grow, so what it read still holds when it
   * writes. It reads the events a page at a time and lets the event loop run every `sliceMs`, and
   * gives up, writing nothing, when `alive()` turned false meanwhile. Returns true when it stopped
   * at {@link MAX_READ} with more to read.
   */
  async #flush(now: number, alive: () => boolean): Promise<boolean> {
    const items = new Map<DriftAlertType, DriftAlertItem[]>();
    const add = (type: DriftAlertType, item: DriftAlertItem): void => {
      const list = items.get(type);
      if (list) list.push(item);
      else items.set(type, [item]);
    };
    const keys = new KeyEdits((asset, field) => this.#sql.key.get(asset, field));
    const state = this.#readState();
    let read = 0;
    let sliceStart = performance.now();
    while (read < MAX_READ) {
      const page = this.#deps.drift.events({ afterId: state.cursor, limit: PAGE });
      for (const event of page) this.#consider(event, now, keys, add);
      read += page.length;
      if (page.length > 0) state.cursor = page[page.length - 1]!.id;
      if (page.length < PAGE) break;
      if (performance.now() - sliceStart >= this.#o.sliceMs) {
        await new Promise((resolve) => setImmediate(resolve));
        if (!alive()) return false;
        sliceStart = performance.now();
      }
    }
    for (const due of this.#sql.due.all(now)) {
      // As this flush left it: an event above may have taken the held resolution back.
      const key = keys.get(due.asset, due.field);
      if (key?.held == null || key.release_ms == null || key.release_ms > now) continue;
      keys.set(due.asset, due.field, null);
      add('drift.resolved', JSON.parse(key.held) as DriftAlertItem);
    }
    const deadLetters = this.#sql.deadLetters.all(state.deadLetterCursor, MAX_READ);
    for (const letter of deadLetters) add('ingest.dead_letter', this.#deadLetterItem(letter));
    if (deadLetters.length > 0) state.deadLetterCursor = deadLetters[deadLetters.length - 1]!.id;

    const outbox: Array<{ type: DriftAlertType; data: string }> = [];
    for (const type of DRIFT_ALERT_TYPES) {
      const list = items.get(type) ?? [];
      const suppressed = state.suppressed[type] ?? 0;
      if (list.length === 0 && suppressed === 0) continue;
      if (this.#recentDeliveries(now) + outbox.length >= this.#o.maxPerMinute) {
        state.suppressed[type] = suppressed + list.length;
        continue;
      }
      const shown = list.slice(0, this.#o.maxItems);
      const data = { count: list.length, items: shown, ...(list.length > shown.length ? { omitted: list.length - shown.length } : {}), ...(suppressed > 0 ? { suppressed } : {}) };
      outbox.push({ type, data: JSON.stringify(data) });
      delete state.suppressed[type];
    }

    const at = new Date(now).toISOString();
    this.#db.transaction(() => {
      for (const { asset, field, row } of keys.changes()) {
        if (row === null) this.#sql.forget.run(asset, field);
        else this.#sql.setKey.run(asset, field, row.alerted_ms, row.held, row.release_ms);
      }
      for (const { type, data } of outbox) this.#sql.enqueue.run(type, at, data);
      this.#writeState(state);
    }).immediate();
    for (let i = 0; i < outbox.length; i++) this.#sent.push(now);
    return read >= MAX_READ || deadLetters.length === MAX_READ;
  }

  /** What an event of the log comes to: an item of an alert, a held resolution, or nothing. */
  #consider(event: DriftEvent, now: number, keys: KeyEdits, add: (type: DriftAlertType, item: DriftAlertItem) => void): void {
    const { asset, field } = event;
    if (event.type === 'host.stale') {
      add('host.stale', {
        eventId: event.id,
        at: event.at,
        asset,
        host: event.host,
        lastReportAt: event.details['lastReportAt'],
        reportId: event.reportId,
        url: `${this.#deps.publicUrl()}/api/v1/drift/stale`,
      });
      return;
    }
    if ((event.type !== 'drift.opened' && event.type !== 'drift.resolved') || asset === undefined || field === undefined) return;
    const key = keys.get(asset, field);
    if (event.type === 'drift.opened') {
      if (key?.held) {
        // Reopened before its resolution was alerted: the receiver still has it open.
        keys.set(asset, field, { alerted_ms: key.alerted_ms, held: null, release_ms: null });
        return;
      }
      keys.set(asset, field, { alerted_ms: now, held: null, release_ms: null });
      add('drift.opened', this.#driftItem(event));
      return;
    }
    const item = this.#driftItem(event);
    if (key && now - key.alerted_ms < this.#o.flapWindowMs) {
      keys.set(asset, field, { alerted_ms: key.alerted_ms, held: JSON.stringify(item), release_ms: key.alerted_ms + this.#o.flapWindowMs });
      return;
    }
    if (key) keys.set(asset, field, null);
    add('drift.resolved', item);
  }

  /** The evidence of a drift event, with values that could hold secrets or contents redacted. */
  #driftItem(event: DriftEvent): DriftAlertItem {
    const redacted = isRedactedField(event.field!);
    const { declared, observed, reason, rule } = event.details;
    const firstSeen = event.itemId === undefined ? undefined : this.#sql.firstSeen.get(event.itemId)?.first_seen;
    return {
      eventId: event.id,
      at: event.at,
      asset: event.asset,
      ...(event.host !== undefined ? { host: event.host } : {}),
      field: event.field,
      declared: redacted ? REDACTED : redactValue(declared),
      observed: redacted ? REDACTED : redactValue(observed),
      ...(event.commit !== undefined ? { commit: event.commit } : {}),
      ...(event.reportId !== undefined ? { reportId: event.reportId } : {}),
      ...(firstSeen !== undefined ? { firstSeen } : {}),
      ...(reason !== undefined ? { reason } : {}),
      ...(rule !== undefined ? { rule } : {}),
      url: `${this.#deps.publicUrl()}/api/v1/drift?asset=${encodeURIComponent(event.asset!)}&state=all`,
    };
  }

  #deadLetterItem(letter: DeadLetterRow): DriftAlertItem {
    return {
      deadLetterId: letter.id,
      host: letter.host,
      reportId: letter.report_id,
      seq: letter.seq,
      attempts: letter.attempts,
      reason: letter.reason.slice(0, MAX_REASON_LENGTH),
      failedAt: letter.failed_at,
      url: `${this.#deps.publicUrl()}/api/v1/reports/dead-letters`,
    };
  }

  /** Hands each outbox row to the dispatcher, then deletes it; a row whose dispatch fails stays for the next pass. */
  #dispatchOutbox(): void {
    for (let rows = this.#sql.outbox.all(); rows.length > 0; rows = this.#sql.outbox.all()) {
      for (const row of rows) {
        this.#deps.webhooks.dispatch({ type: row.type, at: new Date(row.at), dedupKey: `drift-alert:${this.#instance}:${row.id}`, data: JSON.parse(row.data) as Record<string, unknown> });
        this.#sql.sent.run(row.id);
      }
    }
  }

  #recentDeliveries(now: number): number {
    this.#sent = this.#sent.filter((at) => now - at < MINUTE_MS);
    return this.#sent.length;
  }

  #readState(): StateRow {
    return {
      cursor: Number(this.#sql.state.get('cursor')?.value ?? 0),
      deadLetterCursor: Number(this.#sql.state.get('deadLetterCursor')?.value ?? 0),
      suppressed: JSON.parse(this.#sql.state.get('suppressed')?.value ?? '{}') as StateRow['suppressed'],
    };
  }

  #writeState(state: StateRow): void {
    this.#sql.setState.run('cursor', String(state.cursor));
    this.#sql.setState.run('deadLetterCursor', String(state.deadLetterCursor));
    this.#sql.setState.run('suppressed', JSON.stringify(state.suppressed));
  }
}
