import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { startServer, type RunningServer } from '../server.js';
import { callJson } from '../testing/callJson.js';
import { hostYaml, makeTestRepo, type TestRepo } from '../testing/gitRepo.js';
import { driftAtHead, eventually } from '../testing/eventually.js';

interface Frame {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/** An open SSE stream read with fetch: its frames as they arrive (comments counted apart). */
class Stream {
  readonly frames: Frame[] = [];
  comments = 0;
  readonly #controller = new AbortController();
  status = 0;
  contentType = '';

  static async open(url: string, token: string, headers: Record<string, string> = {}): Promise<Stream> {
    const stream = new Stream();
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}`, ...headers }, signal: stream.#controller.signal });
    stream.status = response.status;
    stream.contentType = response.headers.get('content-type') ?? '';
    if (response.body) void stream.#read(response.body.getReader());
    return stream;
  }

  async #read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) this.comments++;
            const colon = line.indexOf(':');
            if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
          }
          if (fields.has('event')) this.frames.push({ event: fields.get('event')!, data: JSON.parse(fields.get('data') ?? '{}') as Record<string, unknown>, ...(fields.has('id') ? { id: fields.get('id')! } : {}) });
        }
      }
    } catch {
      // aborted
    }
  }

  close(): void {
    this.#controller.abort();
  }
}

describe('GET /api/v1/events', () => {
  let source: TestRepo;
  let data: string;
  let server: RunningServer;
  let admin: string;
  let approver: string;
  let viewer: string;
  let agent: string;

  beforeAll(async () => {
    source = makeTestRepo('estate-events-');
    source.commit('hosts', { 'assets/hosts/web-01.yaml': hostYaml('web-01') });
    data = mkdtempSync(join(tmpdir(), 'estate-events-data-'));
    server = await startServer({ dataDir: data, importFrom: source.dir, port: 0, pollMs: 100 });
    admin = (await issueToken(server.store, { name: 'ada', role: 'admin' })).token;
    approver = (await issueToken(server.store, { name: 'bob', role: 'approver' })).token;
    viewer = (await issueToken(server.store, { name: 'vic', role: 'viewer' })).token;
    agent = (await issueToken(server.store, { name: 'agent-web-01', role: 'agent', scopes: { hosts: ['web-01'] } })).token;
    await server.indexer.sync();
    await driftAtHead(server);
  });
  afterAll(async () => {
    await server.close();
    rmSync(data, { recursive: true, force: true });
    source.remove();
  });

  it('streams change-request events and main.moved to a viewer, and resumes after Last-Event-ID', async () => {
    const stream = await Stream.open(`${server.url}/api/v1/events`, viewer);
    expect([stream.status, stream.contentType]).toEqual([200, 'text/event-stream; charset=utf-8']);
    const created = await callJson('POST', `${server.url}/api/v1/changes`, admin, {
      title: 'web-01 moves',
      operations: [{ op: 'patch', id: 'host/web-01', patch: { spec: { ip: '10.0.0.9' } } }],
    });
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    await eventually(() => stream.frames, (frames) => frames.some((f) => f.event === 'change.opened'));
    expect((await callJson('POST', `${server.url}/api/v1/changes/${id}/approve`, approver, {})).status).toBe(200);
    await eventually(() => callJson('GET', `${server.url}/api/v1/changes/${id}`, viewer), (answer) => answer.body.state === 'approved');
    const merged = await callJson('POST', `${server.url}/api/v1/changes/${id}/merge`, admin, {});
    expect([merged.status, merged.body.error?.code]).toEqual([200, undefined]);
    const moved = await eventually(() => stream.frames.find((f) => f.event === 'main.moved'), (f) => f !== undefined);
    expect(moved!.data).toMatchObject({ sha: merged.body.merged.sha, commits: 1 });
    const opened = stream.frames.find((f) => f.event === 'change.opened')!;
    expect(opened.data).toMatchObject({ change: { id, title: 'web-01 moves', state: 'open', author: 'ada' }, by: 'ada' });
    expect(stream.frames.some((f) => f.event === 'change.merged' && (f.data['change'] as { id: number }).id === id)).toBe(true);
    stream.close();

    // A client that saw change.opened reconnects: it gets what came after, in order, and no reset.
    const resumed = await Stream.open(`${server.url}/api/v1/events?types=main,change.merged`, viewer, { 'last-event-id': opened.id! });
    await eventually(() => resumed.frames, (frames) => frames.some((f) => f.event === 'main.moved'));
    expect(resumed.frames.map((f) => f.event)).toEqual(stream.frames.slice(stream.frames.indexOf(opened) + 1).filter((f) => f.event === 'main.moved' || f.event === 'change.merged').map((f) => f.event));
    resumed.close();

    // An id of another server process (or one whose events are gone) gets reset first.
    const stale = await Stream.open(`${server.url}/api/v1/events`, viewer, { 'last-event-id': 'deadbeef-3' });
    await eventually(() => stale.frames, (frames) => frames.length > 0);
    expect(stale.frames[0]!.event).toBe('reset');
    stale.close();
  });

  it('streams new drift events (where and what, not the values)', async () => {
    const stream = await Stream.open(`${server.url}/api/v1/events?types=drift`, viewer);
    const report = { reportId: '01JDQ1EVENTS00000000000001', host: 'web-01', seq: 1, collectedAt: new Date().toISOString(), facts: { hostname: 'web-01.example.com', ip: ['10.6.6.6'] } };
    expect((await callJson('POST', `${server.url}/api/v1/reports`, agent, report)).status).toBe(202);
    const opened = await eventually(() => stream.frames.find((f) => f.event === 'drift.opened'), (f) => f !== undefined);
    expect(opened!.data).toMatchObject({ asset: 'host/web-01', host: 'web-01', field: '/spec/ip' });
    expect(JSON.stringify(stream.frames)).not.toContain('10.6.6.6');
    expect(stream.frames.every((f) => f.event.startsWith('drift.'))).toBe(true);
    stream.close();
  });

  it('needs a token unless reads are open, and refuses unknown query parameters', async () => {
    expect(await callJson('GET', `${server.url}/api/v1/events`, undefined)).toMatchObject({ status: 401, body: { error: { code: 'E_UNAUTHORIZED' } } });
    expect(await callJson('GET', `${server.url}/api/v1/events?token=x`, viewer)).toMatchObject({ status: 400, body: { error: { code: 'E_BAD_PARAM' } } });
  });
});
