import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../webhooks/signWebhookBody.js';
import { patchHost, startChangeFixture, type ChangeFixture, type JsonBody } from '../testing/changeFixture.js';

let f: ChangeFixture;
let receiver: Server;
const received: Array<{ event: string; signature: string; body: string }> = [];
const SECRET = 'a-shared-secret-of-some-length';

beforeAll(async () => {
  f = await startChangeFixture();
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      received.push({ event: String(request.headers['x-estate-event']), signature: String(request.headers['x-estate-signature-256']), body });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
}, 60_000);

afterAll(async () => {
  await f?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('webhooks of change requests', () => {
  it('posts signed events as a change request goes from opened to merged', async () => {
    const address = receiver.address() as { port: number };
    const hook = await f.call('POST', '/api/v1/webhooks', f.tokens.root, { url: `http://127.0.0.1:${address.port}/hook`, events: ['change.*'], secret: SECRET });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    const created = await f.call('POST', '/api/v1/changes', f.tokens.alice, { title: 'hooked', operations: [patchHost('web-01', { os: 'debian-13' })] });
    await f.call('POST', `/api/v1/changes/${created.body.id}/approve`, f.tokens.bob);
    await f.call('POST', `/api/v1/changes/${created.body.id}/merge`, f.tokens.alice, {});
    for (let i = 0; i < 200 && !received.some((r) => r.event === 'change.merged'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(received.map((r) => r.event)).toEqual(['change.checked', 'change.opened', 'change.approved', 'change.merged']);
    for (const delivery of received) {
      expect(verifyWebhookSignature(SECRET, delivery.body, delivery.signature)).toBe(true);
      const payload = JSON.parse(delivery.body) as JsonBody;
      expect(payload.data.change).toMatchObject({ id: created.body.id, title: 'hooked', author: 'alice' });
    }
    const merged = JSON.parse(received.at(-1)!.body) as JsonBody;
    expect(merged.data).toMatchObject({ by: 'alice', change: { state: 'merged', merged: { by: 'alice' } } });
    const log = await f.call('GET', `/api/v1/webhooks/${hook.body.id}/deliveries`, f.tokens.root);
    expect(log.body.items.length).toBe(4);
    expect(JSON.stringify(log.body)).not.toContain(SECRET);
  });
});
