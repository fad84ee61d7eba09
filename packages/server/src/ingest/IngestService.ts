import { EstateError, NotFoundError } from '@estate/core';
import type { EnqueueResult, ObservedPosition, QueuedReport, SqliteIngestStore } from './SqliteIngestStore.js';
import { requireHostScope } from '../auth/tokens.js';
import { LoadShedder } from './LoadShedder.js';
import { parseReportText } from './parseReport.js';
import type { Ingest, IngestMetric, Report, ReportProcessor, ReportToken, SubmitResult } from './types.js';

/** Options of {@link IngestService}; {@link compileIngestOptions} fills in the defaults. */
export interface IngestOptions {
  /** Queued reports beyond which new ones are refused with `429` (default 50,000). */
  maxBacklog: number;
  /** Facts a report may carry (default 20,000). */
  maxFacts: number;
  /** How long a report waits for others to share its commit, in ms (default 2). */
  commitWindowMs: number;
  /** Reports pending that commit at once without waiting for the window (default 256). */
  commitMaxReports: number;
  /** Reports the consumer applies in one transaction at most (default 500). */
  batchMaxReports: number;
  /** Time after which the consumer stops adding reports to a batch, in ms (default 5: a batch holds up the commits of new reports, and so their answers, meanwhile). */
  batchMaxMs: number;
  /** Failed attempts after which a report goes to the dead letters (default 3). */
  maxAttempts: number;
  /** Seconds a client is told to wait when the backlog is full or the server saturated (default 5). */
  retryAfterSeconds: number;
  /**
   * Mean event-loop delay, in ms over the last half second, above which a growing share of new
   * reports is refused with `429` (when at least 100 came in that half second; default 200): past
   * its capacity the server sheds the excess instead of letting every answer wait for seconds.
   */
  shedLoopDelayMs: number;
  /** Run the consumer in this process (default true). Off, reports are only queued. */
  consume: boolean;
  /** How long a consumed report's id is kept to recognise it sent again, in ms (default 24 h). */
  dedupWindowMs: number;
  /** How long shutdown goes on applying queued reports, in ms (default 3,000); the rest stays queued. */
  shutdownDrainMs: number;
  /** More work per applied report, in the same transaction (the drift engine's hook). */
  processors: ReportProcessor[];
  log: (level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>) => void;
}

/** Applies the defaults of {@link IngestOptions} and checks the numbers once. */
export function compileIngestOptions(options: Partial<IngestOptions> = {}): IngestOptions {
  const compiled: IngestOptions = {
    maxBacklog: 50_000,
    maxFacts: 20_000,
    commitWindowMs: 2,
    commitMaxReports: 256,
    batchMaxReports: 500,
    batchMaxMs: 5,
    maxAttempts: 3,
    retryAfterSeconds: 5,
    shedLoopDelayMs: 200,
    consume: true,
    dedupWindowMs: 24 * 3600_000,
    shutdownDrainMs: 3000,
    processors: [],
    log: () => undefined,
    ...options,
  };
  for (const key of ['maxBacklog', 'maxFacts', 'commitMaxReports', 'batchMaxReports', 'batchMaxMs', 'maxAttempts', 'retryAfterSeconds', 'shedLoopDelayMs', 'dedupWindowMs', 'shutdownDrainMs'] as const) {
    if (!Number.isInteger(compiled[key]) || compiled[key] < 1) throw new EstateError('E_BAD_PARAM', `ingest option ${key} must be a positive integer, not ${compiled[key]}`, { option: key });
  }
  return compiled;
}

/** A report waiting for the next group commit, with the request that waits for its answer. */
interface Pending {
  report: Report;
  /** The report's JSON as received. */
  body: string;
  resolve: (result: SubmitResult) => void;
  reject: (error: unknown) => void;
}

/** Pause after a batch in which a report failed, so a failing report is not retried in a tight loop. */
const RETRY_PAUSE_MS = 100;
/** Dead letters a listing shows at most, oldest first (every dead letter is kept). */
export const DEAD_LETTERS_LISTED = 1000;
/** The consumer deletes expired report ids at most this often… */
const PRUNE_EVERY_MS = 60_000;
/** …and at most this many per pass (one short transaction). */
const PRUNE_MAX_ROWS = 20_000;

/**
 * A report whose seq is at most half the stored one yet collected after it comes from an agent
 * that lost its state and counts from 1 again: it is applied (a reset), not consumed as stale.
 * A report merely overtaken by a newer one was collected before it.
 */
export function isSeqReset(stored: ObservedPosition, report: Pick<Report, 'seq' | 'collectedAt'>): boolean {
  return report.seq <= stored.seq / 2 && Date.parse(report.collectedAt) > Date.parse(stored.collectedAt);
}

/**
 * Queued reports whose parsed form the consumer takes from memory, up to this many characters of
 * their stored JSON (about 32 MiB of text; a few seconds of a 10k-host fleet's reports). Beyond, or
 * after a restart, the consumer reads and parses the stored body.
 */
const HANDOFF_MAX_CHARS = 32 * 1024 * 1024;

/** A committed report whose answer waits for the WAL to reach the disk. */
interface Unsynced {
  pending: Pending;
  result: SubmitResult;
}

/**
 * Report ingestion (issue 6, point 2): reports are appended to a durable queue with group commit
 * (reports arriving within a few ms share one transaction) and acknowledged only once on disk:
 * after an fdatasync of the WAL that runs off the event loop, shared by every commit made while
 * the previous one ran. A consumer applies the queue in batches, per host in seq order, each
 * report exactly once: its effect and the mark that it was consumed commit in the same transaction.
 */
export class IngestService implements Ingest {
  readonly #store: SqliteIngestStore;
  readonly #o: IngestOptions;
  #pending: Pending[] = [];
  #commitTimer: NodeJS.Timeout | undefined;
  /** Committed, waiting for the next sync. */
  #unsynced: Unsynced[] = [];
  #syncing = false;
  #syncs = 0;
  /** Queued reports, kept in memory so that the backlog check costs no query. */
  #backlog: number;
  #consumeTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #received = 0;
  #duplicates = 0;
  #commits = 0;
  #consumed = 0;
  #batches = 0;
  #lastBatchSize = 0;
  #seqResets = 0;
  /** Made at the first {@link admit}: with the ingest thread, the thread that answers the requests sheds. */
  #shedder: LoadShedder | undefined;
  #pruned = 0;
  #lastPruneAt = 0;
  /** Queued reports as they were parsed from their requests, by row id: the consumer needs not read and parse their bodies again. */
  readonly #handoff = new Map<number, { report: Report; size: number }>();
  #handoffChars = 0;

  constructor(store: SqliteIngestStore, options: Partial<IngestOptions> = {}) {
    this.#store = store;
    this.#o = compileIngestOptions(options);
    this.#backlog = store.backlog();
    if (this.#o.consume && this.#backlog > 0) this.#kick(0);
  }

  /**
   * Throws `E_BACKLOG_FULL` (429, `Retry-After`) when no report can be taken now: the backlog is at
   * its bound, or the server is saturated and this report falls in the share being shed
   * (`details.reason`: `backlog` or `saturated`). The route calls it before checking a report, so
   * a refused one costs little.
   */
  admit(): void {
    this.#checkBacklog();
    this.#shedder ??= new LoadShedder(this.#o);
    this.#shedder.admit({ backlog: this.#backlog, limit: this.#o.maxBacklog });
  }

  /** Reports queued and not yet applied. */
  get backlog(): number {
    return this.#backlog;
  }

  #checkBacklog(): void {
    if (this.#backlog + this.#pending.length >= this.#o.maxBacklog) {
      throw new EstateError('E_BACKLOG_FULL', `the ingest backlog is full (${this.#o.maxBacklog} reports queued); retry after ${this.#o.retryAfterSeconds} s`, {
        reason: 'backlog',
        backlog: this.#backlog,
        limit: this.#o.maxBacklog,
        retryAfterSeconds: this.#o.retryAfterSeconds,
      });
    }
  }

  /** The compiled options (limits the routes check). */
  get options(): Readonly<IngestOptions> {
    return this.#o;
  }

  /**
   * Queues a checked report (the caller called {@link admit} first); resolves once it is on disk
   * (or known already: `duplicate`). Refused with `E_BACKLOG_FULL` when the backlog is at its bound.
   */
  #submit(report: Report, body: string): Promise<SubmitResult> {
    if (this.#closed) return Promise.reject(new EstateError('E_NOT_READY', 'the server is shutting down; send the report again later', {}));
    try {
      this.#checkBacklog();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ report, body, resolve, reject });
      if (this.#pending.length >= this.#o.commitMaxReports) this.#commit();
      else this.#commitTimer ??= setTimeout(() => this.#commit(), this.#o.commitWindowMs);
    });
  }

  submitText(text: string, token: ReportToken): Promise<SubmitResult> {
    try {
      const report = parseReportText(text, this.#o.maxFacts);
      requireHostScope(token, report.host);
      return this.#submit(report, text);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Queues a dead letter's report again; `E_DEAD_LETTER_NOT_FOUND` when there is no such dead letter. */
  async replay(deadLetterId: number): Promise<string> {
    const reportId = this.#store.replay(deadLetterId);
    if (reportId === undefined) throw new NotFoundError('E_DEAD_LETTER_NOT_FOUND', `no dead letter with the id ${deadLetterId}`, { id: deadLetterId });
    this.#backlog++;
    if (this.#o.consume) this.#kick(0);
    return reportId;
  }

  /** Gauges and counters for `/metrics`. */
  async metrics(): Promise<IngestMetric[]> {
    const oldest = this.#store.oldestQueuedAt();
    return [
      { name: 'estate_ingest_backlog', help: 'Reports queued and not yet applied.', value: this.#backlog },
      { name: 'estate_ingest_lag_seconds', help: 'Age of the oldest queued report, in seconds (0 when none is queued).', value: oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000) },
      { name: 'estate_ingest_dead_letters', help: 'Reports set aside after failing repeatedly.', value: this.#store.deadLetterCount() },
      { name: 'estate_ingest_reports_received_total', help: 'Reports accepted (queued) since the process started.', value: this.#received },
      { name: 'estate_ingest_commits_total', help: 'Group commits of received reports (one transaction each) since the process started.', value: this.#commits },
      { name: 'estate_ingest_syncs_total', help: 'fdatasyncs of the queue after which received reports were answered, since the process started.', value: this.#syncs },
      { name: 'estate_ingest_reports_duplicate_total', help: 'Reports refused as already accepted since the process started.', value: this.#duplicates },
      { name: 'estate_ingest_reports_consumed_total', help: 'Reports applied (or found stale) since the process started.', value: this.#consumed },
      { name: 'estate_ingest_batches_total', help: 'Consumer batches committed since the process started.', value: this.#batches },
      { name: 'estate_ingest_last_batch_size', help: 'Reports in the last consumer batch.', value: this.#lastBatchSize },
      { name: 'estate_ingest_reports_shed_total', help: 'Reports refused with 429 because the server was saturated, since the process started.', value: this.#shedder?.shed ?? 0 },
      { name: 'estate_ingest_seq_resets_total', help: 'Reports applied as a seq reset (an agent that lost its state) since the process started.', value: this.#seqResets },
      { name: 'estate_ingest_reports_pruned_total', help: 'Ids of consumed reports deleted after the dedup window since the process started.', value: this.#pruned },
    ];
  }

  /**
   * Stops accepting reports, commits the pending ones and applies queued reports for at most
   * `shutdownDrainMs` (when consuming). What is left stays queued on disk for the next start.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#shedder?.close();
    this.#commit();
    if (this.#unsynced.length > 0) {
      // Answered here, not by a sync in flight: the store closes next.
      const waiting = this.#unsynced.splice(0);
      try {
        this.#store.syncNow();
        for (const w of waiting) w.pending.resolve(w.result);
      } catch (error) {
        for (const w of waiting) w.pending.reject(error);
      }
    }
    clearTimeout(this.#consumeTimer);
    this.#consumeTimer = undefined;
    if (!this.#o.consume) return;
    const deadline = performance.now() + this.#o.shutdownDrainMs;
    // Each pass applies or fails every report it takes: failing ones reach the dead letters after maxAttempts passes.
    while (this.#backlog > 0 && performance.now() < deadline && this.#consumeBatch().taken > 0);
    if (this.#backlog > 0) this.#o.log('info', `ingest: ${this.#backlog} reports stay queued; they are applied at the next start`, { backlog: this.#backlog });
  }

  /**
   * Deletes the ids of reports consumed longer than `dedupWindowMs` ago (at most a bounded number
   * per call); the consumer calls it about once a minute. Returns how many were deleted.
   */
  async prune(now = Date.now()): Promise<number> {
    return this.#prune(now);
  }

  #prune(now: number): number {
    this.#lastPruneAt = now;
    const deleted = this.#store.prune(now - this.#o.dedupWindowMs, PRUNE_MAX_ROWS);
    this.#pruned += deleted;
    return deleted;
  }

  /** One transaction for every pending report; each request gets its answer after the next sync. */
  #commit(): void {
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    let results: EnqueueResult[];
    try {
      results = this.#store.enqueue(pending);
      this.#commits++;
    } catch (error) {
      for (const p of pending) p.reject(error);
      return;
    }
    let added = 0;
    results.forEach(({ reportId, duplicate, id, size }, i) => {
      if (duplicate) this.#duplicates++;
      else added++;
      // The stored body stays the durable copy; this one spares the consumer parsing it again.
      if (id !== undefined && this.#o.consume && this.#handoffChars + size <= HANDOFF_MAX_CHARS) {
        this.#handoff.set(id, { report: pending[i]!.report, size });
        this.#handoffChars += size;
      }
      // A duplicate waits too: the first copy may have been committed but not yet synced.
      this.#unsynced.push({ pending: pending[i]!, result: { reportId, duplicate } });
    });
    this.#received += added;
    this.#backlog += added;
    // Applying before the sync is safe: the effects are later in the same WAL, lost together with the report or kept with it.
    if (added > 0 && this.#o.consume && !this.#closed) this.#kick(0);
    if (!this.#closed) this.#sync();
  }

  /**
   * Syncs the WAL off the event loop and answers the reports committed before the sync began;
   * commits made meanwhile wait for the next one (one sync in flight at a time: each covers all
   * the commits before it).
   */
  #sync(): void {
    if (this.#syncing || this.#unsynced.length === 0) return;
    const waiting = this.#unsynced;
    this.#unsynced = [];
    this.#syncing = true;
    this.#store.sync().then(
      () => {
        this.#syncs++;
        for (const w of waiting) w.pending.resolve(w.result);
      },
      (error: unknown) => {
        this.#o.log('error', `ingest: syncing the queue failed; ${waiting.length} reports are not acknowledged: ${(error as Error).message}`);
        for (const w of waiting) w.pending.reject(error);
      },
    ).finally(() => {
      this.#syncing = false;
      if (!this.#closed) this.#sync();
    });
  }

  /** Schedules a consumer pass, unless one is scheduled. */
  #kick(delayMs: number): void {
    if (this.#consumeTimer !== undefined || this.#closed) return;
    this.#consumeTimer = setTimeout(() => {
      this.#consumeTimer = undefined;
      let failed = true;
      try {
        failed = this.#consumeBatch().failed;
        if (Date.now() - this.#lastPruneAt >= PRUNE_EVERY_MS) this.#prune(Date.now());
      } catch (error) {
        this.#o.log('error', `ingest consumer: a batch failed and will be retried: ${(error as Error).message}`);
      }
      if (this.#backlog > 0) this.#kick(failed ? RETRY_PAUSE_MS : 0);
    }, delayMs);
  }

  /**
   * Applies the oldest queued reports in one transaction, per host in seq order. Each report runs
   * in a savepoint: one that throws is rolled back alone and counted as a failed attempt (then
   * dead-lettered at `maxAttempts`), while the others commit. A report whose stored body does not
   * parse is dead-lettered at once (no attempt could succeed). A report comes from memory when it
   * was queued by this process (and not too many were waiting), else from its stored body. Tells
   * how many reports it took from the queue and whether one failed.
   */
  #consumeBatch(): { taken: number; failed: boolean } {
    const started = performance.now();
    const batch = this.#store.queued(this.#o.batchMaxReports);
    batch.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.seq - b.seq || a.id - b.id));
    const { db } = this.#store;
    /** Applies one report; tells whether it was taken as a seq reset. */
    const applyOne = db.transaction((queued: QueuedReport, report: Report, now: Date): boolean => {
      const stored = this.#store.observedPosition(report.host);
      const reset = stored !== undefined && stored.seq >= report.seq && isSeqReset(stored, report);
      const stale = stored !== undefined && stored.seq >= report.seq && !reset;
      // A report older than (or as old as) the stored one never overwrites newer state; it is consumed all the same.
      if (!stale) this.#store.observe(report, now);
      for (const process of this.#o.processors) process(report, { db, stale });
      this.#store.markDone(queued.id);
      return reset;
    });
    let taken = 0;
    let applied = 0;
    let deadLettered = 0;
    let failed = false;
    /** Reports that left the queue (applied or dead-lettered): their copy in memory goes once the batch commits. */
    const settled: number[] = [];
    /** Hosts with a report that failed and stays queued: their later reports wait, so a host is applied in seq order. */
    const heldHosts = new Set<string>();
    this.#store.db.transaction(() => {
      for (const queued of batch) {
        if (taken > 0 && performance.now() - started > this.#o.batchMaxMs) break;
        if (heldHosts.has(queued.host)) continue;
        taken++;
        const now = new Date();
        const report = this.#handoff.get(queued.id)?.report ?? this.#store.body(queued.id);
        if (report === undefined) {
          this.#store.deadLetter(queued, queued.attempts + 1, 'the stored report does not parse (damaged row)', now);
          deadLettered++;
          settled.push(queued.id);
          this.#o.log('error', `report ${queued.reportId} of host ${queued.host} is unreadable in the queue and went to the dead letters`);
          continue;
        }
        try {
          if (applyOne(queued, report, now)) {
            this.#seqResets++;
            this.#o.log('warn', `host ${queued.host} restarted its seq at ${queued.seq} (report ${queued.reportId}, collected after the applied one): applied as a reset`, { host: queued.host, seq: queued.seq });
          }
          applied++;
          settled.push(queued.id);
        } catch (error) {
          failed = true;
          const reason = error instanceof Error ? error.message : String(error);
          const attempts = this.#store.countFailure(queued.id);
          if (attempts >= this.#o.maxAttempts) {
            this.#store.deadLetter(queued, attempts, reason, now);
            deadLettered++;
            settled.push(queued.id);
            this.#o.log('warn', `report ${queued.reportId} of host ${queued.host} failed ${attempts} times and went to the dead letters: ${reason}`);
          } else {
            heldHosts.add(queued.host);
          }
        }
      }
    }).immediate();
    this.#store.boundWal();
    for (const id of settled) {
      const kept = this.#handoff.get(id);
      if (kept === undefined) continue;
      this.#handoff.delete(id);
      this.#handoffChars -= kept.size;
    }
    this.#backlog -= applied + deadLettered;
    this.#consumed += applied;
    this.#lastBatchSize = taken;
    if (taken > 0) this.#batches++;
    return { taken, failed };
  }
}
