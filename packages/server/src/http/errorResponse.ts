import { hasErrorCode } from '@estate/core';

/** The standard error body of every HTTP answer that is not a success (PRODUCT.md "Conventions"). */
export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

/** An error answer: status, body, and headers it needs (`WWW-Authenticate`, `Retry-After`). */
export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** True for 5xx: the cause should be logged (it is never sent). */
  internal: boolean;
}

/** Codes whose status does not follow from the error's class. Listed in docs/errors.md. */
const STATUS_BY_CODE: Record<string, number> = {
  E_BAD_PARAM: 400,
  E_BAD_REQUEST: 400,
  E_SELECTOR: 400,
  E_AMBIGUOUS: 400,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  E_NOT_FOUND: 404,
  E_ASSET_NOT_FOUND: 404,
  E_COMMIT_NOT_FOUND: 404,
  E_KIND_NOT_FOUND: 404,
  E_TOKEN_NOT_FOUND: 404,
  E_TOO_LARGE: 413,
  E_UNSUPPORTED_MEDIA_TYPE: 415,
  E_BACKLOG_FULL: 429,
  E_NOT_READY: 503,
};

/** Statuses of the error classes of `@estate/core`, matched by `name` (never `instanceof` across packages). */
const STATUS_BY_CLASS: Record<string, number> = {
  InputError: 400,
  NotAllowedError: 403,
  NotFoundError: 404,
  ConflictError: 409,
  ValidationError: 422,
};

/** Codes for the client errors Fastify raises itself (body parsing, content type), by status. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'E_BAD_REQUEST',
  404: 'E_NOT_FOUND',
  413: 'E_TOO_LARGE',
  415: 'E_UNSUPPORTED_MEDIA_TYPE',
};

interface AjvError {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * Maps anything thrown while answering to the standard error body. Estate errors keep their code,
 * message and data; Fastify's schema validation becomes `E_BAD_PARAM` naming the parameter; its
 * body-parsing errors keep their 4xx status. Anything else is a bug: `500 E_INTERNAL` with a generic
 * message (the caller never sees the real one, nor a stack trace).
 */
export function toErrorResponse(error: unknown): ErrorResponse {
  const validation = (error as { validation?: AjvError[] } | undefined)?.validation;
  if (Array.isArray(validation)) {
    return respond(400, 'E_BAD_PARAM', ...describeValidation(validation, (error as { validationContext?: string }).validationContext));
  }
  if (hasErrorCode(error)) {
    const name = (error as { name?: unknown }).name;
    const data = (error as { data?: unknown }).data;
    const status = STATUS_BY_CODE[error.code] ?? (typeof name === 'string' ? STATUS_BY_CLASS[name] : undefined);
    if (status !== undefined && error.code.startsWith('E_')) {
      const details = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
      return respond(status, error.code, error.message, details);
    }
    // Fastify's own errors (FST_ERR_CTP_*: body too large, bad content type, bad JSON) carry a 4xx status.
    const fastifyStatus = (error as { statusCode?: unknown }).statusCode;
    if (error.code.startsWith('FST_') && typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      const code = CODE_BY_STATUS[fastifyStatus] ?? 'E_BAD_REQUEST';
      return respond(fastifyStatus, code, fastifyMessage(code, error.message), {});
    }
  }
  // A body that is not JSON: Fastify passes the parser's SyntaxError with statusCode 400.
  if (error instanceof SyntaxError && (error as { statusCode?: unknown }).statusCode === 400) {
    return respond(400, 'E_BAD_REQUEST', 'the request body is not valid JSON', {});
  }
  return { ...respond(500, 'E_INTERNAL', 'internal error: the server log has the details', {}), internal: true };
}

function respond(status: number, code: string, message: string, details: Record<string, unknown>): ErrorResponse {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  // RFC 6750 §3: a 401 names the scheme, and `invalid_token` when a token was sent.
  if (status === 401) headers['www-authenticate'] = details.reason === 'missing' ? 'Bearer realm="estate"' : 'Bearer realm="estate", error="invalid_token"';
  if (status === 503) headers['retry-after'] = '5';
  // RFC 9110 §10.2.3: how long to wait before retrying (RFC 6585 §4 allows it on a 429).
  if (status === 429) headers['retry-after'] = String(typeof details.retryAfterSeconds === 'number' ? details.retryAfterSeconds : 5);
  return { status, body: { error: { code, message, details } }, headers, internal: false };
}

function fastifyMessage(code: string, original: string): string {
  if (code === 'E_TOO_LARGE') return 'the request body is too large';
  if (code === 'E_UNSUPPORTED_MEDIA_TYPE') return 'unsupported Content-Type';
  return original;
}

/** One message naming the first offending parameter, e.g. `unknown parameter 'foo'`, `parameter 'limit' must be <= 1000`. */
function describeValidation(errors: AjvError[], context: string | undefined): [string, Record<string, unknown>] {
  const first = errors[0] ?? {};
  const where = context === 'params' ? 'path' : 'query';
  const pointed = (first.instancePath ?? '').replace(/^\//, '').split('/')[0] ?? '';
  if (first.keyword === 'additionalProperties') {
    const parameter = String(first.params?.additionalProperty ?? '');
    return [`unknown parameter '${parameter}'`, { parameter, in: where, reason: 'unknown' }];
  }
  if (first.keyword === 'required') {
    const parameter = String(first.params?.missingProperty ?? '');
    return [`missing parameter '${parameter}'`, { parameter, in: where, reason: 'missing' }];
  }
  const reason = first.message ?? 'is invalid';
  const allowed = first.keyword === 'enum' && Array.isArray(first.params?.allowedValues) ? (first.params.allowedValues as unknown[]) : undefined;
  if (allowed) return [`parameter '${pointed}' must be one of ${allowed.join(', ')}`, { parameter: pointed, in: where, reason, allowed }];
  return [`parameter '${pointed}' ${reason}`, { parameter: pointed, in: where, reason }];
}
