/**
 * The config SDK (@estate/client createConfigClient) against the real server: started in this
 * process over a real repository, asked over real HTTP, restarted on the same data dir and port.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createConfigClient, type ConfigClient, type ConfigSnapshot } from '@estate/client';
import { encryptSecrets } from '@estate/core';
import { issueToken, startServer, type RunningServer } from '@estate/server';
import { commit, git, makeRepo, makeTempDir, removeTempDirs } from '../cli/helpers.js';
import { getJson, waitFor } from './helpers.js';

afterAll(removeTempDirs);

const ESTATE = (recipients: string[] = []): string => `apiVersion: estate/v1
kind: Estate
metadata:
  name: test
spec:
  environments: [dev, prod]
${recipients.length ? `  secrets:\n    recipients: [${recipients.join(', ')}]\n` : ''}`;

const FILES = {
  'estate.yaml': ESTATE(),
  'assets/teams/platform.yaml': 'apiVersion: estate/v1\nkind: Team\nmetadata:\n  name: platform\nspec:\n  members: [ada]\n',
  'assets/services/billing.yaml': 'apiVersion: estate/v1\nkind: Service\nmetadata:\n  name: billing\n  owner: team/platform\nspec: {}\n',
  'assets/applications/billing.yaml': 'apiVersion: estate/v1\nkind: Application\nmetadata:\n  name: billing\n  owner: team/platform\nspec:\n  service: service/billing\n',
  'config/billing/base.yaml': 'http:\n  port: 8080\nfeature:\n  new-ui: false\n',
  'config/billing/prod.yaml': 'http:\n  port: 9090\nlimit: 0\n',
};

/** A server over a repo with config for billing, a work tree to commit to, and tokens. */
interface Fixture {
  server: RunningServer;
  url: string;
  port: number;
  data: string;
  work: string;
  /** A viewer token scoped to billing, without secrets. */
  token: string;
  log: string[];
  /** Commits `files` in the work tree and pushes them to the server's main; returns the sha. */
  push(message: string, files: Record<string, string | null>): string;
  /** Starts the server again on the same data dir and port (after `server.close()`). */
  restart(): Promise<void>;
}

const fixtures: Fixture[] = [];
const clients: ConfigClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(fixtures.splice(0).map((fixture) => fixture.server.close().catch(() => undefined)));
});

async function startFixture(): Promise<Fixture> {
  const work = makeRepo(FILES);
  const data = join(makeTempDir('estate-config-data-'), 'data');
  const log: string[] = [];
  const logger = (level: string, message: string, details?: Record<string, unknown>): void => void log.push(`${level} ${message} ${JSON.stringify(details ?? {})}`);
  const server = await startServer({ dataDir: data, importFrom: work, port: 0, pollMs: 50, log: logger });
  const port = Number(new URL(server.url).port);
  const fixture: Fixture = {
    server,
    url: server.url,
    port,
    data,
    work,
    token: (await issueToken(server.store, { name: 'billing-app', role: 'viewer', scopes: { apps: ['billing'] } })).token,
    log,
    push(message, files) {
      const sha = commit(work, message, files);
      git(work, 'push', '--quiet', join(data, 'estate.git'), 'main:main');
      return sha;
    },
    async restart() {
      fixture.server = await startServer({ dataDir: data, port, pollMs: 50, log: logger });
    },
  };
  fixtures.push(fixture);
  // Config versions are computed once the commits are indexed: wait for billing's.
  await waitFor('the first config version', async () => ((await getJson(`${server.url}/api/v1/config/billing/prod`, fixture.token)).status === 200 ? true : undefined));
  return fixture;
}

function client(fixture: Fixture, options: { token?: string; cacheDir?: string; env?: string; instance?: string; zone?: string } = {}): ConfigClient {
  const created = createConfigClient({
    url: fixture.url,
    token: options.token ?? fixture.token,
    app: 'billing',
    env: options.env ?? 'prod',
    instance: options.instance ?? 'test-1',
    labels: { zone: options.zone ?? 'a' },
    backoff: { initialMs: 100, maxMs: 1000 },
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
  });
  clients.push(created);
  return created;
}

/** Collects what a subscription delivers. */
function collect(configClient: ConfigClient): { seen: ConfigSnapshot[]; errors: Error[] } {
  const seen: ConfigSnapshot[] = [];
  const errors: Error[] = [];
  configClient.subscribe((snapshot) => void seen.push(snapshot), (error) => void errors.push(error));
  return { seen, errors };
}

const head = (fixture: Fixture): string => git(fixture.work, 'rev-parse', 'HEAD');

describe('config client against the real server', () => {
  it('gets the merged config of the current version', async () => {
    const fixture = await startFixture();
    const snapshot = await client(fixture).get();
    expect(snapshot).toMatchObject({
      app: 'billing',
      env: 'prod',
      version: head(fixture),
      secrets: 'none',
      release: 'stable',
      source: 'server',
      values: { http: { port: 9090 }, feature: { 'new-ui': false }, limit: 0 },
    });
    expect(Number.isSafeInteger(snapshot.seq)).toBe(true);
    // Refusals are never hidden, not even with a cache at hand.
    const cacheDir = makeTempDir('estate-config-cache-');
    await expect(client(fixture, { env: 'dev', token: 'est_not-a-token', cacheDir }).get()).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', status: 401 });
    const other = createConfigClient({ url: fixture.url, token: fixture.token, app: 'shop', env: 'prod' });
    clients.push(other);
    await expect(other.get()).rejects.toMatchObject({ status: 403 });
  });

  it('subscribe delivers the current version, then each new one as main moves', async () => {
    const fixture = await startFixture();
    const watcher = client(fixture);
    const { seen } = collect(watcher);
    await waitFor('the current version', async () => (seen.length >= 1 ? true : undefined));
    expect(seen[0]).toMatchObject({ version: head(fixture), values: { limit: 0 } });
    const next = fixture.push('raise the limit', { 'config/billing/prod.yaml': 'http:\n  port: 9090\nlimit: 5\n' });
    await waitFor('the pushed version', async () => (seen.some((s) => s.version === next) ? true : undefined));
    expect(seen.map((s) => s.version)).toEqual([seen[0]!.version, next]);
    expect(seen[1]).toMatchObject({ values: { limit: 5 }, source: 'server' });
    expect(seen[1]!.seq).toBeGreaterThan(seen[0]!.seq);
  });

  it('a subscription resumes across a server restart and misses no version committed while it was down', async () => {
    const fixture = await startFixture();
    const watcher = client(fixture);
    const first = await watcher.get();
    const { seen } = collect(watcher);
    const v1 = fixture.push('limit 1', { 'config/billing/prod.yaml': 'http:\n  port: 9090\nlimit: 1\n' });
    await waitFor('v1', async () => (seen.some((s) => s.version === v1) ? true : undefined));

    await fixture.server.close();
    const v2 = fixture.push('limit 2', { 'config/billing/prod.yaml': 'http:\n  port: 9090\nlimit: 2\n' });
    // A commit that does not touch billing's config is no new version of it.
    fixture.push('unrelated', { 'notes.txt': 'hello\n' });
    const v3 = fixture.push('limit 3', { 'config/billing/base.yaml': 'http:\n  port: 8080\nfeature:\n  new-ui: true\n' });
    await fixture.restart();
    await waitFor('v3 after the restart', async () => (seen.some((s) => s.version === v3) ? true : undefined), 30_000);
    const v4 = fixture.push('limit 4', { 'config/billing/prod.yaml': 'http:\n  port: 9090\nlimit: 4\n' });
    await waitFor('v4', async () => (seen.some((s) => s.version === v4) ? true : undefined));

    // The get() version was held, so the stream started after it: each later one once, in order.
    expect(seen.map((s) => s.version)).toEqual([v1, v2, v3, v4]);
    expect(seen.map((s) => s.values['limit'])).toEqual([1, 2, 2, 4]);
    expect(seen[2]!.values['feature']).toEqual({ 'new-ui': true });
    const seqs = [first.seq, ...seen.map((s) => s.seq)];
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
  }, 60_000);

  it('a gray release reaches the canary by its labels; an abort takes it back to the stable version', async () => {
    const fixture = await startFixture();
    const approver = (await issueToken(fixture.server.store, { name: 'rel', role: 'approver' })).token;
    const post = async (path: string, body: unknown = {}): Promise<{ status: number; body: { id?: number } }> => {
      const response = await fetch(`${fixture.url}/api/v1/config/billing/prod${path}`, { method: 'POST', headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as { id?: number } };
    };
    const canary = client(fixture, { instance: 'c-1', zone: 'a' });
    const stable = client(fixture, { instance: 's-1', zone: 'b' });
    const base = await canary.get();
    const { seen } = collect(canary);
    const release = await post('/releases', { selector: 'zone=a' });
    expect(release.status).toBe(201);
    const next = fixture.push('limit 9', { 'config/billing/prod.yaml': 'http:\n  port: 9090\nlimit: 9\n' });
    await waitFor('the canary version', async () => (seen.some((s) => s.version === next) ? true : undefined));
    expect(seen.at(-1)).toMatchObject({ version: next, release: 'canary', values: { limit: 9 } });
    expect(await stable.get()).toMatchObject({ version: base.version, release: 'stable' });

    expect((await post(`/releases/${release.body.id}/abort`)).status).toBe(200);
    await waitFor('the way back', async () => (seen.at(-1)?.version === base.version ? true : undefined));
    expect(seen.map((s) => [s.version, s.release])).toEqual([
      [next, 'canary'],
      [base.version, 'stable'],
    ]);
  });

  it('falls back to the last-known-good cache when the server is down at startup', async () => {
    const fixture = await startFixture();
    const cacheDir = makeTempDir('estate-config-cache-');
    const fresh = await client(fixture, { cacheDir }).get();
    await waitFor('the cache file', async () => (readdirSync(cacheDir).includes('billing.prod.json') ? true : undefined));
    await fixture.server.close();

    const cached = await client(fixture, { cacheDir }).get();
    expect(cached).toEqual({ ...fresh, source: 'cache' });
    // Without a cache (or with another token, whose keys cannot read it): a clear error.
    await expect(client(fixture).get()).rejects.toMatchObject({ code: 'E_CONFIG_UNAVAILABLE' });
    await expect(client(fixture, { cacheDir, token: `${fixture.token}x` }).get()).rejects.toMatchObject({ code: 'E_CONFIG_UNAVAILABLE' });
  });

  it('keeps secrets encrypted in the cache file', async () => {
    const fixture = await startFixture();
    const admin = (await issueToken(fixture.server.store, { name: 'root', role: 'admin' })).token;
    const recipient = (await getJson(`${fixture.url}/api/v1/config-recipient`, admin)).body?.recipient as string;
    expect(recipient).toMatch(/^age1/);
    const password = 'pw-7f3a9c-never-in-plaintext';
    const sha = fixture.push('secrets', {
      'estate.yaml': ESTATE([recipient]),
      'config/billing/prod.secrets.yaml': await encryptSecrets({ app: 'billing', env: 'prod', recipients: [recipient], values: { 'db.password': password } }),
    });
    const reader = (await issueToken(fixture.server.store, { name: 'billing-secrets', role: 'viewer', scopes: { apps: ['billing'], secrets: ['billing/prod'] } })).token;
    const cacheDir = makeTempDir('estate-config-cache-');
    const snapshot = await waitFor('the version with secrets', async () => {
      const got = await client(fixture, { token: reader, cacheDir }).get();
      return got.version === sha ? got : undefined;
    });
    expect(snapshot.secrets).toBe('included');
    expect(snapshot.values['db']).toEqual({ password });
    await Promise.all(clients.splice(0).map((c) => c.close()));
    const text = readFileSync(join(cacheDir, 'billing.prod.json'), 'utf8');
    expect(text).not.toContain(password);
    expect(text).not.toContain('9090');

    // The app's token without the secrets scope gets them withheld.
    const plain = await client(fixture).get();
    expect(plain.secrets).toBe('withheld');
    expect(plain.values['db']).toBeUndefined();

    // From the cache, with the token, while the server is down: the secret is back.
    await fixture.server.close();
    const cached = await client(fixture, { token: reader, cacheDir }).get();
    expect(cached).toMatchObject({ source: 'cache', version: sha, secrets: 'included', values: { db: { password } } });
    expect(fixture.log.join('\n')).not.toContain(password);
  });
});
