import { collectFacts } from './collectFacts.js';
import { compileAgentOptions, type AgentOptions, type AgentOptionsInput } from './agentOptions.js';
import { enforceFiles } from './enforce/enforceFiles.js';
import { DesiredStateClient } from './enforce/fetchDesired.js';
import { fitReport } from './fitReport.js';
import { sendReport, type ReportEndpoint } from './sendReport.js';
import { SeqStore } from './SeqStore.js';
import { Spool } from './Spool.js';
import type { EnforcementEntry, Report } from './types.js';
import { createUlidGenerator } from './ulid.js';

/** The result of one pass over the spool. */
export interface FlushResult {
  /** Reports acknowledged with a 2xx in this pass. */
  delivered: number;
  /** Reports still spooled. */
  remaining: number;
  /** When reports remain because sending failed: how long to wait before the next try. */
  retryInMs?: number;
}

/**
 * The host agent: collects a report every interval, puts it in the spool (durably, with the next
 * `seq`), and sends the spool in `seq` order, removing each report only after a 2xx. Failed sends
 * back off exponentially with full jitter, or as long as a 429/503 `Retry-After` says. With
 * `enforce`, each collection first restores the managed files the server's desired state says
 * differ, and the report carries what was restored.
 */
export class Agent {
  readonly options: AgentOptions;
  readonly spool: Spool;
  readonly #seq: SeqStore;
  readonly #endpoint: ReportEndpoint;
  readonly #desired: DesiredStateClient;
  readonly #nextUlid = createUlidGenerator();
  #failures = 0;
  #reportNow = false;
  #wake: (() => void) | undefined;

  constructor(input: AgentOptionsInput) {
    this.options = compileAgentOptions(input);
    this.#seq = new SeqStore(this.options.stateDir, { logger: this.options.logger });
    this.spool = new Spool(this.options.stateDir, { maxReports: this.options.spoolMaxReports, maxBytes: this.options.spoolMaxBytes }, this.options.logger);
    this.#endpoint = { server: this.options.server, token: this.options.token, fetch: this.options.fetch, timeoutMs: this.options.requestTimeoutMs };
    this.#desired = new DesiredStateClient(this.#endpoint, this.options.host);
  }

  /**
   * Builds the next report (its `seq` is already persisted): with `enforce`, restores what differs
   * from the desired state first (the desired files are collected too), then collects the facts.
   */
  async collectReport(): Promise<Report> {
    const { root, units, host } = this.options;
    const enforced = this.options.enforce ? await this.#enforce() : { entries: [], files: [] };
    const files = [...new Set([...this.options.files, ...enforced.files])];
    const collectedAt = new Date().toISOString();
    const { facts, errors } = await collectFacts({ root, files, units });
    const report: Report = { reportId: this.#nextUlid(), host, seq: await this.#seq.next(host), collectedAt, facts };
    if (Object.keys(errors).length > 0) report.errors = errors;
    if (enforced.entries.length > 0) report.enforcement = enforced.entries;
    return report;
  }

  /**
   * Collects a report and spools it; it is sent by the next {@link flush}. A report over
   * `maxReportBytes` loses file contents (largest first, marked `truncated`); one still too big is
   * not spooled (a warning says so) and `undefined` is returned.
   */
  async collectToSpool(): Promise<Report | undefined> {
    const report = await this.collectReport();
    for (const [collector, message] of Object.entries(report.errors ?? {})) this.options.logger.warn(`collector ${collector}: ${message}`);
    if (!this.#fit(report)) return undefined;
    await this.spool.add(report);
    return report;
  }

  /** Asks a running {@link run} to collect and send a report now (SIGUSR1), instead of at the next interval. */
  reportNow(): void {
    this.#reportNow = true;
    this.#wake?.();
  }

  /**
   * Sends the spooled reports oldest first until the spool is empty, a send fails (the rest wait:
   * order per host is kept) or `signal` aborts (the send in flight is finished first).
   */
  async flush(signal?: AbortSignal): Promise<FlushResult> {
    const pending = await this.spool.list();
    let delivered = 0;
    for (const [index, seq] of pending.entries()) {
      if (signal?.aborted) return { delivered, remaining: pending.length - index };
      let spooled;
      try {
        spooled = await this.spool.read(seq);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        this.options.logger.warn(`spooled report seq ${seq} cannot be read (${error.message}); moved to corrupt/`);
        await this.spool.setAside(seq);
        continue;
      }
      // Spooled by an agent without the size cap: shrunk, or set aside if it cannot be.
      if (spooled.bytes > this.options.maxReportBytes && !this.#fit(spooled.report)) {
        await this.spool.reject(seq);
        continue;
      }
      const outcome = await sendReport(this.#endpoint, spooled.report);
      if (outcome.kind === 'delivered') {
        await this.spool.remove(seq);
        delivered++;
        this.#failures = 0;
      } else if (outcome.kind === 'rejected') {
        this.options.logger.warn(`report seq ${seq} refused for good (${outcome.error.code}: ${outcome.error.message}); moved to rejected/`);
        await this.spool.reject(seq);
      } else {
        const retryInMs = outcome.retryAfterMs ?? this.#backoffMs();
        this.#failures++;
        this.options.logger.warn(`sending report seq ${seq} failed (${outcome.error.code}: ${outcome.error.message}); ${pending.length - index} spooled, next try in ${Math.round(retryInMs)} ms`);
        return { delivered, remaining: pending.length - index, retryInMs };
      }
    }
    return { delivered, remaining: 0 };
  }

  /**
   * Runs until `signal` aborts (SIGTERM): a report every interval (±10 % jitter, so a fleet
   * restarted together spreads out) and the spool sent between them, retrying as {@link flush} says.
   */
  async run(signal: AbortSignal): Promise<void> {
    let nextCollectAt = Date.now();
    let retryAt = 0;
    while (!signal.aborted) {
      const now = this.#reportNow;
      this.#reportNow = false;
      if (now || Date.now() >= nextCollectAt) {
        await this.collectToSpool();
        nextCollectAt = Date.now() + this.#jitteredInterval();
      }
      // On demand, the send does not wait for a backoff either.
      if (!signal.aborted && (now || Date.now() >= retryAt)) {
        const result = await this.flush(signal);
        retryAt = result.retryInMs === undefined ? 0 : Date.now() + result.retryInMs;
      }
      if (this.#reportNow) continue;
      const wakeAt = retryAt > Date.now() ? Math.min(retryAt, nextCollectAt) : nextCollectAt;
      await sleep(wakeAt - Date.now(), signal, (wake) => (this.#wake = wake));
    }
  }

  /** Restores what differs from the desired state; the desired files' paths are collected too. A server that cannot answer skips enforcement this time. */
  async #enforce(): Promise<{ entries: EnforcementEntry[]; files: string[] }> {
    const { logger } = this.options;
    let desired;
    try {
      desired = await this.#desired.fetch();
    } catch (error) {
      logger.warn(`enforcement skipped: no desired state (${(error as Error).message})`);
      return { entries: [], files: [] };
    }
    const entries = await enforceFiles({ root: this.options.root, stateDir: this.options.stateDir, desired, canChown: this.options.canChown, backupsKept: this.options.backupsKept, logger });
    for (const entry of entries) {
      if (entry.ok) logger.info(`enforcement: restored the ${entry.field} of ${entry.path}${entry.backup === undefined ? '' : ` (previous content kept in ${entry.backup})`}`);
      else logger.warn(`enforcement: the ${entry.field} of ${entry.path} was not restored: ${entry.error ?? 'failed'}`);
    }
    return { entries, files: desired.files.map((file) => file.path) };
  }

  /** {@link fitReport} with warnings: whether the report (now) fits in `maxReportBytes`. */
  #fit(report: Report): boolean {
    const limit = this.options.maxReportBytes;
    const truncatedBefore = Object.values(report.facts.files ?? {}).filter((fact) => 'truncated' in fact).length;
    if (fitReport(report, limit) === undefined) {
      this.options.logger.warn(`report seq ${report.seq} is larger than ${limit} bytes even without file contents: not sent (declare fewer managed files or packages)`);
      return false;
    }
    const truncated = Object.values(report.facts.files ?? {}).filter((fact) => 'truncated' in fact).length - truncatedBefore;
    if (truncated > 0) this.options.logger.warn(`report seq ${report.seq} was over ${limit} bytes: the content of ${truncated} managed file(s) left out (marked truncated)`);
    return true;
  }

  /** Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"): uniform in [0, min(cap, base·2^failures)). */
  #backoffMs(): number {
    const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** Math.min(this.#failures, 30));
    return this.options.random() * ceiling;
  }

  #jitteredInterval(): number {
    return this.options.intervalMs * (0.9 + 0.2 * this.options.random());
  }
}

/** Waits `ms`, or less if `signal` aborts or the wake function handed to `setWake` is called. */
function sleep(ms: number, signal: AbortSignal, setWake: (wake: (() => void) | undefined) => void): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    setWake(done);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      setWake(undefined);
      resolve();
    }
  });
}
