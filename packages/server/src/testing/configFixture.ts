// Test helpers (left out of the build): a server started in this process over a repository with
// application config and secrets, tokens with config scopes, commits pushed straight to main, and
// a reader of server-sent events over real HTTP.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptSecrets, generateSecretIdentity, type SecretIdentity } from '@estate/core';
import { issueToken } from '../auth/tokens.js';
import { callJson, type JsonBody } from './callJson.js';
import { IDENTITY_FILE } from '../config/serverIdentity.js';
import { startServer, type RunningServer, type ServeOptions } from '../server.js';
import { makeTestRepo, type TestRepo } from './gitRepo.js';

/** Secret values the config tests use; no log line may ever hold one. */
export const SECRET_VALUES = { prodDbPassword: 'pr0d-Sup3r-s3cret-VALUE-7781', devDbPassword: 'd3v-s3cret-VALUE-1142', apiKey: 'k3y-0f-the-api-9911' };

/** The repo's estate.yaml: envs dev and prod, secrets encrypted to `recipients`. */
export function estateYaml(recipients: string[]): string {
  return `apiVersion: estate/v1\nkind: Estate\nmetadata:\n  name: test\nspec:\n  environments: [dev, prod]\n  secrets:\n    recipients: [${recipients.join(', ')}]\n`;
}

/** A running server over config for apps `billing` and `search`, with tokens by purpose. */
export interface ConfigFixture {
  server: RunningServer;
  url: string;
  source: TestRepo;
  dataDir: string;
  /** The server's identity (also the recipient of the repo's secrets) and a developer's. */
  serverKey: SecretIdentity;
  developerKey: SecretIdentity;
  tokens: {
    /** viewer, every app, no secrets */
    viewer: string;
    /** approver: gray releases */
    approver: string;
    /** scoped to billing, secrets of billing/prod */
    billing: string;
    /** scoped to billing, no secrets */
    billingNoSecrets: string;
    /** scoped to search, secrets of every app and env (only search's are reachable) */
    search: string;
  };
  /** Log lines of the server (messages and data as JSON). */
  logs: string[];
  /** Commits files to the source repo and pushes them to the server's main; returns the sha. */
  commit(message: string, files: Record<string, string | null>): Promise<string>;
  /** Encrypts a secrets file of billing in `env` to the server and the developer. */
  secretsFile(env: string, values: Record<string, string>): Promise<string>;
  /** GET with a token; the body as text. */
  get(path: string, token: string | undefined, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; text: string }>;
  call(method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: JsonBody }>;
  /** Closes the server and starts it again on the same data dir and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export type { JsonBody };

/** Starts the fixture: billing (base, dev, prod, prod/eu cluster, schema, prod secrets) and search (base only). */
export async function startConfigFixture(options: Partial<ServeOptions> = {}): Promise<ConfigFixture> {
  const serverKey = await generateSecretIdentity();
  const developerKey = await generateSecretIdentity();
  const dataDir = mkdtempSync(join(tmpdir(), 'estate-config-data-'));
  writeFileSync(join(dataDir, IDENTITY_FILE), `${serverKey.identity}\n`, { mode: 0o600 });
  const source = makeTestRepo('estate-config-');
  const fixture = {} as ConfigFixture;
  const secretsFile = (env: string, values: Record<string, string>): Promise<string> =>
    encryptSecrets({ app: 'billing', env, recipients: [serverKey.recipient, developerKey.recipient], values });
  source.commit('config', {
    'estate.yaml': estateYaml([serverKey.recipient, developerKey.recipient]),
    'config/billing/base.yaml': 'db:\n  host: db.internal\n  port: 5432\n  pool: 10\nfeatures: [a, b]\nlog:\n  level: info\n',
    'config/billing/dev.yaml': 'log:\n  level: debug\n',
    'config/billing/prod.yaml': 'db:\n  host: db.prod.internal\n  pool: 50\n',
    'config/billing/prod/eu.yaml': 'db:\n  host: db.eu.prod.internal\n',
    'config/billing/schema.yaml': 'type: object\nproperties:\n  db:\n    type: object\n    properties:\n      pool: {type: integer, maximum: 500}\n',
    'config/billing/prod.secrets.yaml': await secretsFile('prod', { 'db.password': SECRET_VALUES.prodDbPassword, API_KEY: SECRET_VALUES.apiKey }),
    'config/search/base.yaml': 'replicas: 3\n',
  });
  const logs: string[] = [];
  const log = (level: string, message: string, data?: Record<string, unknown>): void => {
    logs.push(`${level} ${message} ${data ? JSON.stringify(data) : ''}`);
  };
  let port = 0;
  const start = async (): Promise<void> => {
    fixture.server = await startServer({ dataDir, ...(port ? {} : { importFrom: source.dir }), port, pollMs: 100, log, ...options });
    fixture.url = fixture.server.url;
    port = Number(new URL(fixture.url).port);
    await waitForConfig(fixture.url, fixture.tokens?.viewer);
  };
  Object.assign(fixture, { source, dataDir, serverKey, developerKey, logs, secretsFile });
  await start();
  const issue = async (name: string, role: 'viewer' | 'approver', scopes: Record<string, string[]> = {}): Promise<string> =>
    (await issueToken(fixture.server.store, { name, role, scopes })).token;
  fixture.tokens = {
    viewer: await issue('vic', 'viewer'),
    approver: await issue('ann', 'approver'),
    billing: await issue('billing-app', 'viewer', { apps: ['billing'], secrets: ['billing/prod'] }),
    billingNoSecrets: await issue('billing-plain', 'viewer', { apps: ['billing'] }),
    search: await issue('search-app', 'viewer', { apps: ['search'], secrets: ['*/*'] }),
  };
  await waitForConfig(fixture.url, fixture.tokens.viewer);
  fixture.commit = async (message, files) => {
    const sha = source.commit(message, files);
    execFileSync('git', ['push', '-q', join(dataDir, 'estate.git'), 'main:main'], { cwd: source.dir, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
    return sha;
  };
  fixture.get = async (path, token, headers = {}) => {
    const response = await fetch(`${fixture.url}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };
  fixture.call = (method, path, token, body) => callJson(method, `${fixture.url}${path}`, token, body);
  fixture.restart = async () => {
    await fixture.server.close();
    await start();
  };
  fixture.stop = async () => {
    await fixture.server.close();
    source.remove();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return fixture;
}

/** Waits until the server serves config (the first index and config run are done). */
async function waitForConfig(url: string, token: string | undefined): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const ready = await fetch(`${url}/readyz`).catch(() => undefined);
    if (ready?.status === 200 && token === undefined) return;
    if (ready?.status === 200) {
      const list = await fetch(`${url}/api/v1/config`, { headers: { authorization: `Bearer ${token}` } });
      if (list.status === 200 && ((await list.json()) as { items: unknown[] }).items.length > 0) return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${url} did not serve config in time`);
}

/** One server-sent event. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** An open SSE stream: events in arrival order. */
export interface EventStream {
  /** The next event (heartbeats and `retry:` lines are skipped); fails after `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseEvent>;
  /** True when an event arrives within `ms`. */
  hasEvent(ms: number): Promise<boolean>;
  close(): void;
}

/** Opens `GET url` as an event stream with a token and an optional Last-Event-ID. */
export async function openEventStream(url: string, token: string | undefined, lastEventId?: string): Promise<EventStream> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    signal: controller.signal,
  });
  if (response.status !== 200) throw new Error(`event stream answered ${response.status}: ${await response.text()}`);
  const events: SseEvent[] = [];
  let waiting: (() => void) | undefined;
  let buffer = '';
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { event: 'message', data: '' };
          let hasData = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':') || line.startsWith('retry:')) continue;
            const colon = line.indexOf(':');
            const field = line.slice(0, colon);
            const value = line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') event.id = value;
            else if (field === 'event') event.event = value;
            else if (field === 'data') {
              event.data += (hasData ? '\n' : '') + value;
              hasData = true;
            }
          }
          if (hasData) {
            events.push(event);
            waiting?.();
          }
        }
      }
    } catch {
      // aborted or closed
    }
  })();
  const wait = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (events.length > 0) return resolve(true);
      const timer = setTimeout(() => {
        waiting = undefined;
        resolve(false);
      }, ms);
      waiting = () => {
        clearTimeout(timer);
        waiting = undefined;
        resolve(true);
      };
    });
  return {
    async next(timeoutMs = 10_000) {
      if (!(await wait(timeoutMs))) throw new Error(`no event within ${timeoutMs} ms`);
      return events.shift()!;
    },
    hasEvent: wait,
    close: () => controller.abort(),
  };
}
