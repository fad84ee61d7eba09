import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteIngestStore } from './SqliteIngestStore.js';

describe('WalCheckpointer', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('copies the queue from the WAL into the database file from its thread, and the writer then starts the WAL over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'estate-wal-'));
    dirs.push(dir);
    const file = join(dir, 'ingest.db');
    const store = new SqliteIngestStore(file);
    const report = (seq: number) => ({ reportId: `01JDQ8Y6V0S1W9J3N8X7Q2K${String(seq).padStart(3, '0')}`, host: 'web-01', seq, collectedAt: new Date().toISOString(), facts: { kernel: 'x'.repeat(4000) } });
    store.enqueue(Array.from({ length: 200 }, (_, i) => ({ report: report(i + 1) })));
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(800_000);
    // The database file alone (no WAL) holds the reports once a checkpoint ran (every 100 ms).
    const copy = join(dir, 'copy.db');
    let inFile = 0;
    for (let tries = 0; tries < 50 && inFile < 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      copyFileSync(file, copy);
      const read = new Database(copy, { readonly: true });
      try {
        // Before the first checkpoint the file has not even the table.
        const table = read.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'ingest_reports'`).get();
        inFile = table ? (read.prepare('SELECT count(*) AS n FROM ingest_reports').get() as { n: number }).n : 0;
      } catch (error) {
        // A copy taken while a checkpoint writes the file can be torn: try the next one.
        if (!['SQLITE_CORRUPT', 'SQLITE_NOTADB'].includes((error as { code?: string }).code ?? '')) throw error;
      } finally {
        read.close();
      }
    }
    expect(inFile).toBe(200);
    // Everything was copied, so the next write starts the WAL over instead of growing it.
    const before = statSync(`${file}-wal`).size;
    store.enqueue(Array.from({ length: 10 }, (_, i) => ({ report: report(201 + i) })));
    expect(statSync(`${file}-wal`).size).toBe(before);
    expect(store.backlog()).toBe(210);
    store.close();
  });

  it('keeps the WAL bounded while commits never stop (a passive checkpoint alone never lets it start over)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'estate-wal-'));
    dirs.push(dir);
    const file = join(dir, 'ingest.db');
    const store = new SqliteIngestStore(file, { walRestartBytes: 1024 * 1024 });
    const report = (seq: number) => ({ reportId: `01JDQ8Y6V0S1W9J${String(seq).padStart(11, '0')}`, host: 'web-01', seq, collectedAt: new Date().toISOString(), facts: { kernel: 'x'.repeat(4000) } });
    let seq = 0;
    let largest = 0;
    const until = performance.now() + 4000;
    // Small commits back to back for 4 s (about 40 MB of WAL frames), yielding now and then.
    while (performance.now() < until) {
      store.enqueue(Array.from({ length: 5 }, () => ({ report: report(++seq) })));
      if (seq % 100 === 0) {
        largest = Math.max(largest, statSync(`${file}-wal`).size);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    expect(seq * 4000).toBeGreaterThan(8 * 1024 * 1024);
    // Restarts let the writer start the file over: it stays within a few times the bound, not the 40 MB written.
    expect(largest).toBeLessThan(4 * 1024 * 1024);
    expect(store.backlog()).toBe(seq);
    store.close();
  });
});
