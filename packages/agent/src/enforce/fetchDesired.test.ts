import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesiredState } from '../types.js';
import { DesiredStateClient } from './fetchDesired.js';

const DESIRED: DesiredState = { host: 'web-01', asset: 'host/web-01', commit: 'c'.repeat(40), mode: 'enforce', files: [{ path: '/etc/motd', content: 'hi\n', encoding: 'utf8', sha256: 'a'.repeat(64) }], reverts: [] };

let server: Server;
let url: string;
const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
let answer: { status: number; body: string } = { status: 200, body: JSON.stringify(DESIRED) };

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    if (answer.status === 200 && req.headers['if-none-match'] === '"v1"') return res.writeHead(304, { etag: '"v1"' }).end();
    res.writeHead(answer.status, { 'content-type': 'application/json', etag: '"v1"' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('DesiredStateClient', () => {
  it('sends the ETag back and reuses the last answer on 304; a refusal is E_DESIRED with the server code', async () => {
    const client = new DesiredStateClient({ server: new URL(url), token: 'est_t', fetch: globalThis.fetch.bind(globalThis), timeoutMs: 5000 }, 'web-01');
    expect(await client.fetch()).toEqual(DESIRED);
    expect(await client.fetch()).toEqual(DESIRED);
    expect(seen.map((request) => [request.url, request.headers.authorization, request.headers['if-none-match']])).toEqual([
      ['/api/v1/hosts/web-01/desired', 'Bearer est_t', undefined],
      ['/api/v1/hosts/web-01/desired', 'Bearer est_t', '"v1"'],
    ]);

    answer = { status: 403, body: JSON.stringify({ error: { code: 'E_FORBIDDEN', message: 'no' } }) };
    await expect(client.fetch()).rejects.toMatchObject({ code: 'E_DESIRED', data: { code: 'E_FORBIDDEN', status: 403 } });
    answer = { status: 200, body: JSON.stringify({ ...DESIRED, files: [{ path: 'relative' }] }) };
    await expect(new DesiredStateClient({ server: new URL(url), token: 'est_t', fetch: globalThis.fetch.bind(globalThis), timeoutMs: 5000 }, 'web-01').fetch()).rejects.toMatchObject({
      code: 'E_DESIRED',
      data: { code: 'E_BAD_ANSWER' },
    });
  });
});
