import { InputError, NotAllowedError, NotFoundError } from '@estate/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { humanRole, roleAtLeast } from '../auth/tokens.js';
import type { Store } from '../store/Store.js';
import type { ChangeOperation } from './applyOperations.js';
import type { Actor, ChangeService, ChangeView } from './ChangeService.js';
import type { ChangeQuery } from './types.js';

/** What the change routes need. */
export interface ChangeRouteDeps {
  changes: ChangeService;
  store: Store;
  /** The seq from which main's commits are governed (older ones are `before-governance`). */
  governedFromSeq: () => Promise<number>;
}

const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, description: 'The change request id.' } },
} as const;

const operationSchema = {
  type: 'object',
  required: ['op'],
  properties: {
    op: { type: 'string', enum: ['put', 'patch', 'delete', 'putFile', 'deleteFile'] },
    asset: { type: 'object', description: 'put: the whole asset document.' },
    id: { type: 'string', description: 'patch, delete: the asset id, <kind>/<name>.' },
    patch: { type: 'object', description: 'patch: a JSON merge patch (RFC 7396) of the asset document.' },
    path: { type: 'string', description: 'putFile, deleteFile: a repo-relative path.' },
    content: { type: 'string', description: 'putFile: the whole file.' },
  },
} as const;

const operations = { type: 'array', minItems: 1, maxItems: 1000, items: operationSchema } as const;

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'operations'],
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 200 },
    description: { type: 'string', maxLength: 20000 },
    base: { type: 'string', minLength: 4, maxLength: 64, description: 'A commit of main to start from (default: its head).' },
    operations,
    dryRun: { type: 'boolean', default: false, description: 'Only run the checks of the would-be change; nothing is created.' },
  },
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: ['open', 'approved', 'merged', 'closed', 'active'], description: 'active = open or approved.' },
    author: { type: 'string', minLength: 1, maxLength: 200 },
    mine: { type: 'boolean', description: "Only the caller's own change requests." },
    waiting: { type: 'boolean', description: 'Only active change requests the caller could approve and has not.' },
    emergency: { type: 'boolean' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'string', pattern: '^[0-9]{1,12}$', description: 'The nextCursor of the previous page.' },
  },
} as const;

/** Free-form answers: change requests carry checks, diffs and policies (docs/changes.md). */
const anyObject = { type: 'object', additionalProperties: true } as const;

/**
 * The change-request API (docs/changes.md): open (from operations), list, show, edit, add
 * operations, approve, reject, merge (emergency too), close, revert, acknowledge an emergency's
 * review; plus which change request put each commit on main (provenance).
 */
export function registerChangeRoutes(app: FastifyInstance, deps: ChangeRouteDeps): void {
  const { changes } = deps;
  const tags = ['changes'];
  const noStore = { 'cache-control': 'no-store' };
  // `curl -X POST …/approve` sends no body at all: the optional bodies of these routes are then empty objects.
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && request.body === undefined && request.url.startsWith('/api/v1/changes/')) request.body = {};
  });

  app.post<{ Body: { title: string; description?: string; base?: string; operations: ChangeOperation[]; dryRun: boolean } }>(
    '/api/v1/changes',
    { config: { access: 'editor' }, schema: { summary: 'Open a change request from operations (or check one with dryRun)', tags, body: createBody, response: { 200: anyObject, 201: anyObject } } },
    async (request, reply) => {
      const result = await changes.create(actorOf(request), request.body);
      reply.headers(noStore);
      if ('dryRun' in result) return result;
      return reply.code(201).header('location', `/api/v1/changes/${result.id}`).send(result);
    },
  );

  app.get<{ Querystring: { state?: ChangeQuery['state']; author?: string; mine?: boolean; waiting?: boolean; emergency?: boolean; limit: number; cursor?: string } }>(
    '/api/v1/changes',
    { config: { access: 'viewer' }, schema: { summary: 'Change requests, newest first', tags, querystring: listQuery, response: { 200: anyObject } } },
    async (request, reply) => {
      const { state, author, mine, waiting, emergency, limit, cursor } = request.query;
      const user = request.token?.name;
      if ((mine || waiting) && user === undefined) throw new InputError('E_BAD_PARAM', 'mine and waiting need a token: they are about its user', { parameter: mine ? 'mine' : 'waiting' });
      const query: ChangeQuery = {
        limit: waiting ? 1000 : limit + 1,
        ...(waiting ? { state: 'active' as const } : state ? { state } : {}),
        ...(mine ? { author: user! } : author ? { author } : {}),
        ...(emergency !== undefined ? { emergency } : {}),
        ...(cursor !== undefined ? { beforeId: Number(cursor) } : {}),
      };
      let items = changes.list(query);
      if (waiting) items = items.filter((change) => isWaitingFor(change, request.token!)).slice(0, limit + 1);
      const page = items.slice(0, limit);
      reply.headers(noStore);
      return { items: page.map(listItem), ...(items.length > limit ? { nextCursor: String(page[page.length - 1]!.id) } : {}) };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/changes/:id',
    { config: { access: 'viewer' }, schema: { summary: 'One change request: checks, diffs, approvals, blockers', tags, params: idParams, response: { 200: anyObject } } },
    async (request, reply) => {
      reply.headers(noStore);
      return changes.get(request.params.id);
    },
  );

  app.patch<{ Params: { id: number }; Body: { title?: string; description?: string } }>(
    '/api/v1/changes/:id',
    {
      config: { access: 'editor' },
      schema: {
        summary: "Edit a change request's title or description (its author or an admin)",
        tags,
        params: idParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { title: { type: 'string', minLength: 1, maxLength: 200 }, description: { type: 'string', maxLength: 20000 } } },
        response: { 200: anyObject },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const current = changes.get(request.params.id);
      if (current.author !== actor.user && actor.role !== 'admin') {
        throw changes.denied(actor, current.id, 'edit', new NotAllowedError('E_FORBIDDEN', `only the author (${current.author}) or an admin may edit change request ${current.id}`, { id: current.id }));
      }
      return changes.edit(actor, request.params.id, request.body);
    },
  );

  app.post<{ Params: { id: number }; Body: { operations: ChangeOperation[] } }>(
    '/api/v1/changes/:id/operations',
    {
      config: { access: 'editor' },
      schema: { summary: "Add operations to an open change request (a new revision: approvals go stale)", tags, params: idParams, body: { type: 'object', additionalProperties: false, required: ['operations'], properties: { operations } }, response: { 200: anyObject } },
    },
    async (request) => changes.addOperations(actorOf(request), request.params.id, request.body.operations),
  );

  const commentBody = { type: 'object', additionalProperties: false, properties: { comment: { type: 'string', maxLength: 20000 } } } as const;
  app.post<{ Params: { id: number }; Body: { comment?: string } | undefined }>(
    '/api/v1/changes/:id/approve',
    { config: { access: 'approver' }, schema: { summary: 'Approve the current revision (never your own change)', tags, params: idParams, body: commentBody, response: { 200: anyObject } } },
    async (request) => changes.approve(actorOf(request), request.params.id, request.body?.comment),
  );

  app.post<{ Params: { id: number }; Body: { comment?: string } | undefined }>(
    '/api/v1/changes/:id/reject',
    { config: { access: 'approver' }, schema: { summary: 'Reject the current revision: blocks the merge until you approve a revision', tags, params: idParams, body: commentBody, response: { 200: anyObject } } },
    async (request) => changes.reject(actorOf(request), request.params.id, request.body?.comment),
  );

  app.post<{ Params: { id: number }; Body: { emergency?: string } | undefined }>(
    '/api/v1/changes/:id/merge',
    {
      config: { access: 'editor' },
      schema: {
        summary: 'Merge onto main (emergency: admin only, with a reason; skips freezes and approvals)',
        tags,
        params: idParams,
        body: { type: 'object', additionalProperties: false, properties: { emergency: { type: 'string', minLength: 1, maxLength: 1000, description: 'Why this cannot wait: makes the merge an emergency.' } } },
        response: { 200: anyObject },
      },
    },
    async (request) => changes.merge(actorOf(request), request.params.id, request.body?.emergency !== undefined ? { emergency: request.body.emergency } : {}),
  );

  app.post<{ Params: { id: number }; Body: { reason?: string } | undefined }>(
    '/api/v1/changes/:id/close',
    {
      config: { access: 'editor' },
      schema: { summary: 'Close without merging (its author, an approver or an admin)', tags, params: idParams, body: { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 1000 } } }, response: { 200: anyObject } },
    },
    async (request) => changes.close(actorOf(request), request.params.id, request.body?.reason),
  );

  app.post<{ Params: { id: number } }>(
    '/api/v1/changes/:id/revert',
    { config: { access: 'editor' }, schema: { summary: 'Open a change request that reverts a merged one', tags, params: idParams, response: { 201: anyObject } } },
    async (request, reply) => {
      const result = await changes.revert(actorOf(request), request.params.id);
      return reply.code(201).header('location', `/api/v1/changes/${result.id}`).send(result);
    },
  );

  app.post<{ Params: { id: number }; Body: { comment?: string } | undefined }>(
    '/api/v1/changes/:id/review',
    { config: { access: 'approver' }, schema: { summary: "Acknowledge an emergency change's post-merge review", tags, params: idParams, body: commentBody, response: { 200: anyObject } } },
    async (request) => changes.acknowledgeReview(actorOf(request), request.params.id, request.body?.comment),
  );

  app.get<{ Querystring: { state: 'pending' | 'overdue' | 'all' } }>(
    '/api/v1/reviews',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Post-merge reviews of emergency changes, due first',
        tags,
        querystring: { type: 'object', additionalProperties: false, properties: { state: { type: 'string', enum: ['pending', 'overdue', 'all'], default: 'pending' } } },
        response: { 200: anyObject },
      },
    },
    async (request, reply) => {
      const { state } = request.query;
      const items = changes.reviews(state !== 'all').filter((review) => state !== 'overdue' || review.overdue);
      reply.headers(noStore);
      return { items, overdue: items.filter((review) => review.overdue).length };
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string; status?: string } }>(
    '/api/v1/provenance',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Commits of main, newest first, each with the change request that put it there (or the flag that none did)',
        tags,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            cursor: { type: 'string', pattern: '^[0-9]{1,12}$' },
            status: { type: 'string', enum: ['change-request', 'emergency', 'unreviewed', 'before-governance'], description: 'Only commits with this status (of the page scanned).' },
          },
        },
        response: { 200: anyObject },
      },
    },
    async (request, reply) => {
      const { limit, cursor, status } = request.query;
      const governedFrom = await deps.governedFromSeq();
      const commits = await deps.store.listCommits({ limit: limit + 1, ...(cursor !== undefined ? { beforeSeq: Number(cursor) } : {}) });
      const page = commits.slice(0, limit);
      const items = page
        .map((c) => ({ sha: c.sha, seq: c.seq, subject: c.message.split('\n', 1)[0] ?? '', author: c.author.name, committedAt: c.committer.date, ...changes.provenance(c.sha, c.seq, governedFrom) }))
        .filter((item) => status === undefined || item.status === status);
      reply.headers(noStore);
      return { items, ...(commits.length > limit ? { nextCursor: String(page[page.length - 1]!.seq) } : {}) };
    },
  );

  app.get<{ Params: { sha: string } }>(
    '/api/v1/provenance/:sha',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Which change request put one commit on main, who approved it, emergency or not',
        tags,
        params: { type: 'object', additionalProperties: false, required: ['sha'], properties: { sha: { type: 'string', pattern: '^[0-9a-fA-F]{4,40}$' } } },
        response: { 200: anyObject },
      },
    },
    async (request, reply) => {
      const commit = await deps.store.findCommit(request.params.sha.toLowerCase());
      if (!commit) throw new NotFoundError('E_COMMIT_NOT_FOUND', `no indexed commit of main matches '${request.params.sha}'`, { sha: request.params.sha });
      reply.headers(noStore);
      return { sha: commit.sha, seq: commit.seq, subject: commit.message.split('\n', 1)[0] ?? '', author: commit.author.name, committedAt: commit.committer.date, ...changes.provenance(commit.sha, commit.seq, await deps.governedFromSeq()) };
    },
  );
}

/** The user behind the request's token. */
export function actorOf(request: FastifyRequest): Actor {
  const token = request.token;
  if (!token) throw new NotAllowedError('E_UNAUTHORIZED', 'this needs a token', { reason: 'missing' });
  return { user: token.name, role: humanRole(token), groups: token.groups };
}

/** A change request in a list: no diffs or diagnostics (GET one for those). */
function listItem(change: ChangeView): Record<string, unknown> {
  const { checks, ...rest } = change;
  return {
    ...rest,
    ...(checks ? { checks: { status: checks.status, ranAt: checks.ranAt, head: checks.head, main: checks.main, results: checks.results, risk: checks.policy.risk, summary: checks.diff.main.summary } } : {}),
  };
}

/** True when `token`'s user could give a missing approval to `change` and has not given a verdict. */
function isWaitingFor(change: ChangeView, token: { name: string; role: string; groups: string[] }): boolean {
  if (change.author === token.name || change.contributors.includes(token.name)) return false;
  if ([...change.approvals, ...change.rejections].some((a) => a.user === token.name)) return false;
  return change.requiredApprovals.some(
    (r) =>
      r.missing > 0 &&
      roleAtLeast(token.role as never, r.approvers.role as never) &&
      (r.approvers.groups.length === 0 || r.approvers.groups.some((g) => token.groups.includes(g))),
  );
}
