/**
 * Shared helpers of the CLI's end-to-end tests: real git repositories in temp dirs, and the real
 * `estate` binary run as a child process (it imports the built dist, so `npm test` builds first).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** The workspace root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The `estate` binary, as npm links it. */
export const BIN = join(ROOT, 'packages/cli/bin/estate.js');
const DIST_MAIN = join(ROOT, 'packages/cli/dist/main.js');

/** Fails with a clear message when the CLI has not been built (the binary imports dist/). */
export function assertBuilt(): void {
  if (!existsSync(DIST_MAIN)) {
    throw new Error(`${DIST_MAIN} is missing: the CLI end-to-end tests run the built binary. Run \`npm test\` (which builds first) or \`npx tsc -b\`.`);
  }
}

const tempDirs: string[] = [];
let sandbox: string | undefined;

/** A new empty directory under the OS temp dir, removed by {@link removeTempDirs}. */
export function makeTempDir(prefix = 'estate-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Removes every directory made by {@link makeTempDir}; call it from `afterAll`. */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  sandbox = undefined;
  template = undefined;
}

/**
 * The environment of every child: no git identity or settings from the machine (an isolated
 * global config that even sets another default branch, and no system config), an explicit
 * identity in the variables git reads, no colors, and no ESTATE_* variables (a developer's
 * ESTATE_SERVER would send every read command to their server).
 */
export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  if (!sandbox) {
    sandbox = makeTempDir('estate-cli-home-');
    writeFileSync(join(sandbox, 'gitconfig'), '[init]\n\tdefaultBranch = master\n[advice]\n\tdetachedHead = false\n');
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('GIT_') || name.startsWith('ESTATE_') || name === 'FORCE_COLOR') delete env[name];
  }
  return {
    ...env,
    HOME: sandbox,
    GIT_CONFIG_GLOBAL: join(sandbox, 'gitconfig'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test Author',
    GIT_AUTHOR_EMAIL: 'author@example.com',
    GIT_COMMITTER_NAME: 'Test Committer',
    GIT_COMMITTER_EMAIL: 'committer@example.com',
    NO_COLOR: '1',
    ...extra,
  };
}

/** What a child process did. */
export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Wall-clock time, in milliseconds. */
  ms: number;
}

/**
 * Runs `estate <args>` with the real binary. Every run checks that nothing like a stack trace
 * reached stderr: errors print as `error[E_CODE]: message`, never a stack.
 */
export function estate(args: string[], options: { cwd: string; env?: Record<string, string> }): RunResult {
  assertBuilt();
  const started = performance.now();
  const child = spawnSync(process.execPath, [BIN, ...args], { cwd: options.cwd, env: testEnv(options.env), encoding: 'utf8' });
  const result = { status: child.status, stdout: child.stdout, stderr: child.stderr, ms: performance.now() - started };
  if (child.error) throw child.error;
  expect(result.stderr, `stack trace on stderr of estate ${args.join(' ')}`).not.toMatch(/^ {4}at /m);
  return result;
}

/**
 * Runs several independent `estate` commands at once (both cores work while one waits), with
 * the same checks as {@link estate}; results are in the order given.
 */
export async function estateAll(runs: Array<[args: string[], options: { cwd: string; env?: Record<string, string> }]>): Promise<RunResult[]> {
  assertBuilt();
  const results = await Promise.all(
    runs.map(
      ([args, options]) =>
        new Promise<RunResult>((resolve, reject) => {
          const started = performance.now();
          const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: testEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
          child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
          child.on('error', reject);
          child.on('close', (status) => resolve({ status, stdout, stderr, ms: performance.now() - started }));
        }),
    ),
  );
  results.forEach((result, i) => expect(result.stderr, `stack trace on stderr of estate ${runs[i]?.[0].join(' ')}`).not.toMatch(/^ {4}at /m));
  return results;
}

/** A running `estate serve` child process. */
export interface ServedEstate {
  /** The URL it printed on stdout. */
  url: string;
  /** Everything it wrote to stderr so far (its log). */
  stderr(): string;
  /** Sends `signal` and waits for the process to end. */
  stop(signal?: NodeJS.Signals): Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/**
 * Starts `estate serve <args>` (add `--port 0`) and resolves once it printed its URL on stdout;
 * fails with its output when it exits first or takes longer than `timeoutMs`.
 */
export function serveEstate(args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<ServedEstate> {
  assertBuilt();
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { cwd: options.cwd, env: testEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (status, signal) => resolve({ status, signal })));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const served: Omit<ServedEstate, 'url'> = {
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const end = await exited;
      await closed;
      return { ...end, stdout, stderr };
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`estate serve ${args.join(' ')} printed no URL within ${options.timeoutMs ?? 20_000} ms:\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    const onData = (): void => {
      const url = /^(https?:\/\/\S+)$/m.exec(stdout)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve({ url, ...served });
    };
    child.stdout.on('data', onData);
    void exited.then(({ status, signal }) => {
      clearTimeout(timer);
      reject(new Error(`estate serve ${args.join(' ')} exited (${status ?? signal}) before printing its URL:\n${stdout}\n${stderr}`));
    });
  });
}

/** Runs git and returns its trimmed stdout; throws with git's stderr when it fails. */
export function git(cwd: string, ...args: string[]): string {
  return gitWithEnv(cwd, {}, ...args);
}

function gitWithEnv(cwd: string, env: Record<string, string>, ...args: string[]): string {
  const child = spawnSync('git', args, { cwd, env: testEnv(env), encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`git ${args.join(' ')} failed (${child.status}): ${child.stderr}`);
  return child.stdout.trimEnd();
}

/** File contents by repo-relative path; `null` deletes the file. */
export type Files = Record<string, string | Buffer | null>;

/** Writes (or, for `null`, deletes) files under `dir`, making folders as needed. */
export function writeFiles(dir: string, files: Files): void {
  for (const [path, content] of Object.entries(files)) {
    const target = join(dir, path);
    if (content === null) {
      rmSync(target, { force: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
}

/** Who made a commit and when (default: the test identity, now). */
export interface CommitOptions {
  author?: { name: string; email: string };
  /** Any date git accepts, e.g. `2024-05-01T12:00:00+02:00`; sets author and committer dates. */
  date?: string;
}

/** Writes `files`, stages everything and commits; returns the new commit's sha. */
export function commit(dir: string, message: string, files: Files = {}, options: CommitOptions = {}): string {
  writeFiles(dir, files);
  git(dir, 'add', '--all');
  const env: Record<string, string> = {
    ...(options.author && { GIT_AUTHOR_NAME: options.author.name, GIT_AUTHOR_EMAIL: options.author.email }),
    ...(options.date && { GIT_AUTHOR_DATE: options.date, GIT_COMMITTER_DATE: options.date }),
  };
  gitWithEnv(dir, env, 'commit', '--quiet', '--allow-empty', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/** A new repository on branch `main` whose first commit holds `files`. */
export function makeRepo(files: Files, message = 'initial'): string {
  const dir = makeTempDir('estate-cli-repo-');
  git(dir, 'init', '--quiet', '--initial-branch=main');
  commit(dir, message, files);
  return dir;
}

let template: string | undefined;

/**
 * A fresh copy of the demo estate made by `estate init` (init runs once per test file; each
 * call copies that repository, `.git` included).
 */
export function copyDemo(): string {
  if (!template) {
    const parent = makeTempDir('estate-cli-demo-');
    template = join(parent, 'demo');
    const result = estate(['init', template], { cwd: parent });
    if (result.status !== 0) throw new Error(`estate init failed (${result.status}): ${result.stderr}`);
  }
  const dir = join(makeTempDir('estate-cli-copy-'), 'estate');
  cpSync(template, dir, { recursive: true });
  return dir;
}

/** The root estate.yaml of the small estates the tests build. */
export const ESTATE_YAML = `apiVersion: estate/v1
kind: Estate
metadata:
  name: test
spec:
  environments: [dev, prod]
`;

/** A valid Host document; `extra` lines are appended to its spec (indented by the caller). */
export function hostYaml(name: string, ip: string, extra = ''): string {
  return `apiVersion: estate/v1
kind: Host
metadata:
  name: ${name}
  labels: {env: prod}
spec:
  hostname: ${name}.example.com
  ip: ${ip}
${extra}`;
}

/** Parses JSON output, failing with the text when it is not JSON. */
export function parseJson<T = unknown>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`not JSON:\n${text}`);
  }
}
