import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookScript, writePushHooks, type HookAnswer } from './pushHooks.js';

const ZERO = '0'.repeat(40);
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('push hooks', () => {
  let dir: string;
  let server: Server;
  let url: string;
  const received: Array<{ path: string; secret: string | undefined; body: unknown }> = [];
  let answer: { status: number; body: HookAnswer | Record<string, unknown> | string } = { status: 200, body: { messages: [] } };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'estate-hooks-'));
    server = createServer((request: IncomingMessage, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      request.on('end', () => {
        received.push({ path: request.url ?? '', secret: request.headers['x-estate-hook-secret'] as string | undefined, body: JSON.parse(text) });
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    writePushHooks(dir);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const runHook = (phase: string, input: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(join(dir, phase), [], { env: { PATH: process.env.PATH ?? '', ESTATE_HOOK_URL: url, ESTATE_HOOK_SECRET: 's3cret', ESTATE_PUSH_ID: 'push-1', ...env } });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
      child.stdin.end(input);
    });

  it('writes both hooks as executable node scripts, replacing what was there', () => {
    writeFileSync(join(dir, 'pre-receive'), 'old', { mode: 0o644 });
    writePushHooks(dir);
    for (const phase of ['pre-receive', 'post-receive']) {
      const file = join(dir, phase);
      expect(statSync(file).mode & 0o777).toBe(0o755);
      expect(readFileSync(file, 'utf8').split('\n', 1)[0]).toBe(`#!${process.execPath}`);
    }
  });

  it('refuses a node path with a blank (a #! line cannot hold it)', () => {
    expect(() => hookScript('pre-receive', '/opt/my node/bin/node')).toThrow(
      expect.objectContaining({ code: 'E_HOOK_INSTALL', message: "the node binary '/opt/my node/bin/node' has a blank in its path: git hooks cannot start it from a #! line" }),
    );
  });

  it('sends the updates, push options and quarantine variables, prints the messages and accepts', async () => {
    received.length = 0;
    answer = { status: 200, body: { messages: ['checked 2 updates', 'second line\nthird line'] } };
    const hook = await runHook('pre-receive', `${ZERO} ${A} refs/heads/cr/new\n${A} ${B} refs/for/main\n${B} ${ZERO} refs/heads/old\n`, {
      GIT_PUSH_OPTION_COUNT: '2',
      GIT_PUSH_OPTION_0: 'emergency=disk full',
      GIT_PUSH_OPTION_1: 'x=1',
      GIT_OBJECT_DIRECTORY: '/repo/objects/tmp_objdir-incoming-1',
      GIT_ALTERNATE_OBJECT_DIRECTORIES: '/repo/objects',
      GIT_QUARANTINE_PATH: '/repo/objects/tmp_objdir-incoming-1',
    });
    expect(hook).toEqual({ code: 0, stderr: 'checked 2 updates\nsecond line\nthird line\n' });
    expect(received).toEqual([
      {
        path: '/estate.git/_hook/pre-receive',
        secret: 's3cret',
        body: {
          pushId: 'push-1',
          updates: [
            { ref: 'refs/heads/cr/new', newSha: A },
            { ref: 'refs/for/main', oldSha: A, newSha: B },
            { ref: 'refs/heads/old', oldSha: B },
          ],
          pushOptions: ['emergency=disk full', 'x=1'],
          quarantineEnv: {
            GIT_OBJECT_DIRECTORY: '/repo/objects/tmp_objdir-incoming-1',
            GIT_ALTERNATE_OBJECT_DIRECTORIES: '/repo/objects',
            GIT_QUARANTINE_PATH: '/repo/objects/tmp_objdir-incoming-1',
          },
        },
      },
    ]);
  });

  it('exits 1 with the refusal after the messages', async () => {
    answer = { status: 200, body: { messages: ['checked'], refuse: 'pushes to main need a change request' } };
    expect(await runHook('pre-receive', `${A} ${B} refs/heads/main\n`, {})).toEqual({ code: 1, stderr: 'checked\npushes to main need a change request\n' });
  });

  it('refuses when the server answers with an error or with something that is not JSON', async () => {
    answer = { status: 500, body: { error: { code: 'E_INTERNAL', message: 'internal error: the server log has the details', details: {} } } };
    expect(await runHook('pre-receive', `${A} ${B} refs/heads/main\n`, {})).toEqual({
      code: 1,
      stderr: 'estate: the push was refused: internal error: the server log has the details (E_INTERNAL)\n',
    });
    answer = { status: 502, body: {} };
    expect((await runHook('pre-receive', `${A} ${B} refs/heads/main\n`, {})).stderr).toBe('estate: the push was refused: no message (HTTP 502)\n');
    answer = { status: 200, body: '<html>a proxy page</html>' };
    expect(await runHook('pre-receive', `${A} ${B} refs/heads/main\n`, {})).toEqual({
      code: 1,
      stderr: 'estate: the push was refused: the Estate server answered 200 with something that is not JSON\n',
    });
  });

  it('post-receive sends no quarantine variables and says the refs moved when the server fails', async () => {
    received.length = 0;
    answer = { status: 500, body: { error: { code: 'E_INTERNAL', message: 'boom', details: {} } } };
    const hook = await runHook('post-receive', `${A} ${B} refs/heads/cr/1\n`, { GIT_QUARANTINE_PATH: '/somewhere' });
    expect(hook.stderr).toBe('estate: the refs were updated, but the Estate server did not record the push: boom (E_INTERNAL)\n');
    expect(received[0]).toMatchObject({ path: '/estate.git/_hook/post-receive', body: { quarantineEnv: {}, pushOptions: [] } });
  });
});
