import { spawn } from 'node:child_process';
import { GitError } from './GitError.js';

/**
 * Variables that tie git to one repository, as listed by `git rev-parse --local-env-vars`. Git
 * clears them before running a command in another repository; so do we, or running Estate from a
 * git hook (which exports GIT_DIR and GIT_INDEX_FILE) would point every command at the wrong repo.
 */
const LOCAL_ENV_VARS = [
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_CONFIG',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_OBJECT_DIRECTORY',
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_IMPLICIT_WORK_TREE',
  'GIT_GRAFT_FILE',
  'GIT_INDEX_FILE',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE',
  'GIT_PREFIX',
  'GIT_INTERNAL_SUPER_PREFIX',
  'GIT_SHALLOW_FILE',
  'GIT_COMMON_DIR',
];

/**
 * The environment of every git child: the inherited one without repository-locating variables,
 * never prompting, in the C locale (stable messages), with literal pathspecs (a path such as
 * `assets/*.yaml` or `:x` means that file, not a pattern), plus `extra`.
 */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of LOCAL_ENV_VARS) delete env[name];
  return { ...env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', GIT_LITERAL_PATHSPECS: '1', ...extra };
}

/** Where and how {@link runGit} runs git. */
export interface RunGitOptions {
  /** Working directory: the work tree's top level, or the git dir of a bare repository. */
  cwd: string;
  /** Variables added to {@link gitEnv}. */
  env?: Record<string, string>;
  /** Bytes written to git's stdin, which is then closed (it is closed at once without input). */
  input?: string | Uint8Array;
}

/**
 * Runs `git <args>` without a shell and resolves with its whole stdout. Output is streamed into
 * buffers, so listings of any size work. A non-zero exit rejects with GitError E_GIT carrying the
 * trimmed stderr in the message and `args`, `exitCode` and `stderr` in `data`.
 */
export function runGit(args: readonly string[], options: RunGitOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: options.cwd, env: gitEnv(options.env) });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let spawnError: Error | undefined;
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => (spawnError = err));
    child.on('close', (exitCode, signal) => {
      if (exitCode === 0) {
        resolve(Buffer.concat(stdout));
        return;
      }
      const text = Buffer.concat(stderr).toString('utf8').trim();
      const status = signal ?? `exit ${String(exitCode)}`;
      reject(
        new GitError(
          'E_GIT',
          `git ${args[0] ?? ''} failed (${status}): ${text || (spawnError?.message ?? 'no error output')}`,
          { args, exitCode, stderr: text },
          { cause: spawnError },
        ),
      );
    });
    // EPIPE when git exits before reading all its input; the exit status above reports why.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input);
  });
}

/**
 * Runs `git <args>` and yields its stdout as it comes, for output read only as far as needed (a
 * long log searched for one commit). Leaving the loop early kills git; a failure after the output
 * was fully read rejects like {@link runGit}.
 */
export async function* streamGit(args: readonly string[], options: RunGitOptions): AsyncGenerator<Buffer> {
  const child = spawn('git', args, { cwd: options.cwd, env: gitEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ exitCode: null, signal: null, error }));
    child.on('close', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  let finished = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    finished = true;
  } finally {
    if (!finished) child.kill();
  }
  const { exitCode, signal, error } = await exited;
  if (exitCode === 0) return;
  const text = Buffer.concat(stderr).toString('utf8').trim();
  throw new GitError(
    'E_GIT',
    `git ${args[0] ?? ''} failed (${signal ?? `exit ${String(exitCode)}`}): ${text || (error?.message ?? 'no error output')}`,
    { args, exitCode, stderr: text },
    { cause: error },
  );
}
