/** One dispatched server-sent event. */
export interface SseEvent {
  /** The last event id the stream set (it carries over to later events, as the spec says). */
  id: string | undefined;
  /** The `event:` field, `message` when none was given. */
  event: string;
  data: string;
}

/** What an {@link SseParser} reports. */
export interface SseHandlers {
  onEvent(event: SseEvent): void;
  /** A valid `retry:` field: the server's reconnection time, in milliseconds. */
  onRetry?(ms: number): void;
}

/**
 * An incremental parser of `text/event-stream` (WHATWG HTML, "Server-sent events", 9.2.6
 * "Interpreting an event stream"): lines end in CRLF, LF or CR, even split across chunks; `:`
 * starts a comment; a blank line dispatches the event; an event without data is not dispatched.
 * The caller decodes UTF-8 (a streaming TextDecoder also drops the BOM).
 */
export class SseParser {
  #buffer = '';
  #data: string[] = [];
  #event = '';
  #lastEventId: string | undefined;

  constructor(private readonly handlers: SseHandlers) {}

  /** Feeds the next decoded chunk. */
  push(chunk: string): void {
    this.#buffer += chunk;
    let start = 0;
    for (;;) {
      const cr = this.#buffer.indexOf('\r', start);
      const lf = this.#buffer.indexOf('\n', start);
      if (cr === -1 && lf === -1) break;
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      // A CR at the very end may be the first half of a CRLF split across chunks: wait for more.
      if (end === cr && end === this.#buffer.length - 1) break;
      this.#line(this.#buffer.slice(start, end));
      start = end + (end === cr && this.#buffer[end + 1] === '\n' ? 2 : 1);
    }
    this.#buffer = this.#buffer.slice(start);
  }

  /** The stream ended: a trailing CR ends its line; an event without its blank line is dropped (spec). */
  end(): void {
    if (this.#buffer.endsWith('\r')) this.#line(this.#buffer.slice(0, -1));
    this.#buffer = '';
    this.#data = [];
    this.#event = '';
  }

  #line(line: string): void {
    if (line === '') {
      this.#dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#event = value;
        break;
      case 'data':
        this.#data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.#lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
      default:
        // Unknown fields are ignored.
        break;
    }
  }

  #dispatch(): void {
    const data = this.#data;
    const event = this.#event;
    this.#data = [];
    this.#event = '';
    if (data.length === 0) return;
    this.handlers.onEvent({ id: this.#lastEventId, event: event === '' ? 'message' : event, data: data.join('\n') });
  }
}
