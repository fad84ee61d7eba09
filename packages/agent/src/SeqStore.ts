import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from './durableFile.js';

/**
 * The last report sequence number per host, in `<stateDir>/seq.json`. Each number handed out is on
 * disk (fsync + rename) before it is used, so `seq` keeps increasing across restarts and crashes.
 */
export class SeqStore {
  readonly #file: string;
  #last: Record<string, number> | undefined;

  constructor(stateDir: string) {
    this.#file = path.join(stateDir, 'seq.json');
  }

  /** The next sequence number for `host` (1 for its first report), persisted before it is returned. */
  async next(host: string): Promise<number> {
    const last = await this.#load();
    const seq = (last[host] ?? 0) + 1;
    const updated = { ...last, [host]: seq };
    await mkdir(path.dirname(this.#file), { recursive: true });
    await writeFileDurably(this.#file, JSON.stringify(updated) + '\n');
    this.#last = updated;
    return seq;
  }

  async #load(): Promise<Record<string, number>> {
    if (this.#last) return this.#last;
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return (this.#last = {});
    }
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${this.#file} is not a JSON object of sequence numbers`);
    return (this.#last = parsed as Record<string, number>);
  }
}
