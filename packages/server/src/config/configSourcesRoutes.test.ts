import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET_VALUES, startConfigFixture, type ConfigFixture } from '../testing/configFixture.js';
import { eventually } from '../testing/eventually.js';

let f: ConfigFixture;

beforeAll(async () => {
  f = await startConfigFixture();
}, 60_000);

afterAll(async () => {
  await f?.stop();
});

const reveals = (): Array<{ actor: string; subject?: string; details: Record<string, unknown> }> => f.server.audit.list({ event: 'config.secrets.read', limit: 100 }).filter((e) => e.details['via'] === 'reveal');

describe('GET /api/v1/config/:app/:env/sources', () => {
  it('names the file of every value, lists the secret keys without values, and says who may reveal them', async () => {
    const prod = await f.call('GET', '/api/v1/config/billing/prod/sources', f.tokens.viewer);
    expect(prod.status).toBe(200);
    expect(prod.body).toMatchObject({ app: 'billing', env: 'prod', seq: 1, values: { db: { host: 'db.prod.internal', port: 5432, pool: 50 }, features: ['a', 'b'], log: { level: 'info' } } });
    expect(prod.body.sources).toEqual({
      '/db/host': 'config/billing/prod.yaml',
      '/db/port': 'config/billing/base.yaml',
      '/db/pool': 'config/billing/prod.yaml',
      '/features': 'config/billing/base.yaml',
      '/log/level': 'config/billing/base.yaml',
    });
    expect(prod.body.secrets).toEqual({
      file: 'config/billing/prod.secrets.yaml',
      keys: [
        { key: 'API_KEY', pointer: '/API_KEY' },
        { key: 'db.password', pointer: '/db/password' },
      ],
      reveal: false,
    });
    const text = JSON.stringify(prod.body);
    expect(text).not.toContain(SECRET_VALUES.prodDbPassword);
    expect(text).not.toContain(SECRET_VALUES.apiKey);
    // The token allowed billing/prod's secrets may reveal them; still no value here, and no read audited.
    const allowed = await f.call('GET', '/api/v1/config/billing/prod/sources', f.tokens.billing);
    expect(allowed.body.secrets.reveal).toBe(true);
    expect(allowed.body.values.db.password).toBeUndefined();
    expect(JSON.stringify(allowed.body)).not.toContain(SECRET_VALUES.prodDbPassword);

    const eu = await f.call('GET', '/api/v1/config/billing/prod/sources?cluster=eu', f.tokens.viewer);
    expect([eu.body.cluster, eu.body.sources['/db/host'], eu.body.sources['/db/pool']]).toEqual(['eu', 'config/billing/prod/eu.yaml', 'config/billing/prod.yaml']);
    const dev = await f.call('GET', '/api/v1/config/billing/dev/sources', f.tokens.viewer);
    expect(dev.body.sources['/log/level']).toBe('config/billing/dev.yaml');
    expect(dev.body.secrets).toBeUndefined();
  });

  it('answers for an older version of main with ?version=', async () => {
    const first = (await f.call('GET', '/api/v1/config/search/prod/sources', f.tokens.viewer)).body;
    const sha = await f.commit('search: more replicas', { 'config/search/prod.yaml': 'replicas: 5\n' });
    const newer = await eventually(
      async () => (await f.call('GET', '/api/v1/config/search/prod/sources', f.tokens.viewer)).body,
      (body) => body.version === sha,
    );
    expect([newer.seq, newer.values, newer.sources]).toEqual([first.seq + 1, { replicas: 5 }, { '/replicas': 'config/search/prod.yaml' }]);
    const old = await f.call('GET', `/api/v1/config/search/prod/sources?version=${first.version.slice(0, 12)}`, f.tokens.viewer);
    expect([old.body.version, old.body.sources]).toEqual([first.version, { '/replicas': 'config/search/base.yaml' }]);
    // The first version's changes list its leaves as added, and no change of the whole document.
    const history = await f.call('GET', '/api/v1/config/search/prod/versions', f.tokens.viewer);
    expect(history.body.items.map((v: { changes: unknown[] }) => v.changes)).toEqual([
      [{ path: '/replicas', change: 'changed', from: 3, to: 5 }],
      [{ path: '/replicas', change: 'added', to: 3 }],
    ]);
  });

  it('refuses unknown configs and commits, other apps for scoped tokens, and unknown parameters', async () => {
    const missing = await f.call('GET', '/api/v1/config/nope/prod/sources', f.tokens.viewer);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'E_CONFIG_NOT_FOUND']);
    const noCommit = await f.call('GET', '/api/v1/config/billing/prod/sources?version=abcdef0123', f.tokens.viewer);
    expect([noCommit.status, noCommit.body.error.code]).toEqual([404, 'E_CONFIG_NOT_FOUND']);
    const scoped = await f.call('GET', '/api/v1/config/search/prod/sources', f.tokens.billing);
    expect([scoped.status, scoped.body.error.code]).toEqual([403, 'E_FORBIDDEN']);
    expect((await f.call('GET', '/api/v1/config/billing/prod/sources?format=yaml', f.tokens.viewer)).body.error.code).toBe('E_BAD_PARAM');
    expect((await f.call('GET', '/api/v1/config/billing/prod/sources', undefined)).status).toBe(401);
  });
});

describe('GET /api/v1/config/:app/:env/secrets/:key', () => {
  it('reveals one secret to a token allowed it, and audits every reveal (never the value)', async () => {
    const before = reveals().length;
    const password = await f.call('GET', '/api/v1/config/billing/prod/secrets/db.password', f.tokens.billing);
    expect(password.status).toBe(200);
    expect(password.body).toMatchObject({ app: 'billing', env: 'prod', key: 'db.password', value: SECRET_VALUES.prodDbPassword });
    expect((await f.call('GET', '/api/v1/config/billing/prod/secrets/db.password', f.tokens.billing)).body.value).toBe(SECRET_VALUES.prodDbPassword);
    expect((await f.call('GET', '/api/v1/config/billing/prod/secrets/API_KEY', f.tokens.billing)).body.value).toBe(SECRET_VALUES.apiKey);
    const audited = reveals().slice(before);
    expect(audited.map((e) => [e.actor, e.subject, e.details['key'], e.details['file']])).toEqual([
      ['billing-app', 'config/billing/prod', 'db.password', 'config/billing/prod.secrets.yaml'],
      ['billing-app', 'config/billing/prod', 'db.password', 'config/billing/prod.secrets.yaml'],
      ['billing-app', 'config/billing/prod', 'API_KEY', 'config/billing/prod.secrets.yaml'],
    ]);
    expect(audited[0]!.details['version']).toBe(password.body.version);
    expect(JSON.stringify(f.server.audit.list({ limit: 1000 }))).not.toContain(SECRET_VALUES.prodDbPassword);
    expect(f.logs.join('\n')).not.toContain(SECRET_VALUES.prodDbPassword);
  });

  it('refuses a token without the secrets scope (audited as access.denied) and an unknown key', async () => {
    const before = reveals().length;
    for (const token of [f.tokens.viewer, f.tokens.billingNoSecrets]) {
      const refused = await f.call('GET', '/api/v1/config/billing/prod/secrets/db.password', token);
      expect([refused.status, refused.body.error.code]).toEqual([403, 'E_FORBIDDEN']);
      expect(refused.body.error.message).toBe('this token may not read the secrets of billing in prod: its secrets scope must name billing/prod');
      expect(JSON.stringify(refused.body)).not.toContain(SECRET_VALUES.prodDbPassword);
    }
    const denied = f.server.audit.list({ event: 'access.denied', limit: 100 }).filter((e) => e.details['action'] === 'reveal-secret');
    expect(denied.map((e) => [e.actor, e.subject, e.details['key']])).toEqual([
      ['vic', 'config/billing/prod', 'db.password'],
      ['billing-plain', 'config/billing/prod', 'db.password'],
    ]);
    // The search token may read every app's secrets, but only search's config.
    expect((await f.call('GET', '/api/v1/config/billing/prod/secrets/db.password', f.tokens.search)).status).toBe(403);
    const unknown = await f.call('GET', '/api/v1/config/billing/prod/secrets/NOPE', f.tokens.billing);
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'E_SECRET_NOT_FOUND']);
    const noFile = await f.call('GET', '/api/v1/config/billing/dev/secrets/db.password', f.tokens.billing);
    expect(noFile.status).toBe(403); // billing's token has the secrets of billing/prod only
    expect((await f.call('GET', '/api/v1/config/billing/prod/secrets/bad%20key', f.tokens.billing)).body.error.code).toBe('E_BAD_PARAM');
    expect(reveals().length).toBe(before);
  });
});

