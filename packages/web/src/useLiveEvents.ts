import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { readToken } from './session';
import { SseParser } from './sse';

/**
 * One event of the server's live stream (`GET /api/v1/events`, docs/api.md#live-events):
 * `main.moved`, `change.*` and `review.*` (as webhooks get them), `drift.*` and `host.*` (the drift
 * event log), and `reset`: events were missed (a long disconnection, a server restart), so state
 * shown may be stale and should be read again.
 */
export interface LiveEvent {
  type: string;
  data: Record<string, unknown>;
}

/** Whether the stream is open: `live`; being opened or reopened: `connecting`; given up for now: `offline`. */
export type LiveStatus = 'connecting' | 'live' | 'offline';

type Listener = (event: LiveEvent) => void;

/** Waits before reconnecting, doubling from the first to the last. */
const RETRY_MS = [1000, 2000, 4000, 8000, 15000, 30000];

/**
 * The tab's one connection to the stream, shared by every subscriber, open while anyone listens.
 * EventSource cannot send the Authorization header (and the token must never be in a URL), so
 * the stream is read with fetch() and a body reader; it reconnects with `Last-Event-ID` after
 * failures, so nothing kept by the server is missed.
 */
class LiveConnection {
  readonly #listeners = new Set<Listener>();
  readonly #statusListeners = new Set<() => void>();
  #status: LiveStatus = 'offline';
  #abort: AbortController | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #lastEventId: string | undefined;

  get status(): LiveStatus {
    return this.#status;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#open();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#close();
    };
  }

  watchStatus(listener: () => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  #setStatus(status: LiveStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const listener of this.#statusListeners) listener();
  }

  #open(): void {
    const abort = new AbortController();
    this.#abort = abort;
    this.#setStatus('connecting');
    void this.#read(abort.signal).then(
      () => this.#reconnect(abort),
      () => this.#reconnect(abort),
    );
  }

  async #read(signal: AbortSignal): Promise<void> {
    const token = readToken();
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (this.#lastEventId !== undefined) headers['last-event-id'] = this.#lastEventId;
    const response = await fetch('/api/v1/events', { headers, signal, cache: 'no-store', redirect: 'error' });
    // A refused token: the page's own calls show the error; retrying cannot help.
    if (response.status === 401 || response.status === 403) {
      this.#failures = RETRY_MS.length;
      throw new Error(`the server refused the event stream (${response.status})`);
    }
    if (!response.ok || !response.body) throw new Error(`the server answered ${response.status}`);
    this.#setStatus('live');
    this.#failures = 0;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      for (const event of parser.feed(decoder.decode(value, { stream: true }))) {
        if (event.id !== undefined) this.#lastEventId = event.id;
        let data: Record<string, unknown>;
        try {
          data = JSON.parse(event.data) as Record<string, unknown>;
        } catch {
          continue;
        }
        for (const listener of [...this.#listeners]) listener({ type: event.type, data });
      }
    }
  }

  #reconnect(abort: AbortController): void {
    if (this.#abort !== abort) return; // closed, or replaced by a newer connection
    if (this.#failures >= RETRY_MS.length) {
      this.#setStatus('offline');
      return;
    }
    this.#setStatus('connecting');
    const wait = RETRY_MS[this.#failures++]!;
    this.#retry = setTimeout(() => {
      if (this.#abort === abort) this.#open();
    }, wait);
  }

  #close(): void {
    clearTimeout(this.#retry);
    this.#abort?.abort();
    this.#abort = undefined;
    this.#failures = 0;
    this.#setStatus('offline');
  }
}

const connection = new LiveConnection();

/** True when `type` is one of `types` or under one of them (`drift` covers `drift.opened`). */
function matches(types: readonly string[], type: string): boolean {
  return types.some((prefix) => type === prefix || type.startsWith(`${prefix}.`));
}

/**
 * Calls `onEvent` for each live event of the given types (or type prefixes: `['main.moved',
 * 'drift']`) while the component is mounted; `reset` is always delivered. Returns the stream's
 * status, for a "live" indicator. `onEvent` may change between renders.
 */
export function useLiveEvents(types: readonly string[], onEvent: (event: LiveEvent) => void): LiveStatus {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const key = types.join(',');
  useEffect(
    () =>
      connection.subscribe((event) => {
        if (event.type === 'reset' || matches(types, event.type)) handler.current(event);
      }),
    // `types` is read through its key: a new array each render must not resubscribe.
    [key],
  );
  return useSyncExternalStore(
    (listener) => connection.watchStatus(listener),
    () => connection.status,
  );
}

/**
 * A number that grows with every live event of `types` that `accept` lets through (and every
 * `reset`): put it in a {@link useLoad} key to load again when something relevant happens.
 */
export function useLiveRevision(types: readonly string[], accept: (event: LiveEvent) => boolean = () => true): { revision: number; status: LiveStatus } {
  const [revision, setRevision] = useState(0);
  const status = useLiveEvents(types, (event) => {
    if (event.type === 'reset' || accept(event)) setRevision((n) => n + 1);
  });
  return { revision, status };
}

/**
 * `value`, passed on at most once per `ms`: the first change waits `ms`, then the latest value is
 * returned (a report that opens ten drift items reloads a page once, not ten times).
 */
export function useCoalesced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  const latest = useRef(value);
  latest.current = value;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    if (Object.is(value, settled) || timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      setSettled(latest.current);
    }, ms);
    // Only a new value starts the wait; the timer reads the latest one when it fires.
  }, [value]);
  useEffect(() => () => clearTimeout(timer.current), []);
  return settled;
}
