import { createHash } from 'node:crypto';
import { EstateError, InputError, NotFoundError } from '@estate/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CommitRef, Store } from '../store/Store.js';

/** Bump when the shape of answers changes, so clients drop what they cached from older servers. */
const REPRESENTATION = '1';
/** A full sha-1 or sha-256 object id: the only `at` whose answer can never change. */
const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const SHA_PREFIX = /^[0-9a-f]{4,64}$/;
/**
 * ISO 8601 / RFC 3339 date, optionally with a time and a UTC offset. `+` in an unencoded query
 * string arrives as a space (application/x-www-form-urlencoded), so a space before the offset
 * is read as `+`. A time without an offset is UTC.
 */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?([Zz]|[+\- ]\d{2}:?\d{2})?)?$/;

/** The commit an answer is about, and whether it is fixed forever. */
export interface ResolvedCommit {
  commit: CommitRef;
  /** Named by a full sha: the answer never changes, and may be cached for long. */
  pinned: boolean;
}

/** The last indexed commit; `503 E_NOT_READY` before anything is indexed. */
export async function requireHead(store: Store): Promise<CommitRef> {
  const head = await store.head();
  if (!head) throw new EstateError('E_NOT_READY', 'nothing is indexed yet: the server is still reading the estate repo', {});
  return head;
}

/**
 * The commit an `at`-style parameter names: a sha or unambiguous prefix (`E_AMBIGUOUS` otherwise),
 * else an ISO 8601 time (the last commit of main at or before it), else `400 E_BAD_PARAM`.
 * Without a value, the head.
 */
export async function resolveAt(store: Store, head: CommitRef, value: string | undefined, parameter = 'at'): Promise<ResolvedCommit> {
  if (value === undefined) return { commit: head, pinned: false };
  const lower = value.toLowerCase();
  if (SHA_PREFIX.test(lower)) {
    const found = await store.findCommit(lower);
    if (!found) throw new NotFoundError('E_COMMIT_NOT_FOUND', `no indexed commit of main matches '${value}'`, { parameter, value });
    return { commit: { seq: found.seq, sha: found.sha }, pinned: FULL_SHA.test(lower) };
  }
  const time = parseTime(value);
  if (!time) {
    throw new InputError('E_BAD_PARAM', `parameter '${parameter}' must be a commit sha (≥ 4 hex digits) or an ISO 8601 time, not '${value}'`, {
      parameter,
      value,
    });
  }
  const found = await store.commitAtTime(time);
  if (!found) throw new NotFoundError('E_COMMIT_NOT_FOUND', `no commit of main at or before ${time.toISOString()}`, { parameter, value });
  return { commit: { seq: found.seq, sha: found.sha }, pinned: false };
}

/** Parses an ISO 8601 time strictly (no rolling `02-30` over to March); undefined if it is not one. */
export function parseTime(text: string): Date | undefined {
  const m = ISO_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const fraction = m[7] ? Math.floor(Number(m[7]) * 1000) : 0;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const [hours, minutes] = [Number(digits.slice(0, 2)), Number(digits.slice(2))];
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  const daysInMonth = utc(year, month, 0).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return undefined;
  return new Date(utc(year, month - 1, day, hour, minute, second, fraction).getTime() - offsetMinutes * 60_000);
}

/** `Date.UTC` for every year: it reads years 0–99 as 1900–1999. */
function utc(year: number, monthIndex: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): Date {
  const date = new Date(Date.UTC(2000, monthIndex, day, hour, minute, second, ms));
  date.setUTCFullYear(year, monthIndex, day);
  return date;
}

/**
 * Names the commit in the headers (`X-Estate-Commit`), sets the ETag and caching policy, and
 * answers `304 Not Modified` when `If-None-Match` holds the ETag (returns true then: the caller
 * sends nothing else). The ETag covers the commit, the head when the answer is not pinned (a time
 * or a sha prefix may resolve differently later), `extra` (other commits the answer depends on)
 * and the request URL; it is computed before the answer, so a revalidation costs no store reads.
 */
export function answerFor(request: FastifyRequest, reply: FastifyReply, commit: CommitRef, head: CommitRef, pinned: boolean, extra = ''): boolean {
  const basis = `${REPRESENTATION}\0${commit.sha}\0${pinned ? '' : head.sha}\0${extra}\0${request.url}`;
  const etag = `W/"${commit.seq}-${createHash('sha1').update(basis).digest('base64url')}"`;
  reply.header('x-estate-commit', commit.sha);
  reply.header('etag', etag);
  // Head answers must be revalidated (cheaply, with the ETag); answers pinned by a full sha never change.
  // `private`: answers need a token, so shared caches must not keep them.
  reply.header('cache-control', pinned ? 'private, max-age=31536000, immutable' : 'private, no-cache');
  const match = request.headers['if-none-match'];
  if (match !== undefined && etagMatches(match, etag)) {
    reply.code(304).send();
    return true;
  }
  return false;
}

/**
 * RFC 9110 §13.1.2: If-None-Match uses weak comparison. `*` is not honoured: the ETag is settled
 * before the store is asked whether the thing exists, and `*` must not match what does not.
 */
function etagMatches(header: string, etag: string): boolean {
  const opaque = etag.slice(2);
  for (const candidate of header.split(',')) {
    const tag = candidate.trim();
    if (tag === etag || tag === opaque || (tag.startsWith('W/') && tag.slice(2) === opaque)) return true;
  }
  return false;
}
