import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { EstateError } from '@estate/core';

/** The status and headers a CGI script printed before its body (RFC 3875 §6.2, §6.3). */
export interface CgiHead {
  status: number;
  headers: Record<string, string>;
}

/** How a CGI script ended. */
export interface CgiExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The script's stderr (its first 64 KiB). */
  stderr: string;
  /** Set when the script could not be started. */
  error?: Error;
}

/** A CGI answer whose head was read: the body streams on, and `exited` tells how the script ended. */
export interface CgiResponse extends CgiHead {
  body: Readable;
  exited: Promise<CgiExit>;
}

/** What {@link runCgi} runs. */
export interface CgiOptions {
  command: string;
  args: readonly string[];
  /** The script's whole environment (the CGI meta-variables included). */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** The request body, piped to the script's stdin with back-pressure; none = empty stdin. */
  input?: Readable;
}

/** A CGI head larger than this is refused: git's heads are a few lines. */
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_STDERR_BYTES = 64 * 1024;

/**
 * Runs a CGI script (RFC 3875) and resolves once it printed its head; the body is streamed, never
 * buffered. Rejects with `E_CGI` (an internal error: its message holds the script's stderr, which
 * must be logged, not sent) when the script cannot start, exits before its head ends, or prints a
 * head that is too large or malformed. When the reader of the body goes away, the script's stdout
 * is closed, as a web server does: the script sees a broken pipe and stops.
 */
export function runCgi(options: CgiOptions): Promise<CgiResponse> {
  const child = spawn(options.command, [...options.args], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  let stderrBytes = 0;
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderrBytes < MAX_STDERR_BYTES) stderr.push(chunk);
    stderrBytes += chunk.length;
  });
  const exited = new Promise<CgiExit>((resolve) => {
    const text = (): string => Buffer.concat(stderr).toString('utf8').slice(0, MAX_STDERR_BYTES).trim();
    child.on('error', (error) => resolve({ code: null, signal: null, stderr: text(), error }));
    child.on('close', (code, signal) => resolve({ code, signal, stderr: text() }));
  });

  // EPIPE when the script exits without reading its whole input; its exit status says why.
  child.stdin.on('error', () => undefined);
  const input = options.input;
  if (input) {
    child.stdin.on('error', () => input.unpipe(child.stdin));
    // A request cut short must end the script's input, or the script would wait for it forever.
    input.on('close', () => {
      if (!input.readableEnded) child.stdin.destroy();
    });
    input.pipe(child.stdin);
  } else {
    child.stdin.end();
  }

  return new Promise<CgiResponse>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const refuse = async (reason: string): Promise<void> => {
      done = true;
      child.stdout.destroy();
      const exit = await exited;
      const how = exit.error ? `could not start (${exit.error.message})` : exit.signal ? `was killed by ${exit.signal}` : `exited with ${String(exit.code)}`;
      reject(new EstateError('E_CGI', `${options.command} ${options.args.join(' ')} ${reason}: it ${how}${exit.stderr ? `: ${exit.stderr}` : ''}`, { exitCode: exit.code }, { cause: exit.error }));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      const buffered = Buffer.concat(chunks);
      const end = headEnd(buffered);
      if (end === undefined) {
        if (size > MAX_HEAD_BYTES) void refuse(`printed more than ${MAX_HEAD_BYTES} bytes without ending its CGI head`);
        return;
      }
      child.stdout.pause();
      child.stdout.off('data', onData);
      child.stdout.off('end', onEnd);
      let head: CgiHead;
      try {
        head = parseCgiHead(buffered.subarray(0, end.start).toString('latin1'));
      } catch (error) {
        void refuse((error as Error).message);
        return;
      }
      done = true;
      const body = new PassThrough();
      body.write(buffered.subarray(end.next));
      body.on('close', () => {
        if (!child.stdout.readableEnded) child.stdout.destroy();
      });
      child.stdout.pipe(body);
      resolve({ ...head, body, exited });
    };
    const onEnd = (): void => {
      if (!done) void refuse('ended before its CGI head');
    };
    child.stdout.on('data', onData);
    child.stdout.on('end', onEnd);
    child.on('error', () => {
      if (!done) void refuse('failed');
    });
  });
}

/** Where the head ends: the first empty line (CRLF or LF line ends; RFC 3875 §6.2 allows both). */
function headEnd(buffer: Buffer): { start: number; next: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { start: crlf, next: crlf + 4 };
  if (lf >= 0) return { start: lf, next: lf + 2 };
  return undefined;
}

/**
 * Parses a CGI head (RFC 3875 §6.3): `Name: value` lines; `Status: 404 Not Found` sets the
 * status, which is 200 without one (302 with a `Location`). Throws on a line that is no header.
 */
export function parseCgiHead(text: string): CgiHead {
  const headers: Record<string, string> = {};
  let status: number | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!match) throw new Error(`printed a CGI head line that is no header: ${JSON.stringify(line.slice(0, 100))}`);
    const name = match[1]!;
    const value = match[2]!;
    if (name.toLowerCase() === 'status') {
      const code = /^([1-5]\d\d)(?:\s|$)/.exec(value);
      if (!code) throw new Error(`printed a CGI Status header without a status code: ${JSON.stringify(value.slice(0, 100))}`);
      status = Number(code[1]);
      continue;
    }
    headers[name.toLowerCase()] = value;
  }
  return { status: status ?? (headers.location !== undefined ? 302 : 200), headers };
}
