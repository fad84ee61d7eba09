import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { GitError } from './GitError.js';
import { gitEnv } from './runGit.js';

/** One object as `git cat-file --batch` returns it. */
export interface CatFileObject {
  /** `blob`, `tree`, `commit` or `tag`. */
  type: string;
  content: Buffer;
}

/** Reads requested together; answers arrive in request order. */
interface Batch {
  count: number;
  results: (CatFileObject | undefined)[];
  resolve: (results: (CatFileObject | undefined)[]) => void;
  reject: (err: Error) => void;
}

/** A full SHA-1 or SHA-256 object id; anything else could smuggle a newline into the protocol. */
const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;
const LF = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * One long-lived `git cat-file --batch` process, started on the first read and reused.
 *
 * Protocol (git-cat-file(1), BATCH OUTPUT): each request is `<oid>\n`; each answer is
 * `<oid> <type> <size>\n<content>\n`, or `<oid> missing\n`. Requests are written as soon as they
 * are made and answers are matched to them in order, so concurrent reads are pipelined safely.
 * While nothing is pending the child and its pipes are unref'd, so a forgotten process never keeps
 * node alive.
 */
export class CatFileProcess {
  readonly #cwd: string;
  #child: ChildProcessWithoutNullStreams | undefined;
  #exited: Promise<void> = Promise.resolve();
  /** close() has ended git's stdin; new reads wait for the exit and start a new process. */
  #ending = false;
  #batches: Batch[] = [];
  /** Unparsed output while waiting for a header. */
  #head: Buffer = EMPTY;
  /** The object whose content is still arriving. */
  #body: { type: string; size: number; chunks: Buffer[]; length: number } | undefined;
  #stderr = '';

  /** @param cwd - the work tree or git dir of the repository to read from */
  constructor(cwd: string) {
    this.#cwd = cwd;
  }

  /**
   * Reads objects by full id; resolves with them in order, `undefined` for a missing object.
   * Rejects with GitError E_OBJECT_NOT_FOUND for a malformed id (before sending anything), or
   * E_GIT if the process dies.
   */
  read(oids: readonly string[]): Promise<(CatFileObject | undefined)[]> {
    const bad = oids.find((oid) => !OID.test(oid));
    if (bad !== undefined) {
      return Promise.reject(new GitError('E_OBJECT_NOT_FOUND', `invalid object id '${bad}'`, { oid: bad }));
    }
    if (oids.length === 0) return Promise.resolve([]);
    if (this.#ending) return this.#exited.then(() => this.read(oids));
    const child = this.#start();
    return new Promise((resolve, reject) => {
      this.#batches.push({ count: oids.length, results: [], resolve, reject });
      if (this.#batches.length === 1) this.#setRef(child, true);
      child.stdin.write(`${oids.join('\n')}\n`);
    });
  }

  /**
   * Closes git's stdin and waits for it to exit; pending reads are still answered. Idempotent; a
   * later read starts a new process.
   */
  async close(): Promise<void> {
    const child = this.#child;
    if (child) {
      // Keep node alive until git has exited, or an awaited close() would never settle.
      this.#setRef(child, true);
      this.#ending = true;
      child.stdin.end();
    }
    await this.#exited;
  }

  #start(): ChildProcessWithoutNullStreams {
    if (this.#child) return this.#child;
    const child = spawn('git', ['cat-file', '--batch'], { cwd: this.#cwd, env: gitEnv() });
    this.#child = child;
    this.#stderr = '';
    let failure: Error | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      try {
        this.#receive(chunk);
      } catch (err) {
        failure ??= err as Error;
        child.kill();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString('utf8')));
    child.on('error', (err) => (failure ??= err));
    // Write errors (EPIPE) mean git died; 'close' below reports it.
    child.stdin.on('error', (err) => (failure ??= err));
    this.#exited = new Promise((resolve) => {
      child.on('close', (exitCode, signal) => {
        this.#child = undefined;
        this.#ending = false;
        this.#head = EMPTY;
        this.#body = undefined;
        const batches = this.#batches.splice(0);
        if (batches.length > 0) {
          const status = signal ?? `exit ${String(exitCode)}`;
          const err = new GitError(
            'E_GIT',
            `git cat-file --batch failed (${status}): ${this.#stderr.trim() || (failure?.message ?? 'no error output')}`,
            { args: ['cat-file', '--batch'], exitCode, stderr: this.#stderr.trim() },
            { cause: failure },
          );
          for (const batch of batches) batch.reject(err);
        }
        resolve();
      });
    });
    this.#setRef(child, false);
    return child;
  }

  /** Parses answers from a chunk of stdout; a big object spans many chunks. */
  #receive(chunk: Buffer): void {
    let buf = chunk;
    const body = this.#body;
    if (body) {
      body.chunks.push(chunk);
      body.length += chunk.length;
      if (body.length <= body.size) return; // content and its LF not complete yet
      const all = Buffer.concat(body.chunks, body.length);
      this.#body = undefined;
      expectLf(all, body.size);
      this.#settle({ type: body.type, content: all.subarray(0, body.size) });
      buf = all.subarray(body.size + 1);
    }
    if (this.#head.length > 0) buf = Buffer.concat([this.#head, buf]);
    let pos = 0;
    for (let nl = buf.indexOf(LF, pos); nl >= 0; nl = buf.indexOf(LF, pos)) {
      const [, type, size] = buf.toString('latin1', pos, nl).split(' ');
      if (type === undefined || size === undefined) {
        this.#settle(undefined); // `<oid> missing`
        pos = nl + 1;
        continue;
      }
      const start = nl + 1;
      const end = start + Number(size);
      if (end >= buf.length) {
        this.#body = { type, size: Number(size), chunks: [buf.subarray(start)], length: buf.length - start };
        this.#head = EMPTY;
        return;
      }
      expectLf(buf, end);
      // Copy small objects out of the chunk so keeping one doesn't pin 64 KiB of output.
      this.#settle({ type, content: Buffer.from(buf.subarray(start, end)) });
      pos = end + 1;
    }
    this.#head = buf.subarray(pos);
  }

  #settle(object: CatFileObject | undefined): void {
    const batch = this.#batches[0];
    if (!batch) throw new Error('cat-file output without a request');
    batch.results.push(object);
    if (batch.results.length < batch.count) return;
    this.#batches.shift();
    batch.resolve(batch.results);
    // While closing, stay ref'd until git exits (see close()).
    if (this.#batches.length === 0 && this.#child && !this.#ending) this.#setRef(this.#child, false);
  }

  /** Ref'd while reads are pending, unref'd when idle (the child alone is not enough: its pipes count too). */
  #setRef(child: ChildProcessWithoutNullStreams, ref: boolean): void {
    for (const handle of [child, child.stdin as unknown as Socket, child.stdout as Socket, child.stderr as Socket]) {
      if (ref) handle.ref();
      else handle.unref();
    }
  }
}

/** Git ends every object's content with a LF; anything else means the parser lost sync. */
function expectLf(buf: Buffer, at: number): void {
  if (buf[at] !== LF) throw new Error('git cat-file output out of sync: no LF after content');
}
