/** Where a command writes, and what it knows of its terminal; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stdout is a terminal (colors, tables for people). */
  stdoutIsTTY: boolean;
  /** True when stderr is a terminal (progress lines). */
  stderrIsTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /**
   * Resolves with the signal's name when the user asks a long-running command (`estate serve`)
   * to stop: SIGINT (Ctrl-C) or SIGTERM. Without it, such a command runs until the process ends.
   */
  waitForStop?: () => Promise<string>;
}

/**
 * The real process's streams and environment. A reader that goes away early (`estate list | head
 * -1`) closes the pipe: like cat or git, the command then stops writing there, quietly, instead of
 * dying of an unhandled EPIPE, and still exits with its own code.
 */
export function processIo(): CliIo {
  const closed = { stdout: false, stderr: false };
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].on('error', (error: NodeJS.ErrnoException) => {
      closed[name] = true;
      if (error.code === 'EPIPE' || name === 'stderr') return;
      // Anything else (a full disk under `> file`) loses output: say so, and fail.
      process.exitCode = 2;
      if (!closed.stderr) process.stderr.write(`error[E_IO]: cannot write to stdout: ${error.message}\n`);
    });
  }
  return {
    stdout: (text) => void (closed.stdout || process.stdout.write(text)),
    stderr: (text) => void (closed.stderr || process.stderr.write(text)),
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    env: process.env,
    cwd: process.cwd(),
    waitForStop: () =>
      new Promise((resolve) => {
        const stop = (signal: NodeJS.Signals): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          // A second signal while stopping means "now": exit at once, as 128 + SIGINT.
          process.once('SIGINT', () => process.exit(130));
          process.once('SIGTERM', () => process.exit(143));
          resolve(signal);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      }),
  };
}

/** ANSI styles, or identity functions when color is off. */
export interface Styles {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

/** Colors follow NO_COLOR / FORCE_COLOR (https://no-color.org), else whether stdout is a terminal. */
export function createStyles(io: CliIo, forceOff = false): Styles {
  const enabled = !forceOff && !io.env['NO_COLOR'] && (io.env['FORCE_COLOR'] ? io.env['FORCE_COLOR'] !== '0' : io.stdoutIsTTY);
  const style = (open: number, close: number) => (text: string) => (enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return {
    red: style(31, 39),
    green: style(32, 39),
    yellow: style(33, 39),
    cyan: style(36, 39),
    dim: style(2, 22),
    bold: style(1, 22),
  };
}

/**
 * A one-line progress indicator on stderr, redrawn in place, only when stderr is a terminal
 * (CI logs and pipes stay clean), and only for at least `minTotal` items (small jobs end before
 * a progress line would help).
 */
export function createProgress(
  io: CliIo,
  label: string,
  options: { unit?: string; minTotal?: number } = {},
): { update(done: number, total: number): void; done(): void } {
  const { unit = 'files', minTotal = 500 } = options;
  let shown = false;
  let last = 0;
  return {
    update(done, total) {
      if (!io.stderrIsTTY || total < minTotal || total <= 0) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      shown = true;
      io.stderr(`\r${label} ${done}/${total} ${unit} (${Math.floor((done / total) * 100)}%)\u001b[K`);
    },
    done() {
      if (shown) io.stderr('\r\u001b[K');
    },
  };
}
