import { resolve } from 'node:path';
import { EstateError } from '@estate/core';
import type { CliContext } from '../context.js';
import { loadServer } from '../serverPackage.js';

/** Options of `estate serve`. */
export interface ServeOptions {
  data?: string;
  repo?: string;
  import?: string;
  host?: string;
  port?: string;
  openRead?: boolean;
  publicUrl?: string;
}

/** Where the server keeps its repository and read model unless `--data` says otherwise. */
export const DEFAULT_DATA_DIR = './estate-data';
const DEFAULT_PORT = 7780;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * `estate serve`: indexes the estate repository and answers the HTTP API until SIGINT or SIGTERM,
 * then stops cleanly (requests in flight finish, the store is closed) and exits 0. Prints the URL
 * alone on stdout (with the real port when `--port 0` picked one); logs go to stderr.
 */
export async function serveCommand(ctx: CliContext, options: ServeOptions): Promise<number> {
  const port = parsePort(options.port);
  const host = options.host ?? '127.0.0.1';
  if (options.repo !== undefined && options.import !== undefined) {
    throw new EstateError('E_USAGE', '--repo and --import exclude each other: serve an existing bare repository, or import one into the data dir', {});
  }
  const dataDir = resolve(ctx.io.cwd, options.data ?? DEFAULT_DATA_DIR);
  const { startServer } = await loadServer();
  const server = await startServer({
    dataDir,
    ...(options.repo !== undefined ? { repo: resolve(ctx.io.cwd, options.repo) } : {}),
    ...(options.import !== undefined ? { importFrom: isUrl(options.import) ? options.import : resolve(ctx.io.cwd, options.import) } : {}),
    host,
    port,
    openRead: options.openRead === true,
    ...(options.publicUrl !== undefined ? { publicUrl: checkPublicUrl(options.publicUrl) } : {}),
    log: (level, message, data) => ctx.io.stderr(`[${level}] ${message}${data && Object.keys(data).length ? ` ${JSON.stringify(data)}` : ''}\n`),
  });
  // Listen for the signals before telling anyone where to connect (a supervisor may stop it at once).
  const stopped = ctx.io.waitForStop?.() ?? new Promise<string>(() => {});
  ctx.io.stdout(`${server.url}\n`);
  ctx.io.stderr(`estate: serving ${dataDir} at ${server.url}${options.openRead ? ', reads open without a token' : ''}; stop with Ctrl-C\n`);
  if (options.openRead && !LOOPBACK.has(host)) {
    ctx.io.stderr(`warning: --open-read on ${host}: anyone who can reach this address can read the whole estate\n`);
  }
  const signal = await stopped;
  ctx.io.stderr(`estate: ${signal}, stopping\n`);
  await server.close();
  return 0;
}

/** `--port`: 0..65535, 0 meaning any free port. */
function parsePort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PORT;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new EstateError('E_USAGE', `--port must be a port number from 0 to 65535 (got '${value}'); 0 picks a free port`, { value });
  }
  return Number(value);
}

/** A git URL (`https://…`, `ssh://…`, `git@host:path`) rather than a local path. */
function isUrl(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^[^/\s]+@[^/\s]+:/.test(value);
}

/** `--public-url`: an absolute http(s) URL, kept without a trailing slash (links append paths to it). */
function checkPublicUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    parsed = new URL('invalid:');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new EstateError('E_USAGE', `--public-url must be an http or https URL (got '${url}')`, { url });
  }
  return url.replace(/\/+$/, '');
}
