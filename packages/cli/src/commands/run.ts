import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { EstateError, toEnvName } from '@estate/core';
import type { CliContext } from '../context.js';
import { configClientFor, type ConfigSourceOptions } from './config.js';

/** Options of `estate run`. */
export interface RunOptions extends ConfigSourceOptions {
  app: string;
  env: string;
}

/** Signals passed on to the program, so a supervisor stopping `estate run` stops it. */
const FORWARDED = ['SIGINT', 'SIGTERM'] as const;

/**
 * `estate run --app A --env E [--cluster C] [--cache-dir DIR] -- cmd args…`: fetches the config
 * (from the last-known-good copy in `--cache-dir` when the server is unavailable) and starts `cmd`
 * with it as environment variables, named as the `env` format names them (`db.host` → `DB_HOST`),
 * on top of the current environment. SIGINT and SIGTERM are passed on; the exit code is the
 * program's (128 + the signal's number when a signal ended it).
 */
export async function runCommand(ctx: CliContext, command: string[], options: RunOptions): Promise<number> {
  const [program, ...args] = command;
  if (program === undefined || program === '') throw new EstateError('E_USAGE', 'estate run needs a command: estate run --app A --env E -- cmd args…', {});
  const cacheDir = options.cacheDir !== undefined ? resolve(ctx.io.cwd, options.cacheDir) : undefined;
  const client = configClientFor(ctx, 'run', options.app, options.env, { ...options, ...(cacheDir !== undefined ? { cacheDir } : {}) });
  let snapshot;
  try {
    snapshot = await client.get();
  } finally {
    await client.close();
  }
  if (snapshot.source === 'cache') {
    ctx.io.stderr(`warning: the server is unavailable; running with the cached config of ${options.app}/${options.env} (version ${snapshot.version.slice(0, 12)}, seq ${snapshot.seq})\n`);
  }
  const env = { ...ctx.io.env, ...configEnvironment(snapshot.values) };
  return runProgram(ctx, program, args, env);
}

/**
 * The config as environment variables: one per leaf (a scalar, a list or an empty map), named by
 * {@link toEnvName}; strings as they are, anything else as its JSON text (as the `env` format).
 * Two keys that give the same name fail with E_CONFIG_FORMAT.
 */
export function configEnvironment(values: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  const keys = new Map<string, string>();
  const visit = (value: unknown, path: string[]): void => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) {
      for (const [key, inner] of Object.entries(value)) visit(inner, [...path, key]);
      return;
    }
    const name = toEnvName(path);
    const key = path.join('.');
    const other = keys.get(name);
    if (other !== undefined) {
      const [first, second] = [other, key].sort();
      throw new EstateError('E_CONFIG_FORMAT', `config keys '${first}' and '${second}' both become the env variable ${name}`, { name, keys: [first, second] });
    }
    keys.set(name, key);
    env[name] = typeof value === 'string' ? value : JSON.stringify(value);
  };
  for (const [key, value] of Object.entries(values)) visit(value, [key]);
  return env;
}

/** Starts the program with the terminal's stdio, passes signals on, and resolves with its exit code. */
function runProgram(ctx: CliContext, program: string, args: string[], env: Record<string, string | undefined>): Promise<number> {
  return new Promise((resolveCode) => {
    const child = spawn(program, args, { cwd: ctx.io.cwd, env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    for (const signal of FORWARDED) process.on(signal, forward);
    const finish = (code: number): void => {
      for (const signal of FORWARDED) process.off(signal, forward);
      resolveCode(code);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      // As a shell: 127 when there is no such program, 126 when it cannot be run.
      const missing = error.code === 'ENOENT';
      ctx.io.stderr(`error[${missing ? 'E_COMMAND_NOT_FOUND' : 'E_COMMAND_FAILED'}]: cannot start '${program}': ${error.message}\n`);
      finish(missing ? 127 : 126);
    });
    child.on('exit', (code, signal) => finish(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}
