import { describe, expect, it } from 'vitest';
import { SseParser } from './sse';

describe('SseParser', () => {
  it('frames events split anywhere across chunks, skipping heartbeats and retry', () => {
    const stream = 'retry: 2000\n\n: heartbeat\n\nid: a-1\nevent: main.moved\ndata: {"sha":"abc"}\n\nid: a-2\nevent: drift.opened\ndata: {"asset":"host/web-01"}\n\n';
    for (let cut = 0; cut <= stream.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.feed(stream.slice(0, cut)), ...parser.feed(stream.slice(cut))];
      expect(events).toEqual([
        { id: 'a-1', type: 'main.moved', data: '{"sha":"abc"}' },
        { id: 'a-2', type: 'drift.opened', data: '{"asset":"host/web-01"}' },
      ]);
      expect(parser.lastEventId).toBe('a-2');
    }
  });

  it('joins data lines, reads CRLF and CR endings, and defaults the type to message', () => {
    const parser = new SseParser();
    expect(parser.feed('data: one\r\ndata:two\r\n\r\nevent: x\rdata: y\r')).toEqual([{ type: 'message', data: 'one\ntwo' }]);
    expect(parser.feed('\r\n')).toEqual([{ type: 'x', data: 'y' }]);
  });
});
