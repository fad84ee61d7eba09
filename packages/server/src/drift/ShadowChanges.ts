import { createHash } from 'node:crypto';
import { hasErrorCode } from '@estate/core';
import type Database from 'better-sqlite3';
import type { AuditLog } from '../audit/AuditLog.js';
import { SYSTEM_ACTOR, type ChangeService } from '../changes/ChangeService.js';
import { CoalescedRun } from '../indexer/CoalescedRun.js';
import { adoptionTitle, type DriftActions } from './DriftActions.js';
import type { DriftEngine } from './DriftEngine.js';
import type { DriftStore } from './DriftStore.js';

/**
 * In ingest.db beside the event log: how far the shadow worker read it, and each shadow host's
 * change request. `pending` marks a host whose adoption is still to be made (its events were read,
 * the change request failed or is not made yet).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS drift_shadow_cursor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_event_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS drift_shadow_changes (
  asset TEXT PRIMARY KEY,
  change_id INTEGER,
  operations_sha TEXT,
  pending INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);
`;

/** Events read per step. */
const PAGE = 500;
/** The event cursor is saved at least this often (ms) while no host is marked; marks always save it. */
const CURSOR_SAVE_MS = 10_000;
/** The events that can give a shadow host something new to adopt. */
const TYPES = ['drift.opened', 'drift.changed'] as const;

/** What {@link ShadowChanges} needs. */
export interface ShadowChangesDeps {
  db: Database.Database;
  drift: DriftStore;
  engine: DriftEngine;
  actions: DriftActions;
  changes: ChangeService;
  audit: AuditLog;
  log?: (level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>) => void;
}

/**
 * Shadow mode (docs/drift.md#shadow): one change request per host whose mode is `shadow`, adopting
 * its open drift. Reads `drift_events` after its cursor; for each shadow host with opened or changed
 * items it opens a change request (`drift: adopt observed state of host/<name>`, by `system`) or,
 * while that one is open or approved, adds the new adoption to it. A merged or closed one means the
 * next drift opens a new one. Runs outside the consumer's transaction (a change request is git
 * work), one run at a time, coalesced; a host whose change request fails stays pending and is tried
 * again at the next run, which the next event starts.
 */
export class ShadowChanges {
  readonly #d: ShadowChangesDeps;
  readonly #run: CoalescedRun;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The event cursor as read so far, and as last saved (undefined: not read from the database yet). */
  #cursor: number | undefined;
  #savedCursor = 0;
  #savedAt = 0;

  constructor(deps: ShadowChangesDeps) {
    this.#d = deps;
    deps.db.exec(SCHEMA);
    this.#run = new CoalescedRun(() => this.#pass(), () => !this.#stopped);
  }

  /** Asks for a run soon (calls within a few ms share one); safe inside a transaction, it only sets a timer. */
  kick(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.run().catch((error: unknown) => this.#d.log?.('error', `drift: shadow change requests failed; retrying on the next event: ${(error as Error).message}`));
    }, 10);
  }

  /** Runs a pass now (or joins the one running and asks for one more). */
  run(): Promise<void> {
    return this.#run.run();
  }

  /** The shadow change request of `asset`, if one was opened. */
  changeOf(asset: string): number | undefined {
    const row = this.#d.db.prepare('SELECT change_id FROM drift_shadow_changes WHERE asset = ?').get(asset) as { change_id: number | null } | undefined;
    return row?.change_id ?? undefined;
  }

  /** Stops: no new runs; resolves when the current one is done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#run.idle();
  }

  async #pass(): Promise<void> {
    const { db, drift, engine } = this.#d;
    // The new events are read without a write transaction: the ingest thread writes this database,
    // and waiting for its lock would hold up the event loop. Hosts to mark pending are marked, and
    // the cursor saved, in one transaction (a crash loses no host: the events after the saved cursor
    // are read again); without marks the cursor is saved only now and then.
    if (this.#cursor === undefined) {
      this.#cursor = (db.prepare('SELECT last_event_id FROM drift_shadow_cursor WHERE id = 1').get() as { last_event_id: number } | undefined)?.last_event_id ?? 0;
      this.#savedCursor = this.#cursor;
    }
    let cursor = this.#cursor;
    const marks = new Set<string>();
    for (;;) {
      const events = drift.events({ afterId: cursor, limit: PAGE, types: TYPES });
      // Only hosts in shadow now: the others' events give the worker nothing to do.
      for (const event of events) if (event.asset !== undefined && engine.modeOf(event.asset) === 'shadow') marks.add(event.asset);
      if (events.length > 0) cursor = events[events.length - 1]!.id;
      if (events.length < PAGE) break;
    }
    if (marks.size > 0 || (cursor !== this.#savedCursor && Date.now() - this.#savedAt >= CURSOR_SAVE_MS)) {
      const now = new Date().toISOString();
      db.transaction(() => {
        const mark = db.prepare(`INSERT INTO drift_shadow_changes (asset, pending, updated_at) VALUES (?, 1, ?) ON CONFLICT (asset) DO UPDATE SET pending = 1`);
        for (const asset of marks) mark.run(asset, now);
        db.prepare('INSERT INTO drift_shadow_cursor (id, last_event_id) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET last_event_id = excluded.last_event_id').run(cursor);
      }).immediate();
      this.#savedCursor = cursor;
      this.#savedAt = Date.now();
    }
    // Only once the marks are written: a pass that failed reads the same events again.
    this.#cursor = cursor;
    const pending = (db.prepare('SELECT asset FROM drift_shadow_changes WHERE pending = 1 ORDER BY asset').all() as Array<{ asset: string }>).map((r) => r.asset);
    for (const asset of pending) {
      if (this.#stopped) return;
      if (engine.modeOf(asset) !== 'shadow') {
        this.#done(asset);
        continue;
      }
      try {
        await this.#adopt(asset);
        this.#done(asset);
      } catch (error) {
        if (hasErrorCode(error, 'E_ASSET_NOT_FOUND')) this.#done(asset);
        else this.#d.log?.('warn', `drift: the shadow change request of ${asset} failed; retrying on the next event: ${(error as Error).message}`, { asset });
      }
    }
  }

  /** Opens or updates `asset`'s shadow change request with the adoption of its open items. */
  async #adopt(asset: string): Promise<void> {
    const { actions, changes, db } = this.#d;
    const plan = await actions.plan(asset);
    if (plan.operations.length === 0) return;
    const sha = createHash('sha256').update(JSON.stringify(plan.operations)).digest('hex');
    const row = db.prepare('SELECT change_id, operations_sha FROM drift_shadow_changes WHERE asset = ?').get(asset) as { change_id: number | null; operations_sha: string | null } | undefined;
    const title = adoptionTitle(asset);
    // After a crash between opening a change request and recording it, the open one is found by its title.
    const active =
      row?.change_id != null
        ? changes.list({ state: 'active', author: SYSTEM_ACTOR.user, beforeId: row.change_id + 1, limit: 1 }).find((c) => c.id === row.change_id)
        : changes.list({ state: 'active', author: SYSTEM_ACTOR.user, limit: 1000 }).find((c) => c.title === title);
    if (active && row?.operations_sha === sha && row.change_id === active.id) return;
    const change = active ? await changes.addOperations(SYSTEM_ACTOR, active.id, plan.operations) : await actions.open(SYSTEM_ACTOR, plan, title);
    db.prepare('UPDATE drift_shadow_changes SET change_id = ?, operations_sha = ?, updated_at = ? WHERE asset = ?').run(change.id, sha, new Date().toISOString(), asset);
    this.#d.audit.append({ actor: SYSTEM_ACTOR.user, event: 'drift.adopted', subject: asset, details: { change: change.id, fields: plan.adopted, skipped: plan.skipped.map((s) => s.field), shadow: true, updated: active !== undefined } });
    this.#d.log?.('info', `drift: ${active ? 'updated' : 'opened'} shadow change request ${change.id} adopting ${plan.adopted.length} field(s) of ${asset}`, { asset, change: change.id });
  }

  #done(asset: string): void {
    this.#d.db.prepare('UPDATE drift_shadow_changes SET pending = 0 WHERE asset = ?').run(asset);
  }
}
