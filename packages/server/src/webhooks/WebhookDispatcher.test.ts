import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRetryAfter, WebhookDispatcher } from './WebhookDispatcher.js';
import { signWebhookBody, verifyWebhookSignature } from './signWebhookBody.js';
import { Receiver } from './testReceiver.js';
import type { WebhookDelivery, WebhookDispatcherOptions } from './types.js';

const SECRET = 'a-long-enough-webhook-secret';

interface LogLine {
  level: string;
  msg: string;
  data?: Record<string, unknown>;
}

let dir: string;
let file: string;
let receiver: Receiver;
const dispatchers: WebhookDispatcher[] = [];
const dbs: Database.Database[] = [];
let logs: LogLine[];

function openDb(): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  dbs.push(db);
  return db;
}

function makeDispatcher(options: WebhookDispatcherOptions = {}, db = openDb()): WebhookDispatcher {
  const dispatcher = new WebhookDispatcher(db, { log: (level, msg, data) => logs.push({ level, msg, ...(data ? { data } : {}) }), retryDelaysMs: [30, 30], ...options });
  dispatchers.push(dispatcher);
  return dispatcher;
}

/** Polls the log of one webhook until `done` holds for its deliveries (the test's timeout bounds it). */
async function until(dispatcher: WebhookDispatcher, webhookId: string, done: (deliveries: WebhookDelivery[]) => boolean): Promise<WebhookDelivery[]> {
  for (;;) {
    const deliveries = dispatcher.deliveries(webhookId, { limit: 100 });
    if (done(deliveries)) return deliveries;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const settled = (deliveries: WebhookDelivery[]): boolean => deliveries.length > 0 && deliveries.every((d) => d.state !== 'pending');

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'estate-webhooks-'));
  file = join(dir, 'estate.db');
  logs = [];
  receiver = await new Receiver().listen();
});

afterEach(async () => {
  for (const dispatcher of dispatchers.splice(0)) await dispatcher.stop();
  for (const db of dbs.splice(0)) db.close();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('WebhookDispatcher delivery', () => {
  it('POSTs the event as JSON with the headers and a signature that verifies with the secret', async () => {
    const dispatcher = makeDispatcher();
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET, description: 'CI' });
    dispatcher.start();
    const at = new Date('2024-05-01T09:30:00.000Z');
    dispatcher.dispatch({ type: 'change.opened', at, data: { change: { id: 7, title: 'Grow web-01' } } });
    await receiver.received(1);
    const [request] = receiver.requests;
    const body = JSON.parse(request!.body) as Record<string, unknown>;
    expect(body).toEqual({ id: expect.any(String), type: 'change.opened', at: '2024-05-01T09:30:00.000Z', data: { change: { id: 7, title: 'Grow web-01' } } });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['user-agent']).toBe('Estate-Webhooks/1');
    expect(request!.headers['x-estate-event']).toBe('change.opened');
    expect(request!.headers['x-estate-delivery']).toBe(body.id);
    const signature = request!.headers['x-estate-signature-256'] as string;
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(SECRET, request!.body, signature)).toBe(true);
    expect(verifyWebhookSignature('another-secret-of-16+', request!.body, signature)).toBe(false);
    expect(verifyWebhookSignature(SECRET, `${request!.body} `, signature)).toBe(false);

    const [delivery] = await until(dispatcher, hook.id, settled);
    expect(delivery).toMatchObject({ uuid: body.id, webhookId: hook.id, event: 'change.opened', state: 'delivered', attempts: [{ status: 200 }] });
    expect(delivery!.nextAttemptAt).toBeUndefined();
    expect(delivery!.attempts[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('sends an event only to the webhooks subscribed to its type or family', () => {
    const dispatcher = makeDispatcher();
    const all = dispatcher.create({ url: receiver.url, secret: SECRET });
    const reviews = dispatcher.create({ url: receiver.url, secret: SECRET, events: ['review.*'] });
    const merged = dispatcher.create({ url: receiver.url, secret: SECRET, events: ['change.merged', 'review.overdue'] });
    dispatcher.dispatch({ type: 'change.merged', data: {} });
    dispatcher.dispatch({ type: 'review.acknowledged', data: {} });
    const events = (id: string): string[] => dispatcher.deliveries(id, { limit: 10 }).map((d) => d.event);
    expect(events(all.id)).toEqual(['review.acknowledged', 'change.merged']);
    expect(events(reviews.id)).toEqual(['review.acknowledged']);
    expect(events(merged.id)).toEqual(['change.merged']);
  });

  it('retries after a 500 with the same id and body, then records the success', async () => {
    receiver.answer({ status: 500 });
    const dispatcher = makeDispatcher();
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET });
    dispatcher.start();
    dispatcher.dispatch({ type: 'change.approved', data: { change: { id: 1 } } });
    const [delivery] = await until(dispatcher, hook.id, settled);
    expect(delivery!.state).toBe('delivered');
    expect(delivery!.attempts.map((a) => a.status)).toEqual([500, 200]);
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]!.body).toBe(receiver.requests[0]!.body);
    expect(receiver.requests[1]!.headers['x-estate-delivery']).toBe(delivery!.uuid);
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([expect.stringMatching(/^webhook wh_\w+: delivery .* \(change.approved\) failed \(HTTP 500\); retrying at /)]);
  });

  it('gives up after the last retry, and a redelivery sends it again', async () => {
    receiver.answer({ status: 500 }, { status: 502 }, { status: 404 });
    const dispatcher = makeDispatcher();
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET });
    dispatcher.start();
    dispatcher.dispatch({ type: 'change.closed', data: {} });
    const [failed] = await until(dispatcher, hook.id, settled);
    expect(failed!.state).toBe('failed');
    expect(failed!.attempts.map((a) => a.status)).toEqual([500, 502, 404]);
    expect(logs.at(-1)).toMatchObject({ level: 'warn', msg: expect.stringMatching(/gave up delivery .* \(change.closed\) after 3 attempts; last: HTTP 404$/) });

    dispatcher.redeliver(failed!.id);
    const [again] = await until(dispatcher, hook.id, (d) => d[0]!.state === 'delivered');
    expect(again!.attempts.map((a) => a.status)).toEqual([500, 502, 404, 200]);
    expect(receiver.requests.map((r) => r.headers['x-estate-delivery'])).toEqual(Array(4).fill(failed!.uuid));
    expect(() => dispatcher.redeliver(12345)).toThrow(expect.objectContaining({ code: 'E_WEBHOOK_DELIVERY_NOT_FOUND', message: 'webhook delivery 12345 does not exist' }));
  });

  it('refuses to redeliver a delivery that is still pending', () => {
    const dispatcher = makeDispatcher();
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET });
    dispatcher.dispatch({ type: 'change.closed', data: {} });
    const [pending] = dispatcher.deliveries(hook.id, { limit: 1 });
    expect(() => dispatcher.redeliver(pending!.id)).toThrow(
      expect.objectContaining({ code: 'E_WEBHOOK_DELIVERY_PENDING', message: `webhook delivery ${pending!.id} is still pending: it is sent (or retried) without being asked` }),
    );
  });

  it('waits as long as Retry-After says on a 429', async () => {
    receiver.answer({ status: 429, headers: { 'retry-after': '1' } });
    const dispatcher = makeDispatcher({ retryDelaysMs: [10] });
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET });
    dispatcher.start();
    dispatcher.dispatch({ type: 'change.checked', data: {} });
    const [waiting] = await until(dispatcher, hook.id, (d) => d[0]!.attempts.length === 1);
    expect(waiting!.state).toBe('pending');
    expect(Date.parse(waiting!.nextAttemptAt!) - Date.parse(waiting!.attempts[0]!.at)).toBeGreaterThanOrEqual(1000);
    const [delivered] = await until(dispatcher, hook.id, settled);
    expect(delivered!.attempts.map((a) => a.status)).toEqual([429, 200]);
    expect(receiver.requests[1]!.at - receiver.requests[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  it('caps a Retry-After (here on a 503) longer than maxRetryAfterMs', async () => {
    receiver.answer({ status: 503, headers: { 'retry-after': '7200' } });
    const dispatcher = makeDispatcher({ retryDelaysMs: [10], maxRetryAfterMs: 300 });
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET });
    dispatcher.start();
    dispatcher.dispatch({ type: 'change.checked', data: {} });
    const [waiting] = await until(dispatcher, hook.id, (d) => d[0]!.attempts.length === 1);
    const wait = Date.parse(waiting!.nextAttemptAt!) - Date.parse(waiting!.attempts[0]!.at);
    expect(wait).toBeGreaterThanOrEqual(300);
    expect(wait).toBeLessThan(7_200_000);
    const [delivered] = await until(dispatcher, hook.id, settled);
    expect(delivered!.attempts.map((a) => a.status)).toEqual([503, 200]);
  });

  it('sends the deliveries of one webhook in order: the next waits while one is retried', async () => {
    receiver.answer({ status: 500 });
    const dispatcher = makeDispatcher();
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET });
    dispatcher.dispatch({ type: 'change.approved', data: { n: 1 } });
    dispatcher.dispatch({ type: 'change.merged', data: { n: 2 } });
    dispatcher.start();
    await until(dispatcher, hook.id, (d) => d.length === 2 && settled(d));
    expect(receiver.requests.map((r) => r.headers['x-estate-event'])).toEqual(['change.approved', 'change.approved', 'change.merged']);
  });

  it('records a timeout, a refused connection and a redirect (not followed) as failed attempts', async () => {
    receiver.answer({ hang: true }, { status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
    const dispatcher = makeDispatcher({ retryDelaysMs: [], timeoutMs: 1000 });
    const slow = dispatcher.create({ url: receiver.url, secret: SECRET });
    dispatcher.start();
    dispatcher.dispatch({ type: 'change.opened', data: {} });
    const [timedOut] = await until(dispatcher, slow.id, settled);
    expect(timedOut).toMatchObject({ state: 'failed', attempts: [{ error: 'timeout after 1000 ms' }] });
    expect(timedOut!.attempts[0]!.status).toBeUndefined();

    dispatcher.dispatch({ type: 'change.updated', data: {} });
    const [redirected] = await until(dispatcher, slow.id, (d) => d.length === 2 && settled(d));
    expect(redirected).toMatchObject({ state: 'failed', event: 'change.updated', attempts: [{ status: 302 }] });
    expect(receiver.requests).toHaveLength(2);

    const closed = await new Receiver().listen();
    await closed.close();
    const refused = dispatcher.create({ url: closed.url, secret: SECRET, events: ['review.*'] });
    dispatcher.dispatch({ type: 'review.overdue', data: {} });
    const [unreachable] = await until(dispatcher, refused.id, settled);
    expect(unreachable!.state).toBe('failed');
    expect(unreachable!.attempts[0]!.error).toMatch(/^ECONNREFUSED/);
  });

  it('gives up after one failed attempt a delivery older than maxAgeMs', async () => {
    receiver.answer({ status: 500 });
    let offset = 0;
    const dispatcher = makeDispatcher({ retryDelaysMs: [10, 10, 10], maxAgeMs: 60_000, now: () => new Date(Date.now() + offset) });
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET });
    dispatcher.dispatch({ type: 'change.merged', data: {} });
    offset = 3_600_000; // it waited an hour (behind others, or the sender was down)
    dispatcher.start();
    const [delivery] = await until(dispatcher, hook.id, settled);
    expect(delivery).toMatchObject({ state: 'failed', attempts: [{ status: 500 }] });
  });

  it('keeps the deliveries of a transaction that rolls back out of the queue', () => {
    const db = openDb();
    const dispatcher = makeDispatcher({}, db);
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET });
    const change = db.transaction(() => {
      dispatcher.dispatch({ type: 'change.merged', data: {} });
      throw new Error('the merge failed');
    });
    expect(() => change.immediate()).toThrow('the merge failed');
    expect(dispatcher.deliveries(hook.id, { limit: 10 })).toEqual([]);
    db.transaction(() => dispatcher.dispatch({ type: 'change.merged', data: {} })).immediate();
    expect(dispatcher.deliveries(hook.id, { limit: 10 })).toHaveLength(1);
  });

  it('pages the delivery log newest first', () => {
    const dispatcher = makeDispatcher();
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET });
    for (const type of ['change.opened', 'change.checked', 'change.approved']) dispatcher.dispatch({ type, data: {} });
    const first = dispatcher.deliveries(hook.id, { limit: 2 });
    expect(first.map((d) => d.event)).toEqual(['change.approved', 'change.checked']);
    const second = dispatcher.deliveries(hook.id, { limit: 2, afterId: first[1]!.id });
    expect(second.map((d) => d.event)).toEqual(['change.opened']);
    expect(() => dispatcher.deliveries(hook.id, { limit: 0 })).toThrow(expect.objectContaining({ code: 'E_BAD_PARAM', message: 'limit must be an integer from 1 to 10000, not 0' }));
    expect(() => dispatcher.deliveries('wh_nope', { limit: 1 })).toThrow(expect.objectContaining({ code: 'E_WEBHOOK_NOT_FOUND', message: "webhook 'wh_nope' does not exist" }));
  });
});

describe('WebhookDispatcher restart', () => {
  it('sends after a restart the deliveries recorded before it, in order', async () => {
    const first = makeDispatcher();
    const hook = first.create({ url: receiver.url, secret: SECRET });
    first.dispatch({ type: 'change.opened', data: { n: 1 } });
    first.dispatch({ type: 'change.merged', data: { n: 2 } });
    await first.stop();
    dbs[0]!.close();
    expect(receiver.requests).toHaveLength(0);

    const second = makeDispatcher();
    second.start();
    const deliveries = await until(second, hook.id, (d) => d.length === 2 && settled(d));
    expect(deliveries.map((d) => d.state)).toEqual(['delivered', 'delivered']);
    expect(receiver.bodies().map((b) => b.data)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(verifyWebhookSignature(SECRET, receiver.requests[0]!.body, receiver.requests[0]!.headers['x-estate-signature-256'] as string)).toBe(true);
  });

  it('sends again a request that a stop cut short, with the same delivery id', async () => {
    receiver.answer({ hang: true });
    const first = makeDispatcher();
    const hook = first.create({ url: receiver.url, secret: SECRET });
    first.start();
    first.dispatch({ type: 'change.emergency', data: { reason: 'outage' } });
    await receiver.received(1);
    await first.stop();
    const [cut] = first.deliveries(hook.id, { limit: 1 });
    expect(cut).toMatchObject({ state: 'pending', attempts: [] });
    dbs[0]!.close();

    const second = makeDispatcher();
    second.start();
    const [delivery] = await until(second, hook.id, settled);
    expect(delivery).toMatchObject({ state: 'delivered', uuid: cut!.uuid, attempts: [{ status: 200 }] });
    expect(receiver.requests.map((r) => r.headers['x-estate-delivery'])).toEqual([cut!.uuid, cut!.uuid]);
  });
});

describe('WebhookDispatcher estate.yaml webhooks', () => {
  it('takes the secret from the environment variable named by secretEnv, and skips a hook without one with one warning', async () => {
    const secret = 'secret-from-the-environment';
    const dispatcher = makeDispatcher({ env: { CI_HOOK_SECRET: secret, SHORT: 'short' } });
    const hooks = [
      { name: 'ci', url: receiver.url, events: ['change.merged'], secretEnv: 'CI_HOOK_SECRET' },
      { name: 'chat', url: receiver.url, secretEnv: 'CHAT_HOOK_SECRET' },
      { name: 'tiny', url: receiver.url, secretEnv: 'SHORT' },
      { name: 'ftp', url: 'ftp://example.com/x', secretEnv: 'CI_HOOK_SECRET' },
    ];
    dispatcher.setConfigured(hooks);
    dispatcher.setConfigured(hooks);
    expect(dispatcher.list()).toEqual([{ id: 'cfg-ci', url: receiver.url, events: ['change.merged'], source: 'estate.yaml', format: 'estate', createdAt: expect.any(String) }]);
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      "webhook 'chat' of estate.yaml is skipped: the environment variable CHAT_HOOK_SECRET (its secretEnv) is not set",
      "webhook 'tiny' of estate.yaml is skipped: the secret in SHORT: a webhook secret must be a string of 16 to 1024 characters",
      "webhook 'ftp' of estate.yaml is skipped: webhook url 'ftp://example.com/x' must use http or https, not ftp",
    ]);

    dispatcher.start();
    dispatcher.dispatch({ type: 'change.opened', data: {} });
    dispatcher.dispatch({ type: 'change.merged', data: { change: { id: 3 } } });
    const [delivery] = await until(dispatcher, 'cfg-ci', settled);
    expect(delivery).toMatchObject({ event: 'change.merged', state: 'delivered' });
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]!.headers['x-estate-signature-256']).toBe(signWebhookBody(secret, receiver.requests[0]!.body));

    expect(() => dispatcher.remove('cfg-ci')).toThrow(
      expect.objectContaining({ code: 'E_WEBHOOK_CONFIGURED', message: "webhook 'cfg-ci' is declared in estate.yaml: remove it there, through a change request" }),
    );
    dispatcher.setConfigured([]);
    expect(dispatcher.list()).toEqual([]);
    expect(() => dispatcher.deliveries('cfg-ci', { limit: 1 })).toThrow(expect.objectContaining({ code: 'E_WEBHOOK_NOT_FOUND' }));
    expect(JSON.stringify(logs)).not.toContain(secret);
  });

  it('after a restart, holds the pending deliveries of an estate.yaml webhook until setConfigured gives its secret', async () => {
    const env = { HOOK_SECRET: 'secret-from-the-environment' };
    const first = makeDispatcher({ env });
    first.setConfigured([{ name: 'ci', url: receiver.url, secretEnv: 'HOOK_SECRET' }]);
    const createdAt = first.list()[0]!.createdAt;
    first.dispatch({ type: 'change.opened', data: {} });
    dbs[0]!.close();

    const second = makeDispatcher({ env });
    second.start();
    // Another webhook's delivery goes out meanwhile: the sender is running, the estate.yaml one waits.
    const other = second.create({ url: receiver.url, secret: SECRET });
    second.dispatch({ type: 'review.overdue', data: {} });
    await until(second, other.id, settled);
    expect(second.deliveries('cfg-ci', { limit: 10 }).map((d) => [d.event, d.state])).toEqual([
      ['review.overdue', 'pending'],
      ['change.opened', 'pending'],
    ]);

    second.setConfigured([{ name: 'ci', url: receiver.url, secretEnv: 'HOOK_SECRET' }]);
    expect(second.list()[0]).toMatchObject({ id: 'cfg-ci', createdAt });
    const delivered = await until(second, 'cfg-ci', (d) => d.length === 2 && settled(d));
    expect(delivered.map((d) => d.event)).toEqual(['review.overdue', 'change.opened']);
  });
});

describe('WebhookDispatcher checks', () => {
  it('refuses a url that is not http(s), a short secret and unknown events with E_BAD_PARAM', () => {
    const dispatcher = makeDispatcher();
    const refusal = (input: Parameters<WebhookDispatcher['create']>[0]): unknown => {
      try {
        dispatcher.create(input);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(refusal({ url: 'file:///etc/passwd', secret: SECRET })).toMatchObject({ code: 'E_BAD_PARAM', message: "webhook url 'file:///etc/passwd' must use http or https, not file" });
    expect(refusal({ url: 'not a url', secret: SECRET })).toMatchObject({ code: 'E_BAD_PARAM', message: "webhook url 'not a url' is not an absolute URL" });
    expect(refusal({ url: 'https://bob:hunter2@example.com/', secret: SECRET })).toMatchObject({
      code: 'E_BAD_PARAM',
      message: 'webhook url must not hold a user name or password: the receiver checks the signature instead',
    });
    const short = refusal({ url: receiver.url, secret: 'fifteen-chars!!' }) as Error;
    expect(short).toMatchObject({ code: 'E_BAD_PARAM', message: 'a webhook secret must be a string of 16 to 1024 characters' });
    expect(JSON.stringify(short)).not.toContain('fifteen');
    expect(refusal({ url: receiver.url, secret: SECRET, events: ['change.opend'] })).toMatchObject({
      code: 'E_BAD_PARAM',
      message: expect.stringMatching(/^unknown webhook event 'change.opend': expected \*, a family such as change.\*, or one of change.opened, /),
    });
    expect(refusal({ url: receiver.url, secret: SECRET, events: ['token.*'] })).toMatchObject({
      code: 'E_BAD_PARAM',
      message: "unknown webhook event 'token.*': the families are change.*, review.*, drift.*, host.*, ingest.*",
    });
    expect(refusal({ url: receiver.url, secret: SECRET, events: [] })).toMatchObject({ code: 'E_BAD_PARAM', message: 'webhook events must be a list of 1 to 32 event types or patterns' });
    expect(dispatcher.list()).toEqual([]);
  });

  it('refuses to dispatch an unknown event type with E_WEBHOOK_EVENT', () => {
    const dispatcher = makeDispatcher();
    expect(() => dispatcher.dispatch({ type: 'change.exploded', data: {} })).toThrow(
      expect.objectContaining({ code: 'E_WEBHOOK_EVENT', message: expect.stringMatching(/^unknown webhook event type 'change.exploded': expected one of change.opened, /) }),
    );
  });

  it('never returns, logs or records the secret', async () => {
    receiver.answer({ status: 500 });
    const dispatcher = makeDispatcher({ retryDelaysMs: [] });
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET, events: ['change.*'] });
    expect(hook).toEqual({ id: expect.stringMatching(/^wh_[a-z2-7]{12}$/), url: receiver.url, events: ['change.*'], source: 'api', format: 'estate', createdAt: expect.any(String) });
    dispatcher.start();
    dispatcher.dispatch({ type: 'change.rejected', data: {} });
    const deliveries = await until(dispatcher, hook.id, settled);
    const everything = JSON.stringify([hook, dispatcher.list(), deliveries, logs, receiver.requests.map((r) => r.body)]);
    expect(everything).not.toContain(SECRET);
    expect(dispatcher.remove(hook.id)).toBe(true);
    expect(dispatcher.remove(hook.id)).toBe(false);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = new Date('2024-05-01T09:30:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 01 May 2024 09:31:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Wed, 01 May 2024 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('WebhookDispatcher formats and dedup keys', () => {
  it('writes a slack body ({text, blocks}) for a webhook of format slack, signed like the others', async () => {
    const dispatcher = makeDispatcher();
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET, format: 'slack' });
    expect(hook.format).toBe('slack');
    dispatcher.start();
    dispatcher.dispatch({ type: 'change.merged', data: { change: { id: 12, title: 'Grow <web-01>', url: 'https://estate.example.com/api/v1/changes/12' }, by: 'alice' } });
    await receiver.received(1);
    const [request] = receiver.requests;
    expect(JSON.parse(request!.body)).toEqual({
      text: 'CR #12 merged by alice: Grow <web-01>',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '<https://estate.example.com/api/v1/changes/12|CR #12> merged by alice: Grow &lt;web-01&gt;' } }],
    });
    expect(verifyWebhookSignature(SECRET, request!.body, request!.headers['x-estate-signature-256'] as string)).toBe(true);
    expect(request!.headers['x-estate-event']).toBe('change.merged');
  });

  it('takes the format of an estate.yaml webhook and skips one with an unknown format', () => {
    const dispatcher = makeDispatcher({ env: { S: SECRET } });
    dispatcher.setConfigured([
      { name: 'chat', url: receiver.url, secretEnv: 'S', format: 'slack' },
      { name: 'teams', url: receiver.url, secretEnv: 'S', format: 'teams' },
    ]);
    expect(dispatcher.list().map((h) => [h.id, h.format])).toEqual([['cfg-chat', 'slack']]);
    expect(logs.map((l) => l.msg)).toContain("webhook 'teams' of estate.yaml is skipped: unknown webhook format 'teams': expected estate or slack");
    expect(() => dispatcher.create({ url: receiver.url, secret: SECRET, format: 'teams' as 'slack' })).toThrow(expect.objectContaining({ code: 'E_BAD_PARAM' }));
  });

  it('gives a webhook one delivery per dedupKey, with the key in the body and a header', async () => {
    const dispatcher = makeDispatcher();
    const hook = dispatcher.create({ url: receiver.url, secret: SECRET });
    dispatcher.dispatch({ type: 'drift.opened', dedupKey: 'alert:7', data: { count: 0, items: [] } });
    dispatcher.dispatch({ type: 'drift.opened', dedupKey: 'alert:7', data: { count: 0, items: [] } });
    // A webhook added later still gets the event dispatched again with the same key.
    const later = dispatcher.create({ url: receiver.url, secret: SECRET });
    dispatcher.dispatch({ type: 'drift.opened', dedupKey: 'alert:7', data: { count: 0, items: [] } });
    expect(dispatcher.deliveries(hook.id, { limit: 10 }).map((d) => d.dedupKey)).toEqual(['alert:7']);
    expect(dispatcher.deliveries(later.id, { limit: 10 })).toHaveLength(1);
    expect(() => dispatcher.dispatch({ type: 'drift.opened', dedupKey: '', data: {} })).toThrow(expect.objectContaining({ code: 'E_WEBHOOK_EVENT' }));
    dispatcher.start();
    await receiver.received(2);
    expect(receiver.requests.map((r) => r.headers['x-estate-dedup-key'])).toEqual(['alert:7', 'alert:7']);
    expect(receiver.bodies().map((b) => b['dedupKey'])).toEqual(['alert:7', 'alert:7']);
  });

  it('adds the format and dedup_key columns to a database made before them', () => {
    const db = openDb();
    db.exec(`CREATE TABLE webhook_hooks (id TEXT PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL, secret TEXT, description TEXT, source TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE webhook_deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE, webhook_id TEXT NOT NULL, event TEXT NOT NULL, body TEXT NOT NULL,
        state TEXT NOT NULL, queue_seq INTEGER NOT NULL, created_at TEXT NOT NULL, base_ms INTEGER NOT NULL, round_attempts INTEGER NOT NULL, next_ms INTEGER, updated_ms INTEGER NOT NULL);
      INSERT INTO webhook_hooks VALUES ('wh_old', '${receiver.url}', '["*"]', '${SECRET}', NULL, 'api', '2024-01-01T00:00:00.000Z');`);
    const dispatcher = makeDispatcher({}, db);
    expect(dispatcher.get('wh_old').format).toBe('estate');
    dispatcher.dispatch({ type: 'host.stale', dedupKey: 'alert:1', data: {} });
    expect(dispatcher.deliveries('wh_old', { limit: 10 }).map((d) => [d.event, d.dedupKey])).toEqual([['host.stale', 'alert:1']]);
  });
});
