import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker's code (CommonJS, run with `eval`, so it needs no file of its own next to the
 * sources or the build): its own connection to the database runs a passive checkpoint every
 * `everyMs`, and once more when told to stop.
 */
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file);
db.pragma('synchronous = NORMAL');
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message) });
  }
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints a WAL-mode SQLite file from a worker thread, so that copying the WAL into the
 * database file, and the fsyncs around it, never hold up the event loop. The connections that
 * write turn off their own automatic checkpoints (`wal_autocheckpoint = 0`). A passive checkpoint
 * waits for no one: it copies what no reader still needs, and the writer starts the WAL over once
 * all of it was copied.
 */
export class WalCheckpointer {
  readonly #worker: Worker;

  constructor(file: string, options: { everyMs: number; log: (message: string) => void }) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_CODE, { eval: true, workerData: { file, everyMs: options.everyMs, sqlite } });
    this.#worker.on('message', (message: { error?: string }) => {
      if (message.error !== undefined) options.log(`checkpointing ${file} failed (retried): ${message.error}`);
    });
    this.#worker.on('error', (error) => options.log(`the checkpoint thread of ${file} stopped: ${error.message}`));
    this.#worker.unref();
  }

  /** Asks the worker for a last checkpoint and to close its connection; does not wait for it. */
  stop(): void {
    this.#worker.postMessage('stop');
  }
}
