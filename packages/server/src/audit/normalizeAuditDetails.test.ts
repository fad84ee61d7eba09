import { describe, expect, it } from 'vitest';
import { isSecretKey, normalizeAuditDetails } from './normalizeAuditDetails.js';

function refusal(details: Record<string, unknown>): { code: string; message: string; data: unknown } {
  try {
    normalizeAuditDetails(details);
  } catch (error) {
    const { code, message, data } = error as { code: string; message: string; data: unknown };
    return { code, message, data };
  }
  throw new Error('expected a refusal');
}

describe('normalizeAuditDetails', () => {
  it('keeps JSON, drops undefined members, writes dates as ISO and -0 as 0', () => {
    const at = new Date('2024-05-01T09:30:00Z');
    expect(normalizeAuditDetails({ title: 'x', count: -0, reason: undefined, when: at, nested: { list: [1, 'a', null, false] } })).toEqual({
      title: 'x',
      count: 0,
      when: '2024-05-01T09:30:00.000Z',
      nested: { list: [1, 'a', null, false] },
    });
    expect(Object.is(normalizeAuditDetails({ n: -0 }).n, 0)).toBe(true);
  });

  it('refuses what is not JSON, naming where', () => {
    expect(refusal({ n: Number.NaN })).toEqual({ code: 'E_AUDIT_EVENT', message: 'audit details $.n cannot be recorded: NaN is not a JSON number', data: { path: '$.n', reason: 'NaN is not a JSON number' } });
    expect(refusal({ list: [1, undefined] }).message).toBe('audit details $.list[1] cannot be recorded: undefined is not JSON');
    expect(refusal({ f: () => 1 }).message).toBe('audit details $.f cannot be recorded: a function is not JSON');
    expect(refusal({ big: 1n }).message).toBe('audit details $.big cannot be recorded: a bigint is not JSON');
    expect(refusal({ map: new Map() }).message).toBe('audit details $.map cannot be recorded: an instance of Map is not plain JSON');
    expect(refusal({ s: 'a\ud800b' }).message).toBe('audit details $.s cannot be recorded: the string holds a lone UTF-16 surrogate');
    expect(refusal(JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>).message).toBe("audit details $.__proto__ cannot be recorded: the key '__proto__' is refused");
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(refusal(cycle).message).toBe('audit details $.self cannot be recorded: the value refers to itself');
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(refusal(deep).code).toBe('E_AUDIT_EVENT');
    expect(refusal({ text: 'x'.repeat(70_000) })).toMatchObject({ code: 'E_AUDIT_EVENT', message: expect.stringMatching(/^audit details of 70011 bytes exceed the limit of 65536/) });
  });

  it('accepts a value seen twice that is not a cycle', () => {
    const shared = { id: 'x' };
    expect(normalizeAuditDetails({ a: shared, b: shared })).toEqual({ a: { id: 'x' }, b: { id: 'x' } });
  });

  it('refuses keys named like secrets, at any depth', () => {
    expect(refusal({ token: 'abc' })).toEqual({
      code: 'E_AUDIT_SECRET',
      message: "audit details may not have a key named like a secret ('token' at $): record an id or a fingerprint instead",
      data: { path: '$.token', key: 'token' },
    });
    expect(refusal({ webhook: { signingSecret: 'abc' } })).toMatchObject({ code: 'E_AUDIT_SECRET', data: { path: '$.webhook.signingSecret' } });
    for (const key of ['password', 'new_password', 'apiKey', 'api-key', 'private_key', 'Authorization', 'credentials', 'passphrase', 'AccessToken']) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ['tokenId', 'token_name', 'secretName', 'passwordChangedAt', 'keyId', 'tokens_revoked_count', 'author']) {
      expect(isSecretKey(key), key).toBe(false);
    }
    expect(normalizeAuditDetails({ tokenId: 'tok_ab', secretName: 'db-password' })).toEqual({ tokenId: 'tok_ab', secretName: 'db-password' });
  });

  it('refuses values that are secrets whatever their key', () => {
    expect(refusal({ note: `oops est_${'a'.repeat(43)}` })).toEqual({
      code: 'E_AUDIT_SECRET',
      message: 'audit details $.note hold an Estate API token: the audit trail must never contain secrets',
      data: { path: '$.note' },
    });
    expect(refusal({ list: ['AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ'] }).message).toBe(
      'audit details $.list[0] hold an age secret key: the audit trail must never contain secrets',
    );
    expect(refusal({ pem: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc' }).message).toBe('audit details $.pem hold a PEM private key: the audit trail must never contain secrets');
  });
});
