import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { buildApp } from '../http/app.js';
import type { IndexStatus } from '../http/IndexStatus.js';
import { openSqliteStore } from '../store/sqliteStore.js';
import type { Store } from '../store/Store.js';
import { makeTestRepo } from '../testing/gitRepo.js';
import { registerGitHttp } from './registerGitHttp.js';
import type { PushContext, PushHandler, RefUpdate } from './types.js';

// End to end: the system git client over real HTTP against a listening app that serves a real
// bare repository through git http-backend, with a stub PushHandler.

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const STATUS: IndexStatus = { state: 'ready', commitsIndexed: 0, lagSeconds: 0, headErrors: 0 };
const REFUSAL = 'pushes to main need a change request: git push origin HEAD:refs/for/main';

/** Records every call; refuses pushes to main without `emergency=...`; fails on `refs/heads/boom`. */
class StubHandler implements PushHandler {
  checks: Array<{ updates: RefUpdate[]; ctx: PushContext; quarantined: string[]; outside: string[] }> = [];
  afters: Array<{ updates: RefUpdate[]; ctx: PushContext }> = [];
  constructor(private readonly repoDir: string) {}

  async checkPush(updates: RefUpdate[], ctx: PushContext): Promise<{ refuse?: string; messages: string[] }> {
    // The new commits are readable with the quarantine env, and not yet without it.
    const quarantined: string[] = [];
    const outside: string[] = [];
    for (const update of updates) {
      if (update.newSha === undefined) continue;
      quarantined.push((await run('git', ['cat-file', '-t', update.newSha], { cwd: this.repoDir, env: { ...cleanEnv(), ...ctx.quarantineEnv } })).stdout.trim());
      outside.push(String((await run('git', ['cat-file', '-t', update.newSha], { cwd: this.repoDir, env: cleanEnv() })).code));
    }
    this.checks.push({ updates, ctx, quarantined, outside });
    if (updates.some((u) => u.ref === 'refs/heads/boom')) throw new Error('database at /var/secret is gone');
    if (updates.some((u) => u.ref === 'refs/heads/main') && !ctx.pushOptions.some((o) => o.startsWith('emergency='))) {
      return { refuse: REFUSAL, messages: [`checked ${updates.length} update(s)`] };
    }
    return { messages: [`checked ${updates.length} update(s)`] };
  }

  async afterPush(updates: RefUpdate[], ctx: PushContext): Promise<{ messages: string[] }> {
    this.afters.push({ updates, ctx });
    return { messages: [`change request ${this.afters.length} opened: http://estate.example/changes/${this.afters.length}`] };
  }
}

/** Runs a command without blocking the event loop (the server answers in this process). */
function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // EPIPE when the command exits without reading its input (its exit code tells).
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('GIT_')) delete env[name];
  return env;
}

describe('git smart HTTP at /estate.git', () => {
  let root: string;
  let home: string;
  let repoDir: string;
  let mainSha: string;
  let store: Store;
  const tokens = { viewer: '', editor: '', admin: '' };
  let handler: StubHandler;
  let app: FastifyInstance;
  let base: string;
  let hooksDir: string;
  let denied: Array<{ name: string; method: string; url: string; required: string }> = [];

  /** The git client of a user: temp HOME, no system config, never prompting. */
  const git = (args: string[], cwd = root): Promise<Run> =>
    run('git', ['-c', 'commit.gpgSign=false', ...args], {
      cwd,
      env: {
        ...cleanEnv(),
        HOME: home,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        LC_ALL: 'C',
        GIT_AUTHOR_NAME: 'Ed',
        GIT_AUTHOR_EMAIL: 'ed@example.com',
        GIT_COMMITTER_NAME: 'Ed',
        GIT_COMMITTER_EMAIL: 'ed@example.com',
      },
    });
  const remote = (token: string | undefined, at = base): string => (token ? at.replace('http://', `http://user:${token}@`) : at) + '/estate.git';
  const bareRef = (ref: string): string => execFileSync('git', ['rev-parse', '--verify', '-q', ref], { cwd: repoDir, env: cleanEnv(), encoding: 'utf8' }).trim();
  let clones = 0;
  /** Clones with `token`, commits `files` on top, and returns the work tree and the new commit. */
  const cloneAndCommit = async (token: string, files: Record<string, string | Buffer>): Promise<{ dir: string; sha: string }> => {
    const dir = join(root, `clone-${++clones}`);
    const clone = await git(['clone', '-q', remote(token), dir]);
    expect(clone.code, clone.stderr).toBe(0);
    for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
    expect((await git(['add', '-A'], dir)).code).toBe(0);
    const commit = await git(['commit', '-q', '-m', 'change'], dir);
    expect(commit.code, commit.stderr).toBe(0);
    return { dir, sha: (await git(['rev-parse', 'HEAD'], dir)).stdout.trim() };
  };

  async function startApp(options: { openRead?: boolean; bodyLimit?: number } = {}): Promise<{ app: FastifyInstance; base: string }> {
    const server = await buildApp({ store, status: () => STATUS, ...(options.openRead ? { openRead: true } : {}), ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}) });
    registerGitHttp(server, {
      repoDir,
      hooksDir,
      tokens: store,
      openRead: options.openRead ?? false,
      handler,
      publicUrl: () => 'http://estate.example',
      onDenied: (token, request) => denied.push({ name: token.name, ...request }),
    });
    await server.listen({ port: 0, host: '127.0.0.1' });
    return { app: server, base: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}` };
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'estate-githttp-'));
    home = join(root, 'home');
    mkdirSync(home);
    const seed = makeTestRepo();
    repoDir = join(root, 'estate.git');
    execFileSync('git', ['clone', '-q', '--bare', seed.dir, repoDir], { env: cleanEnv() });
    seed.remove();
    mainSha = bareRef('refs/heads/main');
    hooksDir = join(root, 'data', 'git-hooks');
    store = await openSqliteStore(':memory:');
    tokens.viewer = (await issueToken(store, { name: 'vera', role: 'viewer' })).token;
    tokens.editor = (await issueToken(store, { name: 'ed', role: 'editor' })).token;
    tokens.admin = (await issueToken(store, { name: 'ada', role: 'admin' })).token;
    handler = new StubHandler(repoDir);
    ({ app, base } = await startApp());
  });

  afterAll(async () => {
    await app?.close();
    await store?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  beforeEach(() => {
    handler.checks = [];
    handler.afters = [];
    denied = [];
  });

  it('writes executable pre-receive and post-receive hooks at registration', () => {
    for (const phase of ['pre-receive', 'post-receive']) {
      expect(statSync(join(hooksDir, phase)).mode & 0o111).toBe(0o111);
    }
  });

  it('clones with the token as the HTTP Basic password', async () => {
    const dir = join(root, 'clone-basic');
    const clone = await git(['clone', '-q', remote(tokens.viewer), dir]);
    expect(clone.code, clone.stderr).toBe(0);
    expect((await git(['rev-parse', 'HEAD'], dir)).stdout.trim()).toBe(mainSha);
    expect(existsSync(join(dir, 'estate.yaml'))).toBe(true);
  });

  it('clones with a Bearer token sent as an extra header', async () => {
    const dir = join(root, 'clone-bearer');
    const clone = await git(['-c', `http.extraHeader=Authorization: Bearer ${tokens.viewer}`, 'clone', '-q', remote(undefined), dir]);
    expect(clone.code, clone.stderr).toBe(0);
    expect((await git(['rev-parse', 'HEAD'], dir)).stdout.trim()).toBe(mainSha);
  });

  it('refuses a clone without a token: 401 with a Basic challenge and the standard error body', async () => {
    const clone = await git(['clone', '-q', remote(undefined), join(root, 'clone-anonymous')]);
    expect(clone.code).not.toBe(0);
    expect(clone.stderr).toMatch(/Authentication failed|could not read Username/);

    const answer = await fetch(`${base}/estate.git/info/refs?service=git-upload-pack`);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe('Basic realm="estate", charset="UTF-8"');
    const body = (await answer.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('E_UNAUTHORIZED');
    expect(body.error.message).toContain('password of HTTP Basic auth');
  });

  it('refuses an invalid token with 401', async () => {
    const clone = await git(['clone', '-q', remote('est_' + 'x'.repeat(43)), join(root, 'clone-invalid')]);
    expect(clone.code).not.toBe(0);
    expect(clone.stderr).toContain('Authentication failed');
    const answer = await fetch(`${base}/estate.git/info/refs?service=git-upload-pack`, { headers: { authorization: `Basic ${Buffer.from('u:nope').toString('base64')}` } });
    expect(answer.status).toBe(401);
    expect(((await answer.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringContaining('malformed credentials') });
  });

  it('lets a viewer fetch but not push: 403 E_FORBIDDEN', async () => {
    const { dir } = await cloneAndCommit(tokens.viewer, { 'viewer.txt': 'no\n' });
    const push = await git(['push', 'origin', 'HEAD:refs/heads/cr/viewer'], dir);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain('403');
    expect(handler.checks).toEqual([]);
    expect(denied).toEqual([{ name: 'vera', method: 'GET', url: '/estate.git/info/refs', required: 'editor' }]);

    const answer = await fetch(`${base}/estate.git/info/refs?service=git-receive-pack`, { headers: { authorization: `Basic ${Buffer.from(`vera:${tokens.viewer}`).toString('base64')}` } });
    expect(answer.status).toBe(403);
    expect(((await answer.json()) as { error: unknown }).error).toEqual({
      code: 'E_FORBIDDEN',
      message: expect.stringMatching(/^pushing needs the role 'editor'; token 'tok_[a-z2-7]{8}' has 'viewer'$/),
      details: { required: 'editor', role: 'viewer' },
    });
  });

  it("hands an editor's push of a new branch to checkPush and afterPush, with the push options and the quarantined objects", async () => {
    const { dir, sha } = await cloneAndCommit(tokens.editor, { 'new.txt': 'hello\n' });
    const push = await git(['push', '-o', 'emergency=fire', '-o', 'note=two words', 'origin', 'HEAD:refs/heads/cr/new'], dir);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stderr).toContain('remote: checked 1 update(s)');
    expect(push.stderr).toContain('remote: change request 1 opened: http://estate.example/changes/1');
    expect(bareRef('refs/heads/cr/new')).toBe(sha);

    expect(handler.checks).toHaveLength(1);
    const check = handler.checks[0]!;
    expect(check.updates).toEqual([{ ref: 'refs/heads/cr/new', oldSha: undefined, newSha: sha }]);
    expect(check.ctx.pusher).toMatchObject({ name: 'ed', role: 'editor' });
    expect(check.ctx.pushOptions).toEqual(['emergency=fire', 'note=two words']);
    expect(Object.keys(check.ctx.quarantineEnv).sort()).toEqual(['GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_OBJECT_DIRECTORY', 'GIT_QUARANTINE_PATH']);
    expect(check.quarantined).toEqual(['commit']);
    // Outside the quarantine the pushed commit does not exist yet (cat-file exits 128).
    expect(check.outside).toEqual(['128']);

    expect(handler.afters).toHaveLength(1);
    expect(handler.afters[0]!.updates).toEqual([{ ref: 'refs/heads/cr/new', oldSha: undefined, newSha: sha }]);
    expect(handler.afters[0]!.ctx).toMatchObject({ pusher: { name: 'ed' }, pushOptions: ['emergency=fire', 'note=two words'], quarantineEnv: {} });

    // An update and a delete: old and new shas as git reports them.
    writeFileSync(join(dir, 'new.txt'), 'hello again\n');
    await git(['commit', '-q', '-am', 'again'], dir);
    const second = (await git(['rev-parse', 'HEAD'], dir)).stdout.trim();
    handler.checks = [];
    expect((await git(['push', '-q', 'origin', 'HEAD:refs/heads/cr/new'], dir)).code).toBe(0);
    expect(handler.checks[0]!.updates).toEqual([{ ref: 'refs/heads/cr/new', oldSha: sha, newSha: second }]);
    expect(handler.checks[0]!.ctx.pushOptions).toEqual([]);
    handler.checks = [];
    expect((await git(['push', '-q', 'origin', ':refs/heads/cr/new'], dir)).code).toBe(0);
    expect(handler.checks[0]!.updates).toEqual([{ ref: 'refs/heads/cr/new', oldSha: second, newSha: undefined }]);
  });

  it("refuses a push when checkPush says so: git shows the handler's message and the ref does not move", async () => {
    const { dir } = await cloneAndCommit(tokens.editor, { 'main.txt': 'straight to main\n' });
    const push = await git(['push', 'origin', 'HEAD:main'], dir);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain(`remote: ${REFUSAL}`);
    expect(push.stderr).toContain('remote: checked 1 update(s)');
    expect(push.stderr).toContain('pre-receive hook declined');
    expect(bareRef('refs/heads/main')).toBe(mainSha);
    expect(handler.checks).toHaveLength(1);
    expect(handler.afters).toEqual([]);
  });

  it('lets the handler accept a push to main with -o emergency=<reason>', async () => {
    const { dir, sha } = await cloneAndCommit(tokens.admin, { 'emergency.txt': 'now\n' });
    const push = await git(['push', '-o', 'emergency=disk full', 'origin', 'HEAD:main'], dir);
    expect(push.code, push.stderr).toBe(0);
    expect(bareRef('refs/heads/main')).toBe(sha);
    expect(handler.afters[0]!.updates).toEqual([{ ref: 'refs/heads/main', oldSha: mainSha, newSha: sha }]);
    expect(handler.afters[0]!.ctx.pusher.name).toBe('ada');
    mainSha = sha;
  });

  it('refuses the push when checkPush throws (fail closed), without leaking the cause', async () => {
    const { dir } = await cloneAndCommit(tokens.editor, { 'boom.txt': 'x\n' });
    const push = await git(['push', 'origin', 'HEAD:refs/heads/boom'], dir);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain('remote: estate: the push was refused: internal error: the server log has the details (E_INTERNAL)');
    expect(push.stderr).not.toContain('/var/secret');
    expect(() => bareRef('refs/heads/boom')).toThrow();
  });

  it('takes a push larger than the 1 MiB body limit (streamed, chunked)', async () => {
    const big = randomBytes(3 * 1024 * 1024);
    const { dir, sha } = await cloneAndCommit(tokens.editor, { 'big.bin': big });
    const push = await git(['push', 'origin', 'HEAD:refs/heads/cr/big'], dir);
    expect(push.code, push.stderr).toBe(0);
    expect(bareRef('refs/heads/cr/big')).toBe(sha);
    const size = execFileSync('git', ['cat-file', '-s', `${sha}:big.bin`], { cwd: repoDir, env: cleanEnv(), encoding: 'utf8' }).trim();
    expect(Number(size)).toBe(big.length);
  });

  it('takes a push larger than the body limit that announces its Content-Length (routes with config.rawBody skip the check)', async () => {
    // git announces the length of a body that fits its http.postBuffer (default 1 MiB: larger
    // ones go chunked, as in the test above).
    const { dir, sha } = await cloneAndCommit(tokens.editor, { 'big.bin': randomBytes(3 * 1024 * 1024) });
    const push = await git(['-c', 'http.postBuffer=16777216', 'push', 'origin', 'HEAD:refs/heads/cr/announced'], dir);
    expect(push.code, push.stderr).toBe(0);
    expect(bareRef('refs/heads/cr/announced')).toBe(sha);
  });

  it('answers unknown paths, HEAD and the dumb protocol under /estate.git with 404 and the standard error body', async () => {
    for (const [method, path] of [
      ['GET', '/estate.git/HEAD'],
      ['GET', '/estate.git/objects/info/packs'],
      ['GET', '/estate.git/info/refs'],
      ['HEAD', '/estate.git/info/refs?service=git-upload-pack'],
    ] as const) {
      const answer = await fetch(base + path, { method, headers: { authorization: `Bearer ${tokens.admin}` } });
      expect(answer.status, `${method} ${path}`).toBe(404);
      if (method !== 'HEAD') expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('E_NOT_FOUND');
    }
    const dumb = await fetch(`${base}/estate.git/info/refs`, { headers: { authorization: `Bearer ${tokens.admin}` } });
    expect(((await dumb.json()) as { error: { message: string } }).error.message).toContain('the dumb HTTP protocol is not served');
  });

  it('refuses a POST of another content type with 415', async () => {
    const answer = await fetch(`${base}/estate.git/git-upload-pack`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(answer.status).toBe(415);
    expect(((await answer.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'E_UNSUPPORTED_MEDIA_TYPE',
      message: "a POST to /estate.git/git-upload-pack needs Content-Type application/x-git-upload-pack-request, not 'application/json'",
    });
  });

  it('keeps its routes out of the OpenAPI document', async () => {
    const document = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths).length).toBeGreaterThan(0);
    expect(Object.keys(document.paths).filter((path) => path.startsWith('/estate.git'))).toEqual([]);
  });

  it('refuses hook calls without the secret (403)', async () => {
    const answer = await fetch(`${base}/estate.git/_hook/pre-receive`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-estate-hook-secret': 'guess' },
      body: JSON.stringify({ pushId: 'x', updates: [], pushOptions: [], quarantineEnv: {} }),
    });
    expect(answer.status).toBe(403);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('E_FORBIDDEN');
  });

  it('answers 500 E_INTERNAL when git http-backend fails before answering, with the cause in the log only', async () => {
    const lines: string[] = [];
    const broken = await buildApp({ store, status: () => STATUS, logger: { level: 'error', stream: { write: (line: string) => lines.push(line) } } });
    registerGitHttp(broken, { repoDir: join(root, 'no-such-repo'), hooksDir: join(root, 'broken-hooks'), tokens: store, openRead: false, handler, publicUrl: () => 'http://estate.example' });
    await broken.listen({ port: 0, host: '127.0.0.1' });
    try {
      const answer = await fetch(`http://127.0.0.1:${(broken.server.address() as AddressInfo).port}/estate.git/info/refs?service=git-upload-pack`, {
        headers: { authorization: `Bearer ${tokens.viewer}` },
      });
      expect(answer.status).toBe(500);
      const text = await answer.text();
      expect(JSON.parse(text)).toEqual({ error: { code: 'E_INTERNAL', message: 'internal error: the server log has the details', details: {} } });
      expect(text).not.toContain('no-such-repo');
      expect(lines.join('')).toContain('git -c');
      expect(lines.join('')).toContain('could not start');
      expect(lines.join('')).not.toContain(tokens.viewer);
    } finally {
      await broken.close();
    }
  });

  describe('the hook fails closed', () => {
    const update = `${'0'.repeat(40)} ${'a'.repeat(40)} refs/heads/cr/x\n`;
    const runHook = (env: Record<string, string>): Promise<Run> =>
      run(join(hooksDir, 'pre-receive'), [], { cwd: repoDir, env: { PATH: process.env.PATH ?? '', ...env }, input: update });

    it('when the secret is wrong', async () => {
      const hook = await runHook({ ESTATE_HOOK_URL: base, ESTATE_HOOK_SECRET: 'wrong', ESTATE_PUSH_ID: 'p1' });
      expect(hook.code).toBe(1);
      expect(hook.stderr).toBe('estate: the push was refused: this route is for the git hooks of this server only (E_FORBIDDEN)\n');
    });

    it('when the server cannot be reached', async () => {
      const port = await closedPort();
      const hook = await runHook({ ESTATE_HOOK_URL: `http://127.0.0.1:${port}`, ESTATE_HOOK_SECRET: 'whatever', ESTATE_PUSH_ID: 'p1' });
      expect(hook.code).toBe(1);
      expect(hook.stderr).toBe('estate: the push was refused: the Estate server could not be reached (ECONNREFUSED)\n');
    });

    it('when it runs outside the server (no hook variables)', async () => {
      const hook = await runHook({});
      expect(hook.code).toBe(1);
      expect(hook.stderr).toBe('estate: the push was refused: this repository takes pushes only through the Estate server (git push to <server>/estate.git)\n');
    });
  });

  describe('with openRead', () => {
    let open: { app: FastifyInstance; base: string };
    beforeAll(async () => {
      open = await startApp({ openRead: true });
    });
    afterAll(async () => {
      await open?.app.close();
    });

    it('clones without a token, but a push still needs one', async () => {
      const dir = join(root, 'clone-open');
      const clone = await git(['clone', '-q', remote(undefined, open.base), dir]);
      expect(clone.code, clone.stderr).toBe(0);
      expect((await git(['rev-parse', 'HEAD'], dir)).stdout.trim()).toBe(mainSha);
      const answer = await fetch(`${open.base}/estate.git/info/refs?service=git-receive-pack`);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toContain('Basic');
    });

    it('still refuses a token that is sent and invalid', async () => {
      const answer = await fetch(`${open.base}/estate.git/info/refs?service=git-upload-pack`, { headers: { authorization: `Bearer est_${'y'.repeat(43)}` } });
      expect(answer.status).toBe(401);
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('E_UNAUTHORIZED');
    });
  });
});

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
