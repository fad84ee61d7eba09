import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStream, SECRET_VALUES, startConfigFixture, type ConfigFixture, type JsonBody } from '../testing/configFixture.js';

let f: ConfigFixture;

beforeAll(async () => {
  f = await startConfigFixture();
}, 60_000);

afterAll(async () => {
  await f?.stop();
});

const json = (text: string): JsonBody => JSON.parse(text);

describe('serving config', () => {
  it('merges base, env and cluster files, with ETag and 304', async () => {
    const prod = await f.get('/api/v1/config/billing/prod', f.tokens.viewer);
    expect(prod.status).toBe(200);
    expect(json(prod.text)).toEqual({ db: { host: 'db.prod.internal', port: 5432, pool: 50 }, features: ['a', 'b'], log: { level: 'info' } });
    const version = prod.headers.get('estate-config-version')!;
    expect(prod.headers.get('etag')).toBe(`"${version}"`);
    expect(prod.headers.get('estate-config-secrets')).toBe('withheld');
    const eu = await f.get('/api/v1/config/billing/prod?cluster=eu', f.tokens.viewer);
    expect(json(eu.text).db.host).toBe('db.eu.prod.internal');
    const unknownCluster = await f.get('/api/v1/config/billing/prod?cluster=us', f.tokens.viewer);
    expect(json(unknownCluster.text).db.host).toBe('db.prod.internal');
    const again = await f.get('/api/v1/config/billing/prod', f.tokens.viewer, { 'if-none-match': `"${version}"` });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  it('renders env, properties and yaml', async () => {
    const env = await f.get('/api/v1/config/billing/dev?format=env', f.tokens.viewer);
    expect(env.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(env.text).toContain('LOG_LEVEL=debug');
    expect(env.text).toContain('DB_PORT=5432');
    const properties = await f.get('/api/v1/config/billing/dev?format=properties', f.tokens.viewer);
    expect(properties.text).toContain('log.level=debug');
    const yaml = await f.get('/api/v1/config/search/prod?format=yaml', f.tokens.viewer);
    expect(yaml.text.trim()).toBe('replicas: 3');
  });

  it('answers 404 for an unknown app or env and 400 for a bad format', async () => {
    expect(json((await f.get('/api/v1/config/nope/prod', f.tokens.viewer)).text).error.code).toBe('E_CONFIG_NOT_FOUND');
    expect(json((await f.get('/api/v1/config/billing/qa', f.tokens.viewer)).text).error.code).toBe('E_CONFIG_NOT_FOUND');
    expect((await f.get('/api/v1/config/billing/prod?format=xml', f.tokens.viewer)).status).toBe(400);
    expect((await f.get('/api/v1/config/billing/prod', undefined)).status).toBe(401);
  });

  it('serves a new version once main has it, keeps the old one by ?version=, and lists what changed', async () => {
    const before = (await f.get('/api/v1/config/billing/prod', f.tokens.viewer)).headers.get('estate-config-version')!;
    const sha = await f.commit('bigger pool', { 'config/billing/prod.yaml': 'db:\n  host: db.prod.internal\n  pool: 80\n' });
    const after = await waitForVersion('billing', 'prod', sha);
    expect(json(after.text).db.pool).toBe(80);
    const old = await f.get(`/api/v1/config/billing/prod?version=${before}`, f.tokens.viewer);
    expect(json(old.text).db.pool).toBe(50);
    const versions = await f.call('GET', '/api/v1/config/billing/prod/versions', f.tokens.viewer);
    expect(versions.body.items[0]).toMatchObject({ version: sha, changes: [{ path: '/db/pool', change: 'changed', from: 50, to: 80 }] });
    // A commit that leaves billing/prod as it was makes no version of it.
    await f.commit('search only', { 'config/search/base.yaml': 'replicas: 4\n' });
    await waitForVersion('search', 'prod');
    expect((await f.get('/api/v1/config/billing/prod', f.tokens.viewer)).headers.get('estate-config-version')).toBe(sha);
  });

  it('keeps serving the last good version when main has a config that breaks its schema', async () => {
    const good = (await f.get('/api/v1/config/billing/prod', f.tokens.viewer)).headers.get('estate-config-version')!;
    const bad = await f.commit('pool too big', { 'config/billing/prod.yaml': 'db:\n  host: db.prod.internal\n  pool: 9000\n' });
    await waitUntil(async () => (await f.server.store.head())?.sha === bad && (await f.call('GET', '/api/v1/config', f.tokens.viewer)).body.items.some((i: JsonBody) => i.problems));
    const list = await f.call('GET', '/api/v1/config', f.tokens.viewer);
    expect(list.body.items.find((i: JsonBody) => i.app === 'billing' && i.env === 'prod' && !i.cluster).problems[0]).toMatch(/E_CONFIG_SCHEMA/);
    expect((await f.get('/api/v1/config/billing/prod', f.tokens.viewer)).headers.get('estate-config-version')).toBe(good);
    await f.commit('fix pool', { 'config/billing/prod.yaml': 'db:\n  host: db.prod.internal\n  pool: 80\n  timeout: 5\n' });
    await waitUntil(async () => json((await f.get('/api/v1/config/billing/prod', f.tokens.viewer)).text).db.timeout === 5);
  });
});

describe('secrets and scopes', () => {
  it('decrypts secrets only for a token allowed them, and audits the read', async () => {
    const withSecrets = await f.get('/api/v1/config/billing/prod', f.tokens.billing);
    expect(withSecrets.headers.get('estate-config-secrets')).toBe('included');
    expect(json(withSecrets.text).db.password).toBe(SECRET_VALUES.prodDbPassword);
    expect(json(withSecrets.text).API_KEY).toBe(SECRET_VALUES.apiKey);
    const env = await f.get('/api/v1/config/billing/prod?format=env', f.tokens.billing);
    expect(env.text).toContain(`DB_PASSWORD=${SECRET_VALUES.prodDbPassword}`);
    for (const token of [f.tokens.billingNoSecrets, f.tokens.viewer]) {
      const plain = await f.get('/api/v1/config/billing/prod', token);
      expect(plain.headers.get('estate-config-secrets')).toBe('withheld');
      expect(plain.text).not.toContain(SECRET_VALUES.prodDbPassword);
      expect(json(plain.text).db.password).toBeUndefined();
    }
    // billing/dev has no secrets file: nothing to include.
    expect((await f.get('/api/v1/config/billing/dev', f.tokens.billing)).headers.get('estate-config-secrets')).toBe('none');
    const audit = f.server.audit.list({ event: 'config.secrets.read', limit: 10 });
    expect(audit.some((e) => e.actor === 'billing-app' && e.subject === 'config/billing/prod')).toBe(true);
    expect(JSON.stringify(audit)).not.toContain(SECRET_VALUES.prodDbPassword);
  });

  it("keeps an app's token to its own config", async () => {
    expect((await f.get('/api/v1/config/search/prod', f.tokens.billing)).status).toBe(403);
    expect((await f.get('/api/v1/config/billing/prod', f.tokens.search)).status).toBe(403);
    expect((await f.get('/api/v1/config/billing/prod/watch', f.tokens.search)).status).toBe(403);
    expect((await f.get('/api/v1/assets', f.tokens.billing)).status).toBe(403);
    expect((await f.get('/api/v1/commits', f.tokens.billing)).status).toBe(403);
    const list = await f.call('GET', '/api/v1/config', f.tokens.billing);
    expect(new Set(list.body.items.map((i: JsonBody) => i.app))).toEqual(new Set(['billing']));
    const search = await f.get('/api/v1/config/search/prod', f.tokens.search);
    expect(search.status).toBe(200);
    expect(search.headers.get('estate-config-secrets')).toBe('none');
  });

  it('refuses a tampered secrets file: the last good version stays', async () => {
    const good = (await f.get('/api/v1/config/billing/prod', f.tokens.billing)).headers.get('estate-config-version')!;
    const file = await f.secretsFile('prod', { 'db.password': SECRET_VALUES.prodDbPassword, API_KEY: SECRET_VALUES.apiKey });
    // Swap the ciphertexts of the two keys: each is valid age, but the MAC binds values to keys.
    const api = /^ {4}API_KEY: (.*)$/m.exec(file)![1]!;
    const password = /^ {4}"db\.password": (.*)$/m.exec(file)![1]!;
    const tampered = file.replace(`API_KEY: ${api}`, `API_KEY: ${password}`).replace(`"db.password": ${password}`, `"db.password": ${api}`);
    expect(tampered).not.toBe(file);
    const sha = await f.commit('tamper', { 'config/billing/prod.secrets.yaml': tampered });
    await waitUntil(async () => (await f.server.store.head())?.sha === sha && f.server.configIndex.problems().size > 0);
    expect([...f.server.configIndex.problems().values()].flat().join('\n')).toMatch(/E_SECRET_MAC|MAC/);
    const served = await f.get('/api/v1/config/billing/prod', f.tokens.billing);
    expect(served.headers.get('estate-config-version')).toBe(good);
    expect(json(served.text).db.password).toBe(SECRET_VALUES.prodDbPassword);
    await f.commit('restore', { 'config/billing/prod.secrets.yaml': file });
    await waitUntil(async () => f.server.configIndex.problems().size === 0);
  });

  it('never logs a secret value', () => {
    const all = f.logs.join('\n');
    for (const value of Object.values(SECRET_VALUES)) expect(all).not.toContain(value);
  });
});

describe('watch', () => {
  it('pushes each new version and resumes from Last-Event-ID without missing one', async () => {
    const stream = await openEventStream(`${f.url}/api/v1/config/search/prod/watch`, f.tokens.viewer);
    const first = await stream.next();
    expect(first.event).toBe('config');
    const current = JSON.parse(first.data);
    expect(first.id).toBe(current.version);
    const one = await f.commit('replicas 5', { 'config/search/base.yaml': 'replicas: 5\n' });
    const pushed = await stream.next();
    expect(pushed.id).toBe(one);
    expect(JSON.parse(pushed.data).config).toEqual({ replicas: 5 });
    stream.close();
    const missed = [await f.commit('replicas 6', { 'config/search/base.yaml': 'replicas: 6\n' }), await f.commit('replicas 7', { 'config/search/base.yaml': 'replicas: 7\n' })];
    await waitForVersion('search', 'prod', missed[1]);
    const resumed = await openEventStream(`${f.url}/api/v1/config/search/prod/watch`, f.tokens.viewer, one);
    expect([(await resumed.next()).id, (await resumed.next()).id]).toEqual(missed);
    expect(await resumed.hasEvent(300)).toBe(false);
    resumed.close();
  });

  it('long-polls with ?wait= until a new version is due', async () => {
    const current = await f.get('/api/v1/config/search/dev', f.tokens.viewer);
    const etag = current.headers.get('etag')!;
    const idle = await f.get('/api/v1/config/search/dev?wait=1', f.tokens.viewer, { 'if-none-match': etag });
    expect(idle.status).toBe(304);
    const polling = f.get('/api/v1/config/search/dev?wait=30', f.tokens.viewer, { 'if-none-match': etag });
    const sha = await f.commit('replicas 8', { 'config/search/base.yaml': 'replicas: 8\n' });
    const answer = await polling;
    expect(answer.status).toBe(200);
    expect(answer.headers.get('estate-config-version')).toBe(sha);
  });

  it('watchers reconnecting across a server restart miss no version', async () => {
    const stream = await openEventStream(`${f.url}/api/v1/config/search/prod/watch`, f.tokens.viewer);
    const last = (await stream.next()).id!;
    await f.server.close();
    // While the server is down, main moves twice.
    const missed = [f.source.commit('r9', { 'config/search/base.yaml': 'replicas: 9\n' }), f.source.commit('r10', { 'config/search/base.yaml': 'replicas: 10\n' })];
    f.source.git('push', '-q', `${f.dataDir}/estate.git`, 'main:main');
    await f.restart();
    const resumed = await openEventStream(`${f.url}/api/v1/config/search/prod/watch`, f.tokens.viewer, last);
    expect([(await resumed.next(20_000)).id, (await resumed.next()).id]).toEqual(missed);
    resumed.close();
    stream.close();
  });
});

describe('gray release', () => {
  it('sends a new version to canaries first, shows instances, then promotes', async () => {
    const base = (await f.get('/api/v1/config/billing/dev?instance=i-stable', f.tokens.viewer)).headers.get('estate-config-version')!;
    const started = await f.call('POST', '/api/v1/config/billing/dev/releases', f.tokens.approver, { selector: 'zone=canary' });
    expect(started.status).toBe(201);
    expect((await f.call('POST', '/api/v1/config/billing/dev/releases', f.tokens.approver, { percentage: 10 })).body.error.code).toBe('E_RELEASE_ACTIVE');
    expect((await f.call('POST', '/api/v1/config/billing/dev/releases', f.tokens.viewer, { percentage: 10 })).status).toBe(403);
    const canaryWatch = await openEventStream(`${f.url}/api/v1/config/billing/dev/watch?instance=i-canary&labels=zone=canary`, f.tokens.viewer);
    const stableWatch = await openEventStream(`${f.url}/api/v1/config/billing/dev/watch?instance=i-stable-w&labels=zone=a`, f.tokens.viewer);
    expect((await canaryWatch.next()).id).toBe(base);
    expect((await stableWatch.next()).id).toBe(base);
    const sha = await f.commit('trace logging', { 'config/billing/dev.yaml': 'log:\n  level: trace\n' });
    const canaryEvent = await canaryWatch.next();
    expect(canaryEvent.id).toBe(sha);
    expect(JSON.parse(canaryEvent.data)).toMatchObject({ release: 'canary', config: { log: { level: 'trace' } } });
    expect(await stableWatch.hasEvent(500)).toBe(false);
    expect((await f.get('/metrics', f.tokens.viewer)).text).toMatch(/^estate_config_watchers [1-9]/m);
    const stable = await f.get('/api/v1/config/billing/dev?instance=i-stable&labels=zone=a', f.tokens.viewer);
    expect(stable.headers.get('estate-config-version')).toBe(base);
    expect(stable.headers.get('estate-config-release')).toBe('stable');
    const instances = await f.call('GET', '/api/v1/config/billing/dev/instances', f.tokens.viewer);
    const byId = Object.fromEntries(instances.body.items.map((i: JsonBody) => [i.instance, i]));
    expect(byId['i-canary']).toMatchObject({ version: sha, release: 'canary', connected: true, labels: { zone: 'canary' } });
    expect(byId['i-stable']).toMatchObject({ version: base, release: 'stable', via: 'get' });
    const promoted = await f.call('POST', `/api/v1/config/billing/dev/releases/${started.body.id}/promote`, f.tokens.approver);
    expect(promoted.body.state).toBe('promoted');
    expect((await stableWatch.next()).id).toBe(sha);
    expect((await f.get('/api/v1/config/billing/dev?instance=i-stable', f.tokens.viewer)).headers.get('estate-config-version')).toBe(sha);
    canaryWatch.close();
    stableWatch.close();
  });

  it('aborting sends canaries back to the baseline until main changes again', async () => {
    const base = (await f.get('/api/v1/config/search/dev', f.tokens.viewer)).headers.get('estate-config-version')!;
    const release = await f.call('POST', '/api/v1/config/search/dev/releases', f.tokens.approver, { percentage: 99.99 });
    const canary = await openEventStream(`${f.url}/api/v1/config/search/dev/watch?instance=host-1`, f.tokens.viewer);
    expect((await canary.next()).id).toBe(base);
    const bad = await f.commit('bad replicas', { 'config/search/base.yaml': 'replicas: 0\n' });
    expect((await canary.next()).id).toBe(bad);
    await f.call('POST', `/api/v1/config/search/dev/releases/${release.body.id}/abort`, f.tokens.approver);
    expect((await canary.next()).id).toBe(base);
    expect((await f.get('/api/v1/config/search/dev?instance=host-2', f.tokens.viewer)).headers.get('estate-config-version')).toBe(base);
    const fixed = await f.commit('revert replicas', { 'config/search/base.yaml': 'replicas: 8\n' });
    expect((await canary.next()).id).toBe(fixed);
    canary.close();
    const audit = f.server.audit.list({ event: 'config.release.aborted', limit: 5 });
    expect(audit[0]).toMatchObject({ actor: 'ann', subject: 'config/search/dev' });
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function waitForVersion(app: string, env: string, sha?: string): Promise<{ text: string; headers: Headers }> {
  let answer: { text: string; headers: Headers } | undefined;
  await waitUntil(async () => {
    answer = await f.get(`/api/v1/config/${app}/${env}`, f.tokens.viewer);
    return sha === undefined || answer.headers.get('estate-config-version') === sha;
  });
  return answer!;
}
