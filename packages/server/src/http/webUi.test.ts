import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWebUi } from './webUi.js';

/** The API's error body. */
interface ErrorAnswer {
  error: { code: string };
}

/** A server with one API route, the API's 404 body, and the UI served from `dir`. */
async function serve(dir: string): Promise<{ app: FastifyInstance; base: string }> {
  const app = Fastify();
  app.get('/api/v1/kinds', async () => ({ items: [] }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: `no route ${request.method}`, details: {} } }));
  registerWebUi(app, { dir });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

/** GET a path with the given `Accept-Encoding`, the body as sent (fetch would decompress it). */
function getEncoded(base: string, path: string, acceptEncoding?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const headers = acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding };
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET a path exactly as written (fetch would normalise `..` away before sending). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const BIG_JS = `export const rows = [${Array.from({ length: 400 }, (_, i) => `'row ${i}'`).join(', ')}];\n`;
const BIG_CSS = Array.from({ length: 200 }, (_, i) => `.c${i}{color:red}`).join('\n');

describe('the web UI at /', () => {
  let work: string;
  let base: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'estate-webui-'));
    const dist = join(work, 'dist');
    await mkdir(join(dist, 'static'), { recursive: true });
    await writeFile(join(dist, 'index.html'), '<!doctype html><title>Estate</title>');
    await writeFile(join(dist, 'static', 'index-abc123.js'), 'console.log(1)');
    await writeFile(join(dist, 'static', 'index-abc123.css'), 'body{}');
    await writeFile(join(work, 'secret.txt'), 'outside the build');
    await symlink(join(work, 'secret.txt'), join(dist, 'static', 'leak.txt'));
    // As the build writes them (packages/web/vite.config.ts): a Brotli and a gzip copy beside a text file.
    await writeFile(join(dist, 'static', 'big-abc123.js'), BIG_JS);
    await writeFile(join(dist, 'static', 'big-abc123.js.br'), brotliCompressSync(BIG_JS));
    await writeFile(join(dist, 'static', 'big-abc123.js.gz'), gzipSync(BIG_JS));
    // A copy that is a link out of the build, and one older than its file (left by an earlier build).
    await writeFile(join(dist, 'static', 'other-abc123.css'), BIG_CSS);
    await writeFile(join(work, 'outside.br'), brotliCompressSync('outside the build'));
    await symlink(join(work, 'outside.br'), join(dist, 'static', 'other-abc123.css.br'));
    await writeFile(join(dist, 'static', 'other-abc123.css.gz'), gzipSync('an earlier build'));
    const past = new Date(Date.now() - 3600_000);
    await utimes(join(dist, 'static', 'other-abc123.css.gz'), past, past);
    ({ app, base } = await serve(dist));
  });

  afterAll(async () => {
    await app.close();
    await rm(work, { recursive: true, force: true });
  });

  it('answers index.html for / and for the UI routes, revalidated each time, with a CSP', async () => {
    for (const path of ['/', '/assets/host/web-01', '/?q=web&kind=Host']) {
      const answer = await fetch(base + path);
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(answer.headers.get('cache-control')).toBe('no-cache');
      expect(answer.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await answer.text()).toContain('<title>Estate</title>');
    }
  });

  it('serves hashed files with their type, cached for a year', async () => {
    const js = await fetch(`${base}/static/index-abc123.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await js.text()).toBe('console.log(1)');
    expect((await fetch(`${base}/static/index-abc123.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    const head = await fetch(`${base}/static/index-abc123.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('sends the Brotli or gzip copy of a text file when the browser accepts it, else the file', async () => {
    const path = '/static/big-abc123.js';
    const br = await getEncoded(base, path, 'gzip, deflate, br, zstd');
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['vary']).toBe('accept-encoding');
    expect(br.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(br.body.length).toBeLessThan(BIG_JS.length / 3);
    expect(brotliDecompressSync(br.body).toString()).toBe(BIG_JS);
    for (const accept of ['gzip', 'br;q=0, gzip;q=0.8', 'br ; q=0, *', 'GZIP']) {
      const gz = await getEncoded(base, path, accept);
      expect(gz.headers['content-encoding'], accept).toBe('gzip');
      expect(gunzipSync(gz.body).toString(), accept).toBe(BIG_JS);
    }
    expect((await getEncoded(base, path, '*')).headers['content-encoding']).toBe('br');
    for (const accept of [undefined, 'identity', 'deflate', 'br;q=0, gzip;q=0']) {
      const plain = await getEncoded(base, path, accept);
      expect(plain.headers['content-encoding'], accept).toBeUndefined();
      expect(plain.headers['vary'], accept).toBe('accept-encoding');
      expect(plain.body.toString(), accept).toBe(BIG_JS);
    }
  });

  it('never sends a compressed copy that is a link or older than its file', async () => {
    const answer = await getEncoded(base, '/static/other-abc123.css', 'br, gzip');
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(answer.body.toString()).toBe(BIG_CSS);
  });

  it('answers 404 for a missing build file instead of the page', async () => {
    for (const path of ['/static/index-old.js', '/favicon.ico']) {
      const answer = await fetch(base + path);
      expect(answer.status, path).toBe(404);
      expect(((await answer.json()) as ErrorAnswer).error.code).toBe('E_NOT_FOUND');
    }
  });

  it('keeps the API first: its routes answer, and unknown API paths are its 404', async () => {
    expect(await (await fetch(`${base}/api/v1/kinds`)).json()).toEqual({ items: [] });
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    for (const path of ['/api/v1/nothing', '/api', '/estate.git/info/nothing', '/healthz/x']) {
      const answer = await fetch(base + path);
      expect(answer.status, path).toBe(404);
      expect(((await answer.json()) as ErrorAnswer).error.code, path).toBe('E_NOT_FOUND');
    }
  });

  it('never leaves the build folder: dot-dot, encoded dot-dot, backslashes, NUL and links out', async () => {
    for (const path of ['/../secret.txt', '/static/../../secret.txt', '/%2e%2e/secret.txt', '/static/%2e%2e%2f%2e%2e%2fsecret.txt', '/..%5csecret.txt', '/a%00.js', '/static/leak.txt']) {
      const answer = await rawGet(base, path);
      expect(answer.status, path).toBe(404);
      expect(answer.body, path).not.toContain('outside the build');
    }
    // Malformed percent-encoding is refused by Fastify's router before the UI sees it.
    expect((await rawGet(base, '/%E0%A4%A')).status).toBe(400);
  });

  it('says how to build the UI when it is not built', async () => {
    const missing = await serve(join(work, 'no-such-dist'));
    try {
      const answer = await fetch(`${missing.base}/`);
      expect(answer.status).toBe(503);
      expect(answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await answer.text()).toContain('npm run build');
      expect((await fetch(`${missing.base}/api/v1/kinds`)).status).toBe(200);
    } finally {
      await missing.app.close();
    }
  });
});
