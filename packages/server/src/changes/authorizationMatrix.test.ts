import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { patchHost, startChangeFixture, type ChangeFixture, type JsonBody } from '../testing/changeFixture.js';

// Every write route × every role, over a real socket against the running server: no token is
// 401, a role below the route's is 403 E_FORBIDDEN (and audited as access.denied), a role at or
// above it gets through authorization (the answer may still be 400/404/409 for the request itself).
// Routes with a rule beyond the role (emergency merges, self-approval, someone else's change
// request) have their own rows. The route list comes from the OpenAPI document, so a new write
// route fails this test until it has a row here.

type Role = 'viewer' | 'editor' | 'approver' | 'admin';
type Caller = 'anonymous' | Role;

const CALLERS: Caller[] = ['anonymous', 'viewer', 'editor', 'approver', 'admin'];
/** `agent` is above every human here: no human caller has an agent's rights. */
const RANK: Record<Caller | 'agent', number> = { anonymous: -1, viewer: 0, editor: 1, approver: 2, admin: 3, agent: 4 };
/** The token user of each caller (the fixture's users). */
const USER: Record<Role, string> = { viewer: 'vic', editor: 'alice', approver: 'bob', admin: 'root' };

interface Answer {
  status: number;
  body: JsonBody;
}

/** What an authorized caller gets: the status, and the error code when it is an error. */
interface Outcome {
  status: number;
  code?: string;
  /** A refusal by a rule beyond the role: the action it is audited as (access.denied on the change request). */
  denied?: string;
}

/** One request of a row, for one caller. */
interface Request {
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A write route, the least role it needs, and what each role at or above it gets. */
interface Row {
  method: string;
  /** As in the OpenAPI document (`{id}`); `/estate.git/…` for git's routes (not in the document). */
  path: string;
  needs: Role | 'agent';
  /** The request a caller makes (called once per caller, in the order of CALLERS). */
  request: (caller: Caller) => Promise<Request>;
  allowed: Partial<Record<Role, Outcome>>;
}

let f: ChangeFixture;
/** More users: a second editor and a second admin, for the rules about someone else's change requests. */
const extra = { eve: '', ada: '' };
let counter = 0;
/** Refusals for the role that must be in the audit trail: `actor route/METHOD url required`. */
const expectedDenials: string[] = [];
/** Refusals by a rule beyond the role that must be in the audit trail: `actor change/<id> action code`. */
const expectedRuleDenials: string[] = [];

/** Notes a refusal by rule of `user` on change request `id`, to be found in the audit trail. */
function deniedByRule(user: string, id: number | string, action: string, code: string): void {
  expectedRuleDenials.push(`${user} change/${id} ${action} ${code}`);
}

beforeAll(async () => {
  f = await startChangeFixture();
  extra.eve = (await issueToken(f.server.store, { name: 'eve', role: 'editor' })).token;
  extra.ada = (await issueToken(f.server.store, { name: 'ada', role: 'admin' })).token;
}, 60_000);

afterAll(async () => {
  await f?.stop();
});

function tokenOf(caller: Caller): string | undefined {
  switch (caller) {
    case 'anonymous':
      return undefined;
    case 'viewer':
      return f.tokens.viewer;
    case 'editor':
      return f.tokens.alice;
    case 'approver':
      return f.tokens.bob;
    case 'admin':
      return f.tokens.root;
  }
}

/** A request over the socket; JSON bodies are sent as JSON, others as they are. */
async function send(method: string, request: Request, token: string | undefined): Promise<Answer> {
  const json = request.body !== undefined && typeof request.body !== 'string';
  const response = await fetch(`${f.url}${request.url}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(json ? { 'content-type': 'application/json' } : {}),
      ...request.headers,
    },
    ...(request.body !== undefined ? { body: json ? JSON.stringify(request.body) : (request.body as string) } : {}),
  });
  const text = await response.text();
  let body: JsonBody;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: response.status, body };
}

function expectError(answer: Answer, status: number, code: string, what: string): void {
  expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBe(status);
  expect(answer.body?.error?.code, what).toBe(code);
}

/** A refusal by the role check: 403 E_FORBIDDEN naming the role needed and the token's. */
function isRoleRefusal(answer: Answer): boolean {
  return answer.status === 403 && answer.body?.error?.code === 'E_FORBIDDEN' && answer.body.error.details?.required !== undefined;
}

/** The Fastify route of an OpenAPI path, as the audit trail names it. */
function routeOf(method: string, path: string): string {
  return `route/${method} ${path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1')}`;
}

/** A distinct CPU count, so every change request changes something. */
const next = (): number => 2 + ++counter;

async function open(token: string, title = 'matrix change'): Promise<number> {
  const created = await f.call('POST', '/api/v1/changes', token, { title, operations: [patchHost('web-01', { cpus: next() })] });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id;
}

/** A change request by alice that carol approved: it may merge now. */
async function openApproved(): Promise<number> {
  const id = await open(f.tokens.alice, 'approved by carol');
  const approved = await f.call('POST', `/api/v1/changes/${id}/approve`, f.tokens.carol);
  expect(approved.body.state, JSON.stringify(approved.body)).toBe('approved');
  return id;
}

/** A change request by alice merged by `token` in an emergency: its review is pending. */
async function emergencyBy(token: string): Promise<number> {
  const id = await open(f.tokens.alice, 'emergency');
  const merged = await f.call('POST', `/api/v1/changes/${id}/merge`, token, { emergency: 'matrix emergency' });
  expect(merged.status, JSON.stringify(merged.body)).toBe(200);
  return id;
}

/** Runs a request factory once and hands the same request to every caller. */
function shared(make: () => Promise<Request>): (caller: Caller) => Promise<Request> {
  let made: Promise<Request> | undefined;
  return () => (made ??= make());
}

/**
 * A request factory that gives authorized callers a fresh target each (a merge or close changes
 * it for the next caller) and refused ones `placeholder` (the route, with an id the refusal never
 * gets to look up).
 */
function fresh(needs: Role, placeholder: Request, make: () => Promise<Request>): (caller: Caller) => Promise<Request> {
  return async (caller) => (RANK[caller] >= RANK[needs] ? make() : placeholder);
}

const changeUrl = (id: number, action = ''): string => `/api/v1/changes/${id}${action}`;

function rows(): Row[] {
  const all = { editor: true, approver: true, admin: true } as const;
  const everyone = (outcome: Outcome, roles: Partial<Record<Role, true>> = all): Partial<Record<Role, Outcome>> =>
    Object.fromEntries(Object.keys(roles).map((role) => [role, outcome]));
  return [
    {
      method: 'POST',
      path: '/api/v1/changes',
      needs: 'editor',
      request: async () => ({ url: '/api/v1/changes', body: { title: 'dry run', operations: [patchHost('web-01', { cpus: next() })], dryRun: true } }),
      allowed: everyone({ status: 200 }),
    },
    {
      method: 'PATCH',
      path: '/api/v1/changes/{id}',
      needs: 'editor',
      request: shared(async () => ({ url: changeUrl(await open(f.tokens.alice)), body: { title: 'renamed' } })),
      // Only the author (alice) or an admin edits a change request.
      allowed: { editor: { status: 200 }, approver: { status: 403, code: 'E_FORBIDDEN', denied: 'edit' }, admin: { status: 200 } },
    },
    {
      method: 'POST',
      path: '/api/v1/changes/{id}/operations',
      needs: 'editor',
      // One change request; each caller adds a different operation.
      request: (() => {
        let id: Promise<number> | undefined;
        return async () => ({ url: changeUrl(await (id ??= open(f.tokens.alice)), '/operations'), body: { operations: [patchHost('web-01', { cpus: next() })] } });
      })(),
      allowed: everyone({ status: 200 }),
    },
    {
      method: 'POST',
      path: '/api/v1/changes/{id}/approve',
      needs: 'approver',
      request: shared(async () => ({ url: changeUrl(await open(f.tokens.alice), '/approve'), body: { comment: 'fine' } })),
      allowed: everyone({ status: 200 }, { approver: true, admin: true }),
    },
    {
      method: 'POST',
      path: '/api/v1/changes/{id}/reject',
      needs: 'approver',
      request: shared(async () => ({ url: changeUrl(await open(f.tokens.alice), '/reject'), body: { comment: 'not now' } })),
      allowed: everyone({ status: 200 }, { approver: true, admin: true }),
    },
    {
      method: 'POST',
      path: '/api/v1/changes/{id}/merge',
      needs: 'editor',
      request: fresh('editor', { url: changeUrl(1, '/merge'), body: {} }, async () => ({ url: changeUrl(await openApproved(), '/merge'), body: {} })),
      allowed: everyone({ status: 200 }),
    },
    {
      method: 'POST',
      path: '/api/v1/changes/{id}/close',
      needs: 'editor',
      // The author (alice), an approver or an admin closes a change request.
      request: fresh('editor', { url: changeUrl(1, '/close'), body: {} }, async () => ({ url: changeUrl(await open(f.tokens.alice), '/close'), body: { reason: 'not needed' } })),
      allowed: everyone({ status: 200 }),
    },
    {
      method: 'POST',
      path: '/api/v1/changes/{id}/revert',
      needs: 'editor',
      request: shared(async () => {
        const id = await openApproved();
        expect((await f.call('POST', changeUrl(id, '/merge'), f.tokens.alice, {})).status).toBe(200);
        return { url: changeUrl(id, '/revert') };
      }),
      allowed: everyone({ status: 201 }),
    },
    {
      method: 'POST',
      path: '/api/v1/changes/{id}/review',
      needs: 'approver',
      // ada (another admin) merged it: bob and root may acknowledge it.
      request: fresh('approver', { url: changeUrl(1, '/review'), body: {} }, async () => ({ url: changeUrl(await emergencyBy(extra.ada), '/review'), body: { comment: 'seen' } })),
      allowed: everyone({ status: 200 }, { approver: true, admin: true }),
    },
    {
      method: 'POST',
      path: '/api/v1/webhooks',
      needs: 'admin',
      request: async () => ({ url: '/api/v1/webhooks', body: { url: 'http://127.0.0.1:9/estate', secret: 'a-secret-of-24-characters', events: ['change.merged'] } }),
      allowed: { admin: { status: 201 } },
    },
    {
      method: 'DELETE',
      path: '/api/v1/webhooks/{id}',
      needs: 'admin',
      request: shared(async () => ({ url: `/api/v1/webhooks/${f.server.webhooks.create({ url: 'http://127.0.0.1:9/gone', secret: 'another-secret-of-24-chars' }).id}` })),
      allowed: { admin: { status: 204 } },
    },
    {
      method: 'POST',
      path: '/api/v1/webhooks/deliveries/{id}/redeliver',
      needs: 'admin',
      request: async () => ({ url: '/api/v1/webhooks/deliveries/999999/redeliver' }),
      allowed: { admin: { status: 404, code: 'E_WEBHOOK_DELIVERY_NOT_FOUND' } },
    },
    // Reports are for agent tokens only (the ingest tests cover them); dead letters for admins.
    {
      method: 'POST',
      path: '/api/v1/reports',
      needs: 'agent',
      request: async () => ({ url: '/api/v1/reports', body: {} }),
      allowed: {},
    },
    {
      method: 'POST',
      path: '/api/v1/reports/dead-letters/{id}/replay',
      needs: 'admin',
      request: async () => ({ url: '/api/v1/reports/dead-letters/999999/replay' }),
      allowed: { admin: { status: 404, code: 'E_DEAD_LETTER_NOT_FOUND' } },
    },
    // Gray releases of application config (this estate has no config: the route answers 404 past authorization).
    {
      method: 'POST',
      path: '/api/v1/config/{app}/{env}/releases',
      needs: 'approver',
      request: async () => ({ url: '/api/v1/config/billing/prod/releases', body: { percentage: 10 } }),
      allowed: everyone({ status: 404, code: 'E_CONFIG_NOT_FOUND' }, { approver: true, admin: true }),
    },
    ...(['promote', 'abort'] as const).map((outcome) => ({
      method: 'POST',
      path: `/api/v1/config/{app}/{env}/releases/{id}/${outcome}`,
      needs: 'approver' as const,
      request: async () => ({ url: `/api/v1/config/billing/prod/releases/999/${outcome}` }),
      allowed: everyone({ status: 404, code: 'E_RELEASE_NOT_FOUND' }, { approver: true, admin: true }),
    })),
    // Acting on drift (no report was applied here: past authorization, nothing is open or observed).
    ...(['adopt', 'revert', 'ignore'] as const).map((action) => ({
      method: 'POST',
      path: `/api/v1/drift/${action}`,
      needs: 'editor' as const,
      request: async () => ({ url: `/api/v1/drift/${action}`, body: { asset: 'host/web-01', ...(action === 'adopt' ? {} : { field: '/spec/files/~1etc~1motd/content' }), ...(action === 'ignore' ? { reason: 'test' } : {}) } }),
      allowed: everyone(action === 'adopt' ? { status: 409, code: 'E_NOTHING_TO_ADOPT' } : { status: 404, code: 'E_DRIFT_ITEM_NOT_FOUND' }),
    })),
    {
      method: 'POST',
      path: '/api/v1/drift/unmanaged/{host}/declare',
      needs: 'editor',
      request: async () => ({ url: '/api/v1/drift/unmanaged/web-77/declare', body: {} }),
      allowed: everyone({ status: 404, code: 'E_OBSERVATION_NOT_FOUND' }),
    },
    // git's smart HTTP (not in the API document): pushing needs an editor, its ref advertisement too.
    {
      method: 'GET',
      path: '/estate.git/info/refs',
      needs: 'editor',
      request: async () => ({ url: '/estate.git/info/refs?service=git-receive-pack' }),
      allowed: everyone({ status: 200 }),
    },
    {
      method: 'POST',
      path: '/estate.git/git-receive-pack',
      needs: 'editor',
      // A flush packet: a push with no ref updates (gitprotocol-pack(5)).
      request: async () => ({ url: '/estate.git/git-receive-pack', body: '0000', headers: { 'content-type': 'application/x-git-receive-pack-request' } }),
      allowed: everyone({ status: 200 }),
    },
  ];
}

describe('authorization matrix: every write route × every role', { timeout: 120_000 }, () => {
  const table = rows();

  it('has a row for every write route of the OpenAPI document, and no row for a route that does not exist', async () => {
    const document = await f.call('GET', '/api/openapi.json', f.tokens.root);
    expect(document.status).toBe(200);
    const documented: string[] = [];
    for (const [path, operations] of Object.entries(document.body.paths as Record<string, Record<string, JsonBody>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (method === 'get') continue;
        documented.push(`${method.toUpperCase()} ${path}`);
        // The row's role is the one the route declares.
        const row = table.find((r) => r.method === method.toUpperCase() && r.path === path);
        expect(row?.needs, `${method.toUpperCase()} ${path} declares ${operation['x-estate-role']}`).toBe(operation['x-estate-role']);
      }
    }
    const rowsOfApi = table.filter((r) => !r.path.startsWith('/estate.git')).map((r) => `${r.method} ${r.path}`);
    expect(rowsOfApi.sort()).toEqual(documented.sort());
  });

  for (const row of table) {
    it(`${row.method} ${row.path} (needs ${row.needs})`, async () => {
      for (const caller of CALLERS) {
        const request = await row.request(caller);
        const what = `${caller} ${row.method} ${request.url}`;
        const answer = await send(row.method, request, tokenOf(caller));
        if (caller === 'anonymous') {
          expectError(answer, 401, 'E_UNAUTHORIZED', what);
          continue;
        }
        if (RANK[caller] < RANK[row.needs]) {
          expectError(answer, 403, 'E_FORBIDDEN', what);
          expect(answer.body.error.message, what).toContain(`needs the role '${row.needs}'`);
          expect(answer.body.error.details, what).toMatchObject({ required: row.needs, role: caller });
          expectedDenials.push(`${USER[caller]} ${routeOf(row.method, row.path)} ${row.needs}`);
          continue;
        }
        expect(answer.status, what).not.toBe(401);
        expect(isRoleRefusal(answer), `${what}: ${JSON.stringify(answer.body)}`).toBe(false);
        const outcome = row.allowed[caller];
        expect(outcome, `${what}: no expected outcome in the row`).toBeDefined();
        expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBe(outcome!.status);
        if (outcome!.code !== undefined) expect(answer.body.error.code, what).toBe(outcome!.code);
        if (outcome!.denied !== undefined) deniedByRule(USER[caller], /\/api\/v1\/changes\/(\d+)/.exec(request.url)![1]!, outcome!.denied, outcome!.code!);
      }
    });
  }

  it('refuses by rule beyond the role: emergency merges need an admin', async () => {
    const id = await open(f.tokens.alice);
    for (const token of [f.tokens.alice, f.tokens.bob, f.tokens.carol]) {
      const answer = await f.call('POST', changeUrl(id, '/merge'), token, { emergency: 'it is urgent' });
      expectError(answer, 403, 'E_FORBIDDEN', 'emergency merge by a non-admin');
      expect(answer.body.error.message).toMatch(/^an emergency merge needs the role 'admin'; (alice|bob|carol) has '(editor|approver)'$/);
      deniedByRule(/; (\w+) has/.exec(answer.body.error.message)![1]!, id, 'emergency-merge', 'E_FORBIDDEN');
    }
    expect((await f.call('GET', changeUrl(id), f.tokens.viewer)).body.state).toBe('open');
    const merged = await f.call('POST', changeUrl(id, '/merge'), f.tokens.root, { emergency: 'it is urgent' });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(merged.body.emergency).toEqual({ reason: 'it is urgent', by: 'root' });
  });

  it('refuses by rule beyond the role: nobody approves, rejects or reviews their own change', async () => {
    const byCarol = await open(f.tokens.carol, 'opened by an approver');
    for (const action of ['approve', 'reject']) {
      const answer = await f.call('POST', changeUrl(byCarol, `/${action}`), f.tokens.carol, {});
      expectError(answer, 403, 'E_SELF_APPROVAL', `carol ${action}s her own change`);
      expect(answer.body.error.message).toBe(`carol opened change request ${byCarol} and cannot ${action} it; ask another approver`);
      deniedByRule('carol', byCarol, action, 'E_SELF_APPROVAL');
    }
    // A contributor (who added operations) is not an approver of it either, admin or not.
    const byAlice = await open(f.tokens.alice);
    for (const [token, user] of [[f.tokens.bob, 'bob'], [f.tokens.root, 'root']] as const) {
      expect((await f.call('POST', changeUrl(byAlice, '/operations'), token, { operations: [patchHost('web-01', { cpus: next() })] })).status).toBe(200);
      const answer = await f.call('POST', changeUrl(byAlice, '/approve'), token, {});
      expectError(answer, 403, 'E_SELF_APPROVAL', `${user} approves a change he contributed to`);
      expect(answer.body.error.message).toBe(`${user} changed change request ${byAlice} and cannot approve it; ask another approver`);
      deniedByRule(user, byAlice, 'approve', 'E_SELF_APPROVAL');
    }
    // The admin who merged an emergency does not acknowledge its review.
    const emergency = await emergencyBy(extra.ada);
    const review = await f.call('POST', changeUrl(emergency, '/review'), extra.ada, {});
    expectError(review, 403, 'E_SELF_APPROVAL', 'ada reviews her own emergency');
    expect(review.body.error.message).toBe(`ada made emergency change ${emergency} and cannot review it; ask another approver`);
    deniedByRule('ada', emergency, 'review', 'E_SELF_APPROVAL');
  });

  it("refuses by rule beyond the role: an editor neither edits nor closes someone else's change request", async () => {
    const id = await open(f.tokens.alice);
    const edit = await f.call('PATCH', changeUrl(id), extra.eve, { title: 'mine now' });
    expectError(edit, 403, 'E_FORBIDDEN', 'eve edits alice’s change');
    expect(edit.body.error.message).toBe(`only the author (alice) or an admin may edit change request ${id}`);
    deniedByRule('eve', id, 'edit', 'E_FORBIDDEN');
    const close = await f.call('POST', changeUrl(id, '/close'), extra.eve, {});
    expectError(close, 403, 'E_FORBIDDEN', 'eve closes alice’s change');
    expect(close.body.error.message).toBe(`only the author (alice), an approver or an admin may close change request ${id}`);
    deniedByRule('eve', id, 'close', 'E_FORBIDDEN');
    const change = (await f.call('GET', changeUrl(id), f.tokens.viewer)).body;
    expect(change).toMatchObject({ state: 'open', title: 'matrix change' });
    // eve may still add to it, as anyone with the role: she becomes a contributor.
    expect((await f.call('POST', changeUrl(id, '/operations'), extra.eve, { operations: [patchHost('web-01', { cpus: next() })] })).status).toBe(200);
  });

  it('keeps the git hook route to the hooks: every caller without the secret gets 403', async () => {
    for (const caller of CALLERS) {
      const answer = await send('POST', { url: '/estate.git/_hook/pre-receive', body: '{}', headers: { 'content-type': 'application/json' } }, tokenOf(caller));
      expectError(answer, 403, 'E_FORBIDDEN', `${caller} calls the pre-receive hook route`);
      expect(answer.body.error.message).toBe('this route is for the git hooks of this server only');
    }
  });

  it('lets only admins read the tokens, without auditing refused reads', async () => {
    for (const caller of CALLERS) {
      const answer = await send('GET', { url: '/api/v1/tokens' }, tokenOf(caller));
      if (caller === 'anonymous') expectError(answer, 401, 'E_UNAUTHORIZED', caller);
      else if (caller !== 'admin') expectError(answer, 403, 'E_FORBIDDEN', caller);
      else {
        expect(answer.status).toBe(200);
        expect(answer.body.items.map((t: JsonBody) => t.name)).toEqual(expect.arrayContaining(['alice', 'bob', 'root', 'vic', 'eve', 'ada']));
      }
    }
  });

  it('audited every refusal for the role as access.denied, with the user, route and roles', async () => {
    expect(expectedDenials.length).toBeGreaterThan(20);
    const answer = await f.call('GET', '/api/v1/audit?event=access.denied&limit=1000', f.tokens.viewer);
    expect(answer.status).toBe(200);
    expect(answer.body.nextCursor).toBeUndefined();
    const entries = (answer.body.items as JsonBody[]).filter((entry) => entry.subject.startsWith('route/'));
    for (const entry of entries) {
      expect(entry.details).toMatchObject({ role: expect.any(String), required: expect.any(String), tokenId: expect.any(String) });
    }
    const found = entries.map((entry) => `${entry.actor} ${entry.subject} ${entry.details.required}`).sort();
    expect(found).toEqual([...expectedDenials].sort());
  });

  it('audited every refusal by a rule beyond the role as access.denied on the change request', async () => {
    expect(expectedRuleDenials.length).toBeGreaterThanOrEqual(10);
    const answer = await f.call('GET', '/api/v1/audit?event=access.denied&limit=1000', f.tokens.viewer);
    expect(answer.status).toBe(200);
    const found = (answer.body.items as JsonBody[])
      .filter((entry) => entry.subject.startsWith('change/'))
      .map((entry) => `${entry.actor} ${entry.subject} ${entry.details.action} ${entry.details.code}`)
      .sort();
    expect(found).toEqual([...expectedRuleDenials].sort());
  });
});
