import { createReadStream } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { extname, join, posix, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Options of {@link registerWebUi}. */
export interface WebUiOptions {
  /** The built UI (`packages/web/dist`); default: the web package beside this one. */
  dir?: string;
}

/** Where `npm run build` puts the UI, seen from this file in `src/http` or `dist/http`. */
const DEFAULT_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));
/** Vite's output folder for hashed files (packages/web/vite.config.ts `build.assetsDir`). */
const HASHED_PREFIX = '/static/';
/** Paths that belong to the API and git: an unknown one is the API's 404, never the UI. */
const RESERVED = ['/api/', '/estate.git', '/healthz', '/readyz', '/metrics'];

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Content codings the build writes beside its text files (packages/web/vite.config.ts), best first, with their file suffix. */
const ENCODINGS = [
  { coding: 'br', suffix: '.br' },
  { coding: 'gzip', suffix: '.gz' },
] as const;

/** The UI loads only its own files and talks only to this server. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Serves the built web UI (packages/web) at `/`: files of the build by their path, hashed files
 * under `/static/` cached for a year, and `index.html` for every other path (the UI's own routes,
 * e.g. `/assets/host/web-01`). API and git routes keep precedence (Fastify prefers static routes to
 * this wildcard), and unknown paths under them stay the API's `404 E_NOT_FOUND`. Paths are decoded,
 * normalised and confined to the build folder (symbolic links included). A text file is sent
 * Brotli- or gzip-compressed when the browser accepts it and the build wrote that copy. Without a
 * build, `/` answers `503` with how to build it.
 */
export function registerWebUi(app: FastifyInstance, options: WebUiOptions = {}): void {
  const dir = options.dir ?? DEFAULT_DIR;
  let root: Promise<string | undefined> | undefined;
  // Resolved on first use (and again while missing): the UI may be built after the server started.
  const buildRoot = (): Promise<string | undefined> => {
    root ??= realpath(dir).then(
      (real) => real,
      () => {
        root = undefined;
        return undefined;
      },
    );
    return root;
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const rawPath = request.url.split('?', 1)[0]!;
    if (RESERVED.some((prefix) => rawPath === prefix.replace(/\/$/, '') || rawPath.startsWith(prefix))) return notFound(reply);
    const path = decodePath(rawPath);
    if (path === undefined) return notFound(reply);
    const real = await buildRoot();
    if (real === undefined) return notBuilt(reply);
    const file = path === '/' ? undefined : await findFile(real, path);
    if (file !== undefined) return sendFile(request, reply, file, path.startsWith(HASHED_PREFIX));
    // A missing build file (an old hashed name, a typo'd script) is a 404, not the UI's page.
    if (path.startsWith(HASHED_PREFIX) || extname(path) !== '') return notFound(reply);
    const index = await findFile(real, '/index.html');
    if (index === undefined) return notBuilt(reply);
    return sendFile(request, reply, index, false);
  };

  const config = { access: 'public' as const, openapi: false };
  app.get('/', { config }, handler);
  app.get('/*', { config }, handler);
}

/** The URL path decoded and normalised; undefined for one that tries to leave the root or is not text. */
function decodePath(rawPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  if (decoded.split('/').includes('..')) return undefined;
  const normal = posix.normalize(decoded);
  return normal.startsWith('/') ? normal : undefined;
}

/** The regular file at `path` under `root`, if it is one and (after links) still under `root`. */
async function findFile(root: string, path: string): Promise<string | undefined> {
  try {
    const real = await realpath(join(root, path));
    if (!real.startsWith(root + sep)) return undefined;
    return (await stat(real)).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

async function sendFile(request: FastifyRequest, reply: FastifyReply, file: string, immutable: boolean): Promise<FastifyReply> {
  const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
  reply.header('content-type', type).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
  reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (type.startsWith('text/html')) reply.header('content-security-policy', CSP);
  if (!isText(type)) return reply.send(createReadStream(file));
  reply.header('vary', 'accept-encoding');
  const encoded = await encodedCopy(file, acceptedCodings(request.headers['accept-encoding']));
  if (encoded === undefined) return reply.send(createReadStream(file));
  return reply.header('content-encoding', encoded.coding).send(createReadStream(encoded.file));
}

function isText(type: string): boolean {
  return type.startsWith('text/') || type.startsWith('application/json') || type === 'image/svg+xml';
}

/**
 * The content codings an `Accept-Encoding` header accepts (a coding with `q=0` is refused; `*`
 * stands for any other). Among them the server prefers its own order (Brotli, then gzip), not the
 * client's `q` values: both are lossless, and Brotli is smaller.
 */
function acceptedCodings(header: string | string[] | undefined): Set<string> {
  const accepted = new Set<string>();
  const refused = new Set<string>();
  let any = false;
  for (const part of (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')) {
    const [coding = '', ...params] = part.toLowerCase().split(';');
    const name = coding.trim();
    const q = params.map((param) => /^\s*q\s*=\s*([\d.]+)\s*$/.exec(param)?.[1]).find((value) => value !== undefined);
    const ok = q === undefined || Number(q) > 0;
    if (name === '*') any = ok;
    else if (name !== '') (ok ? accepted : refused).add(name);
  }
  if (any) for (const { coding } of ENCODINGS) if (!refused.has(coding)) accepted.add(coding);
  return accepted;
}

/** The best compressed copy of `file` the build wrote, of a coding in `accepted` and not older than the file. */
async function encodedCopy(file: string, accepted: Set<string>): Promise<{ coding: string; file: string } | undefined> {
  if (accepted.size === 0) return undefined;
  let original: number | undefined;
  for (const { coding, suffix } of ENCODINGS) {
    if (!accepted.has(coding)) continue;
    try {
      // lstat: a symbolic link is not the build's copy (it could point out of the build).
      const copy = await lstat(file + suffix);
      original ??= (await stat(file)).mtimeMs;
      if (copy.isFile() && copy.mtimeMs >= original) return { coding, file: file + suffix };
    } catch {
      // No copy of this coding: try the next.
    }
  }
  return undefined;
}

/** The API's own `404 E_NOT_FOUND`. */
function notFound(reply: FastifyReply): FastifyReply {
  reply.callNotFound();
  return reply;
}

function notBuilt(reply: FastifyReply): FastifyReply {
  return reply
    .code(503)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('cache-control', 'no-store')
    .send('The Estate web UI is not built. Build it with `npm run build` (or `npm run build -w @estate/web`) in the Estate checkout, then reload.\nThe API is at /api/v1 (see /api/openapi.json).\n');
}
