import { Readable } from 'node:stream';
import { InputError } from '@estate/core';
import type { FastifyInstance } from 'fastify';
import { parseTime } from '../http/commitAnswer.js';
import { decodeCursor, encodeCursor, type CursorList } from '../http/cursor.js';
import type { AuditLog } from './AuditLog.js';
import { formatAuditEntries } from './formatAuditEntries.js';
import { AUDIT_EVENT_TYPES, type AuditAnchor } from './types.js';

/** The cursor list of `GET /api/v1/audit`. */
const AUDIT_CURSOR: CursorList = 'audit';
/** Bytes of export text gathered into one chunk of the streamed answer. */
const EXPORT_CHUNK_BYTES = 64 * 1024;

const time = (what: string): Record<string, unknown> => ({
  type: 'string',
  minLength: 1,
  maxLength: 64,
  description: `${what}: an ISO 8601 time (a date alone is midnight UTC; no offset means UTC).`,
});
const name = { type: 'string', minLength: 1, maxLength: 512 } as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    since: time('Entries at or after this time'),
    until: time('Entries before this time (exclusive)'),
    actor: { ...name, description: 'Only entries by this user name (or system).' },
    event: { type: 'string', enum: [...AUDIT_EVENT_TYPES], description: 'Only entries of this type.' },
    subject: { ...name, description: 'Only entries about this subject, e.g. change/12.' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Items per page.' },
    cursor: { type: 'string', minLength: 1, maxLength: 1024, description: 'The nextCursor of the previous page.' },
  },
} as const;

const verifyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    anchor: {
      type: 'string',
      pattern: '^[1-9][0-9]{0,15}:[0-9a-f]{64}$',
      description: 'An entry recorded earlier as <seq>:<hash> (a previous head): the trail must still hold it unchanged.',
    },
  },
} as const;

const exportQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    since: time('Entries at or after this time'),
    until: time('Entries before this time (exclusive)'),
    format: { type: 'string', enum: ['jsonl', 'csv'], default: 'jsonl', description: 'jsonl (exact, verifiable) or csv (RFC 4180, for spreadsheets).' },
  },
} as const;

const anchor = { type: 'object', required: ['seq', 'hash'], properties: { seq: { type: 'integer' }, hash: { type: 'string' } } } as const;

const entry = {
  type: 'object',
  required: ['seq', 'at', 'actor', 'event', 'details', 'prevHash', 'hash'],
  properties: {
    seq: { type: 'integer' },
    at: { type: 'string' },
    actor: { type: 'string' },
    event: { type: 'string' },
    subject: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
    prevHash: { type: 'string' },
    hash: { type: 'string' },
  },
} as const;

const listResponse = {
  type: 'object',
  required: ['items'],
  properties: {
    items: { type: 'array', items: entry },
    nextCursor: { type: 'string', description: 'Present when there are more items: pass it as cursor.' },
  },
} as const;

const verifyResponse = {
  type: 'object',
  required: ['ok', 'entries', 'problems'],
  properties: {
    ok: { type: 'boolean' },
    entries: { type: 'integer' },
    head: { ...anchor, description: 'The last entry: record it, and pass it later as anchor.' },
    problems: {
      type: 'array',
      items: {
        type: 'object',
        required: ['seq', 'code', 'message'],
        properties: { seq: { type: 'integer' }, code: { type: 'string', enum: ['E_AUDIT_TAMPERED', 'E_AUDIT_GAP', 'E_AUDIT_BROKEN_LINK'] }, message: { type: 'string' } },
      },
    },
    moreProblems: { type: 'integer', description: 'Problems found beyond the 1,000 listed.' },
  },
} as const;

const exportResponse = { type: 'string', description: 'JSON Lines (application/x-ndjson) or CSV (text/csv), as an attachment.' } as const;

/**
 * The audit trail over HTTP (docs/audit.md), for viewers and up: auditors get viewer tokens.
 * `GET /api/v1/audit` pages entries (filters since, until, actor, event, subject); `GET
 * /api/v1/audit/verify` checks the chain, optionally against an anchor; `GET /api/v1/audit/export`
 * streams JSON Lines or CSV as a download.
 */
export function registerAuditRoutes(app: FastifyInstance, deps: { audit: AuditLog }): void {
  const { audit } = deps;

  app.get<{ Querystring: { since?: string; until?: string; actor?: string; event?: string; subject?: string; limit: number; cursor?: string } }>(
    '/api/v1/audit',
    {
      config: { access: 'viewer' },
      schema: { summary: 'Audit trail entries, oldest first', tags: ['audit'], querystring: listQuery, response: { 200: listResponse } },
    },
    async (request, reply) => {
      const { actor, event, subject, limit, cursor } = request.query;
      const afterSeq = cursor === undefined ? undefined : decodeCursor(AUDIT_CURSOR, cursor, ['number'])[0];
      const items = audit.list({
        ...timeRange(request.query),
        ...(actor !== undefined ? { actor } : {}),
        ...(event !== undefined ? { event } : {}),
        ...(subject !== undefined ? { subject } : {}),
        ...(afterSeq !== undefined ? { afterSeq } : {}),
        limit: limit + 1,
      });
      const page = items.slice(0, limit);
      const last = page[page.length - 1];
      reply.header('cache-control', 'no-store');
      return { items: page, ...(items.length > limit && last ? { nextCursor: encodeCursor(AUDIT_CURSOR, last.seq) } : {}) };
    },
  );

  app.get<{ Querystring: { anchor?: string } }>(
    '/api/v1/audit/verify',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Checks the hash chain of the whole audit trail',
        description: 'ok is false when an entry was edited, removed or re-hashed; with anchor, also when the trail no longer holds that entry unchanged (a truncated or rewritten tail).',
        tags: ['audit'],
        querystring: verifyQuery,
        response: { 200: verifyResponse },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return audit.verify(request.query.anchor === undefined ? {} : { anchor: parseAnchor(request.query.anchor) });
    },
  );

  app.get<{ Querystring: { since?: string; until?: string; format: 'jsonl' | 'csv' } }>(
    '/api/v1/audit/export',
    {
      config: { access: 'viewer', contentType: 'application/x-ndjson' },
      schema: { summary: 'The audit trail as a JSON Lines or CSV download', tags: ['audit'], querystring: exportQuery, response: { 200: exportResponse } },
    },
    async (request, reply) => {
      const { format } = request.query;
      const range = timeRange(request.query);
      const stamp = new Date().toISOString().replace(/[-:]|\.\d+/g, '');
      reply
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="estate-audit-${stamp}.${format}"`)
        .type(format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson; charset=utf-8');
      return reply.send(Readable.from(chunked(formatAuditEntries(audit.iterate(range), format))));
    },
  );
}

function timeRange(query: { since?: string; until?: string }): { since?: Date; until?: Date } {
  return {
    ...(query.since !== undefined ? { since: parseQueryTime(query.since, 'since') } : {}),
    ...(query.until !== undefined ? { until: parseQueryTime(query.until, 'until') } : {}),
  };
}

function parseQueryTime(value: string, parameter: string): Date {
  const parsed = parseTime(value);
  if (!parsed) throw new InputError('E_BAD_PARAM', `parameter '${parameter}' must be an ISO 8601 time, not '${value}'`, { parameter, value });
  return parsed;
}

function parseAnchor(value: string): AuditAnchor {
  const [seq, hash] = value.split(':') as [string, string];
  return { seq: Number(seq), hash };
}

/** Joins lines into chunks of about {@link EXPORT_CHUNK_BYTES}, so a large export is not a write per line. */
function* chunked(lines: Iterable<string>): Iterable<string> {
  let chunk = '';
  for (const line of lines) {
    chunk += line;
    if (chunk.length >= EXPORT_CHUNK_BYTES) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}
