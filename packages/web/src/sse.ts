/** One server-sent event as the stream framed it. */
export interface SseEvent {
  id?: string;
  /** The `event:` field; `message` when absent (as EventSource does). */
  type: string;
  data: string;
}

/**
 * A parser of a `text/event-stream` body fed in chunks as they arrive (the HTML standard's event
 * stream interpretation): `feed` returns the events completed by the chunk; comment lines
 * (heartbeats) and `retry:` are skipped; lines may end in LF, CRLF or CR.
 */
export class SseParser {
  #buffer = '';
  #id: string | undefined;
  #type = '';
  #data: string[] = [];

  feed(chunk: string): SseEvent[] {
    this.#buffer += chunk;
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      // A lone CR at the end may be the first half of CRLF: wait for the next chunk.
      if (!match || (match[0] === '\r' && match.index === this.#buffer.length - 1)) break;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      if (line === '') {
        if (this.#data.length > 0) events.push({ ...(this.#id !== undefined ? { id: this.#id } : {}), type: this.#type || 'message', data: this.#data.join('\n') });
        this.#type = '';
        this.#data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') this.#data.push(value);
      else if (field === 'event') this.#type = value;
      else if (field === 'id' && !value.includes('\0')) this.#id = value;
    }
    return events;
  }

  /** The id of the last event seen, for `Last-Event-ID` on reconnect. */
  get lastEventId(): string | undefined {
    return this.#id;
  }
}
