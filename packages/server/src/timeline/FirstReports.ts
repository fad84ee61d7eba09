import type Database from 'better-sqlite3';
import type { ReportProcessor } from '../ingest/types.js';

/** The first report applied for a host: a milestone of its timeline. */
export interface FirstReport {
  host: string;
  reportId: string;
  seq: number;
  collectedAt: string;
}

const TABLE = 'host_first_reports';

/**
 * Remembers each host's first applied report, in ingest.db: `host_observations` keeps only the
 * latest, and `ingest_reports` has no index by host (a lookup there would scan the whole queue
 * history). Its processor runs in the consumer's transaction and writes only a host's first report,
 * so it costs one primary-key probe per report. Hosts that reported before the table existed are
 * filled in from `ingest_reports` once, when the table is made.
 */
export class FirstReports {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;

  constructor(db: Database.Database) {
    this.#db = db;
    const existed = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(TABLE) !== undefined;
    db.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (host TEXT PRIMARY KEY, report_id TEXT NOT NULL, seq INTEGER NOT NULL, collected_at TEXT NOT NULL)`);
    this.#insert = db.prepare(`INSERT INTO ${TABLE} (host, report_id, seq, collected_at) VALUES (?, ?, ?, ?) ON CONFLICT (host) DO NOTHING`);
    if (!existed) {
      // With MIN(), SQLite takes the bare columns from the row holding the minimum: each host's first consumed report.
      db.exec(`INSERT OR IGNORE INTO ${TABLE} (host, report_id, seq, collected_at)
        SELECT host, report_id, seq, collected_at FROM (SELECT host, report_id, seq, collected_at, MIN(id) FROM ingest_reports WHERE state = 'done' GROUP BY host)`);
    }
  }

  /** The processor to hand to the ingest consumer: a stale report's facts were never applied, so it is no first report. */
  readonly processor: ReportProcessor = (report, { stale }) => {
    if (!stale) this.#insert.run(report.host, report.reportId, report.seq, report.collectedAt);
  };

  /** The first applied report of `host`, if it ever reported. */
  of(host: string): FirstReport | undefined {
    const row = this.#db.prepare(`SELECT host, report_id AS reportId, seq, collected_at AS collectedAt FROM ${TABLE} WHERE host = ?`).get(host) as FirstReport | undefined;
    return row;
  }
}
