import { diffValues, type FieldChange } from '@estate/core';
import type { AssetVersion, CommitRef, Signature, Store } from '../store/Store.js';

/** One change of an asset's history, in the shape `estate history --format json` prints. */
export interface HistoryEntry {
  commit: { seq: number; sha: string; author: Signature; subject: string };
  change: 'added' | 'changed' | 'moved' | 'removed';
  /** The file after the change (the last file, for `removed`). */
  path: string;
  /** The file before a move. */
  fromPath?: string;
  fields: FieldChange[];
}

/** A page of history, newest first; `next` is the seq to continue below. */
export interface HistoryPage {
  items: HistoryEntry[];
  next?: number;
  /** False when the asset never existed on main (below `before`, when given). */
  found: boolean;
}

type PendingEntry = Omit<HistoryEntry, 'commit'> & { at: CommitRef };

/**
 * Reads an asset's history from its stored versions: a version that follows the previous one
 * without a gap is `changed` (or `moved` when its file changed) with the field changes between
 * the two documents; one that follows a gap, or none, is `added`; a version that ended without a
 * successor yields `removed` at the commit that ended it. Versions that differ only in
 * formatting are left out, as `estate history` does. Every entry has its own commit, and entries
 * are strictly ordered by commit, so `next` (the seq of the last entry) is an exact cursor. One
 * version more than a page needs is read, to diff the oldest version of the page.
 */
export async function readHistoryPage(store: Store, id: string, options: { limit: number; before?: number }): Promise<HistoryPage> {
  const { limit, before } = options;
  const versions = await store.assetVersions(id, { limit: limit + 1, ...(before !== undefined ? { beforeSeq: before } : {}) });
  const pending: PendingEntry[] = [];
  for (let i = 0; i < versions.length; i++) {
    const version = versions[i]!;
    const newer: AssetVersion | undefined = versions[i - 1];
    const older: AssetVersion | undefined = versions[i + 1];
    const ended = version.to;
    // Entries at or above `before` were on an earlier page; a successor starting where this
    // version ended means the asset changed there, not that it was removed.
    if (ended && (before === undefined || ended.seq < before) && newer?.from.seq !== ended.seq) {
      pending.push({ at: ended, change: 'removed', path: version.path, fields: [] });
    }
    if (i === limit) break;
    if (older && older.to?.seq === version.from.seq) {
      const fields = diffValues(older.document, version.document);
      if (older.path !== version.path) pending.push({ at: version.from, change: 'moved', path: version.path, fromPath: older.path, fields });
      else if (fields.length) pending.push({ at: version.from, change: 'changed', path: version.path, fields });
    } else {
      pending.push({ at: version.from, change: 'added', path: version.path, fields: [] });
    }
  }
  const page = pending.slice(0, limit);
  // Continue below the last entry; when versions ran out first (some were formatting only),
  // below the oldest version whose changes are all on this page.
  let next: number | undefined;
  if (pending.length > limit) next = page[page.length - 1]!.at.seq;
  else if (versions.length > limit) next = Math.min(page[page.length - 1]?.at.seq ?? Infinity, versions[limit - 1]!.from.seq);
  // The page's commits in one read, not one per entry.
  const commits = new Map<number, HistoryEntry['commit']>();
  for (const record of await store.commitsBySeq([...new Set(page.map((entry) => entry.at.seq))])) {
    commits.set(record.seq, { seq: record.seq, sha: record.sha, author: record.author, subject: record.message.split('\n', 1)[0] ?? '' });
  }
  const items = page.map(({ at, ...entry }) => {
    const commit = commits.get(at.seq);
    if (!commit) throw new Error(`the index has asset versions at commit seq ${at.seq} but no such commit`);
    return { commit, ...entry };
  });
  return { items, ...(next !== undefined ? { next } : {}), found: versions.length > 0 };
}
