import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriftStore } from '../drift/DriftStore.js';
import { SqliteIngestStore } from '../ingest/SqliteIngestStore.js';
import { LiveEvents } from './LiveEvents.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const seqOf = (id: string): number => Number(id.split('-')[1]);

describe('LiveEvents and a burst of drift events', () => {
  let dir: string;
  let store: SqliteIngestStore;
  let drift: DriftStore;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'estate-live-'));
    // No checkpoint thread: it could still be writing the files when the folder is removed.
    store = new SqliteIngestStore(join(dir, 'ingest.db'), { checkpoint: false });
    drift = new DriftStore(store.db);
    const at = new Date().toISOString();
    for (let i = 0; i < 450; i++) drift.appendEvent({ at, type: 'drift.opened', asset: `host/h-${i}`, host: `h-${i}`, field: '/spec/packages/nginx', details: {} });
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes 200 events a turn of the event loop, in order, until it has them all', async () => {
    // The timer never fires in this test: the polls are the test's and the ones a poll schedules.
    const live = new LiveEvents({ drift, driftAfterId: 0, driftPollMs: 3_600_000 });
    try {
      live.pollDrift();
      expect(seqOf(live.lastEventId)).toBe(200);
      // A poll while the burst is still going on adds nothing: the one scheduled goes on.
      live.pollDrift();
      expect(seqOf(live.lastEventId)).toBe(200);
      await nextTurn();
      expect(seqOf(live.lastEventId)).toBe(400);
      await nextTurn();
      expect(seqOf(live.lastEventId)).toBe(450);
      await nextTurn();
      expect(seqOf(live.lastEventId)).toBe(450);
      // Caught up: the next poll finds only what is new.
      drift.appendEvent({ at: new Date().toISOString(), type: 'drift.resolved', asset: 'host/h-0', host: 'h-0', field: '/spec/packages/nginx', details: {} });
      live.pollDrift();
      expect(seqOf(live.lastEventId)).toBe(451);
    } finally {
      live.close();
    }
  });
});
