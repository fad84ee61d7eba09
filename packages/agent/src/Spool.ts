import { mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory, writeFileDurably } from './durableFile.js';
import type { AgentLogger, Report } from './types.js';

/** How many refused reports `<stateDir>/rejected/` (and unreadable ones `<stateDir>/corrupt/`) keeps (the newest). */
const MAX_REJECTED_KEPT = 100;

/** Bounds of the spool: the oldest reports are dropped past either. */
export interface SpoolLimits {
  maxReports: number;
  maxBytes: number;
}

/**
 * The on-disk queue of reports not yet acknowledged: `<stateDir>/spool/<seq>.json`, one file per
 * report, written durably, read back in `seq` order, removed only after the server acknowledged it.
 * Past its bounds the oldest reports are dropped with a warning, counted in `<stateDir>/dropped`.
 */
export class Spool {
  readonly #dir: string;
  readonly #stateDir: string;
  readonly #limits: SpoolLimits;
  readonly #logger: AgentLogger;

  constructor(stateDir: string, limits: SpoolLimits, logger: AgentLogger) {
    this.#stateDir = stateDir;
    this.#dir = path.join(stateDir, 'spool');
    this.#limits = limits;
    this.#logger = logger;
  }

  /** Adds a report (durably), then drops the oldest reports while the spool is over its bounds. */
  async add(report: Report): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    await writeFileDurably(path.join(this.#dir, `${report.seq}.json`), JSON.stringify(report));
    await this.#enforceLimits();
  }

  /** The sequence numbers in the spool, oldest first. */
  async list(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .map((name) => /^(\d+)\.json$/.exec(name)?.[1])
      .filter((seq): seq is string => seq !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /**
   * The spooled report with this sequence number and its size in bytes. Throws `SyntaxError` when
   * the file is not a report of that `seq` (torn or edited): {@link setAside} it.
   */
  async read(seq: number): Promise<{ report: Report; bytes: number }> {
    const text = await readFile(this.#path(seq), 'utf8');
    const report = JSON.parse(text) as unknown;
    if (typeof report !== 'object' || report === null || (report as Report).seq !== seq || typeof (report as Report).reportId !== 'string') {
      throw new SyntaxError(`spool/${seq}.json is not a report of seq ${seq}`);
    }
    return { report: report as Report, bytes: Buffer.byteLength(text) };
  }

  /** Removes a report the server acknowledged. */
  async remove(seq: number): Promise<void> {
    await unlink(this.#path(seq));
    await syncDirectory(this.#dir);
  }

  /** Moves a report the server refused for good (a 4xx other than 401/403/408/429) to `<stateDir>/rejected/`, out of the queue. */
  async reject(seq: number): Promise<void> {
    await this.#moveOut(seq, 'rejected');
  }

  /** Moves a report that cannot be read (or sent) to `<stateDir>/corrupt/`, out of the queue, so it cannot stop the spool. */
  async setAside(seq: number): Promise<void> {
    await this.#moveOut(seq, 'corrupt');
  }

  async #moveOut(seq: number, into: 'rejected' | 'corrupt'): Promise<void> {
    const target = path.join(this.#stateDir, into);
    await mkdir(target, { recursive: true });
    await rename(this.#path(seq), path.join(target, `${seq}.json`));
    await syncDirectory(this.#dir);
    // Kept for a person to look at, not forever: the newest ones only.
    const kept = (await readdir(target)).filter((name) => /^\d+\.json$/.test(name)).sort((a, b) => parseInt(a) - parseInt(b));
    for (const name of kept.slice(0, Math.max(0, kept.length - MAX_REJECTED_KEPT))) await unlink(path.join(target, name));
  }

  /** How many reports were dropped over the spool's lifetime because it was full. */
  async droppedCount(): Promise<number> {
    try {
      return Number((await readFile(path.join(this.#stateDir, 'dropped'), 'utf8')).trim()) || 0;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
  }

  async #enforceLimits(): Promise<void> {
    const entries: { seq: number; bytes: number }[] = [];
    for (const seq of await this.list()) entries.push({ seq, bytes: (await stat(this.#path(seq))).size });
    let bytes = entries.reduce((sum, entry) => sum + entry.bytes, 0);
    let dropped = 0;
    while (entries.length > 0 && (entries.length > this.#limits.maxReports || bytes > this.#limits.maxBytes)) {
      const oldest = entries.shift()!;
      await unlink(this.#path(oldest.seq));
      bytes -= oldest.bytes;
      dropped++;
      this.#logger.warn(`spool full (${this.#limits.maxReports} reports or ${this.#limits.maxBytes} bytes): dropped report seq ${oldest.seq}`);
    }
    if (dropped > 0) {
      await syncDirectory(this.#dir);
      await writeFileDurably(path.join(this.#stateDir, 'dropped'), `${(await this.droppedCount()) + dropped}\n`);
    }
  }

  #path(seq: number): string {
    return path.join(this.#dir, `${seq}.json`);
  }
}
