import type Database from 'better-sqlite3';
import type { DriftField } from '@estate/core';

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

/** A host that reports but has no Host asset. */
export interface UnmanagedHost {
  host: string;
  firstSeen: string;
  lastSeen: string;
  reportId: string;
}

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

/** The drift tables on an ingest.db connection. Every method runs in the caller's transaction, if any. */
export class DriftStore {
  readonly #db: Database.Database;
  readonly #findOpen: Database.Statement;
  readonly #update: Database.Statement;
  readonly #insert: Database.Statement;
  readonly #resolve: Database.Statement;

  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(SCHEMA);
    this.#findOpen = db.prepare(`SELECT id FROM drift_items WHERE asset = ? AND field = ? AND state = 'open'`);
    this.#update = db.prepare(`UPDATE drift_items SET declared = ?, observed = ?, last_seen = ?, report_id = ? WHERE id = ?`);
    this.#insert = db.prepare(`INSERT INTO drift_items (asset, field, declared, observed, first_seen, last_seen, report_id, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'open')`);
    this.#resolve = db.prepare(`UPDATE drift_items SET state = 'resolved', resolved_at = ?, last_seen = ?, report_id = ? WHERE id = ?`);
  }

  /** Runs `work` in a transaction (a savepoint inside one already open). */
  transaction(work: () => void): void {
    this.#db.transaction(work)();
  }

  /**
   * Records the comparison of one asset at `at` from report `reportId`: a differing field opens an
   * item (or updates the open one's observed value and lastSeen); a converged field resolves the
   * open item. `ignored` fields resolve their open item and open none.
   */
  record(asset: string, fields: readonly DriftField[], ignored: (field: string) => boolean, reportId: string, at: string): void {
    for (const f of fields) {
      const open = this.#findOpen.get(asset, f.field) as { id: number } | undefined;
      if (f.differs && !ignored(f.field)) {
        if (open) this.#update.run(JSON.stringify(f.declared), JSON.stringify(f.observed), at, reportId, open.id);
        else this.#insert.run(asset, f.field, JSON.stringify(f.declared), JSON.stringify(f.observed), at, at, reportId);
      } else if (open) {
        this.#resolve.run(at, at, reportId, open.id);
      }
    }
  }

  /** Marks a host as reporting without a Host asset. */
  markUnmanaged(host: string, reportId: string, at: string): void {
    this.#db
      .prepare(
        `INSERT INTO drift_unmanaged (host, first_seen, last_seen, report_id) VALUES (?, ?, ?, ?)
         ON CONFLICT (host) DO UPDATE SET last_seen = excluded.last_seen, report_id = excluded.report_id`,
      )
      .run(host, at, at, reportId);
  }

  /** Forgets a host's unmanaged mark (it is declared now). */
  markManaged(host: string): void {
    this.#db.prepare('DELETE FROM drift_unmanaged WHERE host = ?').run(host);
  }

  /** Unmanaged hosts by name. */
  unmanaged(): UnmanagedHost[] {
    const rows = this.#db.prepare('SELECT * FROM drift_unmanaged ORDER BY host').all() as Array<{ host: string; first_seen: string; last_seen: string; report_id: string }>;
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
    const rows = this.#db.prepare(`SELECT * FROM drift_items WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`).all(...params, query.limit) as ItemRow[];
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
    return (this.#db.prepare(`SELECT count(*) AS n FROM drift_items WHERE state = 'open'`).get() as { n: number }).n;
  }

  /** Latest observation time and facts of every host that reported. */
  observations(): Array<{ host: string; reportId: string; collectedAt: string; observedAt: string; facts: string }> {
    return this.#db.prepare('SELECT host, report_id AS reportId, collected_at AS collectedAt, observed_at AS observedAt, facts FROM host_observations ORDER BY host').all() as Array<{
      host: string;
      reportId: string;
      collectedAt: string;
      observedAt: string;
      facts: string;
    }>;
  }
}
