import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { DriftEvent, DriftStore } from '../drift/DriftStore.js';

/** One event of the live stream: `main.moved`, `change.*`, `review.*`, `drift.*`, `host.*`. */
export interface LiveEvent {
  /** `<epoch>-<n>`: the epoch names this server process, `n` counts up within it. */
  id: string;
  type: string;
  data: Record<string, unknown>;
}

/** Options of {@link LiveEvents}. */
export interface LiveEventsOptions {
  /** Events kept for `Last-Event-ID` resumes; default 1,000. */
  ringSize?: number;
  /** Period of the comment lines that keep idle connections open; default 15 s. */
  heartbeatMs?: number;
  /** Where new drift events are read from (polled), if anywhere. */
  drift?: DriftStore;
  /** The last drift event id that is old news (events after it are streamed). */
  driftAfterId?: number;
  /** How often the drift event log is polled; default 250 ms. */
  driftPollMs?: number;
}

/** A connected stream. */
interface Subscriber {
  response: ServerResponse;
  /** Type prefixes it asked for (`change`, `drift.opened`); empty: all. */
  types: readonly string[];
}

/** A stream whose unsent output exceeds this is too slow and is cut (it reconnects and resumes). */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/**
 * Drift events read per turn of the event loop: a poll that finds more goes on in the next turn,
 * so a burst (a fleet-wide package upgrade drifts thousands of fields at once) does not hold up
 * the other work of the loop, the answers to agents among it, for the whole of it.
 */
const DRIFT_BATCH = 200;

/**
 * The server's live event stream (`GET /api/v1/events`, docs/api.md#live-events): change-request
 * events as webhooks get them, new rows of the drift event log, and `main.moved` when the indexer
 * has a new head. Events are numbered in this process and the last {@link LiveEventsOptions.ringSize}
 * are kept in memory, so a client that reconnects with `Last-Event-ID` gets what it missed; when it
 * missed more than that, or the id is from another process (a restart), it is sent `reset` first:
 * state it holds may be stale and should be read again.
 */
export class LiveEvents {
  readonly #epoch = randomBytes(4).toString('hex');
  readonly #ring: LiveEvent[] = [];
  readonly #ringSize: number;
  readonly #subscribers = new Set<Subscriber>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #drift: DriftStore | undefined;
  #driftCursor: number;
  /** A poll goes on in the next turn of the loop. */
  #driftPending: NodeJS.Immediate | undefined;
  #seq = 0;

  constructor(options: LiveEventsOptions = {}) {
    this.#ringSize = options.ringSize ?? 1000;
    this.#drift = options.drift;
    this.#driftCursor = options.driftAfterId ?? 0;
    const heartbeat = setInterval(() => this.#broadcastRaw(': heartbeat\n\n'), options.heartbeatMs ?? 15_000);
    heartbeat.unref();
    this.#timers.push(heartbeat);
    if (this.#drift) {
      const poll = setInterval(() => this.pollDrift(), options.driftPollMs ?? 250);
      poll.unref();
      this.#timers.push(poll);
    }
  }

  /** Streams open now. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Numbers an event, keeps it in the ring and writes it to every stream that wants it. */
  publish(type: string, data: Record<string, unknown>): LiveEvent {
    const event: LiveEvent = { id: `${this.#epoch}-${++this.#seq}`, type, data };
    this.#ring.push(event);
    if (this.#ring.length > this.#ringSize) this.#ring.shift();
    const frame = formatEvent(event);
    for (const subscriber of this.#subscribers) if (wants(subscriber, type)) this.#write(subscriber, frame);
    return event;
  }

  /** Announces main's new head (the indexer's last stored commit). */
  mainMoved(commits: ReadonlyArray<{ sha: string; seq: number }>): void {
    const last = commits[commits.length - 1];
    if (last) this.publish('main.moved', { sha: last.sha, seq: last.seq, commits: commits.length });
  }

  /** The id of the last event published (`<epoch>-0` before any). */
  get lastEventId(): string {
    return `${this.#epoch}-${this.#seq}`;
  }

  /**
   * Publishes the drift events logged since the last poll, {@link DRIFT_BATCH} of them now and the
   * rest in the next turns of the loop (the timer calls it; tests may too).
   */
  pollDrift(): void {
    if (!this.#drift || this.#driftPending) return;
    const events = this.#drift.events({ afterId: this.#driftCursor, limit: DRIFT_BATCH });
    for (const event of events) this.publish(event.type, driftData(event));
    if (events.length > 0) this.#driftCursor = events[events.length - 1]!.id;
    if (events.length === DRIFT_BATCH) {
      this.#driftPending = setImmediate(() => {
        this.#driftPending = undefined;
        this.pollDrift();
      });
    }
  }

  /**
   * Answers a hijacked request with the stream: the events after `lastEventId` (or `reset` when
   * they are no longer all kept), then each new one, until the client goes.
   */
  subscribe(response: ServerResponse, options: { lastEventId?: string; types?: readonly string[] } = {}): void {
    const subscriber: Subscriber = { response, types: options.types ?? [] };
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    response.socket?.setNoDelay(true);
    response.socket?.setTimeout(0);
    let head = 'retry: 2000\n\n';
    if (options.lastEventId !== undefined) {
      const missed = this.#missedSince(options.lastEventId);
      if (missed === undefined) head += formatEvent({ id: this.lastEventId, type: 'reset', data: { reason: 'the events after Last-Event-ID are no longer kept: read the state again' } });
      else for (const event of missed) if (wants(subscriber, event.type)) head += formatEvent(event);
    }
    this.#subscribers.add(subscriber);
    response.on('close', () => this.#subscribers.delete(subscriber));
    this.#write(subscriber, head);
  }

  /** Ends every stream and stops the timers. */
  close(): void {
    for (const timer of this.#timers) clearInterval(timer);
    clearImmediate(this.#driftPending);
    this.#driftPending = undefined;
    for (const subscriber of this.#subscribers) subscriber.response.end();
    this.#subscribers.clear();
  }

  /** The kept events after `id`; undefined when some of them are gone (or `id` is not this process's). */
  #missedSince(id: string): LiveEvent[] | undefined {
    const [epoch, n] = id.split('-');
    const seq = Number(n);
    if (epoch !== this.#epoch || !Number.isInteger(seq) || seq < 0 || seq > this.#seq) return undefined;
    const oldest = this.#ring[0];
    const oldestSeq = oldest ? Number(oldest.id.split('-')[1]) : this.#seq + 1;
    if (seq < oldestSeq - 1) return undefined;
    return this.#ring.filter((event) => Number(event.id.split('-')[1]) > seq);
  }

  #broadcastRaw(text: string): void {
    for (const subscriber of this.#subscribers) this.#write(subscriber, text);
  }

  #write(subscriber: Subscriber, text: string): void {
    const { response } = subscriber;
    if (response.writableLength > MAX_BUFFERED_BYTES) {
      this.#subscribers.delete(subscriber);
      response.destroy();
      return;
    }
    response.write(text);
  }
}

/** The SSE frame of an event. */
function formatEvent(event: LiveEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

function wants(subscriber: Subscriber, type: string): boolean {
  return subscriber.types.length === 0 || subscriber.types.some((prefix) => type === prefix || type.startsWith(`${prefix}.`));
}

/** What a drift event says on the stream: where and what, not the values (read them from the drift API). */
function driftData(event: DriftEvent): Record<string, unknown> {
  return {
    eventId: event.id,
    at: event.at,
    ...(event.asset !== undefined ? { asset: event.asset } : {}),
    ...(event.host !== undefined ? { host: event.host } : {}),
    ...(event.field !== undefined ? { field: event.field } : {}),
    ...(event.commit !== undefined ? { commit: event.commit } : {}),
  };
}
