import type Database from 'better-sqlite3';
import type { DriftField, HostFacts } from '@estate/core';

/**
 * Drift lives in ingest.db, next to the observations: the consumer's report processor writes it
 * in the transaction that applies the report, so a report's drift is recorded exactly once.
 * One row per episode: a field that converges and later differs again gets a new row; at most one
 * row per asset and field is open.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS drift_items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  asset TEXT NOT NULL,
  field TEXT NOT NULL,
  declared TEXT NOT NULL,
  observed TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  report_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
  resolved_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS drift_items_open ON drift_items(asset, field) WHERE state = 'open';
CREATE INDEX IF NOT EXISTS drift_items_asset ON drift_items(asset, id);
CREATE TABLE IF NOT EXISTS drift_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  type TEXT NOT NULL,
  asset TEXT,
  host TEXT,
  field TEXT,
  item_id INTEGER,
  report_id TEXT,
  commit_sha TEXT,
  details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS drift_events_asset ON drift_events(asset, id);
CREATE INDEX IF NOT EXISTS drift_events_host ON drift_events(host, id);
CREATE TABLE IF NOT EXISTS drift_reverts (
  asset TEXT NOT NULL,
  field TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  PRIMARY KEY (asset, field)
);
CREATE TABLE IF NOT EXISTS drift_ignores (
  item_id INTEGER PRIMARY KEY,
  asset TEXT NOT NULL,
  field TEXT NOT NULL,
  observed TEXT NOT NULL,
  reason TEXT NOT NULL,
  ignored_by TEXT NOT NULL,
  ignored_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS drift_ignores_asset ON drift_ignores(asset);
CREATE TABLE IF NOT EXISTS drift_unmanaged (
  host TEXT PRIMARY KEY,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  report_id TEXT NOT NULL
);
`;

/** One drift item as the API shows it. */
export interface DriftItem {
  id: number;
  /** `host/web-01` */
  asset: string;
  /** JSON pointer of the declared field. */
  field: string;
  declared: unknown;
  observed: unknown;
  firstSeen: string;
  lastSeen: string;
  /** The report that last showed it (or converged it). */
  reportId: string;
  state: 'open' | 'resolved';
  resolvedAt?: string;
}

/**
 * What happened to drift, in order (`id`): the log that alerts, shadow change requests and the
 * asset timeline read. Written in the transaction that made it happen, so an applied report's
 * events exist exactly once. Types:
 * - `drift.opened`, `drift.changed` (the observed value of an open item changed), `drift.resolved`
 *   (details.reason: `converged`, `ignored` or another cause) — written by {@link DriftStore.record};
 * - other types (`host.enforced`, `host.stale`, …) by whoever appends them with {@link DriftStore.appendEvent}.
 */
export interface DriftEvent {
  id: number;
  at: string;
  type: string;
  /** `host/web-01`, when the event is about a declared asset. */
  asset?: string;
  /** The reporting host's name, when known. */
  host?: string;
  /** JSON pointer of the declared field, for item events. */
  field?: string;
  /** The drift item, for item events. */
  itemId?: number;
  reportId?: string;
  /** The commit of main the declared side was read at. */
  commit?: string;
  /** Type-specific: `declared`, `observed`, `reason`, `rule`… (never file contents). */
  details: Record<string, unknown>;
}

/** Where an item event comes from: the report and the declared commit it was compared at. */
export interface RecordContext {
  reportId: string;
  at: string;
  /** The commit of main the declared side was read at. */
  commit?: string;
  /** The reporting host's name. */
  host?: string;
}

/** A pending request to restore a declared field on its host (an enforcing agent acts on it). */
export interface RevertRequest {
  asset: string;
  field: string;
  requestedBy: string;
  requestedAt: string;
}

/** A host that reports but has no Host asset. */
export interface UnmanagedHost {
  host: string;
  firstSeen: string;
  lastSeen: string;
  reportId: string;
}

/**
 * A drift item as lists show it: an open item someone ignored (`POST /api/v1/drift/ignore`) is
 * `ignored` while its observed value stays the same.
 */
export interface ListedDriftItem extends Omit<DriftItem, 'state'> {
  state: 'open' | 'ignored' | 'resolved';
  /** Who ignored it, when and why (state `ignored`). */
  ignored?: { reason: string; by: string; at: string };
}

/** The states a list of items filters by: `all` is every one. */
export type DriftStateFilter = ListedDriftItem['state'] | 'all';

interface ItemRow {
  id: number;
  asset: string;
  field: string;
  declared: string;
  observed: string;
  first_seen: string;
  last_seen: string;
  report_id: string;
  state: 'open' | 'resolved';
  resolved_at: string | null;
}

interface EventRow {
  id: number;
  at: string;
  type: string;
  asset: string | null;
  host: string | null;
  field: string | null;
  item_id: number | null;
  report_id: string | null;
  commit_sha: string | null;
  details: string;
}

/** The drift tables on an ingest.db connection. Every method runs in the caller's transaction, if any. */
export class DriftStore {
  readonly #db: Database.Database;
  readonly #update: Database.Statement;
  readonly #insert: Database.Statement;
  readonly #resolve: Database.Statement;
  readonly #findOpenFull: Database.Statement;
  readonly #openOfAsset: Database.Statement;
  readonly #appendEvent: Database.Statement;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(SCHEMA);
    this.#update = db.prepare(`UPDATE drift_items SET declared = ?, observed = ?, last_seen = ?, report_id = ? WHERE id = ?`);
    this.#insert = db.prepare(`INSERT INTO drift_items (asset, field, declared, observed, first_seen, last_seen, report_id, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'open')`);
    this.#resolve = db.prepare(`UPDATE drift_items SET state = 'resolved', resolved_at = ?, last_seen = ?, report_id = ? WHERE id = ?`);
    this.#findOpenFull = db.prepare(`SELECT id, declared, observed FROM drift_items WHERE asset = ? AND field = ? AND state = 'open'`);
    this.#openOfAsset = db.prepare(`SELECT id, field, declared, observed FROM drift_items WHERE asset = ? AND state = 'open'`);
    this.#appendEvent = db.prepare(
      `INSERT INTO drift_events (at, type, asset, host, field, item_id, report_id, commit_sha, details) VALUES (@at, @type, @asset, @host, @field, @itemId, @reportId, @commit, @details)`,
    );
  }

  /**
   * Runs `work` in a transaction (a savepoint inside one already open). It begins immediate: the
   * ingest thread writes this database from its own connection, and a transaction that read
   * first could not take the write lock later (SQLite refuses to upgrade a stale read snapshot).
   */
  transaction(work: () => void): void {
    this.#db.transaction(work).immediate();
  }

  /**
   * Records the comparison of one asset from a report: a differing field opens an item (or updates
   * the open one's observed value and lastSeen); a converged field resolves the open item. `ignored`
   * fields resolve their open item and open none; `ignored` returns the matching rule's reason.
   * Each opening, change of the observed value and resolution appends a {@link DriftEvent}.
   */
  record(asset: string, fields: readonly DriftField[], ignored: (field: string) => string | undefined, context: RecordContext): void {
    const { reportId, at } = context;
    // One read of the asset's open items (most reports converge and have none), kept up to date below.
    const openItems = new Map<string, { id: number; declared: string; observed: string }>();
    for (const row of this.#openOfAsset.all(asset) as Array<{ id: number; field: string; declared: string; observed: string }>) openItems.set(row.field, row);
    for (const f of fields) {
      const open = openItems.get(f.field);
      const rule = f.differs ? ignored(f.field) : undefined;
      if (f.differs && rule === undefined) {
        const declared = JSON.stringify(f.declared);
        const observed = JSON.stringify(f.observed);
        if (open) {
          this.#update.run(declared, observed, at, reportId, open.id);
          if (open.observed !== observed || open.declared !== declared) this.#event('drift.changed', asset, f, open.id, context);
          openItems.set(f.field, { id: open.id, declared, observed });
        } else {
          const id = Number(this.#insert.run(asset, f.field, declared, observed, at, at, reportId).lastInsertRowid);
          this.#event('drift.opened', asset, f, id, context);
          openItems.set(f.field, { id, declared, observed });
        }
      } else if (open) {
        openItems.delete(f.field);
        this.#resolve.run(at, at, reportId, open.id);
        // Converged (by hand, or by a restore): a pending revert of the field has nothing left to do.
        this.clearRevert(asset, f.field);
        this.#event('drift.resolved', asset, f, open.id, context, rule === undefined ? { reason: 'converged' } : { reason: 'ignored', rule });
      }
    }
  }

  /**
   * Resolves the open item of `asset` and `field` for a cause other than a report (`reason`:
   * `undeclared` when the field or asset is no longer declared, …). Returns false when none is open.
   */
  resolve(asset: string, field: string, reason: string, context: RecordContext, details: Record<string, unknown> = {}): boolean {
    const open = this.#findOpenFull.get(asset, field) as { id: number; declared: string; observed: string } | undefined;
    if (!open) return false;
    this.#resolve.run(context.at, context.at, context.reportId, open.id);
    const f = { field, declared: JSON.parse(open.declared) as unknown, observed: JSON.parse(open.observed) as unknown };
    this.#event('drift.resolved', asset, f, open.id, context, { reason, ...details });
    return true;
  }

  /** Appends an event of another type (`host.enforced`, `host.stale`, …); returns its id. */
  appendEvent(event: Omit<DriftEvent, 'id'>): number {
    return Number(
      this.#appendEvent.run({
        at: event.at,
        type: event.type,
        asset: event.asset ?? null,
        host: event.host ?? null,
        field: event.field ?? null,
        itemId: event.itemId ?? null,
        reportId: event.reportId ?? null,
        commit: event.commit ?? null,
        details: JSON.stringify(event.details),
      }).lastInsertRowid,
    );
  }

  /** Events after `afterId` in order, of one asset or host when given. */
  events(query: { afterId: number; limit: number; asset?: string; host?: string; types?: readonly string[] }): DriftEvent[] {
    const where = ['id > ?'];
    const params: unknown[] = [query.afterId];
    if (query.asset !== undefined) {
      where.push('asset = ?');
      params.push(query.asset);
    }
    if (query.host !== undefined) {
      where.push('host = ?');
      params.push(query.host);
    }
    if (query.types !== undefined) {
      where.push('type IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(query.types));
    }
    const rows = this.#prepare(`SELECT * FROM drift_events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`).all(...params, query.limit) as EventRow[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      type: r.type,
      ...(r.asset === null ? {} : { asset: r.asset }),
      ...(r.host === null ? {} : { host: r.host }),
      ...(r.field === null ? {} : { field: r.field }),
      ...(r.item_id === null ? {} : { itemId: r.item_id }),
      ...(r.report_id === null ? {} : { reportId: r.report_id }),
      ...(r.commit_sha === null ? {} : { commit: r.commit_sha }),
      details: JSON.parse(r.details) as Record<string, unknown>,
    }));
  }

  /** Asks for `field` of `asset` to be restored on its host; a second request replaces the first. */
  requestRevert(request: RevertRequest): void {
    this.#prepare('INSERT INTO drift_reverts (asset, field, requested_by, requested_at) VALUES (?, ?, ?, ?) ON CONFLICT (asset, field) DO UPDATE SET requested_by = excluded.requested_by, requested_at = excluded.requested_at')
      .run(request.asset, request.field, request.requestedBy, request.requestedAt);
  }

  /** The pending revert requests of `asset`. */
  reverts(asset: string): RevertRequest[] {
    const rows = this.#prepare('SELECT * FROM drift_reverts WHERE asset = ? ORDER BY field').all(asset) as Array<{ asset: string; field: string; requested_by: string; requested_at: string }>;
    return rows.map((r) => ({ asset: r.asset, field: r.field, requestedBy: r.requested_by, requestedAt: r.requested_at }));
  }

  /** Forgets a revert request (done, or no longer needed); returns whether there was one. */
  clearRevert(asset: string, field: string): boolean {
    return this.#prepare('DELETE FROM drift_reverts WHERE asset = ? AND field = ?').run(asset, field).changes > 0;
  }

  /** The latest facts of `host`, with the report that sent them. */
  observation(host: string): { reportId: string; facts: HostFacts } | undefined {
    const row = this.#prepare('SELECT report_id AS reportId, facts FROM host_observations WHERE host = ?').get(host) as { reportId: string; facts: string } | undefined;
    return row && { reportId: row.reportId, facts: JSON.parse(row.facts) as HostFacts };
  }

  /** The assets that have open items (ignored ones included). */
  openAssets(): string[] {
    return (this.#prepare(`SELECT DISTINCT asset FROM drift_items WHERE state = 'open' ORDER BY asset`).all() as Array<{ asset: string }>).map((r) => r.asset);
  }

  /** The open and ignored items of `asset`, in the order they opened. */
  openItems(asset: string): ListedDriftItem[] {
    return this.list({ assets: [asset], state: 'all', afterId: 0, limit: Number.MAX_SAFE_INTEGER }).filter((item) => item.state !== 'resolved');
  }

  /**
   * Items by id, after `afterId`, of the `assets` (when given) in a state: `open` leaves out the
   * ignored ones, `ignored` lists only them, `all` every item.
   */
  list(query: { assets?: readonly string[]; state: DriftStateFilter; afterId: number; limit: number }): ListedDriftItem[] {
    const where = ['i.id > ?'];
    const params: unknown[] = [query.afterId];
    if (query.assets !== undefined) {
      if (query.assets.length === 0) return [];
      where.push(`i.asset IN (SELECT value FROM json_each(?))`);
      params.push(JSON.stringify(query.assets));
    }
    if (query.state === 'open') where.push(`i.state = 'open' AND g.item_id IS NULL`);
    else if (query.state === 'ignored') where.push(`g.item_id IS NOT NULL`);
    else if (query.state === 'resolved') where.push(`i.state = 'resolved'`);
    const rows = this.#prepare(
        `SELECT i.*, g.reason AS ignore_reason, g.ignored_by, g.ignored_at FROM drift_items i LEFT JOIN drift_ignores g ON g.item_id = i.id AND i.state = 'open'
         WHERE ${where.join(' AND ')} ORDER BY i.id LIMIT ?`,
      )
      .all(...params, query.limit) as Array<ItemRow & { ignore_reason: string | null; ignored_by: string | null; ignored_at: string | null }>;
    return rows.map((r) => ({
      id: r.id,
      asset: r.asset,
      field: r.field,
      declared: JSON.parse(r.declared) as unknown,
      observed: JSON.parse(r.observed) as unknown,
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
      reportId: r.report_id,
      state: r.ignore_reason === null ? r.state : 'ignored',
      ...(r.resolved_at === null ? {} : { resolvedAt: r.resolved_at }),
      ...(r.ignore_reason === null ? {} : { ignored: { reason: r.ignore_reason, by: r.ignored_by!, at: r.ignored_at! } }),
    }));
  }

  /**
   * Ignores the open item of `asset` and `field` while its observed value stays the same, and
   * appends a `drift.ignored` event; ignoring it again replaces the reason. Returns the item, or
   * undefined when none is open.
   */
  ignore(asset: string, field: string, ignore: { reason: string; by: string; at: string }): ListedDriftItem | undefined {
    let item: ListedDriftItem | undefined;
    this.transaction(() => {
      const open = this.#findOpenFull.get(asset, field) as { id: number; declared: string; observed: string } | undefined;
      if (!open) return;
      this.#prepare(
          `INSERT INTO drift_ignores (item_id, asset, field, observed, reason, ignored_by, ignored_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (item_id) DO UPDATE SET observed = excluded.observed, reason = excluded.reason, ignored_by = excluded.ignored_by, ignored_at = excluded.ignored_at`,
        )
        .run(open.id, asset, field, open.observed, ignore.reason, ignore.by, ignore.at);
      item = this.list({ assets: [asset], state: 'ignored', afterId: open.id - 1, limit: 1 })[0];
      this.appendEvent({
        at: ignore.at,
        type: 'drift.ignored',
        asset,
        field,
        itemId: open.id,
        reportId: item!.reportId,
        details: { declared: JSON.parse(open.declared) as unknown, observed: JSON.parse(open.observed) as unknown, reason: ignore.reason, by: ignore.by },
      });
    });
    return item;
  }

  /** The observed values (as JSON) that the ignored open items of `asset` were ignored at, by field. */
  ignoredObservations(asset: string): Map<string, string> {
    // Called for every applied report: the join only when something is ignored (another connection may have ignored it).
    if (this.#prepare('SELECT 1 FROM drift_ignores LIMIT 1').get() === undefined) return new Map();
    const rows = this.#prepare(`SELECT g.field, g.observed FROM drift_ignores g JOIN drift_items i ON i.id = g.item_id WHERE g.asset = ? AND i.state = 'open'`)
      .all(asset) as Array<{ field: string; observed: string }>;
    return new Map(rows.map((r) => [r.field, r.observed]));
  }

  /** Ends the ignoring of the open item of `asset` and `field` (its observed value changed): it is open again. */
  unignore(asset: string, field: string): void {
    this.#prepare(`DELETE FROM drift_ignores WHERE item_id IN (SELECT id FROM drift_items WHERE asset = ? AND field = ? AND state = 'open')`).run(asset, field);
  }

  /** Open items that are ignored. */
  ignoredCount(): number {
    return (this.#prepare(`SELECT count(*) AS n FROM drift_ignores g JOIN drift_items i ON i.id = g.item_id WHERE i.state = 'open'`).get() as { n: number }).n;
  }

  /** A prepared statement, made once per SQL text (several run for every applied report). */
  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #event(type: string, asset: string, f: Pick<DriftField, 'field' | 'declared' | 'observed'>, itemId: number, context: RecordContext, extra: Record<string, unknown> = {}): void {
    this.appendEvent({
      at: context.at,
      type,
      asset,
      ...(context.host === undefined ? {} : { host: context.host }),
      field: f.field,
      itemId,
      reportId: context.reportId,
      ...(context.commit === undefined ? {} : { commit: context.commit }),
      details: { declared: f.declared, observed: f.observed, ...extra },
    });
  }

  /** Marks a host as reporting without a Host asset. */
  markUnmanaged(host: string, reportId: string, at: string): void {
    this.#prepare(
        `INSERT INTO drift_unmanaged (host, first_seen, last_seen, report_id) VALUES (?, ?, ?, ?)
         ON CONFLICT (host) DO UPDATE SET last_seen = excluded.last_seen, report_id = excluded.report_id`,
      )
      .run(host, at, at, reportId);
  }

  /** Forgets a host's unmanaged mark (it is declared now). */
  markManaged(host: string): void {
    this.#prepare('DELETE FROM drift_unmanaged WHERE host = ?').run(host);
  }

  /** Unmanaged hosts by name. */
  unmanaged(): UnmanagedHost[] {
    const rows = this.#prepare('SELECT * FROM drift_unmanaged ORDER BY host').all() as Array<{ host: string; first_seen: string; last_seen: string; report_id: string }>;
    return rows.map((r) => ({ host: r.host, firstSeen: r.first_seen, lastSeen: r.last_seen, reportId: r.report_id }));
  }

  /** Items by id, after `afterId`, of the `assets` (when given) and state (`all`: both). */
  items(query: { assets?: readonly string[]; state: 'open' | 'resolved' | 'all'; afterId: number; limit: number }): DriftItem[] {
    const where = ['id > ?'];
    const params: unknown[] = [query.afterId];
    if (query.assets !== undefined) {
      if (query.assets.length === 0) return [];
      where.push(`asset IN (SELECT value FROM json_each(?))`);
      params.push(JSON.stringify(query.assets));
    }
    if (query.state !== 'all') {
      where.push('state = ?');
      params.push(query.state);
    }
    const rows = this.#prepare(`SELECT * FROM drift_items WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`).all(...params, query.limit) as ItemRow[];
    return rows.map((r) => ({
      id: r.id,
      asset: r.asset,
      field: r.field,
      declared: JSON.parse(r.declared) as unknown,
      observed: JSON.parse(r.observed) as unknown,
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
      reportId: r.report_id,
      state: r.state,
      ...(r.resolved_at === null ? {} : { resolvedAt: r.resolved_at }),
    }));
  }

  /** Open items. */
  openCount(): number {
    return (this.#prepare(`SELECT count(*) AS n FROM drift_items WHERE state = 'open'`).get() as { n: number }).n;
  }

  /** Hosts whose latest report was applied before `cutoff` (ISO 8601), by name; facts are not read. */
  reportedBefore(cutoff: string): Array<{ host: string; reportId: string; observedAt: string }> {
    return this.#prepare('SELECT host, report_id AS reportId, observed_at AS observedAt FROM host_observations WHERE observed_at < ? ORDER BY host').all(cutoff) as Array<{
      host: string;
      reportId: string;
      observedAt: string;
    }>;
  }

  /** Latest observation time and facts of every host that reported. */
  observations(): Array<{ host: string; reportId: string; collectedAt: string; observedAt: string; facts: string }> {
    return this.#prepare('SELECT host, report_id AS reportId, collected_at AS collectedAt, observed_at AS observedAt, facts FROM host_observations ORDER BY host').all() as Array<{
      host: string;
      reportId: string;
      collectedAt: string;
      observedAt: string;
      facts: string;
    }>;
  }
}
