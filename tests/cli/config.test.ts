/**
 * `estate config get|watch` and `estate run`, the real binary against a real `estate serve`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, commit, estate, git, makeRepo, makeTempDir, parseJson, removeTempDirs, serveEstate, testEnv, type ServedEstate } from './helpers.js';

const FILES = {
  'estate.yaml': 'apiVersion: estate/v1\nkind: Estate\nmetadata:\n  name: test\nspec:\n  environments: [dev, prod]\n',
  'assets/teams/platform.yaml': 'apiVersion: estate/v1\nkind: Team\nmetadata:\n  name: platform\nspec:\n  members: [ada]\n',
  'assets/services/billing.yaml': 'apiVersion: estate/v1\nkind: Service\nmetadata:\n  name: billing\n  owner: team/platform\nspec: {}\n',
  'assets/applications/billing.yaml': 'apiVersion: estate/v1\nkind: Application\nmetadata:\n  name: billing\n  owner: team/platform\nspec:\n  service: service/billing\n',
  'config/billing/base.yaml': "http:\n  port: 8080\nfeature-flags:\n  new.ui: true\ngreeting: \"it's $HOME\"\nhosts: [a, b]\n",
  'config/billing/prod.yaml': 'http:\n  port: 9090\n',
};

let work: string;
let data: string;
let served: ServedEstate;
let env: Record<string, string>;
let first: string;

beforeAll(async () => {
  work = makeRepo(FILES);
  first = git(work, 'rev-parse', 'HEAD');
  data = join(makeTempDir('estate-config-cli-'), 'data');
  served = await serveEstate(['--data', data, '--import', work, '--port', '0'], { cwd: work });
  const token = estate(['token', 'create', '--data', data, '--role', 'viewer', '--name', 'billing'], { cwd: work }).stdout.trim();
  env = { ESTATE_SERVER: served.url, ESTATE_TOKEN: token };
  // Config versions are computed once the commits are indexed: wait for billing's.
  const ready = async (): Promise<boolean> => (await fetch(`${served.url}/api/v1/config/billing/prod`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined))?.status === 200;
  for (let i = 0; i < 400 && !(await ready()); i++) await new Promise((resolve) => setTimeout(resolve, 50));
}, 60_000);

afterAll(async () => {
  await served?.stop();
  removeTempDirs();
});

/** Pushes a commit of `files` to the server's main; returns its sha. */
function push(message: string, files: Record<string, string>): string {
  const sha = commit(work, message, files);
  git(work, 'push', '--quiet', join(data, 'estate.git'), 'main:main');
  return sha;
}

/** Runs `node -e <script>` under `estate run`; returns the estate result. */
function runNode(script: string, extra: string[] = [], extraEnv: Record<string, string> = {}): ReturnType<typeof estate> {
  return estate(['run', '--app', 'billing', '--env', 'prod', ...extra, '--', process.execPath, '-e', script], { cwd: work, env: { ...env, ...extraEnv } });
}

const PRINT_ENV = "console.log(JSON.stringify({port: process.env.HTTP_PORT, flag: process.env.FEATURE_FLAGS_NEW_UI, greeting: process.env.GREETING, hosts: process.env.HOSTS, keep: process.env.KEEP_ME}))";

describe('estate config get', () => {
  it('prints the merged config in each format, and an older version with --at', async () => {
    const json = estate(['config', 'get', 'billing', 'prod', '--format', 'json'], { cwd: work, env });
    expect(json.status, json.stderr).toBe(0);
    expect(parseJson(json.stdout)).toEqual({ http: { port: 9090 }, 'feature-flags': { 'new.ui': true }, greeting: "it's $HOME", hosts: ['a', 'b'] });

    const dotenv = estate(['config', 'get', 'billing', 'prod', '--format', 'env'], { cwd: work, env });
    expect(dotenv.stdout).toContain('HTTP_PORT=9090\n');
    expect(dotenv.stdout).toContain('FEATURE_FLAGS_NEW_UI=true\n');

    const yaml = estate(['config', 'get', 'billing', 'dev'], { cwd: work, env });
    expect(yaml.status, yaml.stderr).toBe(0);
    expect(yaml.stdout).toContain('port: 8080');

    const properties = estate(['config', 'get', 'billing', 'prod', '--format', 'properties'], { cwd: work, env });
    expect(properties.stdout).toContain('http.port=9090\n');

    const next = push('port 9191', { 'config/billing/prod.yaml': 'http:\n  port: 9191\n' });
    const current = await waitForOutput(['config', 'get', 'billing', 'prod', '--format', 'json'], '9191');
    expect(parseJson(current)).toMatchObject({ http: { port: 9191 } });
    const old = estate(['config', 'get', 'billing', 'prod', '--format', 'json', '--at', first], { cwd: work, env });
    expect(old.status, old.stderr).toBe(0);
    expect(parseJson(old.stdout)).toMatchObject({ http: { port: 9090 } });
    expect(next).not.toBe(first);
  });

  it('fails with the server\'s code for an unknown environment and a bad format', () => {
    const unknown = estate(['config', 'get', 'billing', 'qa'], { cwd: work, env });
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/^error\[E_CONFIG_NOT_FOUND\]: /);
    const bad = estate(['config', 'get', 'billing', 'prod', '--format', 'toml'], { cwd: work, env });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('toml');
  });
});

describe('estate config watch', () => {
  it('prints a line per version as main moves, until interrupted', async () => {
    const child = spawn(process.execPath, [BIN, 'config', 'watch', 'billing', 'prod'], { cwd: work, env: testEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await until(() => stdout.split('\n').length >= 2, () => `the first line; stdout: ${stdout}; stderr: ${stderr}`);
      const next = push('port 9292', { 'config/billing/prod.yaml': 'http:\n  port: 9292\n' });
      await until(() => stdout.includes(next), () => `the pushed version; stdout: ${stdout}; stderr: ${stderr}`);
      const lines = stdout.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^[0-9a-f]{40} \d+$/);
      const [sha, seq] = lines[1]!.split(' ');
      expect(sha).toBe(next);
      expect(Number(seq)).toBeGreaterThan(Number(lines[0]!.split(' ')[1]));
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });
});

describe('estate config release, instances and versions', () => {
  it('starts a gray release, shows the canary among the instances, promotes it, and lists versions', async () => {
    const approver = { ...env, ESTATE_TOKEN: estate(['token', 'create', '--data', data, '--role', 'approver', '--name', 'ann'], { cwd: work }).stdout.trim() };
    const refused = estate(['config', 'release', 'start', 'billing', 'dev', '--percentage', '10'], { cwd: work, env });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/E_FORBIDDEN/);
    expect(estate(['config', 'release', 'start', 'billing', 'dev'], { cwd: work, env: approver }).stderr).toMatch(/E_USAGE/);
    const started = estate(['config', 'release', 'start', 'billing', 'dev', '--selector', 'zone=canary', '--format', 'json'], { cwd: work, env: approver });
    expect(started.status, started.stderr).toBe(0);
    const release = parseJson<{ id: number; state: string }>(started.stdout);
    expect(release.state).toBe('active');
    const before = estate(['config', 'get', 'billing', 'dev', '--format', 'json'], { cwd: work, env });
    const sha = push('dev port', { 'config/billing/dev.yaml': 'http:\n  port: 7070\n' });
    const watch = spawn(process.execPath, [BIN, 'config', 'watch', 'billing', 'dev', '--instance', 'c-2', '--label', 'zone=canary'], { env: testEnv(env) });
    let watched = '';
    watch.stdout.setEncoding('utf8').on('data', (chunk: string) => (watched += chunk));
    await until(() => watched.includes(sha), () => `the canary watch to get ${sha}: ${watched}`);
    watch.kill('SIGINT');
    // An instance without the canary label keeps the version of before the release.
    const stable = estate(['config', 'get', 'billing', 'dev', '--format', 'json', '--instance', 'c-1', '--label', 'zone=a'], { cwd: work, env });
    expect(stable.status, stable.stderr).toBe(0);
    expect(parseJson(stable.stdout)).toEqual(parseJson(before.stdout));
    const table = estate(['config', 'instances', 'billing', 'dev'], { cwd: work, env });
    expect(table.stdout).toMatch(/^c-1\s+\S+\s+stable/m);
    expect(table.stdout).toMatch(/^c-2\s+\S+\s+canary/m);
    const promoted = estate(['config', 'release', 'promote', 'billing', 'dev', String(release.id)], { cwd: work, env: approver });
    expect(promoted.status, promoted.stderr).toBe(0);
    expect(promoted.stdout).toMatch(/promoted release/);
    await waitForOutput(['config', 'get', 'billing', 'dev', '--format', 'json'], '7070');
    expect(estate(['config', 'release', 'list', 'billing', 'dev'], { cwd: work, env }).stdout).toMatch(/promoted\s+instances matching zone=canary\s+ann/);
    expect(estate(['config', 'release', 'abort', 'billing', 'dev', String(release.id)], { cwd: work, env: approver }).stderr).toMatch(/E_RELEASE_ENDED/);
    const versions = estate(['config', 'versions', 'billing', 'dev'], { cwd: work, env });
    expect(versions.stdout).toContain(sha.slice(0, 12));
    expect(versions.stdout).toMatch(/changed\s+\/http\/port: 8080 → 7070/);
  }, 60_000);
});

describe('estate run', () => {
  it('starts the program with the config as environment variables, on top of the current environment, and exits with its code', () => {
    const result = runNode(PRINT_ENV, [], { KEEP_ME: 'kept' });
    expect(result.status, result.stderr).toBe(0);
    expect(parseJson(result.stdout)).toMatchObject({ flag: 'true', greeting: "it's $HOME", hosts: '["a","b"]', keep: 'kept' });
    expect(parseJson<{ port: string }>(result.stdout).port).toMatch(/^9[0-9]{3}$/);

    expect(runNode('process.exit(7)').status).toBe(7);
    const missing = estate(['run', '--app', 'billing', '--env', 'prod', '--', 'no-such-program-estate-test'], { cwd: work, env });
    expect(missing.status).toBe(127);
    expect(missing.stderr).toMatch(/^error\[E_COMMAND_NOT_FOUND\]: cannot start 'no-such-program-estate-test'/);
  });

  it('passes SIGTERM on to the program and exits with its code', async () => {
    const script = "process.on('SIGTERM', () => process.exit(42)); console.log('ready'); setInterval(() => {}, 1000)";
    const child = spawn(process.execPath, [BIN, 'run', '--app', 'billing', '--env', 'prod', '--', process.execPath, '-e', script], { cwd: work, env: testEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await until(() => stdout.includes('ready'), () => 'the program to start');
    child.kill('SIGTERM');
    expect(await exited).toBe(42);
  });

  it('runs from the --cache-dir copy when the server is down, and fails clearly without one', async () => {
    const cacheDir = makeTempDir('estate-config-cli-cache-');
    const online = runNode(PRINT_ENV, ['--cache-dir', cacheDir]);
    expect(online.status, online.stderr).toBe(0);
    expect(online.stderr).toBe('');
    await served.stop();

    const offline = runNode(PRINT_ENV, ['--cache-dir', cacheDir]);
    expect(offline.status, offline.stderr).toBe(0);
    expect(parseJson(offline.stdout)).toEqual(parseJson(online.stdout));
    expect(offline.stderr).toMatch(/^warning: the server is unavailable; running with the cached config of billing\/prod/);

    const none = runNode(PRINT_ENV);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^error\[E_CONFIG_UNAVAILABLE\]: config billing\/prod is unavailable/);
    expect(none.stdout).toBe('');
  });
});

async function waitForOutput(args: string[], needle: string): Promise<string> {
  let last = '';
  await until(() => {
    last = estate(args, { cwd: work, env }).stdout;
    return last.includes(needle);
  }, () => `'${needle}' in the output of estate ${args.join(' ')}: ${last}`);
  return last;
}

async function until(check: () => boolean, what: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
