import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Diagnostic } from '@estate/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { hashToken, issueToken, revokeToken } from '../auth/tokens.js';
import { openSqliteStore } from '../index.js';
import type { AssetWrite, CommitBatch, EstateModel, StoredReference, Store } from '../store/Store.js';
import { buildApp } from './app.js';
import type { IndexStatus } from './IndexStatus.js';
import * as schemas from './schemas.js';

/** A parsed JSON answer: tests read into it freely and assert what they find. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type JsonBody = any;

interface Answer {
  status: number;
  headers: Headers;
  body: JsonBody;
  text: string;
}

const sha = (seed: string, prefix = ''): string => prefix + createHash('sha1').update(seed).digest('hex').slice(prefix.length);
/** Six commits of main; the third and fourth share the prefix `abcd` (for E_AMBIGUOUS). */
const SHAS = [sha('c1'), sha('c2'), sha('c3', 'abcd1'), sha('c4', 'abcd2'), sha('c5'), sha('c6')] as const;
const DATES = ['2024-01-01T10:00:00Z', '2024-01-02T10:00:00Z', '2024-01-03T10:00:00Z', '2024-01-04T10:00:00Z', '2024-01-05T10:00:00Z', '2024-01-06T10:00:00Z'];
const SUBJECTS = ['Add hosts and the web team', 'Add services', 'Grow web-01', 'Move web-01, retire web-02', 'Break cart', 'Bring back web-02'];

const MODEL: EstateModel = {
  kinds: [
    { name: 'Host', idPrefix: 'host', description: 'A machine', builtin: true },
    { name: 'Service', idPrefix: 'service', builtin: true },
    { name: 'Team', idPrefix: 'team', builtin: true },
  ],
  config: { environments: ['prod', 'staging'] },
};

/** An asset as the indexer would write it. */
function asset(
  id: string,
  spec: Record<string, unknown>,
  options: { labels?: Record<string, string>; owner?: string; path?: string; references?: StoredReference[] } = {},
): AssetWrite {
  const [prefix, name] = id.split('/') as [string, string];
  const kind = prefix[0]!.toUpperCase() + prefix.slice(1);
  const labels = options.labels ?? {};
  const metadata = { name, ...(options.labels ? { labels } : {}), ...(options.owner ? { owner: options.owner } : {}) };
  return {
    id,
    kind,
    name,
    path: options.path ?? `assets/${prefix}s/${name}.yaml`,
    blobId: sha(JSON.stringify([id, spec, options.path])),
    document: { apiVersion: 'estate/v1', kind, metadata, spec },
    labels,
    owner: options.owner,
    searchText: [name, ...Object.entries(labels).flat(), ...Object.values(spec).map(String)].join(' ').toLowerCase(),
    references: [
      ...(options.owner ? [{ to: options.owner, type: 'ownedBy', inverse: 'owns', field: 'metadata.owner' }] : []),
      ...(options.references ?? []),
    ],
  };
}

function batch(index: number, assets: Array<[string, AssetWrite | null]>, extra: Partial<CommitBatch> & { errors?: number } = {}): CommitBatch {
  const author = { name: 'Ada', email: 'ada@example.com', date: DATES[index]! };
  return {
    commit: {
      sha: SHAS[index]!,
      parents: index === 0 ? [] : [SHAS[index - 1]!],
      author,
      committer: { ...author, name: 'Bob', email: 'bob@example.com' },
      message: `${SUBJECTS[index]}\n\nBody of commit ${index + 1}.\n`,
      errors: extra.errors ?? 0,
    },
    assets: new Map(assets),
    diagnostics: extra.diagnostics ?? new Map(),
    ...(extra.model ? { model: extra.model } : {}),
  };
}

const WEB_01 = { hostname: 'web-01.prod.example.com', os: 'debian-12', cpus: 4 };
const WEB_02 = { hostname: 'web-02.staging.example.com', os: 'ubuntu-24.04', cpus: 2 };
const DANGLING: Diagnostic = {
  code: 'E_DANGLING_REF',
  path: 'assets/services/cart.yaml',
  line: 9,
  col: 7,
  message: "asset 'host/web-02' referenced by service/cart (assets/services/cart.yaml:9:7) does not exist",
  asset: 'service/cart',
};

/** The estate's history: added, referenced, changed, moved, removed, broken, re-added. */
function scenario(): CommitBatch[] {
  const runsOn = (to: string): StoredReference => ({ to, type: 'runsOn', inverse: 'hosts', field: 'spec.runsOn[0]' });
  const cart = asset('service/cart', { port: 8081 }, {
    references: [{ to: 'service/checkout', type: 'dependsOn', inverse: 'dependencyOf', field: 'spec.dependsOn[0]' }, { ...runsOn('host/web-02'), field: 'spec.runsOn[0]' }],
  });
  return [
    batch(
      0,
      [
        ['host/web-01', asset('host/web-01', WEB_01, { labels: { env: 'prod', role: 'web' } })],
        ['host/web-02', asset('host/web-02', WEB_02, { labels: { env: 'staging', role: 'web' } })],
        ['team/web', asset('team/web', { lead: 'ada' })],
      ],
      { model: MODEL },
    ),
    batch(1, [
      ['service/checkout', asset('service/checkout', { port: 8080 }, { owner: 'team/web', references: [runsOn('host/web-01')] })],
      ['service/cart', cart],
    ]),
    batch(2, [['host/web-01', asset('host/web-01', { ...WEB_01, cpus: 8 }, { labels: { env: 'prod', role: 'web' } })]]),
    batch(3, [
      ['host/web-01', asset('host/web-01', { ...WEB_01, cpus: 8 }, { labels: { env: 'prod', role: 'web' }, path: 'assets/prod/web-01.yaml' })],
      ['host/web-02', null],
    ]),
    batch(4, [], { errors: 1, diagnostics: new Map([[DANGLING.path, [DANGLING]]]) }),
    batch(5, [['host/web-02', asset('host/web-02', { ...WEB_02, cpus: 4 }, { labels: { env: 'staging', role: 'web' } })]], {
      diagnostics: new Map([[DANGLING.path, []]]),
    }),
  ];
}

/** A running app over a store, answering over a real socket. */
interface Server {
  app: FastifyInstance;
  base: string;
  call(path: string, options?: { token?: string; headers?: Record<string, string>; method?: string; body?: string }): Promise<Answer>;
}

async function start(store: Store, status: () => IndexStatus, options: { openRead?: boolean; testRoutes?: boolean } = {}): Promise<Server> {
  const app = await buildApp({ store, status, ...(options.openRead ? { openRead: true } : {}) });
  if (options.testRoutes) {
    // Routes only the tests have: one needing a higher role, one not saying, one with a body, one that fails.
    app.get('/test/admin', { config: { access: 'admin' } }, async () => ({ ok: true }));
    app.get('/test/undeclared', async () => ({ ok: true }));
    app.post('/test/echo', { config: { access: 'admin' } }, async (request) => ({ received: request.body }));
    app.get('/test/crash', { config: { access: 'public' } }, async () => {
      throw new Error('connection to /var/secret/db.sqlite failed');
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    app,
    base,
    call: async (path, { token, headers = {}, method = 'GET', body } = {}) => {
      const response = await fetch(base + path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        ...(body !== undefined ? { body } : {}),
      });
      const text = await response.text();
      let parsed: JsonBody;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    },
  };
}

/** The standard error body with this status and code. */
function expectError(answer: Answer, status: number, code: string, details?: Record<string, unknown>): void {
  expect({ status: answer.status, code: answer.body?.error?.code }, answer.text).toEqual({ status, code });
  expect(answer.body.error).toEqual({ code, message: expect.any(String), details: details ? expect.objectContaining(details) : expect.any(Object) });
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
}

describe('HTTP API', () => {
  let store: Store;
  let server: Server;
  let open: Server;
  let status: IndexStatus;
  const tokens: Record<'viewer' | 'admin' | 'revoked' | 'expired' | 'unknown', string> = { viewer: '', admin: '', revoked: '', expired: '', unknown: '' };

  beforeAll(async () => {
    store = await openSqliteStore(':memory:');
    for (const b of scenario()) await store.appendCommit(b);
    status = { head: { seq: 6, sha: SHAS[5] }, state: 'ready', commitsIndexed: 6, lagSeconds: 1.5, headErrors: 0 };
    tokens.viewer = (await issueToken(store, { name: 'viewer', role: 'viewer' })).token;
    tokens.admin = (await issueToken(store, { name: 'admin', role: 'admin' })).token;
    const revoked = await issueToken(store, { name: 'revoked', role: 'admin' });
    await revokeToken(store, revoked.record.id);
    tokens.revoked = revoked.token;
    tokens.expired = `est_${'e'.repeat(43)}`;
    await store.createToken({ id: 'tok_expired', name: 'expired', role: 'admin', scopes: {}, groups: [], createdAt: '2023-01-01T00:00:00.000Z', expiresAt: '2023-02-01T00:00:00.000Z' }, hashToken(tokens.expired));
    tokens.unknown = `est_${'u'.repeat(43)}`;
    server = await start(store, () => status, { testRoutes: true });
    open = await start(store, () => status, { openRead: true, testRoutes: true });
  });

  afterAll(async () => {
    await server?.app.close();
    await open?.app.close();
    await store?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}): Promise<Answer> => server.call(path, { token: tokens.viewer, headers });

  describe('assets', () => {
    it('lists assets at the head, sorted by id, naming the commit', async () => {
      const answer = await get('/api/v1/assets');
      expect(answer.status).toBe(200);
      expect(answer.body.commit).toEqual({ seq: 6, sha: SHAS[5] });
      expect(answer.headers.get('x-estate-commit')).toBe(SHAS[5]);
      expect(answer.body.items.map((a: JsonBody) => a.id)).toEqual(['host/web-01', 'host/web-02', 'service/cart', 'service/checkout', 'team/web']);
      expect(answer.body.nextCursor).toBeUndefined();
      expect(answer.body.items[0]).toEqual({
        id: 'host/web-01',
        kind: 'Host',
        name: 'web-01',
        path: 'assets/prod/web-01.yaml',
        blobId: expect.stringMatching(/^[0-9a-f]{40}$/),
        since: { seq: 4, sha: SHAS[3] },
        document: { apiVersion: 'estate/v1', kind: 'Host', metadata: { name: 'web-01', labels: { env: 'prod', role: 'web' } }, spec: { ...WEB_01, cpus: 8 } },
      });
    });

    it('filters by kind (name or id prefix, any case), selector, owner and words', async () => {
      const ids = async (query: string): Promise<string[]> => {
        const answer = await get(`/api/v1/assets?${query}`);
        expect(answer.status, answer.text).toBe(200);
        return answer.body.items.map((a: JsonBody) => a.id);
      };
      for (const kind of ['Host', 'host', 'HOST', 'hOsT']) expect(await ids(`kind=${kind}`)).toEqual(['host/web-01', 'host/web-02']);
      expect(await ids('kind=service')).toEqual(['service/cart', 'service/checkout']);
      expect(await ids(`selector=${encodeURIComponent('env=prod')}`)).toEqual(['host/web-01']);
      expect(await ids(`selector=${encodeURIComponent('role in (web),env!=prod')}`)).toEqual(['host/web-02']);
      expect(await ids('owner=team/web')).toEqual(['service/checkout']);
      expect(await ids('q=DEBIAN')).toEqual(['host/web-01']);
      expect(await ids('q=web+ubuntu')).toEqual(['host/web-02']);
      expect(await ids(`kind=host&at=${SHAS[3]}`)).toEqual(['host/web-01']);
    });

    it('pages with limit and an opaque cursor that stays on the first page’s commit', async () => {
      const first = await get('/api/v1/assets?limit=2');
      expect(first.body.items.map((a: JsonBody) => a.id)).toEqual(['host/web-01', 'host/web-02']);
      expect(first.body.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
      const second = await get(`/api/v1/assets?limit=2&cursor=${first.body.nextCursor}`);
      expect(second.body.items.map((a: JsonBody) => a.id)).toEqual(['service/cart', 'service/checkout']);
      const third = await get(`/api/v1/assets?limit=2&cursor=${second.body.nextCursor}`);
      expect(third.body.items.map((a: JsonBody) => a.id)).toEqual(['team/web']);
      expect(third.body.nextCursor).toBeUndefined();
      // A cursor made at an older commit keeps answering for it.
      const past = await get(`/api/v1/assets?limit=1&at=${SHAS[3]}`);
      const pastNext = await get(`/api/v1/assets?limit=10&cursor=${past.body.nextCursor}`);
      expect(pastNext.body.commit).toEqual({ seq: 4, sha: SHAS[3] });
      expect(pastNext.body.items.map((a: JsonBody) => a.id)).toEqual(['service/cart', 'service/checkout', 'team/web']);
      expectError(await get(`/api/v1/assets?cursor=${past.body.nextCursor}&at=${SHAS[5]}`), 400, 'E_BAD_PARAM', { parameter: 'cursor' });
    });

    it('writes asset answers as the response schemas serialize them, documents passed on as stored', async () => {
      // Another store, with text that needs escaping in every field a route writes itself.
      const odd = await openSqliteStore(':memory:');
      const document = JSON.parse(
        String.raw`{"apiVersion":"estate/v1","kind":"Host","metadata":{"name":"odd-01","labels":{"zone":"zürich 🏔","10":"ten","2":"two"}},
        "spec":{"quote":"say \"hi\"\\ \n\t\u0001 \u2028 \ud83c","numbers":[0,0.1,1e21,-1.5e-7],"nested":[[{}],[],null,true],"__proto__":{"x":1}}}`,
      ) as Record<string, unknown>;
      const oddHost = asset('host/odd-01', {}, { path: 'assets/hosts/ö "odd"\\\u0007.yaml' });
      await odd.appendCommit(batch(0, [['host/odd-01', { ...oddHost, document }], ['host/web-01', asset('host/web-01', WEB_01)]], { model: MODEL }));
      const oddServer = await start(odd, () => status, { openRead: true });
      // The same answers serialized by Fastify from the route schemas: what the routes answered
      // while they returned objects.
      const reference = Fastify({ onProtoPoisoning: 'ignore' });
      reference.post('/list', { schema: { response: { 200: schemas.assetListResponse } } }, async (request) => request.body);
      reference.post('/one', { schema: { response: { 200: schemas.assetResponse } } }, async (request) => request.body);
      const serialized = async (route: string, text: string): Promise<string> =>
        (await reference.inject({ method: 'POST', url: route, headers: { 'content-type': 'application/json' }, payload: text })).body;
      try {
        for (const [route, path] of [
          ['/list', '/api/v1/assets'],
          ['/list', '/api/v1/assets?limit=1'],
          ['/list', `/api/v1/assets?limit=1&cursor=${(await oddServer.call('/api/v1/assets?limit=1')).body.nextCursor}`],
          ['/list', '/api/v1/assets?kind=service'],
          ['/one', '/api/v1/assets/host/odd-01'],
          ['/one', '/api/v1/assets/host/web-01'],
        ] as const) {
          const answer = await oddServer.call(path);
          expect(answer.status, answer.text).toBe(200);
          expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
          expect(answer.text, path).toBe(await serialized(route, answer.text));
        }
        const one = await oddServer.call('/api/v1/assets/host/odd-01');
        expect(one.body.asset.document).toEqual(document);
        expect(one.text).toContain(JSON.stringify(document));
        expect(one.body.asset.path).toBe('assets/hosts/ö "odd"\\\u0007.yaml');
      } finally {
        await reference.close();
        await oddServer.app.close();
        await odd.close();
      }
    });

    it('gets one asset by kind name or id prefix, now and in the past', async () => {
      const now = await get('/api/v1/assets/Host/web-01');
      expect(now.status).toBe(200);
      expect(now.body).toMatchObject({ commit: { seq: 6, sha: SHAS[5] }, asset: { id: 'host/web-01', path: 'assets/prod/web-01.yaml', document: { spec: { cpus: 8 } } } });
      expect((await get('/api/v1/assets/host/web-01')).body.asset).toEqual(now.body.asset);
      const before = await get(`/api/v1/assets/HOST/web-01?at=${SHAS[1]}`);
      expect(before.body).toMatchObject({ commit: { seq: 2, sha: SHAS[1] }, asset: { path: 'assets/hosts/web-01.yaml', since: { seq: 1 }, document: { spec: { cpus: 4 } } } });
      expect(before.headers.get('x-estate-commit')).toBe(SHAS[1]);
    });

    it('travels in time by sha prefix and by ISO 8601 time', async () => {
      const at = async (value: string): Promise<JsonBody> => (await get(`/api/v1/assets/host/web-01?at=${value}`)).body.commit;
      expect(await at(SHAS[2].slice(0, 7))).toEqual({ seq: 3, sha: SHAS[2] });
      expect(await at(SHAS[2].slice(0, 9).toUpperCase())).toEqual({ seq: 3, sha: SHAS[2] });
      expect(await at('2024-01-03T10:00:00Z')).toEqual({ seq: 3, sha: SHAS[2] });
      expect(await at('2024-01-03T09:59:59Z')).toEqual({ seq: 2, sha: SHAS[1] });
      expect(await at('2024-01-02')).toEqual({ seq: 1, sha: SHAS[0] });
      expect(await at(encodeURIComponent('2024-01-03T12:00:00+02:00'))).toEqual({ seq: 3, sha: SHAS[2] });
      // An unencoded + arrives as a space and is still read as the offset.
      expect(await at('2024-01-03T12:00:00+02:00')).toEqual({ seq: 3, sha: SHAS[2] });
      expect(await at('2024-01-03T09:00:00-01:00')).toEqual({ seq: 3, sha: SHAS[2] });
      expect(await at('2030-01-01T00:00:00.123Z')).toEqual({ seq: 6, sha: SHAS[5] });
      expectError(await get('/api/v1/assets/host/web-01?at=2023-12-31T23:59:59Z'), 404, 'E_COMMIT_NOT_FOUND', { parameter: 'at' });
    });

    it('answers 404 for an unknown asset or kind, and for an asset that does not exist at the commit', async () => {
      expectError(await get('/api/v1/assets/host/web-99'), 404, 'E_ASSET_NOT_FOUND', { asset: 'host/web-99' });
      expectError(await get(`/api/v1/assets/host/web-02?at=${SHAS[4]}`), 404, 'E_ASSET_NOT_FOUND', { asset: 'host/web-02' });
      const kind = await get('/api/v1/assets/router/r1');
      expectError(kind, 404, 'E_KIND_NOT_FOUND', { kind: 'router', kinds: ['Host', 'Service', 'Team'] });
      expect(kind.body.error.message).toContain('known kinds are Host, Service, Team');
    });

    it('tells the history of an asset, newest first, paged', async () => {
      const all = await get('/api/v1/assets/host/web-01/history');
      expect(all.status).toBe(200);
      expect(all.body.asset).toBe('host/web-01');
      expect(all.body.commit).toEqual({ seq: 6, sha: SHAS[5] });
      expect(all.body.items).toEqual([
        {
          commit: { seq: 4, sha: SHAS[3], author: { name: 'Ada', email: 'ada@example.com', date: DATES[3] }, subject: SUBJECTS[3] },
          change: 'moved',
          path: 'assets/prod/web-01.yaml',
          fromPath: 'assets/hosts/web-01.yaml',
          fields: [],
        },
        {
          commit: { seq: 3, sha: SHAS[2], author: { name: 'Ada', email: 'ada@example.com', date: DATES[2] }, subject: SUBJECTS[2] },
          change: 'changed',
          path: 'assets/hosts/web-01.yaml',
          fields: [{ op: 'replace', pointer: '/spec/cpus', old: 4, new: 8 }],
        },
        {
          commit: { seq: 1, sha: SHAS[0], author: { name: 'Ada', email: 'ada@example.com', date: DATES[0] }, subject: SUBJECTS[0] },
          change: 'added',
          path: 'assets/hosts/web-01.yaml',
          fields: [],
        },
      ]);
      expect(all.body.nextCursor).toBeUndefined();

      const pages: JsonBody[][] = [];
      let cursor = '';
      do {
        const page = await get(`/api/v1/assets/host/web-01/history?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status, page.text).toBe(200);
        pages.push(page.body.items);
        cursor = page.body.nextCursor ?? '';
      } while (cursor && pages.length < 10);
      expect(pages).toEqual(all.body.items.map((item: JsonBody) => [item]));
    });

    it('shows removal and re-addition in the history, on every page size', async () => {
      const all = await get('/api/v1/assets/host/web-02/history');
      expect(all.body.items.map((e: JsonBody) => [e.commit.seq, e.change, e.fields.length])).toEqual([
        [6, 'added', 0],
        [4, 'removed', 0],
        [1, 'added', 0],
      ]);
      for (const limit of [1, 2]) {
        const seen: JsonBody[] = [];
        let cursor = '';
        do {
          const page = await get(`/api/v1/assets/host/web-02/history?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
          expect(page.body.items.length).toBeLessThanOrEqual(limit);
          seen.push(...page.body.items);
          cursor = page.body.nextCursor ?? '';
        } while (cursor && seen.length < 10);
        expect(seen, `limit ${limit}`).toEqual(all.body.items);
      }
      expectError(await get('/api/v1/assets/host/nothing/history'), 404, 'E_ASSET_NOT_FOUND', { asset: 'host/nothing' });
    });

    it('follows relations out, in and both ways, by depth and type', async () => {
      const related = async (path: string, query = ''): Promise<Array<[string, number, string]>> => {
        const answer = await get(`/api/v1/assets/${path}/relations${query}`);
        expect(answer.status, answer.text).toBe(200);
        return answer.body.items.map((r: JsonBody) => [r.id, r.depth, r.path.map((s: JsonBody) => s.relation).join('>')]);
      };
      expect(await related('service/checkout', '?direction=out')).toEqual([
        ['team/web', 1, 'ownedBy'],
        ['host/web-01', 1, 'runsOn'],
      ]);
      expect(await related('service/checkout')).toEqual([
        ['team/web', 1, 'ownedBy'],
        ['host/web-01', 1, 'runsOn'],
        ['service/cart', 1, 'dependencyOf'],
      ]);
      // Each asset once, at its smallest depth, however many ways lead to it.
      expect(await related('service/checkout', '?depth=3')).toEqual([
        ['team/web', 1, 'ownedBy'],
        ['host/web-01', 1, 'runsOn'],
        ['service/cart', 1, 'dependencyOf'],
        ['host/web-02', 2, 'dependencyOf>runsOn'],
      ]);
      expect(await related('host/web-01', '?direction=in')).toEqual([['service/checkout', 1, 'hosts']]);
      expect(await related('host/web-01', '?direction=in&depth=2')).toEqual([
        ['service/checkout', 1, 'hosts'],
        ['service/cart', 2, 'hosts>dependencyOf'],
      ]);
      expect(await related('host/web-01', '?direction=in&depth=10&type=runsOn')).toEqual([['service/checkout', 1, 'hosts']]);
      expect(await related('service/cart', '?direction=out&type=dependsOn,runsOn&depth=3')).toEqual([
        ['service/checkout', 1, 'dependsOn'],
        ['host/web-02', 1, 'runsOn'],
        ['host/web-01', 2, 'dependsOn>runsOn'],
      ]);
      // At seq 5, host/web-02 did not exist: the relation to it did not hold.
      expect(await related('service/cart', `?direction=out&at=${SHAS[4]}`)).toEqual([['service/checkout', 1, 'dependsOn']]);
      const full = await get('/api/v1/assets/host/web-01/relations?direction=in&depth=2');
      expect(full.body).toMatchObject({ asset: 'host/web-01', commit: { seq: 6 } });
      expect(full.body.items[1].path).toEqual([
        { from: 'host/web-01', to: 'service/checkout', relation: 'hosts', field: 'spec.runsOn[0]' },
        { from: 'service/checkout', to: 'service/cart', relation: 'dependencyOf', field: 'spec.dependsOn[0]' },
      ]);
      expectError(await get('/api/v1/assets/host/web-01/relations?depth=11'), 400, 'E_BAD_PARAM', { parameter: 'depth' });
      const direction = await get('/api/v1/assets/host/web-01/relations?direction=up');
      expectError(direction, 400, 'E_BAD_PARAM', { parameter: 'direction', allowed: ['in', 'out', 'both'] });
      expect(direction.body.error.message).toBe("parameter 'direction' must be one of in, out, both");
      expectError(await get('/api/v1/assets/host/web-99/relations'), 404, 'E_ASSET_NOT_FOUND');
    });
  });

  describe('commits, diff, kinds', () => {
    it('lists commits newest first, paged', async () => {
      const first = await get('/api/v1/commits?limit=4');
      expect(first.body.commit).toEqual({ seq: 6, sha: SHAS[5] });
      expect(first.body.items.map((c: JsonBody) => c.seq)).toEqual([6, 5, 4, 3]);
      expect(first.body.items[0]).toEqual({
        seq: 6,
        sha: SHAS[5],
        parents: [SHAS[4]],
        author: { name: 'Ada', email: 'ada@example.com', date: DATES[5] },
        committer: { name: 'Bob', email: 'bob@example.com', date: DATES[5] },
        message: `${SUBJECTS[5]}\n\nBody of commit 6.\n`,
        errors: 0,
        indexedAt: expect.any(String),
      });
      const second = await get(`/api/v1/commits?limit=4&cursor=${first.body.nextCursor}`);
      expect(second.body.items.map((c: JsonBody) => c.seq)).toEqual([2, 1]);
      expect(second.body.nextCursor).toBeUndefined();
    });

    it('gets a commit by sha or prefix, with its diagnostics', async () => {
      const broken = await get(`/api/v1/commits/${SHAS[4]}`);
      expect(broken.status).toBe(200);
      expect(broken.body.commit).toEqual({ seq: 5, sha: SHAS[4] });
      expect(broken.body.item).toMatchObject({ seq: 5, sha: SHAS[4], errors: 1, diagnostics: [DANGLING] });
      expect((await get(`/api/v1/commits/${SHAS[5].slice(0, 8)}`)).body.item).toMatchObject({ seq: 6, errors: 0, diagnostics: [] });
      expectError(await get(`/api/v1/commits/${sha('nope')}`), 404, 'E_COMMIT_NOT_FOUND');
      expectError(await get('/api/v1/commits/abcd'), 400, 'E_AMBIGUOUS');
      expectError(await get('/api/v1/commits/xyz'), 400, 'E_BAD_PARAM', { parameter: 'sha', in: 'path' });
    });

    it('diffs two commits either way', async () => {
      const forward = await get(`/api/v1/diff?from=${SHAS[0]}`);
      expect(forward.status, forward.text).toBe(200);
      expect(forward.body).toMatchObject({ commit: { seq: 6, sha: SHAS[5] }, from: { seq: 1, sha: SHAS[0] }, to: { seq: 6, sha: SHAS[5] } });
      expect(forward.body.summary).toEqual({ added: 2, removed: 0, changed: 2, moved: 0 });
      expect(forward.body.assets).toEqual([
        {
          id: 'host/web-01',
          kind: 'Host',
          status: 'changed',
          path: 'assets/prod/web-01.yaml',
          fromPath: 'assets/hosts/web-01.yaml',
          fields: [{ op: 'replace', pointer: '/spec/cpus', old: 4, new: 8 }],
        },
        { id: 'host/web-02', kind: 'Host', status: 'changed', path: 'assets/hosts/web-02.yaml', fields: [{ op: 'replace', pointer: '/spec/cpus', old: 2, new: 4 }] },
        { id: 'service/cart', kind: 'Service', status: 'added', path: 'assets/services/cart.yaml', fields: [] },
        { id: 'service/checkout', kind: 'Service', status: 'added', path: 'assets/services/checkout.yaml', fields: [] },
      ]);
      // Pages of a big diff, each with the whole summary.
      const pages: unknown[] = [];
      for (let cursor: string | undefined, n = 0; n === 0 || cursor !== undefined; n++) {
        const page = await get(`/api/v1/diff?from=${SHAS[0]}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.body.summary).toEqual(forward.body.summary);
        pages.push(...page.body.assets);
        cursor = page.body.nextCursor;
      }
      expect(pages).toEqual(forward.body.assets);
      expectError(await get(`/api/v1/diff?from=${SHAS[0]}&cursor=garbage`), 400, 'E_BAD_PARAM');
      const step = await get(`/api/v1/diff?from=${SHAS[2]}&to=${SHAS[3]}`);
      expect(step.body.summary).toEqual({ added: 0, removed: 1, changed: 0, moved: 1 });
      expect(step.body.assets).toEqual([
        { id: 'host/web-01', kind: 'Host', status: 'moved', path: 'assets/prod/web-01.yaml', fromPath: 'assets/hosts/web-01.yaml', fields: [] },
        { id: 'host/web-02', kind: 'Host', status: 'removed', path: 'assets/hosts/web-02.yaml', fields: [] },
      ]);
      const back = await get(`/api/v1/diff?from=${SHAS[3]}&to=${SHAS[2]}`);
      expect(back.body).toMatchObject({ commit: { seq: 3 }, from: { seq: 4 }, to: { seq: 3 }, summary: { added: 1, removed: 0, changed: 0, moved: 1 } });
      expect(back.body.assets[0]).toMatchObject({ id: 'host/web-01', status: 'moved', path: 'assets/hosts/web-01.yaml', fromPath: 'assets/prod/web-01.yaml' });
      const same = await get(`/api/v1/diff?from=${SHAS[1]}&to=2024-01-02T12:00:00Z`);
      expect(same.body).toMatchObject({ summary: { added: 0, removed: 0, changed: 0, moved: 0 }, assets: [] });
      expectError(await get('/api/v1/diff'), 400, 'E_BAD_PARAM', { parameter: 'from', reason: 'missing' });
      expectError(await get('/api/v1/diff?from=yesterday'), 400, 'E_BAD_PARAM', { parameter: 'from' });
      expectError(await get(`/api/v1/diff?from=${SHAS[0]}&to=${sha('nope')}`), 404, 'E_COMMIT_NOT_FOUND', { parameter: 'to' });
    });

    it('serves the kinds as of a commit', async () => {
      const kinds = await get('/api/v1/kinds');
      expect(kinds.body).toEqual({ commit: { seq: 6, sha: SHAS[5] }, items: MODEL.kinds });
      expect((await get(`/api/v1/kinds?at=${SHAS[0]}`)).body.commit).toEqual({ seq: 1, sha: SHAS[0] });
    });
  });

  describe('caching', () => {
    it('answers 304 to If-None-Match with the ETag, and revalidates head answers', async () => {
      const first = await get('/api/v1/assets/host/web-01');
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^W\/"6-[A-Za-z0-9_-]+"$/);
      expect(first.headers.get('cache-control')).toBe('private, no-cache');
      const again = await get('/api/v1/assets/host/web-01', { 'if-none-match': etag });
      expect(again.status).toBe(304);
      expect(again.text).toBe('');
      expect(again.headers.get('etag')).toBe(etag);
      expect(again.headers.get('x-estate-commit')).toBe(SHAS[5]);
      expect((await get('/api/v1/assets/host/web-01', { 'if-none-match': `"other", ${etag.slice(2)}` })).status).toBe(304);
      expect((await get('/api/v1/assets/host/web-01', { 'if-none-match': '"other"' })).status).toBe(200);
      const head = await server.call('/api/v1/assets/host/web-01', { method: 'HEAD', token: tokens.viewer });
      expect([head.status, head.text, head.headers.get('etag')]).toEqual([200, '', etag]);
      // Another URL is another representation.
      const other = await get('/api/v1/assets/host/web-02', { 'if-none-match': etag });
      expect(other.status).toBe(200);
      expect(other.headers.get('etag')).not.toBe(etag);
    });

    it('lets answers pinned by a full sha be cached for long, but not prefixes or times', async () => {
      const pinned = await get(`/api/v1/assets/host/web-01?at=${SHAS[2]}`);
      expect(pinned.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      expect((await get(`/api/v1/commits/${SHAS[2]}`)).headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      expect((await get(`/api/v1/diff?from=${SHAS[0]}&to=${SHAS[1]}`)).headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      expect((await get(`/api/v1/diff?from=${SHAS[0]}`)).headers.get('cache-control')).toBe('private, no-cache');
      expect((await get(`/api/v1/assets/host/web-01?at=${SHAS[2].slice(0, 8)}`)).headers.get('cache-control')).toBe('private, no-cache');
      expect((await get('/api/v1/assets/host/web-01?at=2024-01-03T12:00:00Z')).headers.get('cache-control')).toBe('private, no-cache');
    });

    it('puts no ETag on errors', async () => {
      const missing = await get('/api/v1/assets/host/web-99');
      expect(missing.status).toBe(404);
      expect(missing.headers.get('etag')).toBeNull();
      expect(missing.headers.get('cache-control')).toBe('no-store');
    });
  });

  describe('authentication and roles', () => {
    const route = '/api/v1/assets/host/web-01';

    it('refuses a missing, garbled, unknown, revoked or expired token with 401', async () => {
      const none = await server.call(route);
      expectError(none, 401, 'E_UNAUTHORIZED');
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="estate"');
      for (const header of ['Bearer nope', 'Basic dXNlcjpwYXNz', `Bearer ${tokens.viewer} extra`, `Token ${tokens.viewer}`]) {
        const garbled = await server.call(route, { headers: { authorization: header } });
        expectError(garbled, 401, 'E_UNAUTHORIZED', { reason: 'malformed' });
        expect(garbled.headers.get('www-authenticate')).toBe('Bearer realm="estate", error="invalid_token"');
      }
      const unknown = await server.call(route, { token: tokens.unknown });
      const revoked = await server.call(route, { token: tokens.revoked });
      expectError(unknown, 401, 'E_UNAUTHORIZED');
      expectError(revoked, 401, 'E_UNAUTHORIZED');
      expect(revoked.body).toEqual(unknown.body);
      expectError(await server.call(route, { token: tokens.expired }), 401, 'E_UNAUTHORIZED', { reason: 'expired' });
      for (const answer of [unknown, revoked]) expect(answer.text).not.toContain(tokens.revoked.slice(4));
    });

    it('lets a viewer read and records the use of the token', async () => {
      expect((await server.call(route, { token: tokens.viewer })).status).toBe(200);
      expect((await server.call(route, { token: tokens.admin })).status).toBe(200);
      const viewer = (await store.listTokens()).find((t) => t.name === 'viewer');
      expect(viewer?.lastUsedAt).toMatch(/^\d{4}-/);
    });

    it('refuses a role too low with 403 naming the roles, and routes that do not say are for admins', async () => {
      expectError(await server.call('/test/admin', { token: tokens.viewer }), 403, 'E_FORBIDDEN', { required: 'admin', role: 'viewer' });
      expectError(await server.call('/test/undeclared', { token: tokens.viewer }), 403, 'E_FORBIDDEN', { required: 'admin', role: 'viewer' });
      expect((await server.call('/test/admin', { token: tokens.admin })).body).toEqual({ ok: true });
      expect((await server.call('/test/undeclared', { token: tokens.admin })).body).toEqual({ ok: true });
    });

    it('serves health, readiness and the OpenAPI document to anyone; metrics to viewers', async () => {
      for (const path of ['/healthz', '/readyz', '/api/openapi.json']) expect((await server.call(path)).status, path).toBe(200);
      expectError(await server.call('/metrics'), 401, 'E_UNAUTHORIZED');
      expect((await server.call('/metrics', { token: tokens.viewer })).status).toBe(200);
    });

    it('with open reads: reads and metrics need no token, but a token sent must be valid', async () => {
      expect((await open.call(route)).status).toBe(200);
      expect((await open.call('/metrics')).status).toBe(200);
      expect((await open.call(route, { token: tokens.viewer })).status).toBe(200);
      for (const token of [tokens.unknown, tokens.revoked, tokens.expired]) expectError(await open.call(route, { token }), 401, 'E_UNAUTHORIZED');
      expectError(await open.call(route, { headers: { authorization: 'Bearer garbage' } }), 401, 'E_UNAUTHORIZED');
      expectError(await open.call('/test/admin'), 401, 'E_UNAUTHORIZED');
      expectError(await open.call('/test/admin', { token: tokens.viewer }), 403, 'E_FORBIDDEN');
    });
  });

  describe('errors', () => {
    it('refuses unknown parameters, naming them', async () => {
      const answer = await get('/api/v1/assets?kind=host&colour=blue');
      expectError(answer, 400, 'E_BAD_PARAM', { parameter: 'colour', in: 'query', reason: 'unknown' });
      expect(answer.body.error.message).toBe("unknown parameter 'colour'");
      expectError(await get('/api/v1/assets/host/web-01?limit=3'), 400, 'E_BAD_PARAM', { parameter: 'limit' });
      expectError(await get('/healthz?verbose=1'), 400, 'E_BAD_PARAM', { parameter: 'verbose' });
    });

    it('refuses a limit outside 1..1000 or not a number', async () => {
      for (const limit of ['0', '1001', 'ten', '1.5', '-1']) {
        const answer = await get(`/api/v1/assets?limit=${limit}`);
        expectError(answer, 400, 'E_BAD_PARAM', { parameter: 'limit' });
        expect(answer.body.error.message, limit).toMatch(/^parameter 'limit' must /);
      }
      expectError(await get('/api/v1/commits?limit=1&limit=2'), 400, 'E_BAD_PARAM', { parameter: 'limit' });
      expect((await get('/api/v1/assets?limit=1000')).status).toBe(200);
    });

    it('refuses a bad selector, at, cursor, kind or name', async () => {
      expectError(await get(`/api/v1/assets?selector=${encodeURIComponent('env in prod')}`), 400, 'E_SELECTOR');
      for (const at of ['yesterday', '2024-02-30', '2024-01-01T25:00:00Z', 'abc', '2024-01-01T10:00:00+24:00']) {
        expectError(await get(`/api/v1/assets?at=${encodeURIComponent(at)}`), 400, 'E_BAD_PARAM', { parameter: 'at', value: at });
      }
      expectError(await get(`/api/v1/assets?at=${sha('nope')}`), 404, 'E_COMMIT_NOT_FOUND');
      expectError(await get('/api/v1/assets?at=abcd'), 400, 'E_AMBIGUOUS');
      const commitsCursor = (await get('/api/v1/commits?limit=1')).body.nextCursor;
      for (const cursor of ['garbage!', 'bm90IGpzb24', Buffer.from('["assets",1]').toString('base64url'), commitsCursor]) {
        expectError(await get(`/api/v1/assets?cursor=${encodeURIComponent(cursor)}`), 400, 'E_BAD_PARAM', { parameter: 'cursor' });
      }
      expectError(await get(`/api/v1/assets/host/web-01/history?cursor=${commitsCursor.slice(1)}`), 400, 'E_BAD_PARAM', { parameter: 'cursor' });
      const kind = await get('/api/v1/assets?kind=router');
      expectError(kind, 400, 'E_BAD_PARAM', { parameter: 'kind', kinds: ['Host', 'Service', 'Team'] });
      expect(kind.body.error.message).toBe("unknown kind 'router': known kinds are Host, Service, Team");
      expectError(await get('/api/v1/assets/host/Web_01'), 400, 'E_BAD_PARAM', { parameter: 'name', in: 'path' });
    });

    it('answers 404 E_NOT_FOUND for unknown routes, even without a token', async () => {
      const answer = await server.call('/api/v1/nothing?x=1');
      expectError(answer, 404, 'E_NOT_FOUND', { method: 'GET', path: '/api/v1/nothing' });
      expectError(await server.call('/api/v1/assets', { method: 'DELETE' }), 404, 'E_NOT_FOUND');
    });

    it('refuses bodies over the limit with 413 before anything else, and bad bodies with 4xx', async () => {
      const big = 'x'.repeat(2 * 1024 * 1024);
      // Announced by Content-Length: refused before authentication, whatever the route.
      expectError(await server.call('/test/echo', { method: 'POST', body: JSON.stringify({ big }), headers: { 'content-type': 'application/json' } }), 413, 'E_TOO_LARGE');
      expectError(await server.call('/api/v1/assets', { method: 'POST', body: big }), 413, 'E_TOO_LARGE');
      const getWithBody = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${server.base}/api/v1/assets`, { method: 'GET', headers: { 'content-length': String(big.length) } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end(big);
      });
      expect(getWithBody.status).toBe(413);
      expect(JSON.parse(getWithBody.body).error.code).toBe('E_TOO_LARGE');
      // Streamed without a length: Fastify's own limit, mapped to the same answer.
      const chunks = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(`{"big":"${big}"}`));
          controller.close();
        },
      });
      const streamed = await fetch(`${server.base}/test/echo`, {
        method: 'POST',
        body: chunks,
        duplex: 'half',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.admin}` },
      } as RequestInit);
      expect(streamed.status).toBe(413);
      expect(((await streamed.json()) as JsonBody).error.code).toBe('E_TOO_LARGE');
      const admin = { authorization: `Bearer ${tokens.admin}` };
      expectError(await server.call('/test/echo', { method: 'POST', body: '{"a":', headers: { ...admin, 'content-type': 'application/json' } }), 400, 'E_BAD_REQUEST');
      expectError(await server.call('/test/echo', { method: 'POST', body: 'a=1', headers: { ...admin, 'content-type': 'application/x-unknown' } }), 415, 'E_UNSUPPORTED_MEDIA_TYPE');
      expect((await server.call('/test/echo', { method: 'POST', body: '{"a":1}', headers: { ...admin, 'content-type': 'application/json' } })).body).toEqual({ received: { a: 1 } });
    });

    it('answers requests Node cannot parse with the standard body too', async () => {
      const answer = await server.call('/healthz', { headers: { 'x-padding': 'x'.repeat(20_000) } });
      expectError(answer, 431, 'E_TOO_LARGE');
    });

    it('answers 500 E_INTERNAL without the cause for unexpected errors', async () => {
      const answer = await server.call('/test/crash');
      expectError(answer, 500, 'E_INTERNAL', {});
      expect(answer.text).not.toContain('secret');
      expect(answer.text).not.toContain('at ');
    });
  });

  describe('operations', () => {
    it('reports health and readiness, degraded while the head has errors', async () => {
      expect((await server.call('/healthz')).body).toEqual({ status: 'ok' });
      const ready = await server.call('/readyz');
      expect(ready.body).toEqual({ status: 'ready', state: 'ready', head: { seq: 6, sha: SHAS[5] }, errors: 0, lagSeconds: 1.5, commitsIndexed: 6 });
      status = { ...status, headErrors: 2, lastError: 'fetch https://user:secret@git.example.com failed', mainSha: SHAS[5] };
      try {
        const degraded = await server.call('/readyz');
        expect(degraded.status).toBe(200);
        expect(degraded.body).toMatchObject({ status: 'degraded', errors: 2, mainSha: SHAS[5] });
        expect(degraded.text).not.toContain('secret');
      } finally {
        status = { ...status, headErrors: 0, lastError: undefined, mainSha: undefined };
      }
    });

    it('serves Prometheus metrics that parse', async () => {
      await get('/api/v1/assets/host/web-01');
      await get('/api/v1/assets/host/web-99');
      const answer = await server.call('/metrics', { token: tokens.viewer });
      expect(answer.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const samples = new Map<string, number>();
      for (const line of answer.text.trimEnd().split('\n')) {
        if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
        const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+]+|\+Inf|NaN)$/.exec(line);
        expect(match, line).not.toBeNull();
        samples.set(match![1]! + (match![2] ?? ''), Number(match![3]));
      }
      expect(samples.get('estate_index_lag_seconds')).toBe(1.5);
      expect(samples.get('estate_commits_indexed_total')).toBe(6);
      expect(samples.get('estate_index_head_errors')).toBe(0);
      expect(samples.get('process_resident_memory_bytes')).toBeGreaterThan(0);
      const series = 'method="GET",route="/api/v1/assets/:kind/:name"';
      expect(samples.get(`estate_http_request_duration_seconds_count{${series},status="2xx"}`)).toBeGreaterThan(0);
      expect(samples.get(`estate_http_request_duration_seconds_count{${series},status="4xx"}`)).toBeGreaterThan(0);
      expect(samples.get(`estate_http_request_duration_seconds_bucket{${series},status="2xx",le="+Inf"}`)).toBe(
        samples.get(`estate_http_request_duration_seconds_count{${series},status="2xx"}`),
      );
      expect(answer.text).toContain('# TYPE estate_http_request_duration_seconds histogram');
    });

    it('serves an OpenAPI 3.1 document listing every route with its parameters', async () => {
      const answer = await server.call('/api/openapi.json');
      const doc = answer.body;
      expect(doc.openapi).toBe('3.1.0');
      const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
      expect(routes).toEqual(
        expect.arrayContaining([
          'GET /api/v1/assets',
          'GET /api/v1/assets/{kind}/{name}',
          'GET /api/v1/assets/{kind}/{name}/history',
          'GET /api/v1/assets/{kind}/{name}/relations',
          'GET /api/v1/commits',
          'GET /api/v1/commits/{sha}',
          'GET /api/v1/diff',
          'GET /api/v1/kinds',
          'GET /healthz',
          'GET /readyz',
          'GET /metrics',
          'GET /api/openapi.json',
        ]),
      );
      expect(routes.some((r) => r.startsWith('HEAD '))).toBe(false);
      const list = doc.paths['/api/v1/assets'].get;
      expect(list.parameters.map((p: JsonBody) => p.name)).toEqual(['kind', 'selector', 'owner', 'q', 'at', 'limit', 'cursor']);
      expect(list.parameters.find((p: JsonBody) => p.name === 'limit')).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000 } });
      expect(list.security).toEqual([{ bearer: [] }]);
      expect(list.responses['200'].content['application/json'].schema.properties.items.type).toBe('array');
      expect(list.responses['304']).toBeDefined();
      const point = doc.paths['/api/v1/assets/{kind}/{name}'].get;
      expect(point.parameters.filter((p: JsonBody) => p.in === 'path').map((p: JsonBody) => [p.name, p.required])).toEqual([
        ['kind', true],
        ['name', true],
      ]);
      expect(doc.paths['/api/v1/diff'].get.parameters.find((p: JsonBody) => p.name === 'from').required).toBe(true);
      expect(doc.paths['/healthz'].get.security).toEqual([]);
      expect(doc.paths['/metrics'].get.responses['200'].content['text/plain']).toBeDefined();
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    });
  });
});

describe('HTTP API while the index moves', () => {
  let store: Store;
  let server: Server;
  let token: string;

  beforeAll(async () => {
    store = await openSqliteStore(':memory:');
    token = (await issueToken(store, { name: 'viewer', role: 'viewer' })).token;
    server = await start(store, () => ({ state: 'starting', commitsIndexed: 0, lagSeconds: 0, headErrors: 0 }));
  });

  afterAll(async () => {
    await server?.app.close();
    await store?.close();
  });

  it('answers 503 E_NOT_READY before anything is indexed, then answers, with ETags that follow the head', async () => {
    for (const path of ['/api/v1/assets', '/api/v1/assets/host/web-01', '/api/v1/commits', '/api/v1/kinds', `/api/v1/diff?from=${SHAS[0]}`]) {
      const answer = await server.call(path, { token });
      expectError(answer, 503, 'E_NOT_READY');
      expect(answer.headers.get('retry-after')).toBe('5');
    }
    expectError(await server.call('/readyz'), 503, 'E_NOT_READY', { state: 'starting' });
    expect((await server.call('/healthz')).status).toBe(200);

    const [first, second] = scenario();
    await store.appendCommit(first!);
    expect((await server.call('/readyz')).body).toMatchObject({ status: 'ready', head: { seq: 1, sha: SHAS[0] } });
    const before = await server.call('/api/v1/assets', { token });
    expect(before.body.items).toHaveLength(3);
    const etag = before.headers.get('etag')!;
    expect((await server.call('/api/v1/assets', { token, headers: { 'if-none-match': etag } })).status).toBe(304);

    await store.appendCommit(second!);
    const after = await server.call('/api/v1/assets', { token, headers: { 'if-none-match': etag } });
    expect(after.status).toBe(200);
    expect(after.body.items).toHaveLength(5);
    expect(after.headers.get('etag')).not.toBe(etag);
    // Pinned to the first commit, the old answer still holds.
    const pinned = await server.call(`/api/v1/assets?at=${SHAS[0]}`, { token });
    expect(pinned.body.items).toHaveLength(3);
  });
});

describe('HTTP API logging', () => {
  it('logs the cause of a 500 and nothing of tokens or successful requests', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      await store.appendCommit(scenario()[0]!);
      const { token } = await issueToken(store, { name: 'viewer', role: 'viewer' });
      const lines: string[] = [];
      const app = await buildApp({
        store,
        status: () => ({ state: 'ready', commitsIndexed: 1, lagSeconds: 0, headErrors: 0 }),
        logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } },
      });
      app.get('/test/crash', { config: { access: 'viewer' } }, async () => {
        throw new Error('connection to /var/secret/db.sqlite failed');
      });
      const crash = await app.inject({ url: '/test/crash', headers: { authorization: `Bearer ${token}` } });
      expect(crash.statusCode).toBe(500);
      expect(crash.body).not.toContain('secret');
      expect((await app.inject({ url: '/api/v1/assets', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
      expect((await app.inject({ url: '/api/v1/assets', headers: { authorization: `Bearer ${token.slice(0, -2)}xx` } })).statusCode).toBe(401);
      await app.close();
      const log = lines.join('');
      expect(log).toContain('connection to /var/secret/db.sqlite failed');
      expect(log).toContain('internal error answering GET /test/crash');
      expect(log).not.toContain(token.slice(4, 30));
      expect(lines.filter((line) => line.includes('/api/v1/assets'))).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
