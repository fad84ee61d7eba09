import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSqliteStore } from '../index.js';
import type { Store } from '../store/Store.js';
import { authenticate, hashToken, issueToken, listTokens, parseDuration, revokeToken, roleAtLeast, AGENT_TOKEN_CACHE_MS, TOKEN_CACHE_MS, TokenCache } from './tokens.js';

describe('tokens', () => {
  let store: Store;
  beforeEach(async () => {
    store = await openSqliteStore(':memory:');
  });
  afterEach(async () => {
    await store.close();
  });

  describe('issueToken', () => {
    it('returns est_ + 43 base64url characters and stores only its sha256', async () => {
      const { token, record } = await issueToken(store, { name: 'ci deploy', role: 'editor' });
      expect(token).toMatch(/^est_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
      expect(record).toEqual({ id: expect.stringMatching(/^tok_[a-z2-7]{8}$/), name: 'ci deploy', role: 'editor', scopes: {}, groups: [], createdAt: expect.any(String) });
      expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
      expect(await store.tokenByHash(hashToken(token))).toEqual(record);
      expect(JSON.stringify(await store.listTokens())).not.toContain(token.slice(4));
    });

    it('refuses unknown scopes and malformed scope entries', async () => {
      const bad: Array<Record<string, string[]>> = [{ kinds: ['host'] }, { apps: ['Billing'] }, { secrets: ['billing'] }, { secrets: ['billing/prod/eu'] }];
      for (const scopes of bad) {
        await expect(issueToken(store, { name: 'x', role: 'viewer', scopes })).rejects.toMatchObject({ code: 'E_BAD_PARAM' });
      }
    });

    it('makes a different token and id each time, and keeps expiry and scopes', async () => {
      const expiresAt = new Date(Date.now() + 3_600_000);
      const a = await issueToken(store, { name: 'a', role: 'viewer', expiresAt, scopes: { apps: ['billing'], secrets: ['billing/prod', '*/dev'] } });
      const b = await issueToken(store, { name: 'a', role: 'viewer' });
      expect(a.token).not.toBe(b.token);
      expect(a.record.id).not.toBe(b.record.id);
      expect(a.record).toMatchObject({ expiresAt: expiresAt.toISOString(), scopes: { apps: ['billing'], secrets: ['billing/prod', '*/dev'] } });
    });

    it('draws another id when the store already has the one drawn', async () => {
      let clashes = 1;
      const clashing: Store = Object.create(store, {
        createToken: {
          value: async (...args: Parameters<Store['createToken']>) => {
            if (clashes-- > 0) throw Object.assign(new Error('token exists'), { code: 'E_CONFLICT' });
            return store.createToken(...args);
          },
        },
      }) as Store;
      const { token, record } = await issueToken(clashing, { name: 'x', role: 'viewer' });
      expect(await store.tokenByHash(hashToken(token))).toEqual(record);
    });

    it('refuses an empty name, an unknown role and an expiry in the past', async () => {
      await expect(issueToken(store, { name: '  ', role: 'viewer' })).rejects.toMatchObject({ code: 'E_BAD_PARAM', data: { parameter: 'name' } });
      await expect(issueToken(store, { name: 'x', role: 'root' as 'admin' })).rejects.toThrow("unknown role 'root': expected one of viewer, editor, approver, admin");
      await expect(issueToken(store, { name: 'x', role: 'viewer', expiresAt: new Date(Date.now() - 1000) })).rejects.toMatchObject({
        code: 'E_BAD_PARAM',
        data: { parameter: 'expiresAt' },
      });
      expect(await store.listTokens()).toEqual([]);
    });
  });

  describe('authenticate', () => {
    it('returns the record of a live token sent as a bearer token, scheme in any case', async () => {
      const { token, record } = await issueToken(store, { name: 'alice', role: 'admin' });
      expect(await authenticate(store, `Bearer ${token}`)).toEqual(record);
      expect(await authenticate(store, `bearer ${token}`)).toEqual(record);
    });

    it('refuses a missing or garbled header with E_UNAUTHORIZED, never echoing the token', async () => {
      const { token } = await issueToken(store, { name: 'alice', role: 'admin' });
      await expect(authenticate(store, undefined)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringContaining('missing bearer token') });
      await expect(authenticate(store, '')).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', data: { reason: 'missing' } });
      for (const header of [token, `Basic ${token}`, `Bearer ${token.slice(0, -1)}`, `Bearer ${token}x`, `Bearer xyz_${token.slice(4)}`, 'Bearer']) {
        const refusal = authenticate(store, header);
        await expect(refusal, header).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', data: { reason: 'malformed' } });
        await expect(refusal).rejects.toThrow('malformed Authorization header');
        await refusal.catch((error: Error) => expect(error.message).not.toContain(token.slice(4, 20)));
      }
    });

    it('gives an unknown and a revoked token the same answer', async () => {
      const { token, record } = await issueToken(store, { name: 'alice', role: 'admin' });
      await revokeToken(store, record.id);
      const unknown = `est_${randomBytes(32).toString('base64url')}`;
      const errors = await Promise.all([authenticate(store, `Bearer ${token}`), authenticate(store, `Bearer ${unknown}`)].map((p) => p.catch((e: unknown) => e)));
      expect(errors[0]).toMatchObject({ code: 'E_UNAUTHORIZED', message: 'invalid token', data: { reason: 'invalid' } });
      expect(errors[1]).toMatchObject({ code: 'E_UNAUTHORIZED', message: 'invalid token', data: { reason: 'invalid' } });
    });

    it('refuses an expired token', async () => {
      const now = new Date();
      const { token, record } = await issueToken(store, { name: 'temp', role: 'viewer', expiresAt: new Date(now.getTime() + 60_000) }, now);
      expect(await authenticate(store, `Bearer ${token}`, new Date(now.getTime() + 59_000))).toEqual(record);
      await expect(authenticate(store, `Bearer ${token}`, new Date(now.getTime() + 60_000))).rejects.toMatchObject({
        code: 'E_UNAUTHORIZED',
        message: `token expired at ${record.expiresAt}`,
      });
    });
  });

  describe('TokenCache', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    /** A cache over the store that counts the store's lookups. */
    const counted = (): { cache: TokenCache; lookups: () => number } => {
      let lookups = 0;
      const cache = new TokenCache({ tokenByHash: (hash) => (lookups++, store.tokenByHash(hash)) });
      return { cache, lookups: () => lookups };
    };

    it('answers a token it read for TOKEN_CACHE_MS without asking the store, then reads it again', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const { token, record } = await issueToken(store, { name: 'alice', role: 'viewer' });
      const { cache, lookups } = counted();
      expect(await authenticate(cache, `Bearer ${token}`)).toEqual(record);
      vi.advanceTimersByTime(TOKEN_CACHE_MS - 1);
      expect(await authenticate(cache, `Bearer ${token}`)).toEqual(record);
      expect(lookups()).toBe(1);
      vi.advanceTimersByTime(1);
      expect(await authenticate(cache, `Bearer ${token}`)).toEqual(record);
      expect(lookups()).toBe(2);
    });

    it('refuses a token revoked elsewhere within TOKEN_CACHE_MS', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const { token, record } = await issueToken(store, { name: 'alice', role: 'viewer' });
      const { cache } = counted();
      await authenticate(cache, `Bearer ${token}`);
      await revokeToken(store, record.id);
      expect(await authenticate(cache, `Bearer ${token}`)).toEqual(record); // still trusted for a moment
      vi.advanceTimersByTime(TOKEN_CACHE_MS);
      await expect(authenticate(cache, `Bearer ${token}`)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', data: { reason: 'invalid' } });
    });

    it('trusts an agent token for AGENT_TOKEN_CACHE_MS, so a fleet reporting every few seconds costs no lookups', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const { token, record } = await issueToken(store, { name: 'agent-web-01', role: 'agent', scopes: { hosts: ['web-01'] } });
      const { cache, lookups } = counted();
      await authenticate(cache, `Bearer ${token}`);
      vi.advanceTimersByTime(AGENT_TOKEN_CACHE_MS - 1);
      expect(await authenticate(cache, `Bearer ${token}`)).toEqual(record);
      expect(lookups()).toBe(1);
      vi.advanceTimersByTime(1);
      await authenticate(cache, `Bearer ${token}`);
      expect(lookups()).toBe(2);
    });

    it('forgets a token revoked in this process at once, agent tokens included', async () => {
      const { token, record } = await issueToken(store, { name: 'agent-web-01', role: 'agent', scopes: { hosts: ['web-01'] } });
      const { token: other, record: otherRecord } = await issueToken(store, { name: 'alice', role: 'viewer' });
      const cache = new TokenCache(store);
      await authenticate(cache, `Bearer ${token}`);
      await authenticate(cache, `Bearer ${other}`);
      await revokeToken(store, record.id);
      await expect(authenticate(cache, `Bearer ${token}`)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', data: { reason: 'invalid' } });
      expect(await authenticate(cache, `Bearer ${other}`)).toEqual(otherRecord);
    });

    it('keeps no unknown hash, so a token made after a refusal works at once', async () => {
      const { cache, lookups } = counted();
      const unknown = `est_${randomBytes(32).toString('base64url')}`;
      await expect(authenticate(cache, `Bearer ${unknown}`)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
      await expect(authenticate(cache, `Bearer ${unknown}`)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
      expect(lookups()).toBe(2);
      const record = { id: 'tok_late', name: 'late', role: 'viewer' as const, scopes: {}, groups: [], createdAt: new Date().toISOString() };
      await store.createToken(record, hashToken(unknown));
      expect(await authenticate(cache, `Bearer ${unknown}`)).toEqual(record);
    });

    it('still checks expiry on every request', async () => {
      const now = new Date();
      const { token } = await issueToken(store, { name: 'temp', role: 'viewer', expiresAt: new Date(now.getTime() + 60_000) }, now);
      const { cache } = counted();
      await authenticate(cache, `Bearer ${token}`, now);
      await expect(authenticate(cache, `Bearer ${token}`, new Date(now.getTime() + 60_000))).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', data: { reason: 'expired' } });
    });
  });

  describe('listTokens and revokeToken', () => {
    it('lists tokens oldest first, without the secrets', async () => {
      const t0 = new Date('2030-01-01T00:00:00Z');
      const b = await issueToken(store, { name: 'b', role: 'viewer' }, new Date(t0.getTime() + 1000));
      const a = await issueToken(store, { name: 'a', role: 'admin' }, t0);
      const list = await listTokens(store);
      expect(list.map((t) => t.name)).toEqual(['a', 'b']);
      expect(JSON.stringify(list)).not.toContain(a.token.slice(4));
      expect(JSON.stringify(list)).not.toContain(b.token.slice(4));
    });

    it('revokes by id or by name, once', async () => {
      const a = await issueToken(store, { name: 'laptop', role: 'viewer' });
      const b = await issueToken(store, { name: 'ci', role: 'viewer' });
      const at = new Date('2030-05-05T00:00:00Z');
      expect(await revokeToken(store, a.record.id, at)).toEqual({ ...a.record, revokedAt: at.toISOString() });
      expect(await revokeToken(store, 'ci', at)).toMatchObject({ id: b.record.id, revokedAt: at.toISOString() });
      // A second revocation keeps the first time.
      expect(await revokeToken(store, 'ci', new Date('2031-01-01T00:00:00Z'))).toMatchObject({ revokedAt: at.toISOString() });
      expect((await listTokens(store)).map((t) => t.revokedAt)).toEqual([at.toISOString(), at.toISOString()]);
    });

    it('refuses an unknown token and a name shared by several live tokens', async () => {
      await expect(revokeToken(store, 'nobody')).rejects.toMatchObject({ code: 'E_TOKEN_NOT_FOUND', message: "no token with the id or name 'nobody'" });
      const first = await issueToken(store, { name: 'shared', role: 'viewer' });
      const second = await issueToken(store, { name: 'shared', role: 'viewer' });
      await expect(revokeToken(store, 'shared')).rejects.toMatchObject({ code: 'E_AMBIGUOUS', data: { ids: expect.arrayContaining([first.record.id, second.record.id]) } });
      await revokeToken(store, first.record.id);
      expect(await revokeToken(store, 'shared')).toMatchObject({ id: second.record.id });
    });
  });

  it('parses durations in minutes, hours, days and weeks', () => {
    expect(parseDuration('90m')).toBe(90 * 60_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('1w')).toBe(7 * 86_400_000);
    for (const bad of ['', '0d', '30', 'd', '1.5h', '-1d', '30 days', '2y', '1W', '1234567d']) {
      expect(() => parseDuration(bad), bad).toThrow(expect.objectContaining({ code: 'E_BAD_PARAM', message: expect.stringContaining(`invalid duration '${bad}'`) }));
    }
  });

  it('orders roles viewer < editor < approver < admin', () => {
    expect(roleAtLeast('viewer', 'viewer')).toBe(true);
    expect(roleAtLeast('viewer', 'editor')).toBe(false);
    expect(roleAtLeast('editor', 'viewer')).toBe(true);
    expect(roleAtLeast('approver', 'editor')).toBe(true);
    expect(roleAtLeast('approver', 'admin')).toBe(false);
    expect(roleAtLeast('admin', 'approver')).toBe(true);
    expect(roleAtLeast('nobody' as 'viewer', 'viewer')).toBe(false);
  });

  it('keeps agent apart: only an agent has agent rights, and an agent has no human ones', () => {
    expect(roleAtLeast('agent', 'agent')).toBe(true);
    for (const human of ['viewer', 'editor', 'approver', 'admin'] as const) {
      expect(roleAtLeast('agent', human), human).toBe(false);
      expect(roleAtLeast(human, 'agent'), human).toBe(false);
    }
  });

  it('issues agent tokens for named hosts only', async () => {
    const { record } = await issueToken(store, { name: 'agent-web-01', role: 'agent', scopes: { hosts: ['web-01'] } });
    expect(record).toMatchObject({ role: 'agent', scopes: { hosts: ['web-01'] } });
    await expect(issueToken(store, { name: 'a', role: 'agent' })).rejects.toMatchObject({ code: 'E_BAD_PARAM', message: expect.stringContaining('needs the hosts') });
    await expect(issueToken(store, { name: 'a', role: 'agent', scopes: { hosts: ['Web_01'] } })).rejects.toMatchObject({ code: 'E_BAD_PARAM', message: expect.stringContaining("invalid hosts scope 'Web_01'") });
    await expect(issueToken(store, { name: 'a', role: 'agent', scopes: { hosts: ['web-01'], apps: ['billing'] } })).rejects.toMatchObject({ code: 'E_BAD_PARAM' });
    await expect(issueToken(store, { name: 'a', role: 'admin', scopes: { hosts: ['web-01'] } })).rejects.toMatchObject({ code: 'E_BAD_PARAM', message: expect.stringContaining('for agent tokens') });
  });
});
