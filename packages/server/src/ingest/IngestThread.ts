import { Worker } from 'node:worker_threads';
import { EstateError } from '@estate/core';
import type { DriftSnapshot } from '../drift/DriftEngine.js';
import type { IngestOptions } from './IngestService.js';
import { LoadShedder } from './LoadShedder.js';
import { fromThreadError, type FromThread, type IngestThreadData, type SubmitEntry, type ThreadCall, type ToThread } from './threadMessages.js';
import type { Ingest, IngestMetric, ReportToken, SubmitResult } from './types.js';

/** Token scopes the thread keeps at most (a fleet of one token per host: 20k hosts is 20k tokens). */
const MAX_SCOPES_SENT = 50_000;

/** Omit a distributive union member's key (for calls before their id is given). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * The worker's module: the build's, also when this runs from the sources under the test runner
 * (a worker thread does not go through its transform; `npm test` builds first).
 */
function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../dist/ingest/ingestWorker.js', here) : new URL('./ingestWorker.js', here);
}

/**
 * Report ingestion in a worker thread of its own (docs/ingest.md#the-ingest-thread): the main
 * thread authenticates and admits a report and answers its request; the ingest thread parses,
 * checks and queues it (group commit, sync), applies the queue and runs the report processors,
 * with its own connection to ingest.db. Reads (observations, dead letters) use the main thread's
 * connection, not this class. Submissions made in one turn of the event loop cross to the thread
 * in one message, and their acknowledgements come back the same way.
 */
export class IngestThread implements Ingest {
  readonly options: Readonly<IngestOptions>;
  readonly #worker: Worker;
  readonly #shedder: LoadShedder;
  #nextId = 1;
  readonly #submits = new Map<number, { resolve: (result: SubmitResult) => void; reject: (error: unknown) => void }>();
  readonly #calls = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  #outbox: SubmitEntry[] = [];
  /** Tokens whose host scope the thread has (see {@link SubmitEntry}); forgotten on both sides at {@link MAX_SCOPES_SENT}. */
  readonly #scopesSent = new Set<string>();
  #forgetScopes = false;
  /** The thread's backlog as it last told it. */
  #backlog = 0;
  /** Why the thread is gone, once it is. */
  #down: Error | undefined;
  #closing: Promise<void> | undefined;
  #onEvaluated: () => void = () => undefined;

  private constructor(worker: Worker, options: IngestOptions) {
    this.#worker = worker;
    this.options = options;
    this.#shedder = new LoadShedder(options);
    worker.on('message', (message: FromThread) => this.#receive(message));
    worker.on('error', (error) => this.#fail(new EstateError('E_NOT_READY', `the ingest thread failed: ${error.message}; reports are refused until the server restarts`, {})));
    worker.on('exit', () => this.#fail(new EstateError('E_NOT_READY', 'the ingest thread stopped; reports are refused until the server restarts', {})));
  }

  /**
   * Starts the thread over `file` (ingest.db, which the main thread's connection has opened and
   * set up already: it reads there) and resolves once it is ready. Report processors
   * besides the built-in ones come as modules (`more.processorModules`): functions do not cross
   * to another thread.
   */
  static async start(file: string, options: IngestOptions, more: Pick<IngestThreadData, 'drift' | 'processorModules'>): Promise<IngestThread> {
    const { processors, log, ...plain } = options;
    if (processors.length > 0) throw new EstateError('E_BAD_PARAM', 'in the ingest thread, extra report processors come as modules (ingestProcessorModules), not functions', { option: 'processors' });
    const data: IngestThreadData = { file, options: plain, ...more };
    const worker = new Worker(workerUrl(), { workerData: data });
    const ready = await new Promise<FromThread>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (ready.type !== 'ready') {
      await worker.terminate();
      const cause = ready.type === 'fatal' ? fromThreadError(ready.error) : new Error(`unexpected first message ${ready.type}`);
      throw new EstateError('E_NOT_READY', `the ingest thread could not start: ${cause.message}`, {}, { cause });
    }
    const thread = new IngestThread(worker, { ...options, log });
    thread.#backlog = ready.backlog;
    return thread;
  }

  /** Calls `listener` when the thread may have written drift events (after it evaluated reports or a snapshot). */
  onEvaluated(listener: () => void): void {
    this.#onEvaluated = listener;
  }

  admit(): void {
    const backlog = this.#backlog + this.#submits.size;
    if (backlog >= this.options.maxBacklog) {
      throw new EstateError('E_BACKLOG_FULL', `the ingest backlog is full (${this.options.maxBacklog} reports queued); retry after ${this.options.retryAfterSeconds} s`, {
        reason: 'backlog',
        backlog,
        limit: this.options.maxBacklog,
        retryAfterSeconds: this.options.retryAfterSeconds,
      });
    }
    this.#shedder.admit({ backlog, limit: this.options.maxBacklog });
  }

  /** Hands the body to the ingest thread, which parses, checks and queues it (docs/ingest.md#the-ingest-thread). */
  submitText(text: string, token: ReportToken): Promise<SubmitResult> {
    if (this.#down) return Promise.reject(this.#down);
    if (this.#closing) return Promise.reject(new EstateError('E_NOT_READY', 'the server is shutting down; send the report again later', {}));
    const id = this.#nextId++;
    if (this.#outbox.length === 0) setImmediate(() => this.#flush());
    const entry: SubmitEntry = { id, text, tokenId: token.id };
    if (!this.#scopesSent.has(token.id)) {
      if (this.#scopesSent.size >= MAX_SCOPES_SENT) {
        this.#scopesSent.clear();
        this.#forgetScopes = true;
      }
      this.#scopesSent.add(token.id);
      entry.hosts = token.scopes['hosts'] ?? [];
    }
    this.#outbox.push(entry);
    return new Promise((resolve, reject) => this.#submits.set(id, { resolve, reject }));
  }

  async replay(deadLetterId: number): Promise<string> {
    return (await this.#call({ type: 'replay', deadLetterId })) as string;
  }

  async prune(now = Date.now()): Promise<number> {
    return (await this.#call({ type: 'prune', now })) as number;
  }

  /** Has the thread take `snapshot` as the declared side and re-evaluate every observed host against it. */
  async evaluateAll(snapshot: DriftSnapshot): Promise<void> {
    await this.#call({ type: 'snapshot', snapshot });
  }

  /** The thread's gauges and counters, and `estate_ingest_thread_up` (0 once the thread is gone: then alone). */
  async metrics(): Promise<IngestMetric[]> {
    const up = (value: number): IngestMetric => ({ name: 'estate_ingest_thread_up', help: '1 while the ingest thread runs; 0 once it stopped (reports are refused until a restart).', value });
    if (this.#down) return [up(0)];
    const metrics = (await this.#call({ type: 'metrics' })) as IngestMetric[];
    // The thread's shedder is never asked: this thread sheds.
    return [up(1), ...metrics.map((m) => (m.name === 'estate_ingest_reports_shed_total' ? { ...m, value: this.#shedder.shed } : m))];
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#shedder.close();
      this.#flush();
      if (!this.#down) await this.#call({ type: 'close' }).catch((error: unknown) => this.options.log('error', `ingest: closing the ingest thread failed: ${(error as Error).message}`));
      await this.#worker.terminate();
    })();
    return this.#closing;
  }

  #flush(): void {
    if (this.#outbox.length === 0 || this.#down) return;
    this.#post({ type: 'submit', forgetScopes: this.#forgetScopes, reports: this.#outbox });
    this.#outbox = [];
    this.#forgetScopes = false;
  }

  #call(call: WithoutId<ThreadCall>): Promise<unknown> {
    if (this.#down) return Promise.reject(this.#down);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.#post({ ...call, id } as ThreadCall);
    });
  }

  #post(message: ToThread): void {
    this.#worker.postMessage(message);
  }

  #receive(message: FromThread): void {
    switch (message.type) {
      case 'acks':
        for (const { id, result, error } of message.acks) {
          const waiting = this.#submits.get(id);
          this.#submits.delete(id);
          if (error) waiting?.reject(fromThreadError(error));
          else waiting?.resolve(result!);
        }
        return;
      case 'reply': {
        const waiting = this.#calls.get(message.id);
        this.#calls.delete(message.id);
        if (message.error) waiting?.reject(fromThreadError(message.error));
        else waiting?.resolve(message.value);
        return;
      }
      case 'backlog':
        this.#backlog = message.backlog;
        return;
      case 'evaluated':
        this.#onEvaluated();
        return;
      case 'log':
        this.options.log(message.level, message.message, message.data);
        return;
      case 'ready':
      case 'fatal':
        return;
    }
  }

  /** The thread is gone: whatever waits on it is refused, and so is everything after. */
  #fail(error: EstateError): void {
    if (this.#down) return;
    this.#down = error;
    if (!this.#closing) this.options.log('error', error.message);
    for (const waiting of [...this.#submits.values(), ...this.#calls.values()]) waiting.reject(error);
    this.#submits.clear();
    this.#calls.clear();
    this.#outbox = [];
  }
}
