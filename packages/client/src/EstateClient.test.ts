import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EstateApiError, EstateClient } from './index.js';

/** What the test server saw of one request. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The request body as sent ('' for none). */
  body: string;
}

/** How the test server answers: status, headers and a body (objects are sent as JSON). */
interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait this long before answering. */
  delayMs?: number;
}

const TOKEN = 'est_s3cret-token-value';
const COMMIT = { seq: 3, sha: 'c'.repeat(40) };

let server: Server;
let base: string;
let seen: Seen[] = [];
let answer: (request: Seen) => Answer = () => ({ body: {} });
/** Called with the URL of a request whose connection closed before it was answered. */
let onDropped: (url: string) => void = () => {};

beforeAll(async () => {
  server = createServer((req, res) => {
    let received = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: received };
      seen.push(request);
      const { status = 200, headers = {}, body, delayMs = 0 } = answer(request);
      const text = typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body);
      const contentType = typeof body === 'string' ? 'text/html' : 'application/json; charset=utf-8';
      const timer = setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': contentType, ...headers });
        res.end(text);
      }, delayMs);
      res.on('close', () => {
        clearTimeout(timer);
        if (!res.writableEnded) onDropped(request.url);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  answer = () => ({ body: { commit: COMMIT, items: [] } });
  onDropped = () => {};
});

/** The error a promise rejects with (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<EstateApiError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EstateApiError);
  return error as EstateApiError;
}

const asset = (name: string) => ({
  id: `host/${name}`,
  kind: 'Host',
  name,
  path: `assets/hosts/${name}.yaml`,
  blobId: 'b'.repeat(40),
  since: COMMIT,
  document: { apiVersion: 'estate/v1', kind: 'Host', metadata: { name }, spec: { hostname: `${name}.example.com` } },
});

describe('EstateClient requests', () => {
  it('sends the token only in the Authorization header, and the filters as query parameters', async () => {
    answer = () => ({ body: { commit: COMMIT, items: [asset('a')] } });
    const client = new EstateClient({ url: base, token: TOKEN });
    const page = await client.listAssets({ kind: 'Host', selector: 'env=prod,role in (web,api)', owner: 'team/web', q: 'debian 12', at: '2024-05-01T00:00:00Z', limit: 2 });
    expect(page.items.map((a) => a.id)).toEqual(['host/a']);
    expect(page.commit).toEqual(COMMIT);
    expect(seen).toHaveLength(1);
    const [request] = seen as [Seen];
    expect(request.method).toBe('GET');
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.headers.accept).toBe('application/json');
    expect(request.url).not.toContain(TOKEN);
    const url = new URL(request.url, base);
    expect(url.pathname).toBe('/api/v1/assets');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      kind: 'Host',
      selector: 'env=prod,role in (web,api)',
      owner: 'team/web',
      q: 'debian 12',
      at: '2024-05-01T00:00:00Z',
      limit: '2',
    });
  });

  it('sends no Authorization header without a token, and leaves unset filters out', async () => {
    await new EstateClient({ url: base }).listAssets({ kind: 'Host' });
    expect(seen[0]?.headers.authorization).toBeUndefined();
    expect(seen[0]?.url).toBe('/api/v1/assets?kind=Host');
    await new EstateClient({ url: base, token: '' }).listAssets();
    expect(seen[1]?.headers.authorization).toBeUndefined();
    expect(seen[1]?.url).toBe('/api/v1/assets');
  });

  it('keeps a path prefix of the server URL', async () => {
    const client = new EstateClient({ url: `${base}/estate/`, token: TOKEN });
    expect(client.url).toBe(`${base}/estate`);
    await client.getAsset('host/a');
    await new EstateClient({ url: `${base}/estate` }).health();
    expect(seen.map((s) => s.url)).toEqual(['/estate/api/v1/assets/host/a', '/estate/healthz']);
  });

  it('follows nextCursor to the end in iterateAssets', async () => {
    answer = ({ url }) => {
      const cursor = new URL(url, base).searchParams.get('cursor');
      if (cursor === null) return { body: { commit: COMMIT, items: [asset('a'), asset('b')], nextCursor: 'p2' } };
      if (cursor === 'p2') return { body: { commit: COMMIT, items: [asset('c')], nextCursor: 'p3' } };
      return { body: { commit: COMMIT, items: [asset('d')] } };
    };
    const ids: string[] = [];
    for await (const a of new EstateClient({ url: base }).iterateAssets({ kind: 'host', limit: 2 })) ids.push(a.id);
    expect(ids).toEqual(['host/a', 'host/b', 'host/c', 'host/d']);
    expect(seen.map((s) => s.url)).toEqual(['/api/v1/assets?kind=host&limit=2', '/api/v1/assets?kind=host&limit=2&cursor=p2', '/api/v1/assets?kind=host&limit=2&cursor=p3']);
  });

  it('stops with E_BAD_RESPONSE when a server hands out the same cursor twice', async () => {
    answer = () => ({ body: { commit: COMMIT, items: [asset('a')], nextCursor: 'again' } });
    const error = await failure(
      (async () => {
        for await (const _ of new EstateClient({ url: base }).iterateCommits()) void _;
      })(),
    );
    expect(error.code).toBe('E_BAD_RESPONSE');
    expect(error.message).toBe(`${base} returned the same page cursor twice`);
    expect(seen).toHaveLength(2);
  });

  it('names an asset by id or by kind and name, encoding both parts', async () => {
    answer = () => ({ body: { commit: COMMIT, asset: asset('a') } });
    const client = new EstateClient({ url: base });
    expect((await client.getAsset('Host/a', { at: 'abcd' })).asset.id).toBe('host/a');
    await client.getAsset({ kind: 'host', name: 'a b?c' });
    expect(seen.map((s) => s.url)).toEqual(['/api/v1/assets/Host/a?at=abcd', '/api/v1/assets/host/a%20b%3Fc']);
  });

  it('refuses a malformed asset id with E_BAD_PARAM before sending anything', async () => {
    const client = new EstateClient({ url: base });
    for (const id of ['a', '/a', 'host/', 'host/a/b']) {
      const error = await failure(client.getAsset(id));
      expect(error.code).toBe('E_BAD_PARAM');
      expect(error.status).toBe(0);
      expect(error.message).toBe(`'${id}' is not an asset id; expected <kind>/<name>, e.g. host/web-01`);
    }
    expect(seen).toEqual([]);
  });

  it('maps history, relations, commits, diff, kinds, health and readiness to their routes', async () => {
    const client = new EstateClient({ url: base });
    answer = (request) => ({ body: request.url.startsWith('/api/v1/diff') ? { commit: COMMIT, from: COMMIT, to: COMMIT, summary: {}, assets: [] } : {} });
    await client.assetHistory('host/a', { limit: 5, cursor: 'x' });
    await client.relations('host/a', { direction: 'in', depth: 3, type: ['hosts', 'dependsOn'], at: 'abcd' });
    await client.relations('host/a', { type: [] });
    await client.listCommits({ limit: 1 });
    await client.getCommit('abcdef');
    await client.diff('abcd');
    await client.diff('abcd', 'ef01');
    await client.kinds({ at: '2024-01-01T00:00:00Z' });
    await client.health();
    await client.ready();
    expect(seen.map((s) => decodeURIComponent(s.url))).toEqual([
      '/api/v1/assets/host/a/history?limit=5&cursor=x',
      '/api/v1/assets/host/a/relations?direction=in&depth=3&type=hosts,dependsOn&at=abcd',
      '/api/v1/assets/host/a/relations',
      '/api/v1/commits?limit=1',
      '/api/v1/commits/abcdef',
      '/api/v1/diff?from=abcd&limit=10000',
      '/api/v1/diff?from=abcd&to=ef01&limit=10000',
      '/api/v1/kinds?at=2024-01-01T00:00:00Z',
      '/healthz',
      '/readyz',
    ]);
  });

  it('iterates history entries across pages', async () => {
    const entry = (seq: number) => ({
      commit: { seq, sha: String(seq).repeat(40), author: { name: 'A', email: 'a@example.com', date: '2024-05-01T12:00:00+02:00' }, subject: `s${seq}` },
      change: 'changed',
      path: 'assets/hosts/a.yaml',
      fields: [],
    });
    answer = ({ url }) =>
      url.includes('cursor=') ? { body: { commit: COMMIT, asset: 'host/a', items: [entry(1)] } } : { body: { commit: COMMIT, asset: 'host/a', items: [entry(3), entry(2)], nextCursor: 'n' } };
    const seqs: number[] = [];
    for await (const e of new EstateClient({ url: base }).iterateAssetHistory('host/a', { limit: 2 })) seqs.push(e.commit.seq);
    expect(seqs).toEqual([3, 2, 1]);
  });
});

describe('EstateClient errors', () => {
  it('gathers the pages of a big diff into one answer', async () => {
    const client = new EstateClient({ url: base });
    const from = { seq: 1, sha: 'a'.repeat(40) };
    const asset = (id: string) => ({ id, kind: 'Host', status: 'added', path: `${id}.yaml`, fields: [] });
    answer = (request) => {
      const page = new URL(request.url, base).searchParams.get('cursor');
      const body = { commit: COMMIT, from, to: COMMIT, summary: { added: 3, removed: 0, changed: 0, moved: 0 } };
      return { body: page === null ? { ...body, assets: [asset('host/a'), asset('host/b')], nextCursor: 'p2' } : { ...body, assets: [asset('host/c')] } };
    };
    const diff = await client.diff('aaaa');
    expect(diff.assets.map((a) => a.id)).toEqual(['host/a', 'host/b', 'host/c']);
    expect(diff).not.toHaveProperty('nextCursor');
    // Later pages name both ends by full sha, so a moving head cannot mix two diffs.
    expect(decodeURIComponent(seen[1]!.url)).toBe(`/api/v1/diff?from=${from.sha}&to=${COMMIT.sha}&limit=10000&cursor=p2`);
  });

  it('builds EstateApiError from the error body: code, message, status and details', async () => {
    answer = () => ({ status: 404, body: { error: { code: 'E_ASSET_NOT_FOUND', message: "asset 'host/zz' not found at cccccccccccc", details: { id: 'host/zz' } } } });
    const error = await failure(new EstateClient({ url: base, token: TOKEN }).getAsset('host/zz'));
    expect(error.code).toBe('E_ASSET_NOT_FOUND');
    expect(error.status).toBe(404);
    expect(error.message).toBe("asset 'host/zz' not found at cccccccccccc");
    expect(error.details).toEqual({ id: 'host/zz' });
    expect(error.name).toBe('EstateApiError');
    expect(JSON.parse(JSON.stringify(error))).toEqual({ code: 'E_ASSET_NOT_FOUND', message: error.message, status: 404, details: { id: 'host/zz' } });
  });

  it('answers 401 with E_UNAUTHORIZED, and never shows the token, even when a server echoes it', async () => {
    answer = ({ headers }) => ({ status: 401, body: { error: { code: 'E_UNAUTHORIZED', message: `invalid token ${String(headers.authorization)}` } } });
    const error = await failure(new EstateClient({ url: base, token: TOKEN }).listAssets());
    expect(error.code).toBe('E_UNAUTHORIZED');
    expect(error.status).toBe(401);
    expect(error.message).toBe('invalid token Bearer <token>');
    expect(error.details).toEqual({});
    expect(JSON.stringify(error)).not.toContain(TOKEN);
  });

  it('derives the code from the status when an error answer has no error body', async () => {
    const cases: Array<[number, string]> = [
      [400, 'E_BAD_PARAM'],
      [401, 'E_UNAUTHORIZED'],
      [403, 'E_FORBIDDEN'],
      [404, 'E_NOT_FOUND'],
      [503, 'E_NOT_READY'],
      [500, 'E_BAD_RESPONSE'],
    ];
    const client = new EstateClient({ url: base });
    for (const [status, code] of cases) {
      answer = () => ({ status, body: { message: 'no' } });
      const error = await failure(client.ready());
      expect(error.code, String(status)).toBe(code);
      expect(error.status).toBe(status);
      expect(error.message).toMatch(new RegExp(`^${base}/readyz answered ${status} .*\\(application/json: "\\{\\\\"message\\\\":\\\\"no\\\\"\\}"\\)$`));
    }
  });

  it('fails with E_BAD_RESPONSE for an answer that is not JSON, with the URL and the start of the body', async () => {
    answer = () => ({ body: '<html><body>Sign in to the proxy</body></html>' });
    const ok = await failure(new EstateClient({ url: base }).listCommits());
    expect(ok.code).toBe('E_BAD_RESPONSE');
    expect(ok.status).toBe(200);
    expect(ok.message).toBe(`${base}/api/v1/commits answered 200 with something that is not the API's JSON (text/html: "<html><body>Sign in to the proxy</body></html>")`);
    answer = () => ({ status: 502, body: '<html>Bad Gateway</html>' });
    const bad = await failure(new EstateClient({ url: base }).listCommits());
    expect(bad.code).toBe('E_BAD_RESPONSE');
    expect(bad.status).toBe(502);
    expect(bad.message).toBe(`${base}/api/v1/commits answered 502 Bad Gateway (text/html: "<html>Bad Gateway</html>")`);
    answer = () => ({ body: '' });
    expect((await failure(new EstateClient({ url: base }).health())).message).toBe(`${base}/healthz answered 200 with something that is not the API's JSON (text/html, empty body)`);
  });

  it('does not follow redirects (the token would go along)', async () => {
    answer = ({ url }) => (url.startsWith('/elsewhere') ? { body: { status: 'ok' } } : { status: 302, headers: { location: '/elsewhere/healthz' } });
    const error = await failure(new EstateClient({ url: base, token: TOKEN }).health());
    expect(error.code).toBe('E_BAD_RESPONSE');
    expect(error.status).toBe(302);
    expect(error.message).toBe(`${base}/healthz redirects to /elsewhere/healthz; give the server's own URL`);
    expect(seen).toHaveLength(1);
  });

  it('fails with E_UNREACHABLE, naming the URL, when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(new EstateClient({ url: `http://127.0.0.1:${port}`, token: TOKEN }).listAssets({ kind: 'host' }));
    expect(error.code).toBe('E_UNREACHABLE');
    expect(error.status).toBe(0);
    expect(error.message).toBe(`cannot reach http://127.0.0.1:${port}/api/v1/assets?kind=host: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('fails with E_UNREACHABLE after timeoutMs without an answer, and drops the request', async () => {
    // The answer would come after the test's own timeout: only the client's timeout ends the call.
    answer = () => ({ delayMs: 60_000, body: {} });
    const dropped = new Promise<string>((resolve) => (onDropped = resolve));
    const error = await failure(new EstateClient({ url: base, timeoutMs: 100 }).health());
    expect(error.code).toBe('E_UNREACHABLE');
    expect(error.message).toBe(`no answer from ${base}/healthz within 100 ms`);
    expect(error.cause).toMatchObject({ name: 'TimeoutError' });
    // The client gave up on the request: the server saw its connection close unanswered.
    expect(await dropped).toBe('/healthz');
  });

  it('uses the fetch it is given', async () => {
    const urls: string[] = [];
    const fake: typeof fetch = async (input) => {
      urls.push(String(input));
      return new Response(JSON.stringify({ status: 'ok' }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    expect(await new EstateClient({ url: 'http://estate.invalid:1', fetch: fake }).health()).toEqual({ status: 'ok' });
    expect(urls).toEqual(['http://estate.invalid:1/healthz']);
  });

  it('refuses a base URL that is not http(s) or that carries credentials, with E_USAGE', () => {
    const refused = (url: string): EstateApiError => {
      try {
        new EstateClient({ url });
      } catch (error) {
        expect(error).toBeInstanceOf(EstateApiError);
        return error as EstateApiError;
      }
      throw new Error(`accepted ${url}`);
    };
    expect(refused('localhost:7780').message).toBe("'localhost:7780' is not an http(s) URL");
    expect(refused('not a url').message).toBe("'not a url' is not a URL; expected e.g. http://127.0.0.1:7780");
    const credentials = refused('http://user:hunter2@127.0.0.1:7780');
    expect(credentials.code).toBe('E_USAGE');
    expect(credentials.message).toBe('the server URL must not carry credentials (http://127.0.0.1:7780/); pass a token instead');
    expect(credentials.message).not.toContain('hunter2');
  });
});

describe('EstateClient change requests and audit trail', () => {
  const change = (id: number) => ({ id, title: `change ${id}`, state: 'open', branch: `cr/${id}`, requiredApprovals: [], approvals: [], blockers: [] });

  it('sends each write to its route with its JSON body, leaving unset options out', async () => {
    answer = () => ({ body: change(12) });
    const client = new EstateClient({ url: base, token: TOKEN });
    const operations = [{ op: 'put' as const, asset: { apiVersion: 'estate/v1', kind: 'Host', metadata: { name: 'a' }, spec: {} } }, { op: 'delete' as const, id: 'host/b' }];
    expect((await client.createChange({ title: 'Two hosts', operations })).id).toBe(12);
    await client.createChange({ title: 'Check only', description: 'why', base: 'abcd', operations, dryRun: true });
    await client.editChange(12, { title: 'Renamed' });
    await client.addOperations(12, [{ op: 'patch', id: 'host/a', patch: { spec: { cpus: 8 } } }]);
    await client.approveChange(12, 'looks good');
    await client.approveChange(12);
    await client.rejectChange(12, 'not now');
    await client.mergeChange(12);
    await client.mergeChange(12, { emergency: 'outage' });
    await client.closeChange(12, 'superseded');
    await client.revertChange(12);
    await client.acknowledgeReview(12);
    expect(seen.map((s) => [s.method, s.url, s.headers['content-type'], s.body])).toEqual([
      ['POST', '/api/v1/changes', 'application/json', JSON.stringify({ title: 'Two hosts', operations })],
      ['POST', '/api/v1/changes', 'application/json', JSON.stringify({ title: 'Check only', description: 'why', base: 'abcd', operations, dryRun: true })],
      ['PATCH', '/api/v1/changes/12', 'application/json', '{"title":"Renamed"}'],
      ['POST', '/api/v1/changes/12/operations', 'application/json', '{"operations":[{"op":"patch","id":"host/a","patch":{"spec":{"cpus":8}}}]}'],
      ['POST', '/api/v1/changes/12/approve', 'application/json', '{"comment":"looks good"}'],
      ['POST', '/api/v1/changes/12/approve', 'application/json', '{}'],
      ['POST', '/api/v1/changes/12/reject', 'application/json', '{"comment":"not now"}'],
      ['POST', '/api/v1/changes/12/merge', 'application/json', '{}'],
      ['POST', '/api/v1/changes/12/merge', 'application/json', '{"emergency":"outage"}'],
      ['POST', '/api/v1/changes/12/close', 'application/json', '{"reason":"superseded"}'],
      ['POST', '/api/v1/changes/12/revert', 'application/json', '{}'],
      ['POST', '/api/v1/changes/12/review', 'application/json', '{}'],
    ]);
    expect(seen.every((s) => s.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('maps the reads to their routes and query parameters', async () => {
    const client = new EstateClient({ url: base });
    answer = () => ({ body: { items: [] } });
    await client.listChanges({ state: 'active', mine: true, emergency: false, limit: 5 });
    await client.listChanges({ waiting: true, author: 'alice', cursor: '40' });
    await client.getChange(7);
    await client.listReviews('overdue');
    await client.listReviews();
    await client.provenance('abcdef12');
    await client.listProvenance({ status: 'unreviewed', limit: 3 });
    await client.listAudit({ since: '2024-05-01', until: '2024-06-01T00:00:00Z', actor: 'alice', event: 'change.merged', subject: 'change/7', limit: 10 });
    await client.verifyAudit();
    await client.verifyAudit({ anchor: { seq: 4, hash: 'f'.repeat(64) } });
    expect(seen.map((s) => `${s.method} ${decodeURIComponent(s.url)}`)).toEqual([
      'GET /api/v1/changes?state=active&mine=true&emergency=false&limit=5',
      'GET /api/v1/changes?author=alice&waiting=true&cursor=40',
      'GET /api/v1/changes/7',
      'GET /api/v1/reviews?state=overdue',
      'GET /api/v1/reviews',
      'GET /api/v1/provenance/abcdef12',
      'GET /api/v1/provenance?limit=3&status=unreviewed',
      'GET /api/v1/audit?since=2024-05-01&until=2024-06-01T00:00:00Z&actor=alice&event=change.merged&subject=change/7&limit=10',
      'GET /api/v1/audit/verify',
      `GET /api/v1/audit/verify?anchor=4:${'f'.repeat(64)}`,
    ]);
  });

  it('iterates changes and audit entries across pages', async () => {
    const entry = (seq: number) => ({ seq, at: '2024-05-01T00:00:00.000Z', actor: 'a', event: 'change.opened', details: {}, prevHash: '0'.repeat(64), hash: String(seq % 10).repeat(64) });
    answer = ({ url }) => {
      const cursor = new URL(url, base).searchParams.get('cursor');
      if (url.startsWith('/api/v1/audit')) return { body: cursor === null ? { items: [entry(1), entry(2)], nextCursor: 'a2' } : { items: [entry(3)] } };
      return { body: cursor === null ? { items: [change(9), change(8)], nextCursor: '8' } : { items: [change(7)] } };
    };
    const client = new EstateClient({ url: base });
    const ids: number[] = [];
    for await (const c of client.iterateChanges({ state: 'open', limit: 2 })) ids.push(c.id);
    const seqs: number[] = [];
    for await (const e of client.iterateAudit({ limit: 2 })) seqs.push(e.seq);
    expect(ids).toEqual([9, 8, 7]);
    expect(seqs).toEqual([1, 2, 3]);
    expect(seen.map((s) => s.url)).toEqual(['/api/v1/changes?state=open&limit=2', '/api/v1/changes?state=open&limit=2&cursor=8', '/api/v1/audit?limit=2', '/api/v1/audit?limit=2&cursor=a2']);
  });

  it('returns an export as text, and still reads an error answer as the API error', async () => {
    const csv = 'seq,at,actor,event,subject,details,prev_hash,hash\r\n1,2024-05-01T00:00:00.000Z,alice,change.opened,change/1,{},0,1\r\n';
    answer = () => ({ body: csv, headers: { 'content-type': 'text/csv; charset=utf-8' } });
    const client = new EstateClient({ url: base, token: TOKEN });
    expect(await client.exportAudit({ format: 'csv', since: '2024-05-01' })).toBe(csv);
    expect(seen[0]!.url).toBe('/api/v1/audit/export?since=2024-05-01&format=csv');
    answer = () => ({ status: 400, body: { error: { code: 'E_BAD_PARAM', message: "parameter 'since' must be an ISO 8601 time, not 'yesterday'", details: { parameter: 'since' } } } });
    const error = await failure(client.exportAudit({ format: 'jsonl', since: 'yesterday' }));
    expect(error.code).toBe('E_BAD_PARAM');
    expect(error.status).toBe(400);
    expect(error.message).toBe("parameter 'since' must be an ISO 8601 time, not 'yesterday'");
  });

  it('passes refusals through with their code and details', async () => {
    answer = () => ({ status: 403, body: { error: { code: 'E_SELF_APPROVAL', message: 'alice opened change request 3 and cannot approve it; ask another approver', details: { id: 3, user: 'alice' } } } });
    const error = await failure(new EstateClient({ url: base, token: TOKEN }).approveChange(3));
    expect(error.code).toBe('E_SELF_APPROVAL');
    expect(error.status).toBe(403);
    expect(error.message).toBe('alice opened change request 3 and cannot approve it; ask another approver');
    expect(error.details).toEqual({ id: 3, user: 'alice' });
  });

  it('refuses an id that is not a positive integer with E_BAD_PARAM before sending anything', async () => {
    const client = new EstateClient({ url: base });
    for (const id of [0, -1, 1.5, Number.NaN]) {
      const error = await failure(client.getChange(id));
      expect(error.code).toBe('E_BAD_PARAM');
      expect(error.message).toBe(`'${String(id)}' is not a change request id; expected a positive integer, e.g. 12`);
    }
    expect(seen).toEqual([]);
  });
});
