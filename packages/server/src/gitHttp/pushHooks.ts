import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EstateError } from '@estate/core';

/** The git hooks (githooks(5)) through which the server decides about pushes. */
export type HookPhase = 'pre-receive' | 'post-receive';

/** Both phases, in the order git runs them. */
export const HOOK_PHASES: readonly HookPhase[] = ['pre-receive', 'post-receive'];

/** The URL the hooks POST to, without the phase: `<hook url>/<phase>`. */
export const HOOK_ROUTE = '/estate.git/_hook';

/** The request header that carries the per-process hook secret. */
export const HOOK_SECRET_HEADER = 'x-estate-hook-secret';

/**
 * Variables the server passes to `git http-backend`, which its receive-pack child hands on to the
 * hooks: where to call (a URL, or a Unix socket and a URL path), the secret, and the push id.
 */
export const HOOK_ENV = {
  url: 'ESTATE_HOOK_URL',
  socket: 'ESTATE_HOOK_SOCKET',
  secret: 'ESTATE_HOOK_SECRET',
  pushId: 'ESTATE_PUSH_ID',
} as const;

/** How long a hook waits for the server's decision (a check validates the whole estate). */
const HOOK_TIMEOUT_MS = 5 * 60_000;

/** What a hook sends: one JSON object per phase. Missing shas = create/delete (JSON has no undefined). */
export interface HookCall {
  pushId: string;
  updates: Array<{ ref: string; oldSha?: string; newSha?: string }>;
  pushOptions: string[];
  quarantineEnv: Record<string, string>;
}

/** What the server answers a hook call with (`200`); any other status refuses the push. */
export interface HookAnswer {
  messages: string[];
  refuse?: string;
}

/**
 * Writes the `pre-receive` and `post-receive` scripts into `hooksDir` (created when missing),
 * replacing what is there: each start writes the scripts of the running server (its node binary).
 * Each file is written beside its final name and renamed, so a push never runs half a script.
 */
export function writePushHooks(hooksDir: string, nodePath: string = process.execPath): void {
  mkdirSync(hooksDir, { recursive: true, mode: 0o700 });
  for (const phase of HOOK_PHASES) {
    const file = join(hooksDir, phase);
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, hookScript(phase, nodePath), { mode: 0o755 });
    // The mode given to writeFileSync is only used for a new file (and masked by the umask).
    chmodSync(temporary, 0o755);
    renameSync(temporary, file);
  }
}

/**
 * The source of one hook: a node script without dependencies that runs as CommonJS or as an ES
 * module (no `require`, no top-level await), since the package type around `hooksDir` is unknown.
 * It reads the ref updates from stdin (`<old> <new> <ref>` lines, githooks(5)), the push options
 * (`GIT_PUSH_OPTION_COUNT`, `GIT_PUSH_OPTION_<n>`) and the quarantine variables, POSTs them to the
 * server, prints the server's messages on stderr (git shows them as `remote: ...`) and exits 1 to
 * refuse. Whatever goes wrong (no server, no answer, a bad secret) refuses the push: fail closed.
 */
export function hookScript(phase: HookPhase, nodePath: string = process.execPath): string {
  if (/[\s]/.test(nodePath)) {
    // A shebang line ends at the first blank on Linux: the interpreter path cannot hold one.
    throw new EstateError('E_HOOK_INSTALL', `the node binary '${nodePath}' has a blank in its path: git hooks cannot start it from a #! line`, { nodePath });
  }
  const constants = {
    PHASE: phase,
    ROUTE: HOOK_ROUTE,
    SECRET_HEADER: HOOK_SECRET_HEADER,
    URL_VAR: HOOK_ENV.url,
    SOCKET_VAR: HOOK_ENV.socket,
    SECRET_VAR: HOOK_ENV.secret,
    PUSH_ID_VAR: HOOK_ENV.pushId,
    TIMEOUT_MS: HOOK_TIMEOUT_MS,
  };
  const declarations = Object.entries(constants)
    .map(([name, value]) => `const ${name} = ${JSON.stringify(value)};`)
    .join('\n');
  return `#!${nodePath}
// Estate ${phase} hook. Written by the Estate server each time it starts: edits are lost.
// It hands the push to the server that runs git http-backend and refuses the push (exit 1) when
// the server says so or cannot be asked.
'use strict';
${declarations}
const QUARANTINE_VARS = ['GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_QUARANTINE_PATH'];
const WHAT = PHASE === 'pre-receive' ? 'the push was refused' : 'the refs were updated, but the Estate server did not record the push';

function say(text) {
  for (const line of String(text).split(/\\r?\\n/)) process.stderr.write(line + '\\n');
}

function fail(reason) {
  say('estate: ' + WHAT + ': ' + reason);
  process.exitCode = 1;
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (chunk) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

function post(http, target, headers, body) {
  return new Promise((resolve, reject) => {
    const request = http.request({ ...target, method: 'POST', headers, agent: false }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.setTimeout(TIMEOUT_MS, () => request.destroy(new Error('no answer within ' + TIMEOUT_MS / 1000 + ' s')));
    request.on('error', reject);
    request.end(body);
  });
}

async function main() {
  const env = process.env;
  const base = env[URL_VAR];
  const secret = env[SECRET_VAR];
  const pushId = env[PUSH_ID_VAR];
  if (!base || !secret || !pushId) {
    return fail('this repository takes pushes only through the Estate server (git push to <server>/estate.git)');
  }
  const updates = [];
  for (const line of (await readStdin()).split('\\n')) {
    if (line === '') continue;
    const match = /^([0-9a-f]+) ([0-9a-f]+) (\\S.*)$/.exec(line);
    if (!match) return fail('git passed a ref update the hook does not understand: ' + JSON.stringify(line));
    const update = { ref: match[3] };
    if (!/^0+$/.test(match[1])) update.oldSha = match[1];
    if (!/^0+$/.test(match[2])) update.newSha = match[2];
    updates.push(update);
  }
  const pushOptions = [];
  const count = Number(env.GIT_PUSH_OPTION_COUNT || 0);
  for (let i = 0; i < count; i++) pushOptions.push(env['GIT_PUSH_OPTION_' + i] || '');
  const quarantineEnv = {};
  if (PHASE === 'pre-receive') {
    for (const name of QUARANTINE_VARS) if (env[name] !== undefined) quarantineEnv[name] = env[name];
  }
  const body = JSON.stringify({ pushId, updates, pushOptions, quarantineEnv });
  const url = new URL(base.replace(/\\/+$/, '') + ROUTE + '/' + PHASE);
  const http = await import(url.protocol === 'https:' ? 'node:https' : 'node:http');
  const target = env[SOCKET_VAR]
    ? { socketPath: env[SOCKET_VAR], path: url.pathname }
    : { protocol: url.protocol, hostname: url.hostname.replace(/^\\[|\\]$/g, ''), port: url.port, path: url.pathname };
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), [SECRET_HEADER]: secret };
  let answer;
  try {
    answer = await post(http, target, headers, body);
  } catch (error) {
    return fail('the Estate server could not be reached (' + (error.code || error.message) + ')');
  }
  let parsed;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    return fail('the Estate server answered ' + answer.status + ' with something that is not JSON');
  }
  if (answer.status !== 200) {
    const error = (parsed && parsed.error) || {};
    return fail((error.message || 'no message') + ' (' + (error.code || 'HTTP ' + answer.status) + ')');
  }
  for (const message of Array.isArray(parsed.messages) ? parsed.messages : []) say(message);
  if (typeof parsed.refuse === 'string') {
    say(parsed.refuse);
    process.exitCode = 1;
  }
}

main().catch((error) => fail('the hook failed: ' + (error && error.message)));
`;
}
