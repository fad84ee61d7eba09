import { collectFacts } from './collectFacts.js';
import { compileAgentOptions, type AgentOptions, type AgentOptionsInput } from './agentOptions.js';
import { sendReport } from './sendReport.js';
import { SeqStore } from './SeqStore.js';
import { Spool } from './Spool.js';
import type { Report } from './types.js';
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
 * back off exponentially with full jitter, or as long as a 429/503 `Retry-After` says.
 */
export class Agent {
  readonly options: AgentOptions;
  readonly spool: Spool;
  readonly #seq: SeqStore;
  readonly #nextUlid = createUlidGenerator();
  #failures = 0;

  constructor(input: AgentOptionsInput) {
    this.options = compileAgentOptions(input);
    this.#seq = new SeqStore(this.options.stateDir);
    this.spool = new Spool(this.options.stateDir, { maxReports: this.options.spoolMaxReports, maxBytes: this.options.spoolMaxBytes }, this.options.logger);
  }

  /** Collects the facts and builds the next report (its `seq` is already persisted). */
  async collectReport(): Promise<Report> {
    const { root, files, units, host } = this.options;
    const collectedAt = new Date().toISOString();
    const { facts, errors } = await collectFacts({ root, files, units });
    const report: Report = { reportId: this.#nextUlid(), host, seq: await this.#seq.next(host), collectedAt, facts };
    if (Object.keys(errors).length > 0) report.errors = errors;
    return report;
  }

  /** Collects a report and spools it; it is sent by the next {@link flush}. */
  async collectToSpool(): Promise<Report> {
    const report = await this.collectReport();
    await this.spool.add(report);
    for (const [collector, message] of Object.entries(report.errors ?? {})) this.options.logger.warn(`collector ${collector}: ${message}`);
    return report;
  }

  /**
   * Sends the spooled reports oldest first until the spool is empty, a send fails (the rest wait:
   * order per host is kept) or `signal` aborts (the send in flight is finished first).
   */
  async flush(signal?: AbortSignal): Promise<FlushResult> {
    const endpoint = { server: this.options.server, token: this.options.token, fetch: this.options.fetch, timeoutMs: this.options.requestTimeoutMs };
    const pending = await this.spool.list();
    let delivered = 0;
    for (const [index, seq] of pending.entries()) {
      if (signal?.aborted) return { delivered, remaining: pending.length - index };
      const outcome = await sendReport(endpoint, await this.spool.read(seq));
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
      if (Date.now() >= nextCollectAt) {
        await this.collectToSpool();
        nextCollectAt = Date.now() + this.#jitteredInterval();
      }
      if (!signal.aborted && Date.now() >= retryAt) {
        const result = await this.flush(signal);
        retryAt = result.retryInMs === undefined ? 0 : Date.now() + result.retryInMs;
      }
      const wakeAt = retryAt > Date.now() ? Math.min(retryAt, nextCollectAt) : nextCollectAt;
      await sleep(wakeAt - Date.now(), signal);
    }
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

/** Waits `ms`, or less if `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
