import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { EstateError } from '@estate/core';

/** How often the event-loop delay is read to decide on shedding load (ms)… */
const LOAD_WINDOW_MS = 500;
/** …and the reports offered in such a window below which none is shed (a slow start-up or a busy indexer alone is no overload). */
const SHED_MIN_REPORTS = 100;
/** The share of reports shed grows by this much per saturated window and falls by half as much per calm one. */
const SHED_STEP = 0.1;
/** Some reports are always let through, so goodput never drops to nothing. */
const SHED_MAX_SHARE = 0.9;

/**
 * Refuses a growing share of new reports while the event loop of the thread that answers them
 * lags (mean delay over half a second above `shedLoopDelayMs`, with at least 100 reports offered
 * in that half second): past its capacity the server sheds the excess with `429` instead of
 * letting every answer wait for seconds. Additive steps: the refused share settles where the load
 * left is what the server can take.
 */
export class LoadShedder {
  readonly #o: { shedLoopDelayMs: number; retryAfterSeconds: number };
  readonly #loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  readonly #timer: NodeJS.Timeout;
  /** The share of offered reports refused while the server is saturated (0 when it is not). */
  #share = 0;
  /** Accumulates `#share` per offered report: a report is refused each time it reaches 1. */
  #credit = 0;
  /** Reports offered in the current window. */
  #offered = 0;
  #shed = 0;

  constructor(options: { shedLoopDelayMs: number; retryAfterSeconds: number }) {
    this.#o = options;
    this.#loopDelay.enable();
    this.#timer = setInterval(() => {
      const saturated = this.#offered >= SHED_MIN_REPORTS && this.#loopDelay.mean / 1e6 > this.#o.shedLoopDelayMs;
      this.#share = saturated ? Math.min(SHED_MAX_SHARE, this.#share + SHED_STEP) : Math.max(0, this.#share - SHED_STEP / 2);
      this.#offered = 0;
      this.#loopDelay.reset();
    }, LOAD_WINDOW_MS).unref();
  }

  /** Reports refused since the start. */
  get shed(): number {
    return this.#shed;
  }

  /** Counts an offered report; throws `E_BACKLOG_FULL` (reason `saturated`) when it falls in the share being shed. */
  admit(backlog: { backlog: number; limit: number }): void {
    this.#offered++;
    this.#credit += this.#share;
    if (this.#credit < 1) return;
    this.#credit -= 1;
    this.#shed++;
    throw new EstateError('E_BACKLOG_FULL', `the server is saturated (its event loop is over ${this.#o.shedLoopDelayMs} ms behind); retry after ${this.#o.retryAfterSeconds} s`, {
      reason: 'saturated',
      ...backlog,
      retryAfterSeconds: this.#o.retryAfterSeconds,
    });
  }

  close(): void {
    clearInterval(this.#timer);
    this.#loopDelay.disable();
  }
}
