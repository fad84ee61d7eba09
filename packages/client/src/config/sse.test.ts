import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from './sse.js';

function parse(chunks: string[]): { events: SseEvent[]; retries: number[] } {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const parser = new SseParser({ onEvent: (event) => events.push(event), onRetry: (ms) => retries.push(ms) });
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return { events, retries };
}

describe('SseParser', () => {
  it('reads events, ids, comments and retry, with lines split anywhere and any line ending', () => {
    const stream = 'retry: 2000\n: heartbeat\r\nid: a1\nevent: config\ndata: {"x":\ndata: 1}\n\nid: b2\revent: config\rdata:two\r\r';
    for (const size of [1, 2, 3, 7, stream.length]) {
      const chunks: string[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.slice(i, i + size));
      expect(parse(chunks)).toEqual({
        events: [
          { id: 'a1', event: 'config', data: '{"x":\n1}' },
          { id: 'b2', event: 'config', data: 'two' },
        ],
        retries: [2000],
      });
    }
  });

  it('keeps the last id for later events, ignores events without data, bad retry values and an unterminated event', () => {
    const { events, retries } = parse(['id: a\ndata: 1\n\nevent: config\n\ndata: 2\n\nretry: soon\nid: x\0y\ndata: 3\n\ndata: cut']);
    expect(events).toEqual([
      { id: 'a', event: 'message', data: '1' },
      { id: 'a', event: 'message', data: '2' },
      { id: 'a', event: 'message', data: '3' },
    ]);
    expect(retries).toEqual([]);
  });
});
