import { mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from './durableFile.js';
import type { AgentLogger } from './types.js';

/**
 * The last report sequence number per host, in `<stateDir>/seq.json`. Each number handed out is on
 * disk (fsync + rename) before it is used, so `seq` keeps increasing across restarts and crashes.
 * A host with no number yet (a new agent, or a lost or unreadable state dir) starts at the current
 * time in milliseconds: larger than any number an earlier life of the agent counted up to, so seq
 * stays monotonic even when the state is lost.
 */
export class SeqStore {
  readonly #file: string;
  readonly #now: () => number;
  readonly #logger: AgentLogger | undefined;
  #last: Record<string, number> | undefined;

  constructor(stateDir: string, options: { now?: () => number; logger?: AgentLogger } = {}) {
    this.#file = path.join(stateDir, 'seq.json');
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
  }

  /** The next sequence number for `host` (the current time in ms for its first report), persisted before it is returned. */
  async next(host: string): Promise<number> {
    const last = await this.#load();
    const previous = last[host];
    const seq = previous === undefined ? Math.max(1, Math.floor(this.#now())) : previous + 1;
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
    const parsed = parseSeqs(text);
    if (parsed) return (this.#last = parsed);
    // Not a crash loop: set the file aside and start again from the clock.
    const aside = `${this.#file}.corrupt-${this.#now()}`;
    await rename(this.#file, aside);
    this.#logger?.warn(`${this.#file} is not a JSON object of sequence numbers: moved to ${aside}; seq starts again from the current time`);
    return (this.#last = {});
  }
}

function parseSeqs(text: string): Record<string, number> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  if (!Object.values(parsed).every((seq) => Number.isSafeInteger(seq) && (seq as number) > 0)) return undefined;
  return parsed as Record<string, number>;
}
