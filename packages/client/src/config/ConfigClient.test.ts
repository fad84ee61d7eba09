/**
 * The config client's protocol handling (reconnects, heartbeats, `retry:`, duplicates, fallback)
 * against a scripted HTTP server on a real socket. The end-to-end tests against the real Estate
 * server are in tests/server/configClient.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createConfigClient, type ConfigClient, type ConfigClientOptions } from './ConfigClient.js';
import type { ConfigSnapshot } from './types.js';

type Handler = (request: IncomingMessage, response: ServerResponse, connection: number) => void;

const servers: Server[] = [];
const clients: ConfigClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server answering with `handler`; `requests` records each request's headers. */
async function stub(handler: Handler): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    requests.push(request);
    handler(request, response, requests.length);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function client(url: string, options: Partial<ConfigClientOptions> = {}): ConfigClient {
  const created = createConfigClient({ url, token: 'est_secret-token', app: 'billing', env: 'prod', backoff: { initialMs: 20, maxMs: 100 }, ...options });
  clients.push(created);
  return created;
}

const event = (version: string, seq: number, config: Record<string, unknown> = { seq }): string =>
  `id: ${version}\nevent: config\ndata: ${JSON.stringify({ app: 'billing', env: 'prod', version, seq, secrets: 'none', release: 'stable', config })}\n\n`;

function openStream(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('ConfigClient.subscribe', () => {
  it('replaces a connection that stays silent past the heartbeat timeout, resuming from the version held', async () => {
    const server = await stub((request, response, n) => {
      openStream(response);
      // The first connection sends v1 and then nothing, not even heartbeats.
      if (n === 1) response.write(event('v1', 1));
      else response.write(`: heartbeat\n\n${event('v2', 2)}`);
    });
    const seen: ConfigSnapshot[] = [];
    const errors: Error[] = [];
    // Long enough that a loaded machine's slow connection is not itself taken for a silent one (each would be replaced in turn).
    client(server.url, { heartbeatTimeoutMs: 1000 }).subscribe((s) => void seen.push(s), (e) => void errors.push(e));
    await until(() => seen.length === 2, 'v2');
    expect(seen.map((s) => [s.version, s.seq, s.values])).toEqual([
      ['v1', 1, { seq: 1 }],
      ['v2', 2, { seq: 2 }],
    ]);
    expect(server.requests[0]!.headers['last-event-id']).toBeUndefined();
    expect(server.requests[1]!.headers['last-event-id']).toBe('v1');
    expect(server.requests[1]!.headers['authorization']).toBe('Bearer est_secret-token');
    expect(errors[0]?.message).toMatch(/no data from .* for 1000 ms/);
  });

  it('never delivers a version twice, nor a stable version older than the one held', async () => {
    const server = await stub((_request, response, n) => {
      openStream(response);
      // A server that forgot the id resends the current version, then an old one, then closes.
      response.end(n === 1 ? event('v1', 1) + event('v2', 2) : event('v2', 2) + event('v1', 1) + event('v3', 3));
    });
    const seen: string[] = [];
    client(server.url).subscribe((s) => void seen.push(s.version));
    await until(() => seen.includes('v3'), 'v3');
    expect(seen).toEqual(['v1', 'v2', 'v3']);
    expect(server.requests[1]!.headers['last-event-id']).toBe('v2');
  });

  it("waits the server's retry: before reconnecting, and reports refusals while it keeps trying", async () => {
    const server = await stub((_request, response, n) => {
      if (n === 1) {
        openStream(response);
        response.end(`retry: 30\n${event('v1', 1)}`);
      } else if (n === 2) {
        response.writeHead(403, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { code: 'E_FORBIDDEN', message: 'not your app', details: {} } }));
      } else {
        openStream(response);
        response.write(event('v2', 2));
      }
    });
    const seen: string[] = [];
    const errors: Error[] = [];
    client(server.url, { backoff: { initialMs: 60_000, maxMs: 60_000 } }).subscribe((s) => void seen.push(s.version), (e) => void errors.push(e));
    // With the client's own 60 s first delay, v2 could not come in time.
    await until(() => seen.includes('v2'), 'v2 after a retry of 30 ms');
    expect(errors.map((e) => (e as Error & { code?: string }).code)).toEqual(['E_FORBIDDEN']);
  });

  it('reports a config removed from main as E_CONFIG_NOT_FOUND, keeping the version delivered', async () => {
    const server = await stub((_request, response) => {
      openStream(response);
      response.write(`${event('v1', 1)}id: v2\nevent: removed\ndata: {"app":"billing","env":"prod","version":"v2","seq":2}\n\n`);
    });
    const seen: string[] = [];
    const errors: Error[] = [];
    client(server.url).subscribe((s) => void seen.push(s.version), (e) => void errors.push(e));
    await until(() => errors.length === 1, 'the removal');
    expect(seen).toEqual(['v1']);
    expect(errors[0]).toMatchObject({ code: 'E_CONFIG_NOT_FOUND', message: 'config billing/prod was removed from main (version v2)' });
  });

  it('stops when the last subscriber leaves', async () => {
    let closed = 0;
    const server = await stub((_request, response) => {
      openStream(response);
      response.write(event('v1', 1));
      response.on('close', () => closed++);
    });
    const configClient = client(server.url);
    const seen: string[] = [];
    const stopA = configClient.subscribe((s) => void seen.push(`a:${s.version}`));
    const stopB = configClient.subscribe((s) => void seen.push(`b:${s.version}`));
    await until(() => seen.length === 2, 'both listeners');
    stopA();
    expect(closed).toBe(0);
    stopB();
    await until(() => closed === 1, 'the connection to close');
    expect(server.requests).toHaveLength(1);
  });
});

describe('ConfigClient.get', () => {
  it('reads version and seq from the headers, revalidates with If-None-Match, and falls back to what it holds on a 5xx', async () => {
    let failing = false;
    const server = await stub((request, response) => {
      if (failing) {
        response.writeHead(503).end();
      } else if (request.headers['if-none-match'] === '"abc"') {
        response.writeHead(304).end();
      } else {
        response.writeHead(200, { 'content-type': 'application/json', etag: '"abc"', 'estate-config-version': 'abc', 'estate-config-seq': '7', 'estate-config-secrets': 'withheld', 'estate-config-release': 'canary' });
        response.end('{"a":{"b":1}}');
      }
    });
    const configClient = client(server.url, { instance: 'i-1', labels: { zone: 'a', tier: 'web' }, cluster: 'eu-1' });
    const first = await configClient.get();
    expect(first).toEqual({ app: 'billing', env: 'prod', version: 'abc', seq: 7, values: { a: { b: 1 } }, secrets: 'withheld', release: 'canary', source: 'server' });
    expect(new URL(server.requests[0]!.url!, server.url).search).toBe('?format=json&cluster=eu-1&instance=i-1&labels=tier%3Dweb%2Czone%3Da');
    expect(await configClient.get()).toEqual(first);
    failing = true;
    expect(await configClient.get()).toEqual({ ...first, source: 'cache' });
  });

  it('never hides a 404 behind what it holds, and says E_CONFIG_UNAVAILABLE when it holds nothing', async () => {
    const server = await stub((_request, response) => {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'E_CONFIG_NOT_FOUND', message: "no config for billing in 'prod'", details: {} } }));
    });
    await expect(client(server.url).get()).rejects.toMatchObject({ code: 'E_CONFIG_NOT_FOUND', status: 404 });
    const down = client('http://127.0.0.1:1');
    await expect(down.get()).rejects.toMatchObject({ code: 'E_CONFIG_UNAVAILABLE', message: expect.stringContaining('no cacheDir') });
  });
});
