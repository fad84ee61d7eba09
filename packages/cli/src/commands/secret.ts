import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  decryptSecrets,
  DNS_LABEL,
  EstateError,
  generateSecretIdentity,
  InputError,
  MAX_SECRET_VALUE_BYTES,
  NotFoundError,
  parseSecretsFile,
  quoteEnvValue,
  rotateSecrets,
  secretRecipientsFor,
  setSecret,
  type EstateConfig,
} from '@estate/core';
import type { CliContext } from '../context.js';

/** Options shared by the secret commands that work on the estate repo's work tree. */
export interface SecretRepoOptions {
  repo?: string;
  /** A file of age identities (`AGE-SECRET-KEY-1...` lines). */
  identity?: string;
}

const IDENTITY_LINE = /^AGE-SECRET-KEY-1[0-9A-Z]+$/;
const SECRETS_FILE = /^([^/]+)\.secrets\.yaml$/;

/**
 * `estate secret set <app> <env> <KEY>`: encrypts a value read from stdin (or a hidden prompt on
 * a terminal) into `config/<app>/<env>.secrets.yaml`. The value is never taken from argv, and
 * never printed.
 */
export async function secretSetCommand(ctx: CliContext, app: string, env: string, key: string, extra: readonly string[], options: SecretRepoOptions): Promise<number> {
  if (extra.length > 0 || key.includes('=')) {
    // The argument is not echoed: it may be the secret itself.
    throw new EstateError(
      'E_USAGE',
      'estate secret set takes <app> <env> <KEY> and never the value: on the command line it would stay in shell history and show in `ps`. ' +
        'Pipe it on stdin, or run the command on a terminal to be prompted. If you typed a real secret, consider it exposed and change it.',
    );
  }
  checkTarget(app, env);
  const root = await ctx.workTreeRoot(options.repo);
  const { config, applications } = await estateConfig(ctx, root);
  const recipients = recipientsOf(config, env);
  const relPath = secretsPath(app, env);
  const file = join(root, relPath);
  const existing = readIfExists(file);
  // Asked before the value, so nobody types a secret only to learn it cannot be written.
  const identities = existing === undefined ? [] : requireIdentities(ctx, options, `${relPath} exists: changing it needs an identity that can read it`);
  const value = await readSecretValue(ctx, key);
  const text = await setSecret(existing, { app, env, recipients, key, value, identities }, relPath);
  writeAtomically(file, text);
  const keys = parseSecretsFile(relPath, text).keys.length;
  ctx.io.stdout(`${existing === undefined ? 'created' : 'updated'} ${relPath}: set ${key} (${keys} ${keys === 1 ? 'key' : 'keys'}, encrypted to ${recipients.length} ${recipients.length === 1 ? 'recipient' : 'recipients'})\n`);
  if (!applications.has(app)) {
    ctx.io.stderr(`warning: no Application asset named '${app}' declares config/${app}/; estate validate reports E_CONFIG_LAYOUT until one does\n`);
  }
  return 0;
}

/**
 * `estate secret get <app> <env> [KEY]`: verifies and decrypts the file; prints the value of KEY
 * (its exact text and a newline), the key names without KEY, or `KEY=value` lines with `--all`.
 */
export async function secretGetCommand(ctx: CliContext, app: string, env: string, key: string | undefined, options: SecretRepoOptions & { all?: boolean }): Promise<number> {
  if (key !== undefined && options.all) throw new EstateError('E_USAGE', 'give either a KEY or --all, not both');
  checkTarget(app, env);
  const root = await ctx.workTreeRoot(options.repo);
  const relPath = secretsPath(app, env);
  const text = readIfExists(join(root, relPath));
  if (text === undefined) throw new NotFoundError('E_SECRET_NOT_FOUND', `there is no secrets file ${relPath} (estate secret set creates it)`, { path: relPath });
  const identities = requireIdentities(ctx, options, `reading ${relPath} needs an identity`);
  const values = await decryptSecrets(text, identities, relPath);
  const keys = Object.keys(values).sort();
  if (key !== undefined) {
    if (!Object.hasOwn(values, key)) {
      throw new NotFoundError('E_SECRET_NOT_FOUND', `${relPath} has no key '${key}' (its keys: ${keys.join(', ') || 'none'})`, { path: relPath, key });
    }
    ctx.io.stdout(`${values[key]}\n`);
  } else if (options.all) {
    for (const name of keys) ctx.io.stdout(`${name}=${quoteEnvValue(values[name] as string)}\n`);
  } else {
    for (const name of keys) ctx.io.stdout(`${name}\n`);
  }
  return 0;
}

/**
 * `estate secret rotate`: re-encrypts secrets files to their environment's current recipients in
 * estate.yaml: one file (`<app> <env>`, always rotated), every file of `--env`, or every file
 * (`--all`). The bulk forms skip files already encrypted to the right recipients unless `--force`.
 * Every file is decrypted before any is written, so a failure leaves all files as they were.
 */
export async function secretRotateCommand(
  ctx: CliContext,
  app: string | undefined,
  env: string | undefined,
  options: SecretRepoOptions & { all?: boolean; env?: string; force?: boolean },
): Promise<number> {
  const forms = [app !== undefined || env !== undefined, options.env !== undefined, options.all === true].filter(Boolean).length;
  if (forms !== 1 || (app === undefined) !== (env === undefined)) {
    throw new EstateError('E_USAGE', 'name what to rotate: <app> <env> (one file), --env ENV (every file of an environment) or --all (every secrets file)');
  }
  const root = await ctx.workTreeRoot(options.repo);
  const { config } = await estateConfig(ctx, root);
  let targets: Array<{ app: string; env: string }>;
  if (app !== undefined && env !== undefined) {
    checkTarget(app, env);
    if (readIfExists(join(root, secretsPath(app, env))) === undefined) {
      throw new NotFoundError('E_SECRET_NOT_FOUND', `there is no secrets file ${secretsPath(app, env)}`, { path: secretsPath(app, env) });
    }
    targets = [{ app, env }];
  } else {
    targets = findSecretsFiles(root).filter((t) => options.env === undefined || t.env === options.env);
  }
  const explicit = app !== undefined;
  const planned: Array<{ relPath: string; text: string; recipients: string[] }> = [];
  const upToDate: string[] = [];
  let identities: string[] | undefined;
  for (const target of targets) {
    const relPath = secretsPath(target.app, target.env);
    const recipients = recipientsOf(config, target.env);
    const text = readFileSync(join(root, relPath), 'utf8');
    if (!explicit && !options.force && sameSet(parseSecretsFile(relPath, text).recipients, recipients)) {
      upToDate.push(relPath);
      continue;
    }
    identities ??= requireIdentities(ctx, options, `rotating ${relPath} needs an identity that can read it`);
    planned.push({ relPath, recipients, text: await rotateSecrets(text, identities, recipients, relPath) });
  }
  for (const { relPath, text } of planned) writeAtomically(join(root, relPath), text);
  for (const { relPath, recipients } of planned) {
    ctx.io.stdout(`rotated ${relPath} (encrypted to ${recipients.length} ${recipients.length === 1 ? 'recipient' : 'recipients'})\n`);
  }
  for (const relPath of upToDate) ctx.io.stdout(`up to date ${relPath}\n`);
  if (targets.length === 0) ctx.io.stdout(`no secrets files${options.env === undefined ? '' : ` of environment '${options.env}'`}\n`);
  return 0;
}

/**
 * `estate secret keygen --out FILE`: writes a new age identity to FILE (mode 0600, never over an
 * existing file) and prints its public recipient, alone, on stdout.
 */
export async function secretKeygenCommand(ctx: CliContext, options: { out: string }): Promise<number> {
  const path = resolve(ctx.io.cwd, options.out);
  const { identity, recipient } = await generateSecretIdentity();
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new EstateError('E_EXISTS', `${path} exists; estate secret keygen never overwrites an identity file`, { path });
    }
    throw error;
  }
  try {
    writeSync(fd, `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  ctx.io.stdout(`${recipient}\n`);
  ctx.io.stderr(`wrote the identity to ${path} (mode 0600); add the public key above to an environment's recipients in estate.yaml\n`);
  return 0;
}

/**
 * The age identities the user gave: `--identity FILE`, else `$ESTATE_AGE_IDENTITY_FILE`, else the
 * key in `$ESTATE_AGE_IDENTITY`. Throws E_SECRET_NO_IDENTITY, saying why one is needed, when none is.
 */
function requireIdentities(ctx: CliContext, options: SecretRepoOptions, why: string): string[] {
  const file = options.identity ?? nonEmpty(ctx.io.env['ESTATE_AGE_IDENTITY_FILE']);
  if (file !== undefined) {
    const path = resolve(ctx.io.cwd, file);
    return parseIdentities(readFileSync(path, 'utf8'), path);
  }
  const inline = nonEmpty(ctx.io.env['ESTATE_AGE_IDENTITY']);
  if (inline !== undefined) return parseIdentities(inline, '$ESTATE_AGE_IDENTITY');
  throw new InputError(
    'E_SECRET_NO_IDENTITY',
    `${why}: give an age identity file with --identity FILE or $ESTATE_AGE_IDENTITY_FILE, or the key in $ESTATE_AGE_IDENTITY`,
  );
}

/** The `AGE-SECRET-KEY-1...` lines of an identity file; blank lines and `#` comments are skipped. */
function parseIdentities(text: string, source: string): string[] {
  const identities: string[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // The line is not quoted back: it may be a key with a typo.
    if (!IDENTITY_LINE.test(line)) throw new InputError('E_SECRET_IDENTITY', `line ${index + 1} of ${source} is not an age secret key (AGE-SECRET-KEY-1...) nor a # comment`, { line: index + 1 });
    identities.push(line);
  }
  if (identities.length === 0) throw new InputError('E_SECRET_IDENTITY', `${source} holds no age secret key (AGE-SECRET-KEY-1...)`);
  return identities;
}

/**
 * The value to set: all of stdin when it is not a terminal (one trailing newline, `\n` or
 * `\r\n`, removed), else typed twice at a prompt that does not echo.
 */
async function readSecretValue(ctx: CliContext, key: string): Promise<string> {
  let value: string;
  if (process.stdin.isTTY) {
    value = await promptHidden(ctx, `value of ${key}: `);
    if ((await promptHidden(ctx, `value of ${key} again: `)) !== value) throw new EstateError('E_USAGE', 'the two values typed differ; nothing was written');
  } else {
    value = decodeValue(await readStdin(MAX_SECRET_VALUE_BYTES + 2), key).replace(/\r?\n$/, '');
  }
  if (value === '') throw new InputError('E_SECRET_VALUE', `the value of ${key} is empty; nothing was written`, { key });
  return value;
}

/** Reads stdin to its end, failing once it holds more than `limit` bytes. */
async function readStdin(limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) {
      process.stdin.destroy();
      throw new InputError('E_SECRET_VALUE', `the value on stdin is over ${MAX_SECRET_VALUE_BYTES} bytes; nothing was written`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function decodeValue(bytes: Buffer, key: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError('E_SECRET_VALUE', `the value of ${key} on stdin is not UTF-8 text; nothing was written`, { key });
  }
}

/** Reads one line from the terminal in raw mode, echoing nothing; Ctrl-C and Ctrl-D abort. */
function promptHidden(ctx: CliContext, prompt: string): Promise<string> {
  const stdin = process.stdin;
  // Echo goes off before the prompt shows, so nothing typed early reaches the screen.
  stdin.setRawMode(true);
  ctx.io.stderr(prompt);
  return new Promise((resolvePrompt, reject) => {
    let typed = '';
    const finish = (error?: EstateError): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      ctx.io.stderr('\n');
      if (error) reject(error);
      else resolvePrompt(typed);
    };
    const onData = (chunk: Buffer): void => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(new EstateError('E_USAGE', 'aborted; nothing was written'));
        if (char === '\u007f' || char === '\b') typed = [...typed].slice(0, -1).join('');
        else typed += char;
      }
    };
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** Writes `text` to a temporary file beside `file`, flushes it, and renames it over `file`. */
function writeAtomically(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(temp, 'wx', 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** `estate.yaml` of the work tree, read as `estate validate` reads it, and the names of its `Application` assets. */
async function estateConfig(ctx: CliContext, root: string): Promise<{ config: EstateConfig; applications: Set<string> }> {
  const { estate } = await ctx.loadEstate(root, undefined, 'reading');
  if (estate.config === undefined) {
    throw new EstateError('E_ESTATE_FILE', `${root} has no valid estate.yaml; estate validate says what is wrong`, { dir: root });
  }
  const applications = new Set([...estate.assets.values()].filter((asset) => asset.kind === 'Application').map((asset) => asset.name));
  return { config: estate.config, applications };
}

/** The recipients of a declared environment; E_SECRET_TARGET or E_SECRET_RECIPIENT otherwise. */
function recipientsOf(config: EstateConfig, env: string): string[] {
  if (!config.environments.some((e) => e.name === env)) {
    throw new InputError('E_SECRET_TARGET', `environment '${env}' is not declared in estate.yaml (declared: ${config.environments.map((e) => e.name).join(', ')})`, { env });
  }
  const recipients = secretRecipientsFor(config, env);
  if (recipients.length === 0) {
    throw new InputError(
      'E_SECRET_RECIPIENT',
      `environment '${env}' has no age recipients: add public keys to its recipients, or to spec.secrets.recipients, in estate.yaml (estate secret keygen makes a key pair)`,
      { env },
    );
  }
  return recipients;
}

function checkTarget(app: string, env: string): void {
  if (!DNS_LABEL.test(app)) throw new InputError('E_SECRET_TARGET', `app '${app.slice(0, 100)}' is not a DNS label`, { app: app.slice(0, 100) });
  if (!DNS_LABEL.test(env)) throw new InputError('E_SECRET_TARGET', `env '${env.slice(0, 100)}' is not a DNS label`, { env: env.slice(0, 100) });
}

function secretsPath(app: string, env: string): string {
  return `config/${app}/${env}.secrets.yaml`;
}

/** Every `config/<app>/<env>.secrets.yaml` of the work tree, sorted by path. */
function findSecretsFiles(root: string): Array<{ app: string; env: string }> {
  const configDir = join(root, 'config');
  if (!statSync(configDir, { throwIfNoEntry: false })?.isDirectory()) return [];
  const found: Array<{ app: string; env: string }> = [];
  for (const app of readdirSync(configDir, { withFileTypes: true })) {
    if (!app.isDirectory() || !DNS_LABEL.test(app.name)) continue;
    for (const entry of readdirSync(join(configDir, app.name), { withFileTypes: true })) {
      const env = SECRETS_FILE.exec(entry.name)?.[1];
      if (entry.isFile() && env !== undefined && DNS_LABEL.test(env)) found.push({ app: app.name, env });
    }
  }
  return found.sort((a, b) => secretsPath(a.app, a.env).localeCompare(secretsPath(b.app, b.env)));
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
