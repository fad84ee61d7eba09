import { createConfigClient, EstateApiError, type ConfigClient, type ConfigFormat } from '@estate/client';
import { CONFIG_FORMATS, EstateError } from '@estate/core';
import type { CliContext } from '../context.js';
import { remoteClient, type RemoteOptions } from './change.js';
import { parseFormat } from './formats.js';

/** What names the config a command reads: the server, the app's cluster and this caller. */
export interface ConfigSourceOptions extends RemoteOptions {
  cluster?: string;
  instance?: string;
  /** `--label k=v`, repeatable: this caller's labels, which gray-release selectors match. */
  label?: string[];
  /** `--cache-dir`: where the last-known-good copy is kept (estate run). */
  cacheDir?: string;
}

/**
 * The config client of `app`/`env` on the server of `--server` (or ESTATE_SERVER), with the token
 * of ESTATE_TOKEN (none for a server with open reads).
 */
export function configClientFor(ctx: CliContext, command: string, app: string, env: string, options: ConfigSourceOptions): ConfigClient {
  const server = remoteClient(ctx, options, command, false);
  const token = ctx.io.env['ESTATE_TOKEN']?.trim();
  return createConfigClient({
    url: server.url,
    app,
    env,
    ...(token ? { token } : {}),
    ...(options.cluster !== undefined ? { cluster: options.cluster } : {}),
    ...(options.instance !== undefined ? { instance: options.instance } : {}),
    ...(options.label !== undefined ? { labels: parseLabels(options.label) } : {}),
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
  });
}

/** `k=v` pairs of `--label` as a map (E_USAGE for anything else). */
function parseLabels(pairs: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const match = /^([A-Za-z0-9][-A-Za-z0-9_./]*)=([-A-Za-z0-9_.]*)$/.exec(pair);
    if (!match) throw new EstateError('E_USAGE', `--label takes key=value, e.g. zone=eu-1 (got '${pair}')`, { label: pair });
    labels[match[1]!] = match[2]!;
  }
  return labels;
}

/** Options of `estate config get`. */
export interface ConfigGetOptions extends ConfigSourceOptions {
  format?: string;
  /** `--at SHA`: an older version. */
  at?: string;
}

/**
 * `estate config get <app> <env> [--format json|yaml|env|properties] [--cluster C] [--at SHA]`:
 * prints the merged config as the server renders it (secrets only for a token allowed to read them).
 */
export async function configGetCommand(ctx: CliContext, app: string, env: string, options: ConfigGetOptions): Promise<number> {
  const format = parseFormat(options.format, CONFIG_FORMATS as readonly ConfigFormat[], 'yaml');
  const client = configClientFor(ctx, 'config get', app, env, options);
  try {
    ctx.io.stdout(await client.render(format, options.at !== undefined ? { version: options.at } : {}));
  } finally {
    await client.close();
  }
  return 0;
}

/** Options of `estate config watch`. */
export interface ConfigWatchOptions extends ConfigSourceOptions {
  json?: boolean;
}

/**
 * `estate config watch <app> <env> [--json]`: prints one line per version as the server pushes
 * it, `<version> <seq>` (or the whole snapshot as JSON), until interrupted. Lost connections are
 * resumed without missing a version (warnings on stderr); a refusal (401, 403, 404) ends it.
 */
export async function configWatchCommand(ctx: CliContext, app: string, env: string, options: ConfigWatchOptions): Promise<number> {
  const client = configClientFor(ctx, 'config watch', app, env, options);
  const stopped = ctx.io.waitForStop?.() ?? new Promise<string>(() => {});
  let refuse: (error: EstateApiError) => void = () => {};
  const refused = new Promise<EstateApiError>((resolve) => (refuse = resolve));
  client.subscribe(
    (snapshot) => {
      ctx.io.stdout(options.json ? `${JSON.stringify(snapshot)}\n` : `${snapshot.version} ${snapshot.seq}\n`);
    },
    (error) => {
      if (error instanceof EstateApiError && error.status >= 400 && error.status < 500) refuse(error);
      else ctx.io.stderr(`warning: ${error.message}\n`);
    },
  );
  const outcome = await Promise.race([stopped, refused]);
  await client.close();
  if (outcome instanceof EstateApiError) throw outcome;
  return 0;
}
