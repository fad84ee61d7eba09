/**
 * The ingest thread's code (docs/ingest.md#the-ingest-thread), started by {@link IngestThread}: it
 * owns the writes of ingest.db that reports make — checking and queueing them with group commit,
 * syncing, the consumer and its report processors (the drift engine, the enforcement recorder,
 * first reports) — so that applying reports never holds up the HTTP answers of the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DriftEngine } from '../drift/DriftEngine.js';
import { DriftStore } from '../drift/DriftStore.js';
import { enforcementRecorder } from '../drift/recordEnforcement.js';
import { FirstReports } from '../timeline/FirstReports.js';
import { IngestService } from './IngestService.js';
import { SqliteIngestStore } from './SqliteIngestStore.js';
import type { ReportProcessor } from './types.js';
import { toThreadError, type FromThread, type IngestThreadData, type ThreadCall, type ThreadReply, type ToThread } from './threadMessages.js';

/** How often the thread tells its backlog (ms). */
const BACKLOG_EVERY_MS = 250;

const port = parentPort!;
const data = workerData as IngestThreadData;
const post = (message: FromThread): void => port.postMessage(message);
const log = (level: 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>): void => post({ type: 'log', level, message, ...(details ? { data: details } : {}) });

try {
  const extra: ReportProcessor[] = [];
  for (const module of data.processorModules) {
    const { processor } = (await import(module)) as { processor?: unknown };
    if (typeof processor !== 'function') throw new Error(`the report processor module ${module} exports no function 'processor'`);
    extra.push(processor as ReportProcessor);
  }
  const store = new SqliteIngestStore(data.file, { log: (message) => log('warn', message) });
  const driftStore = new DriftStore(store.db);
  const drift = new DriftEngine(driftStore, { log }, data.drift);
  const firstReports = new FirstReports(store.db);
  const ingest = new IngestService(store, { ...data.options, log, processors: [enforcementRecorder(driftStore, () => drift.commit?.sha), drift.processor, firstReports.processor, ...extra] });

  // One 'evaluated' per turn of the loop, however many reports were evaluated in it.
  let evaluatedPosted = false;
  drift.onEvaluated(() => {
    if (evaluatedPosted) return;
    evaluatedPosted = true;
    setImmediate(() => {
      evaluatedPosted = false;
      post({ type: 'evaluated' });
    });
  });

  // Acks leave in one message per turn of the loop.
  const acks: Extract<FromThread, { type: 'acks' }>['acks'] = [];
  const flushAcks = (): void => {
    if (acks.length > 0) post({ type: 'acks', acks: acks.splice(0) });
  };
  const ack = (entry: (typeof acks)[number]): void => {
    if (acks.length === 0) setImmediate(flushAcks);
    acks.push(entry);
  };
  const backlogTimer = setInterval(() => post({ type: 'backlog', backlog: ingest.backlog }), BACKLOG_EVERY_MS);

  const call = async (message: ThreadCall): Promise<unknown> => {
    switch (message.type) {
      case 'replay':
        return ingest.replay(message.deadLetterId);
      case 'prune':
        return ingest.prune(message.now);
      case 'snapshot':
        drift.evaluateAll(message.snapshot);
        return undefined;
      case 'metrics':
        return ingest.metrics();
      case 'close':
        clearInterval(backlogTimer);
        await ingest.close();
        // The reports close committed are answered before the reply (the port closes after it).
        flushAcks();
        store.close();
        return undefined;
    }
  };

  /** The host scope of each token seen, by token id. */
  const scopes = new Map<string, string[]>();
  port.on('message', (message: ToThread) => {
    if (message.type === 'submit') {
      if (message.forgetScopes) scopes.clear();
      for (const { id, text, tokenId, hosts } of message.reports) {
        if (hosts) scopes.set(tokenId, hosts);
        ingest.submitText(text, { id: tokenId, scopes: { hosts: scopes.get(tokenId) ?? [] } }).then(
          (result) => ack({ id, result }),
          (error: unknown) => ack({ id, error: toThreadError(error) }),
        );
      }
      return;
    }
    const reply = (answer: Omit<ThreadReply, 'type' | 'id'>): void => {
      post({ type: 'reply', id: message.id, ...answer });
      if (message.type === 'close') port.close();
    };
    call(message).then(
      (value) => reply({ value }),
      (error: unknown) => reply({ error: toThreadError(error) }),
    );
  });
  post({ type: 'ready', backlog: ingest.backlog });
} catch (error) {
  post({ type: 'fatal', error: toThreadError(error) });
}
