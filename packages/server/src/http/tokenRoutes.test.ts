import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { issueToken } from '../auth/tokens.js';
import { openSqliteStore } from '../store/sqliteStore.js';
import type { Store } from '../store/Store.js';
import { buildApp } from './app.js';

describe('GET /api/v1/whoami', () => {
  let store: Store;
  let app: FastifyInstance;
  let openApp: FastifyInstance;

  beforeAll(async () => {
    store = await openSqliteStore(':memory:');
    const status = () => ({ state: 'ready' as const, commitsIndexed: 0, lagSeconds: 0, headErrors: 0 });
    app = await buildApp({ store, status });
    openApp = await buildApp({ store, status, openRead: true });
  });

  afterAll(async () => {
    await app.close();
    await openApp.close();
    await store.close();
  });

  it("answers the caller's own token: id, name, role, groups, scopes and expiry, never the secret", async () => {
    const { token, record } = await issueToken(store, { name: 'ada', role: 'approver', groups: ['sre'], expiresAt: new Date(Date.now() + 3_600_000) });
    const answer = await app.inject({ url: '/api/v1/whoami', headers: { authorization: `Bearer ${token}` } });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.json()).toEqual({ token: { id: record.id, name: 'ada', role: 'approver', groups: ['sre'], scopes: {}, expiresAt: record.expiresAt } });
    expect(answer.body).not.toContain(token);
  });

  it('answers an app-scoped token too (it is refused the other routes)', async () => {
    const { token } = await issueToken(store, { name: 'checkout', role: 'viewer', scopes: { apps: ['checkout'] } });
    const answer = await app.inject({ url: '/api/v1/whoami', headers: { authorization: `Bearer ${token}` } });
    expect(answer.json().token).toMatchObject({ name: 'checkout', role: 'viewer', scopes: { apps: ['checkout'] } });
    expect((await app.inject({ url: '/api/v1/kinds', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(403);
  });

  it('refuses a missing token, and answers no token for an anonymous read with --open-read', async () => {
    const refused = await app.inject({ url: '/api/v1/whoami' });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('E_UNAUTHORIZED');
    const anonymous = await openApp.inject({ url: '/api/v1/whoami' });
    expect(anonymous.statusCode).toBe(200);
    expect(anonymous.json()).toEqual({});
  });
});
