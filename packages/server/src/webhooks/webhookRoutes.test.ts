import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { buildApp } from '../http/app.js';
import { openSqliteStore } from '../store/sqliteStore.js';
import type { Role, Store } from '../store/Store.js';
import { WebhookDispatcher } from './WebhookDispatcher.js';
import { registerWebhookRoutes, type WebhookAuditPort } from './webhookRoutes.js';
import type { WebhookDelivery } from './types.js';

/** A parsed JSON answer: tests read into it freely and assert what they find. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type JsonBody = any;

const SECRET = 'route-test-secret-0123456789';
const ENV_SECRET = 'estate-yaml-secret-0123456789';

describe('webhook routes', () => {
  let dir: string;
  let store: Store;
  let db: Database.Database;
  let webhooks: WebhookDispatcher;
  let app: FastifyInstance;
  /** Answers nothing: a delivery to it stays pending (in flight) until the dispatcher stops. */
  let silent: Server;
  let silentUrl: string;
  const tokens: Partial<Record<Role, string>> = {};
  const audited: Array<Parameters<WebhookAuditPort['append']>[0]> = [];
  /** Every answer body, to check that no secret ever appears in one. */
  const answers: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'estate-webhook-routes-'));
    const file = join(dir, 'estate.db');
    store = await openSqliteStore(file);
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
    webhooks = new WebhookDispatcher(db, { retryDelaysMs: [], timeoutMs: 60_000, env: { CHAT_SECRET: ENV_SECRET } });
    webhooks.setConfigured([{ name: 'chat', url: 'https://chat.example.com/hooks/T0/B0/xyz', events: ['change.merged'], secretEnv: 'CHAT_SECRET' }]);
    for (const role of ['viewer', 'editor', 'approver', 'admin'] as const) tokens[role] = (await issueToken(store, { name: `${role}-user`, role })).token;
    app = await buildApp({ store, status: () => ({ state: 'ready', commitsIndexed: 0, lagSeconds: 0, headErrors: 0 }) });
    registerWebhookRoutes(app, { webhooks, audit: { append: (event) => audited.push(event) } });
    await app.ready();
  });

  afterAll(async () => {
    await webhooks?.stop();
    await app?.close();
    silent?.closeAllConnections();
    await new Promise((resolve) => silent?.close(resolve));
    db?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function call(method: 'GET' | 'POST' | 'DELETE', url: string, options: { body?: unknown; role?: Role | '' } = {}): Promise<LightMyRequestResponse> {
    const token = options.role === '' ? undefined : tokens[options.role ?? 'admin'];
    const answer = await app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(options.body !== undefined ? { payload: options.body as Record<string, unknown> } : {}),
    });
    answers.push(answer.body);
    return answer;
  }

  function expectError(answer: LightMyRequestResponse, status: number, code: string, message: string | RegExp): void {
    const body = answer.json() as JsonBody;
    expect({ status: answer.statusCode, code: body.error?.code }, answer.body).toEqual({ status, code });
    expect(body.error.message).toMatch(message);
  }

  async function until(id: string, done: (deliveries: WebhookDelivery[]) => boolean): Promise<WebhookDelivery[]> {
    for (;;) {
      const deliveries = webhooks.deliveries(id, { limit: 100 });
      if (done(deliveries)) return deliveries;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('are for admins only', async () => {
    const routes: Array<['GET' | 'POST' | 'DELETE', string, unknown?]> = [
      ['POST', '/api/v1/webhooks', { url: 'https://example.com/', secret: SECRET }],
      ['GET', '/api/v1/webhooks'],
      ['GET', '/api/v1/webhooks/cfg-chat'],
      ['DELETE', '/api/v1/webhooks/cfg-chat'],
      ['GET', '/api/v1/webhooks/cfg-chat/deliveries'],
      ['POST', '/api/v1/webhooks/deliveries/1/redeliver'],
    ];
    for (const [method, url, body] of routes) {
      expectError(await call(method, url, { body, role: '' }), 401, 'E_UNAUTHORIZED', /token/);
      for (const role of ['viewer', 'editor', 'approver'] as const) {
        expectError(await call(method, url, { body, role }), 403, 'E_FORBIDDEN', `this needs the role 'admin'`);
      }
    }
    expect(webhooks.list().map((w) => w.id)).toEqual(['cfg-chat']);
  });

  it('adds a webhook and lists it with the estate.yaml ones, never with its secret', async () => {
    const created = await call('POST', '/api/v1/webhooks', { body: { url: 'https://ci.example.com/estate', events: ['change.*'], secret: SECRET, description: 'CI' } });
    expect(created.statusCode).toBe(201);
    const body = created.json() as JsonBody;
    expect(body).toEqual({ id: expect.stringMatching(/^wh_/), url: 'https://ci.example.com/estate', events: ['change.*'], source: 'api', format: 'estate', createdAt: expect.any(String), description: 'CI' });
    expect(created.headers.location).toBe(`/api/v1/webhooks/${body.id}`);
    expect(created.headers['cache-control']).toBe('no-store');
    expect(audited.at(-1)).toEqual({ actor: 'admin-user', event: 'webhook.created', subject: `webhook/${body.id}`, details: { host: 'ci.example.com', events: ['change.*'] } });

    const list = await call('GET', '/api/v1/webhooks');
    expect(list.statusCode).toBe(200);
    expect((list.json() as JsonBody).items.map((w: JsonBody) => [w.id, w.source])).toEqual([
      ['cfg-chat', 'estate.yaml'],
      [body.id, 'api'],
    ]);
    const one = await call('GET', `/api/v1/webhooks/${body.id}`);
    expect(one.json()).toEqual(body);
    expectError(await call('GET', '/api/v1/webhooks/wh_nope'), 404, 'E_WEBHOOK_NOT_FOUND', "webhook 'wh_nope' does not exist");
  });

  it('adds a webhook of format slack for drift alerts', async () => {
    const created = await call('POST', '/api/v1/webhooks', { body: { url: 'https://hooks.example.com/T1/B2', events: ['drift.*', 'host.stale'], secret: SECRET, format: 'slack' } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ events: ['drift.*', 'host.stale'], format: 'slack' });
  });

  it('refuses a bad url, a short secret, unknown events and unknown fields with 400 E_BAD_PARAM', async () => {
    const post = (body: unknown): Promise<LightMyRequestResponse> => call('POST', '/api/v1/webhooks', { body });
    expectError(await post({ url: 'gopher://example.com/', secret: SECRET }), 400, 'E_BAD_PARAM', "webhook url 'gopher://example.com/' must use http or https, not gopher");
    expectError(await post({ url: 'https://example.com/', secret: 'too-short' }), 400, 'E_BAD_PARAM', 'a webhook secret must be a string of 16 to 1024 characters');
    expectError(await post({ url: 'https://example.com/', secret: SECRET, events: ['change.mergd'] }), 400, 'E_BAD_PARAM', /^unknown webhook event 'change.mergd'/);
    expectError(await post({ url: 'https://example.com/', secret: SECRET, token: 'x' }), 400, 'E_BAD_PARAM', "unknown parameter 'token'");
    expectError(await post({ url: 'https://example.com/' }), 400, 'E_BAD_PARAM', "missing parameter 'secret'");
    expectError(await post({ url: 'https://example.com/', secret: SECRET, format: 'teams' }), 400, 'E_BAD_PARAM', /format/);
    expect(answers.join('\n')).not.toContain('too-short');
  });

  it('removes an API webhook, and refuses to remove an estate.yaml one', async () => {
    const created = (await call('POST', '/api/v1/webhooks', { body: { url: 'https://gone.example.com/x', secret: SECRET } })).json() as JsonBody;
    const removed = await call('DELETE', `/api/v1/webhooks/${created.id}`);
    expect(removed.statusCode).toBe(204);
    expect(removed.body).toBe('');
    expect(audited.at(-1)).toEqual({ actor: 'admin-user', event: 'webhook.deleted', subject: `webhook/${created.id}`, details: { host: 'gone.example.com' } });
    expectError(await call('DELETE', `/api/v1/webhooks/${created.id}`), 404, 'E_WEBHOOK_NOT_FOUND', `webhook '${created.id}' does not exist`);
    expectError(await call('DELETE', '/api/v1/webhooks/cfg-chat'), 409, 'E_WEBHOOK_CONFIGURED', "webhook 'cfg-chat' is declared in estate.yaml: remove it there, through a change request");
    expect(webhooks.list().map((w) => w.id)).toContain('cfg-chat');
  });

  it('pages the delivery log newest first', async () => {
    const hook = (await call('POST', '/api/v1/webhooks', { body: { url: silentUrl, events: ['review.*'], secret: SECRET } })).json() as JsonBody;
    webhooks.dispatch({ type: 'review.acknowledged', data: { n: 1 } });
    webhooks.dispatch({ type: 'review.overdue', data: { n: 2 } });
    webhooks.dispatch({ type: 'review.acknowledged', data: { n: 3 } });
    const first = await call('GET', `/api/v1/webhooks/${hook.id}/deliveries?limit=2`);
    expect(first.statusCode).toBe(200);
    const firstBody = first.json() as JsonBody;
    expect(firstBody.items.map((d: JsonBody) => [d.event, d.state])).toEqual([
      ['review.acknowledged', 'pending'],
      ['review.overdue', 'pending'],
    ]);
    expect(firstBody.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = (await call('GET', `/api/v1/webhooks/${hook.id}/deliveries?limit=2&cursor=${firstBody.nextCursor}`)).json() as JsonBody;
    expect(second.items.map((d: JsonBody) => d.id)).toEqual([firstBody.items[1].id - 1]);
    expect(second.nextCursor).toBeUndefined();
    expectError(await call('GET', `/api/v1/webhooks/${hook.id}/deliveries?cursor=bm9wZQ`), 400, 'E_BAD_PARAM', /^invalid cursor/);
    expectError(await call('GET', `/api/v1/webhooks/${hook.id}/deliveries?limit=0`), 400, 'E_BAD_PARAM', /limit/);
    expectError(await call('GET', '/api/v1/webhooks/wh_nope/deliveries'), 404, 'E_WEBHOOK_NOT_FOUND', "webhook 'wh_nope' does not exist");

    // Pending deliveries are not redelivered on demand.
    expectError(
      await call('POST', `/api/v1/webhooks/deliveries/${firstBody.items[0].id}/redeliver`),
      409,
      'E_WEBHOOK_DELIVERY_PENDING',
      `webhook delivery ${firstBody.items[0].id} is still pending`,
    );
  });

  it('redelivers a failed delivery now', async () => {
    const refusing = createServer();
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const closedUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/hook`;
    await new Promise((resolve) => refusing.close(resolve));
    const hook = (await call('POST', '/api/v1/webhooks', { body: { url: closedUrl, events: ['change.closed'], secret: SECRET } })).json() as JsonBody;
    webhooks.start();
    webhooks.dispatch({ type: 'change.closed', data: { change: { id: 4 } } });
    const [failed] = await until(hook.id, (d) => d[0]?.state === 'failed');
    expect(failed!.attempts).toEqual([{ at: expect.any(String), error: expect.stringMatching(/^ECONNREFUSED/), durationMs: expect.any(Number) }]);

    const answer = await call('POST', `/api/v1/webhooks/deliveries/${failed!.id}/redeliver`);
    expect(answer.statusCode).toBe(202);
    expect(answer.json()).toMatchObject({ id: failed!.id, uuid: failed!.uuid, state: 'pending', attempts: failed!.attempts });
    const [again] = await until(hook.id, (d) => d[0]?.state === 'failed' && d[0].attempts.length === 2);
    expect(again!.uuid).toBe(failed!.uuid);
    expectError(await call('POST', '/api/v1/webhooks/deliveries/999999/redeliver'), 404, 'E_WEBHOOK_DELIVERY_NOT_FOUND', 'webhook delivery 999999 does not exist');
    expectError(await call('POST', '/api/v1/webhooks/deliveries/abc/redeliver'), 400, 'E_BAD_PARAM', /id/);
  });

  it('never answers with a secret', async () => {
    const everything = [
      ...answers,
      (await call('GET', '/api/v1/webhooks')).body,
      ...webhooks.list().map((w) => webhooks.deliveries(w.id, { limit: 100 })).map((d) => JSON.stringify(d)),
      JSON.stringify(audited),
    ].join('\n');
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(ENV_SECRET);
  });
});
