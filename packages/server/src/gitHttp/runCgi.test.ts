import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseCgiHead, runCgi } from './runCgi.js';

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += (chunk as Buffer).toString('utf8');
  return out;
}

const sh = (script: string, input?: Readable) => runCgi({ command: 'sh', args: ['-c', script], env: { PATH: process.env.PATH ?? '' }, ...(input ? { input } : {}) });

describe('parseCgiHead', () => {
  it('reads the Status header and the others, names lower-cased', () => {
    expect(parseCgiHead('Status: 404 Not Found\r\nContent-Type: text/plain\r\nCache-Control: no-cache')).toEqual({
      status: 404,
      headers: { 'content-type': 'text/plain', 'cache-control': 'no-cache' },
    });
  });

  it('is 200 without a Status, 302 with a Location (RFC 3875 §6.3)', () => {
    expect(parseCgiHead('Content-Type: application/x-git-upload-pack-advertisement').status).toBe(200);
    expect(parseCgiHead('Location: /elsewhere\n').status).toBe(302);
  });

  it('refuses lines that are no header, and a Status without a code', () => {
    expect(() => parseCgiHead('Content-Type: text/plain\r\nnot a header')).toThrow('printed a CGI head line that is no header: "not a header"');
    expect(() => parseCgiHead('Status: OK')).toThrow('printed a CGI Status header without a status code: "OK"');
  });
});

describe('runCgi', () => {
  it('resolves with the head and streams the body after it', async () => {
    const response = await sh(`printf 'Status: 201 Created\\r\\nContent-Type: text/plain\\r\\n\\r\\nfirst '; sleep 0.1; printf second`);
    expect({ status: response.status, headers: response.headers }).toEqual({ status: 201, headers: { 'content-type': 'text/plain' } });
    expect(await text(response.body)).toBe('first second');
    expect(await response.exited).toMatchObject({ code: 0, signal: null });
  });

  it('pipes the input to the script', async () => {
    const response = await sh(`printf 'Content-Type: text/plain\\n\\n'; cat`, Readable.from([Buffer.from('a pack '), Buffer.from('of bytes')]));
    expect(await text(response.body)).toBe('a pack of bytes');
  });

  it('rejects with E_CGI and the stderr when the script exits before its head ends', async () => {
    await expect(sh(`printf 'Content-Type: text/plain\\r\\n'; echo 'fatal: not a git repository' >&2; exit 128`)).rejects.toMatchObject({
      code: 'E_CGI',
      message: expect.stringMatching(/ended before its CGI head: it exited with 128: fatal: not a git repository$/),
      data: { exitCode: 128 },
    });
  });

  it('rejects with E_CGI when the head is malformed, and when the command cannot start', async () => {
    await expect(sh(`printf 'garbage\\n\\nbody'`)).rejects.toMatchObject({ code: 'E_CGI', message: expect.stringContaining('printed a CGI head line that is no header: "garbage"') });
    await expect(runCgi({ command: '/nonexistent/git', args: ['http-backend'], env: {} })).rejects.toMatchObject({
      code: 'E_CGI',
      message: expect.stringMatching(/^\/nonexistent\/git http-backend (failed|ended before its CGI head): it could not start \(spawn \/nonexistent\/git ENOENT\)$/),
    });
  });

  it('stops the script when the reader of the body goes away', async () => {
    const response = await sh(`printf 'Content-Type: text/plain\\n\\n'; while :; do echo data || exit 3; done`);
    response.body.destroy();
    const exit = await response.exited;
    // The script dies of the broken pipe (SIGPIPE) or sees the write fail.
    expect(exit.signal === 'SIGPIPE' || exit.code !== 0).toBe(true);
  });
});
