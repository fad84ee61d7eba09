import { chmodSync, closeSync, fdatasync, fdatasyncSync, fstatSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { HostFacts } from '@estate/core';
import type { DeadLetter, HostObservation, Report, SubmitResult } from './types.js';
import { WalCheckpointer } from './WalCheckpointer.js';

/**
 * How often the WAL is checkpointed (ms): often, so that little is left to copy when the writer
 * starts the WAL over ({@link SqliteIngestStore.boundWal}), which holds up its thread meanwhile.
 */
const CHECKPOINT_EVERY_MS = 100;
/** The WAL size past which the writer has it copied whole and starts it over, and to which it is cut back then (bytes). */
const WAL_RESTART_BYTES = 64 * 1024 * 1024;

/**
 * Every accepted report has a row in `ingest_reports`: its id is how a report sent twice is
 * recognised after it was consumed too. The body is kept only while the report is queued or dead;
 * a done row is deleted once it is older than the dedup window ({@link SqliteIngestStore.prune}).
 * `state`: queued → done, or queued → dead → queued (replay).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS ingest_reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  report_id TEXT NOT NULL UNIQUE,
  host TEXT NOT NULL,
  seq INTEGER NOT NULL,
  collected_at TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'done', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  body TEXT
);
CREATE INDEX IF NOT EXISTS ingest_reports_queued ON ingest_reports(id) WHERE state = 'queued';
CREATE TABLE IF NOT EXISTS host_observations (
  host TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  report_id TEXT NOT NULL,
  collected_at TEXT NOT NULL,
  observed_at TEXT NOT NULL,
  facts TEXT NOT NULL
);
-- Stale hosts (docs/drift.md) are found by the time of their latest report, without reading facts.
CREATE INDEX IF NOT EXISTS host_observations_observed ON host_observations(observed_at);
CREATE TABLE IF NOT EXISTS ingest_dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  report_id TEXT NOT NULL UNIQUE,
  host TEXT NOT NULL,
  seq INTEGER NOT NULL,
  reason TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  failed_at TEXT NOT NULL
);
`;

/** A queued report as the consumer reads it; the body is read apart ({@link SqliteIngestStore.body}), for the reports a batch takes. */
export interface QueuedReport {
  /** Row id: the order of arrival. */
  id: number;
  reportId: string;
  host: string;
  seq: number;
  attempts: number;
  receivedAt: number;
}

/** What {@link SqliteIngestStore.enqueue} did with a report: its new row and the length of its stored body (undefined and 0 for a duplicate). */
export interface EnqueueResult extends SubmitResult {
  id: number | undefined;
  size: number;
}

interface QueuedRow {
  id: number;
  report_id: string;
  host: string;
  seq: number;
  attempts: number;
  received_at: number;
}

/** Where a host's stored observation stands: what a new report of the host is compared with. */
export interface ObservedPosition {
  seq: number;
  collectedAt: string;
}

interface ObservationRow {
  host: string;
  seq: number;
  report_id: string;
  collected_at: string;
  observed_at: string;
  facts: string;
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

/**
 * The ingestion queue, the latest observation of each host and the dead letters, in their own
 * SQLite file (`<dataDir>/ingest.db`), so its writes do not wait on the workflow database's.
 *
 * WAL mode, `synchronous = NORMAL`: a commit appends to the WAL without an fsync (it survives a
 * crash of the process, not a power cut). What must survive a power cut — a report before it is
 * acknowledged — is made durable by {@link sync}: an fdatasync of the WAL file in libuv's thread
 * pool, so the event loop goes on (accepting the next group of reports) while the disk flushes.
 * The WAL is one file written in order: a sync covers every commit before it. Checkpoints (copying
 * the WAL into the database file, with their fsyncs) run in a worker thread
 * ({@link WalCheckpointer}), not in the commits of this connection: in them they took most of the
 * consumer's commit time, and up to about 100 ms at once.
 */
export class SqliteIngestStore {
  /** The connection, for report processors that write in the consumer's transaction. */
  readonly db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #walFile: string;
  /** The WAL file, opened at the first sync (SQLite creates it with the first write). */
  #walFd: number | undefined;
  readonly #checkpointer: WalCheckpointer | undefined;
  readonly #walRestartBytes: number;

  /**
   * `checkpoint: false` leaves checkpoints to another connection's store (the ingest thread's);
   * `walRestartBytes` (default 64 MiB) bounds the WAL file (see {@link enqueue}).
   */
  constructor(file: string, options: { log?: (message: string) => void; checkpoint?: boolean; walRestartBytes?: number } = {}) {
    this.#walRestartBytes = options.walRestartBytes ?? WAL_RESTART_BYTES;
    this.#walFile = `${file}-wal`;
    // Reports may carry file contents: the database is its owner's only (SQLite gives -wal and -shm its mode).
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
    this.db = new Database(file, { timeout: 10_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('wal_autocheckpoint = 0');
    this.db.pragma(`journal_size_limit = ${this.#walRestartBytes}`);
    this.db.exec(SCHEMA);
    if (options.checkpoint ?? true) this.#checkpointer = new WalCheckpointer(file, { everyMs: CHECKPOINT_EVERY_MS, log: options.log ?? (() => undefined) });
  }

  /**
   * Resolves once every commit made so far is on disk: an fdatasync of the WAL file, off the
   * event loop. (The connection stays open, so SQLite keeps that file: it resets it after a
   * checkpoint, never replaces it.)
   */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => fdatasync(this.#wal(), (error) => (error ? reject(error) : resolve())));
  }

  /** {@link sync}, blocking: for shutdown. */
  syncNow(): void {
    fdatasyncSync(this.#wal());
  }

  #wal(): number {
    this.#walFd ??= openSync(this.#walFile, 'r');
    return this.#walFd;
  }

  /**
   * Appends reports in one transaction (not yet synced: see {@link sync}); a report id seen before
   * is a duplicate and stores nothing. A report's `body` is its JSON as received, when it was
   * checked (else it is written out again). Then bounds the WAL ({@link boundWal}).
   */
  enqueue(reports: Array<{ report: Report; body?: string }>, now = Date.now()): EnqueueResult[] {
    const results = this.#append(reports, now);
    this.boundWal();
    return results;
  }

  /**
   * The checkpoint thread's passive checkpoints never complete while commits keep coming (frames
   * are appended while they copy), so the WAL would never start over and would grow without end
   * (to 1.9 GB in the 75 s of the fleet benchmark). Past `walRestartBytes`, this connection — the
   * writer, after its commits — runs a RESTART checkpoint, which copies what the passive ones left
   * (little) and lets the next commit start the file over.
   */
  boundWal(): void {
    if (fstatSync(this.#wal()).size > this.#walRestartBytes) this.db.pragma('wal_checkpoint(RESTART)');
  }

  #append(reports: Array<{ report: Report; body?: string }>, now: number): EnqueueResult[] {
    const insert = this.#prepare(
      `INSERT INTO ingest_reports (report_id, host, seq, collected_at, received_at, state, body) VALUES (?, ?, ?, ?, ?, 'queued', ?) ON CONFLICT (report_id) DO NOTHING`,
    );
    return this.db.transaction(() =>
      reports.map(({ report, body = JSON.stringify(report) }) => {
        const { changes, lastInsertRowid } = insert.run(report.reportId, report.host, report.seq, report.collectedAt, now, body);
        return changes === 0 ? { reportId: report.reportId, duplicate: true, id: undefined, size: 0 } : { reportId: report.reportId, duplicate: false, id: Number(lastInsertRowid), size: body.length };
      }),
    )();
  }

  /** Reports waiting to be consumed. */
  backlog(): number {
    return (this.#prepare(`SELECT count(*) AS n FROM ingest_reports WHERE state = 'queued'`).get() as { n: number }).n;
  }

  /** When the oldest queued report arrived (ms since the epoch), if any is queued. */
  oldestQueuedAt(): number | undefined {
    const row = this.#prepare(`SELECT received_at FROM ingest_reports WHERE state = 'queued' ORDER BY id LIMIT 1`).get() as { received_at: number } | undefined;
    return row?.received_at;
  }

  /** The oldest queued reports, at most `limit`, in order of arrival (without their bodies). */
  queued(limit: number): QueuedReport[] {
    const rows = this.#prepare(`SELECT id, report_id, host, seq, attempts, received_at FROM ingest_reports WHERE state = 'queued' ORDER BY id LIMIT ?`).all(limit) as QueuedRow[];
    return rows.map((row) => ({ id: row.id, reportId: row.report_id, host: row.host, seq: row.seq, attempts: row.attempts, receivedAt: row.received_at }));
  }

  /** The stored report of row `id`; undefined when its body is gone or does not parse (a damaged row). */
  body(id: number): Report | undefined {
    const row = this.#prepare('SELECT body FROM ingest_reports WHERE id = ?').get(id) as { body: string | null } | undefined;
    return readBody(row?.body ?? null);
  }

  /** The seq and collection time of `host`'s stored observation, if it has one. */
  observedPosition(host: string): ObservedPosition | undefined {
    const row = this.#prepare('SELECT seq, collected_at FROM host_observations WHERE host = ?').get(host) as { seq: number; collected_at: string } | undefined;
    return row && { seq: row.seq, collectedAt: row.collected_at };
  }

  /** Makes `report` the host's latest observation. */
  observe(report: Report, now: Date): void {
    this.#prepare(
        `INSERT INTO host_observations (host, seq, report_id, collected_at, observed_at, facts) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (host) DO UPDATE SET seq = excluded.seq, report_id = excluded.report_id, collected_at = excluded.collected_at, observed_at = excluded.observed_at, facts = excluded.facts`,
      )
      .run(report.host, report.seq, report.reportId, report.collectedAt, now.toISOString(), JSON.stringify(report.facts));
  }

  /** Marks a queued report consumed and drops its body (the id stays, for duplicates). */
  markDone(id: number): void {
    this.#prepare(`UPDATE ingest_reports SET state = 'done', body = NULL WHERE id = ? AND state = 'queued'`).run(id);
  }

  /** Counts a failed attempt at a queued report; returns the attempts so far. */
  countFailure(id: number): number {
    return (this.#prepare(`UPDATE ingest_reports SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`).get(id) as { attempts: number }).attempts;
  }

  /** Sets a queued report aside as a dead letter with the reason (its body stays, for a replay). */
  deadLetter(queued: QueuedReport, attempts: number, reason: string, now: Date): void {
    this.#prepare(`UPDATE ingest_reports SET state = 'dead' WHERE id = ?`).run(queued.id);
    this.#prepare(
        `INSERT INTO ingest_dead_letters (report_id, host, seq, reason, attempts, failed_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (report_id) DO UPDATE SET reason = excluded.reason, attempts = excluded.attempts, failed_at = excluded.failed_at`,
      )
      .run(queued.reportId, queued.host, queued.seq, reason, attempts, now.toISOString());
  }

  /**
   * Deletes done reports received before `before` (ms since the epoch), at most `limit` of them,
   * oldest first; returns how many. Their ids are forgotten: a copy sent later is queued again
   * (and consumed as stale, its seq being at most the host's). Rows are walked in arrival order up
   * to the first one received at or after `before`, so a pass costs what it deletes.
   */
  prune(before: number, limit: number): number {
    const boundary = this.#prepare('SELECT id FROM ingest_reports WHERE received_at >= ? ORDER BY id LIMIT 1').get(before) as { id: number } | undefined;
    return this.#prepare(
      `DELETE FROM ingest_reports WHERE id IN (SELECT id FROM ingest_reports WHERE id < ? AND state = 'done' AND received_at < ? ORDER BY id LIMIT ?)`,
    ).run(boundary?.id ?? Number.MAX_SAFE_INTEGER, before, limit).changes;
  }

  /** Dead letters, oldest first. */
  deadLetters(limit: number): DeadLetter[] {
    const rows = this.#prepare('SELECT * FROM ingest_dead_letters ORDER BY id LIMIT ?').all(limit) as DeadLetterRow[];
    return rows.map((row) => ({ id: row.id, reportId: row.report_id, host: row.host, seq: row.seq, reason: row.reason, attempts: row.attempts, failedAt: row.failed_at }));
  }

  /** How many dead letters there are. */
  deadLetterCount(): number {
    return (this.#prepare('SELECT count(*) AS n FROM ingest_dead_letters').get() as { n: number }).n;
  }

  /** Queues a dead letter's report again, with no attempts counted; undefined when there is no such dead letter. */
  replay(deadLetterId: number, now = Date.now()): string | undefined {
    return this.db.transaction(() => {
      const row = this.#prepare('DELETE FROM ingest_dead_letters WHERE id = ? RETURNING report_id').get(deadLetterId) as { report_id: string } | undefined;
      if (!row) return undefined;
      this.#prepare(`UPDATE ingest_reports SET state = 'queued', attempts = 0, received_at = ? WHERE report_id = ? AND state = 'dead'`).run(now, row.report_id);
      return row.report_id;
    })();
  }

  /** The latest observation of `host`, if it ever reported. */
  observation(host: string): HostObservation | undefined {
    const row = this.#prepare('SELECT * FROM host_observations WHERE host = ?').get(host) as ObservationRow | undefined;
    if (!row) return undefined;
    return { host: row.host, seq: row.seq, reportId: row.report_id, collectedAt: row.collected_at, observedAt: row.observed_at, facts: JSON.parse(row.facts) as HostFacts };
  }

  close(): void {
    this.#checkpointer?.stop();
    if (this.#walFd !== undefined) closeSync(this.#walFd);
    this.#walFd = undefined;
    this.db.close();
  }

  /** A prepared statement, made once per connection (the consumer runs them per report). */
  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/** A stored body as a report; undefined when it is not a JSON object with facts (a damaged row). */
function readBody(body: string | null): Report | undefined {
  if (body === null) return undefined;
  try {
    const report = JSON.parse(body) as unknown;
    return typeof report === 'object' && report !== null && typeof (report as Report).facts === 'object' && (report as Report).facts !== null ? (report as Report) : undefined;
  } catch {
    return undefined;
  }
}
