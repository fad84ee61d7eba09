import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { EstateError, hasErrorCode, InputError, NotAllowedError, NotFoundError } from '@estate/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, roleAtLeast, TokenCache } from '../auth/tokens.js';
import { toErrorResponse } from '../http/errorResponse.js';
import type { Role, TokenRecord } from '../store/Store.js';
import { HOOK_ENV, HOOK_PHASES, HOOK_ROUTE, HOOK_SECRET_HEADER, writePushHooks, type HookAnswer, type HookPhase } from './pushHooks.js';
import { runCgi } from './runCgi.js';
import type { GitHttpOptions, PushContext, RefUpdate } from './types.js';

/** The two git services of the smart HTTP protocol (gitprotocol-http(5)). */
type GitService = 'git-upload-pack' | 'git-receive-pack';

/** Largest hook call accepted: a push of many thousand refs stays well below. */
const MAX_HOOK_BODY_BYTES = 32 * 1024 * 1024;
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const QUARANTINE_VARS = new Set(['GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_QUARANTINE_PATH']);
/**
 * Variables never inherited by `git http-backend`: the CGI meta-variables (RFC 3875 §4.1, and
 * every `HTTP_*` one: a stray `HTTP_CONTENT_ENCODING` would make git inflate a plain body) and
 * every `GIT_*` one (a `GIT_DIR` of the server's own environment would point git elsewhere).
 */
const CGI_VARS = /^(?:HTTP_.*|GIT_.*|ESTATE_HOOK_.*|ESTATE_PUSH_ID|CONTENT_LENGTH|CONTENT_TYPE|QUERY_STRING|PATH_INFO|PATH_TRANSLATED|REMOTE_USER|REMOTE_ADDR|REMOTE_HOST|REQUEST_METHOD|AUTH_TYPE|SCRIPT_NAME|SERVER_.*|GATEWAY_INTERFACE)$/;

/** Every route of this module: public for the app (auth is done here), raw bodies, not in the API document. */
const ROUTE_CONFIG = { access: 'public', rawBody: true, openapi: false } as const;

/**
 * Serves the estate repository over git's smart HTTP protocol at `/estate.git`
 * (`git clone http://<any>:<token>@host:port/estate.git`) by running the real `git http-backend`
 * as a CGI script (git-http-backend(1)), streaming bodies both ways.
 *
 * Auth: HTTP Basic with the token as password (any user name), or `Bearer`. Fetch needs the
 * role viewer (none with `openRead`), push needs editor; a missing or bad token is `401` with a
 * Basic challenge, so git asks for credentials.
 *
 * Pushes are decided by `options.handler`: git runs the `pre-receive` and `post-receive` scripts
 * written into `options.hooksDir`, which POST the push to `/estate.git/_hook/<phase>` on this
 * server with a per-process secret and the id of the push, which names the pusher.
 *
 * Registers a plugin: the routes exist once the app is ready. The routes carry `config.rawBody`
 * (the app's Content-Length limit must skip them) and `config.openapi: false`.
 */
export function registerGitHttp(app: FastifyInstance, options: GitHttpOptions): void {
  const repoDir = resolve(options.repoDir);
  const hooksDir = resolve(options.hooksDir);
  writePushHooks(hooksDir);
  const secret = randomBytes(32).toString('base64url');
  const secretHash = createHash('sha256').update(secret).digest();
  const tokens = new TokenCache(options.tokens);
  /** Pushes whose receive-pack runs now: push id → the token that pushes. */
  const pushes = new Map<string, TokenRecord>();

  void app.register(async (scope) => {
    // git's bodies (packs, possibly gzip) are streamed to http-backend, not parsed nor limited by
    // Fastify: every content type reaches the handler as the request stream.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    scope.setErrorHandler((error, request, reply) => {
      const response = toErrorResponse(error);
      if (response.internal) request.log.error({ err: error }, 'internal error answering %s %s', request.method, request.routeOptions.url ?? '');
      // git's HTTP client (libcurl) answers a Basic challenge, not a Bearer one.
      if (response.status === 401) response.headers['www-authenticate'] = 'Basic realm="estate", charset="UTF-8"';
      void reply.code(response.status).headers(response.headers).send(response.body);
    });

    const serve = async (request: FastifyRequest, reply: FastifyReply, service: GitService, advertise: boolean): Promise<void> => {
      const pushing = service === 'git-receive-pack';
      const token = await authorize(request, pushing ? 'editor' : 'viewer', !pushing && options.openRead);
      if (!advertise) {
        const type = (request.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
        if (type !== `application/x-git-${service.slice(4)}-request`) {
          throw new EstateError('E_UNSUPPORTED_MEDIA_TYPE', `a POST to /estate.git/${service} needs Content-Type application/x-git-${service.slice(4)}-request, not '${type}'`, {
            contentType: type,
          });
        }
      }
      const pushId = pushing && !advertise ? randomUUID() : undefined;
      const env = backendEnv(request, repoDir, {
        PATH_INFO: advertise ? '/info/refs' : `/${service}`,
        QUERY_STRING: advertise ? `service=${service}` : '',
        ...(token ? { REMOTE_USER: cgiSafe(token.name) } : {}),
      });
      if (pushId !== undefined && token !== undefined) {
        pushes.set(pushId, token);
        Object.assign(env, { ...hookTarget(app, options), [HOOK_ENV.secret]: secret, [HOOK_ENV.pushId]: pushId });
      }
      try {
        const args = [
          '-c', `core.hooksPath=${hooksDir}`,
          '-c', 'receive.advertisePushOptions=true',
          '-c', `http.receivepack=${pushing}`,
          '-c', 'http.getanyfile=false',
          'http-backend',
        ];
        const body = advertise ? undefined : (request.body as Readable | undefined) ?? request.raw;
        const response = await runCgi({ command: 'git', args, env, cwd: repoDir, ...(body ? { input: body } : {}) });
        void response.exited.then((exit) => {
          if (pushId !== undefined) pushes.delete(pushId);
          // Mostly a client that went away mid-answer (git then dies of a broken pipe).
          if (exit.code !== 0) request.log.warn({ exitCode: exit.code, signal: exit.signal, stderr: exit.stderr }, 'git http-backend failed after answering %s %s', request.method, request.url);
        });
        if (response.status >= 400) {
          // http-backend's own refusals are short texts; they become the standard error body.
          const text = (await readLimited(response.body, 4096)).trim();
          throw backendError(response.status, text);
        }
        return reply.code(response.status).headers(response.headers).send(response.body);
      } catch (error) {
        if (pushId !== undefined) pushes.delete(pushId);
        throw error;
      }
    };

    scope.get('/estate.git/info/refs', { config: ROUTE_CONFIG, exposeHeadRoute: false }, async (request, reply) => {
      const service = (request.query as Record<string, unknown>).service;
      if (service !== 'git-upload-pack' && service !== 'git-receive-pack') {
        // The dumb protocol (no service) reads files straight from the repository: not served.
        throw new NotFoundError('E_NOT_FOUND', `no service '${String(service ?? '')}' at /estate.git/info/refs: use ?service=git-upload-pack or git-receive-pack (the dumb HTTP protocol is not served)`, {
          service: typeof service === 'string' ? service : undefined,
        });
      }
      return serve(request, reply, service, true);
    });
    scope.post('/estate.git/git-upload-pack', { config: ROUTE_CONFIG }, (request, reply) => serve(request, reply, 'git-upload-pack', false));
    scope.post('/estate.git/git-receive-pack', { config: ROUTE_CONFIG }, (request, reply) => serve(request, reply, 'git-receive-pack', false));

    scope.post(`${HOOK_ROUTE}/:phase`, { config: ROUTE_CONFIG }, async (request, reply) => {
      const given = request.headers[HOOK_SECRET_HEADER];
      if (typeof given !== 'string' || !timingSafeEqual(createHash('sha256').update(given).digest(), secretHash)) {
        throw new NotAllowedError('E_FORBIDDEN', 'this route is for the git hooks of this server only', {});
      }
      const phase = (request.params as { phase: string }).phase as HookPhase;
      if (!HOOK_PHASES.includes(phase)) throw new NotFoundError('E_NOT_FOUND', `no hook phase '${phase}': expected ${HOOK_PHASES.join(' or ')}`, { phase });
      const call = parseHookCall(await readLimited((request.body as Readable | undefined) ?? request.raw, MAX_HOOK_BODY_BYTES, true));
      const pusher = pushes.get(call.pushId);
      if (pusher === undefined) throw new NotFoundError('E_NOT_FOUND', `no push '${call.pushId}' is in progress`, { pushId: call.pushId });
      const ctx: PushContext = { pusher, pushOptions: call.pushOptions, quarantineEnv: phase === 'pre-receive' ? call.quarantineEnv : {} };
      let answer: HookAnswer;
      if (phase === 'pre-receive') {
        const decision = await options.handler.checkPush(call.updates, ctx);
        answer = { messages: decision.messages, ...(decision.refuse !== undefined ? { refuse: decision.refuse } : {}) };
      } else {
        answer = { messages: (await options.handler.afterPush(call.updates, ctx)).messages };
      }
      void reply.header('cache-control', 'no-store');
      return answer;
    });
  });

  /**
   * The token of a git request. Git sends `Basic base64(user:password)` with the token as the
   * password (the user name is not used); `Bearer <token>` works too (`http.extraHeader`).
   */
  async function authorize(request: FastifyRequest, needed: Role, anonymous: boolean): Promise<TokenRecord | undefined> {
    const header = request.headers.authorization;
    if (header === undefined && anonymous) return undefined;
    let bearer = header;
    const basic = header === undefined ? undefined : /^Basic +([A-Za-z0-9+/=]*) *$/i.exec(header);
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const password = colon < 0 ? '' : decoded.slice(colon + 1);
      if (password === '') {
        throw new NotAllowedError('E_UNAUTHORIZED', 'missing token: send it as the password of HTTP Basic auth (http://<any name>:<token>@host/estate.git)', { reason: 'missing' });
      }
      bearer = `Bearer ${password}`;
    }
    let token: TokenRecord;
    try {
      token = await authenticate(tokens, bearer);
    } catch (error) {
      if (hasErrorCode(error, 'E_UNAUTHORIZED') && (error as { data?: { reason?: string } }).data?.reason === 'missing') {
        throw new NotAllowedError('E_UNAUTHORIZED', 'missing token: git sends it as the password of HTTP Basic auth (http://<any name>:<token>@host/estate.git)', { reason: 'missing' });
      }
      if (hasErrorCode(error, 'E_UNAUTHORIZED') && (error as { data?: { reason?: string } }).data?.reason === 'malformed') {
        throw new NotAllowedError('E_UNAUTHORIZED', 'malformed credentials: expected HTTP Basic auth with a token est_<43 characters> as the password, or Bearer <token>', { reason: 'malformed' });
      }
      throw error;
    }
    if ((token.scopes['apps']?.length ?? 0) > 0) {
      throw new NotAllowedError('E_FORBIDDEN', `token '${token.id}' is scoped to the config of ${token.scopes['apps']!.join(', ')}: it cannot fetch the estate repo`, { apps: token.scopes['apps'] });
    }
    if (!roleAtLeast(token.role, needed)) {
      options.onDenied?.(token, { method: request.method, url: request.routeOptions.url ?? request.url, required: needed });
      const what = needed === 'editor' ? 'pushing' : 'fetching';
      throw new NotAllowedError('E_FORBIDDEN', `${what} needs the role '${needed}'; token '${token.id}' has '${token.role}'`, { required: needed, role: token.role });
    }
    return token;
  }
}

/**
 * The CGI environment of `git http-backend` (git-http-backend(1), RFC 3875 §4.1): the server's
 * environment without CGI and git variables, plus the request's meta-variables.
 */
function backendEnv(request: FastifyRequest, repoDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!CGI_VARS.test(name)) env[name] = value;
  const header = (name: string): string | undefined => {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const length = header('content-length');
  const encoding = header('content-encoding');
  const protocol = header('git-protocol');
  return {
    ...env,
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    // The repository itself is the project root: PATH_INFO is `/info/refs` or `/<service>`.
    GIT_PROJECT_ROOT: repoDir,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_METHOD: request.method,
    REMOTE_ADDR: request.ip,
    CONTENT_TYPE: header('content-type') ?? '',
    ...(length !== undefined && /^\d+$/.test(length) ? { CONTENT_LENGTH: length } : {}),
    // git inflates gzip bodies itself (`Content-Encoding: gzip`, as git sends large fetch requests).
    ...(encoding !== undefined ? { HTTP_CONTENT_ENCODING: encoding } : {}),
    // gitprotocol-v2(5): http-backend hands HTTP_GIT_PROTOCOL on as GIT_PROTOCOL. Only the
    // documented `key=value:key=value` form passes.
    ...(protocol !== undefined && /^[A-Za-z0-9._=:-]{1,256}$/.test(protocol) ? { HTTP_GIT_PROTOCOL: protocol } : {}),
    ...extra,
  };
}

/** Where the hooks reach this server: its own listening address (a wildcard one as loopback), else the public URL. */
function hookTarget(app: FastifyInstance, options: GitHttpOptions): Record<string, string> {
  const address = app.server.address();
  if (typeof address === 'string') return { [HOOK_ENV.url]: 'http://localhost', [HOOK_ENV.socket]: address };
  if (address) {
    const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
    return { [HOOK_ENV.url]: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}` };
  }
  return { [HOOK_ENV.url]: options.publicUrl() };
}

/** A token name as a CGI variable (git makes the reflog's committer of it): no control characters. */
function cgiSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f<>]/g, ' ');
}

/** An error answer of http-backend itself (a disabled service, a missing repository) as an Estate error. */
function backendError(status: number, text: string): EstateError {
  const message = `git http-backend answered ${status}${text ? `: ${text.split('\n', 1)[0]!.slice(0, 200)}` : ''}`;
  if (status === 403) return new NotAllowedError('E_FORBIDDEN', message, { status });
  if (status === 404) return new NotFoundError('E_NOT_FOUND', message, { status });
  if (status === 415) return new EstateError('E_UNSUPPORTED_MEDIA_TYPE', message, { status });
  if (status < 500) return new InputError('E_BAD_REQUEST', message, { status });
  // A 5xx is the server's problem: logged by the error handler, never sent.
  return new EstateError('E_CGI', message, { status });
}

/**
 * Reads a stream into a string of at most `limit` bytes. With `strict`, a longer stream is
 * refused (`E_TOO_LARGE`); without, the rest is read and dropped.
 */
async function readLimited(stream: Readable, limit: number, strict = false): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit && strict) throw new EstateError('E_TOO_LARGE', `the request body is larger than the limit of ${limit} bytes`, { limit });
    if (size - buffer.length < limit) chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, strict ? undefined : limit);
}

/** Validates a hook's JSON (see `HookCall`); anything else is `E_BAD_REQUEST`. */
function parseHookCall(text: string): { pushId: string; updates: RefUpdate[]; pushOptions: string[]; quarantineEnv: Record<string, string> } {
  const bad = (why: string): InputError => new InputError('E_BAD_REQUEST', `malformed hook call: ${why}`, {});
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad('the body is not JSON');
  }
  const call = value as { pushId?: unknown; updates?: unknown; pushOptions?: unknown; quarantineEnv?: unknown } | null;
  if (typeof call !== 'object' || call === null) throw bad('expected an object');
  if (typeof call.pushId !== 'string' || call.pushId === '') throw bad('pushId must be a string');
  if (!Array.isArray(call.updates)) throw bad('updates must be an array');
  const updates = call.updates.map((item: unknown): RefUpdate => {
    const update = item as { ref?: unknown; oldSha?: unknown; newSha?: unknown } | null;
    if (typeof update !== 'object' || update === null || typeof update.ref !== 'string' || update.ref === '') throw bad('every update needs a ref');
    for (const sha of [update.oldSha, update.newSha]) {
      if (sha !== undefined && (typeof sha !== 'string' || !SHA.test(sha))) throw bad(`update of '${update.ref}' has an invalid sha`);
    }
    return { ref: update.ref, oldSha: update.oldSha as string | undefined, newSha: update.newSha as string | undefined };
  });
  if (!Array.isArray(call.pushOptions) || !call.pushOptions.every((option) => typeof option === 'string')) throw bad('pushOptions must be an array of strings');
  const quarantineEnv: Record<string, string> = {};
  if (call.quarantineEnv !== undefined) {
    if (typeof call.quarantineEnv !== 'object' || call.quarantineEnv === null) throw bad('quarantineEnv must be an object');
    for (const [name, variable] of Object.entries(call.quarantineEnv)) {
      if (!QUARANTINE_VARS.has(name) || typeof variable !== 'string') throw bad(`quarantineEnv may hold only ${[...QUARANTINE_VARS].join(', ')} as strings`);
      quarantineEnv[name] = variable;
    }
  }
  return { pushId: call.pushId, updates, pushOptions: call.pushOptions as string[], quarantineEnv };
}
