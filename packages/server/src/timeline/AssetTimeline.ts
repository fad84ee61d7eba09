import { createHash } from 'node:crypto';
import { compareHost, type DriftField, type FieldChange, type HostFacts } from '@estate/core';
import type Database from 'better-sqlite3';
import type { GitCliRepo, TreeChange } from '@estate/git';
import type { ChangeService, CommitProvenance } from '../changes/ChangeService.js';
import { isRepoRelativePath, MAX_SOURCE_FILE_BYTES } from '../drift/sourceFiles.js';
import type { DriftItem, DriftStore } from '../drift/DriftStore.js';
import { readHistoryPage, type HistoryEntry } from '../http/readHistoryPage.js';
import type { AssetVersion, CommitRecord, CommitRef, Store } from '../store/Store.js';
import type { FirstReports } from './FirstReports.js';
import { describeEvent, describeFields, describeProvenance, nameProvenance, redactContents, redactFieldChange, showTime, showValue } from './timelineText.js';

/** A commit of main as a declared entry names it. */
export interface TimelineCommit {
  seq: number;
  sha: string;
  subject: string;
  author: string;
  committedAt: string;
}

/** A change of the asset on main, with how it got there. */
export interface DeclaredEntry {
  at: string;
  source: 'declared';
  /**
   * `asset.added`, `asset.changed`, `asset.moved`, `asset.removed`; `source.changed`: a commit that
   * changed a `source:` file of the asset's managed files and not the asset (`path`: that file).
   */
  type: string;
  summary: string;
  commit: TimelineCommit;
  provenance: CommitProvenance;
  path: string;
  fromPath?: string;
  /** Field-level changes; file contents shown as `sha256:<hex>`. */
  fields: FieldChange[];
}

/** What hosts reported: a drift event, or a report milestone (`report.first`, `report.latest`). */
export interface ObservedEntry {
  at: string;
  source: 'observed';
  type: string;
  summary: string;
  eventId?: number;
  field?: string;
  itemId?: number;
  reportId?: string;
  /** The report's `seq`, for report milestones. */
  seq?: number;
  /** The commit of main the declared side was read at. */
  commit?: string;
  details?: Record<string, unknown>;
}

/** One entry of an asset's timeline. */
export type TimelineEntry = DeclaredEntry | ObservedEntry;

/** An open drift item and whether a Git change explains it. */
export interface OpenDrift {
  field: string;
  declared: unknown;
  observed: unknown;
  firstSeen: string;
  reportId: string;
  /** The commit that changed the declared value while the host kept the earlier one; absent: changed outside Git. */
  explainedBy?: { seq: number; sha: string; author: string; provenance: CommitProvenance };
}

/** A page of a timeline, newest first, with the verdict at the top. */
export interface TimelinePage {
  asset: string;
  /** One sentence: does the asset differ from Git, since when, and did that go through Git. */
  verdict: string;
  openDrift: OpenDrift[];
  items: TimelineEntry[];
  /** Where the next page starts; absent on the last page. */
  next?: TimelinePosition;
}

/**
 * Where a page ends in each source: commits below `commitBefore`, events below `eventBefore`
 * (0: none left), report milestones still to show (`milestones`: 1 first, 2 latest) at or before
 * `lastAtMs`, the time of the last entry shown.
 */
export interface TimelinePosition {
  commitBefore: number;
  eventBefore: number;
  lastAtMs: number;
  milestones: number;
}

/** What {@link AssetTimeline} reads. */
export interface AssetTimelineDeps {
  store: Store;
  /** The ingest database (drift events, host observations). */
  db: Database.Database;
  drift: DriftStore;
  firstReports: FirstReports;
  changes: ChangeService;
  /** The seq governance starts at (see ChangeService.provenance). */
  governedFromSeq: () => Promise<number>;
  /** The estate repository: the history of `source:` files of managed files. */
  repo: Pick<GitCliRepo, 'iterateLogPaths' | 'readBlobs' | 'blobSizes' | 'listTree'>;
}

const FIRST = 1;
const LATEST = 2;
/** Events read per query while filling a page. */
const EVENT_CHUNK = 200;
/** Versions of the asset searched for the change that explains a drift item, and for the `source:` files it declared. */
const EXPLAIN_VERSIONS = 200;
/** Shown instead of the digest of a `source:` file the drift engine does not read (over 1 MiB, or not a file). */
const UNREADABLE_SOURCE = '(not read: over 1 MiB or not a regular file)';

interface EventRow {
  id: number;
  at: string;
  type: string;
  field: string | null;
  item_id: number | null;
  report_id: string | null;
  commit_sha: string | null;
  details: string;
}

/** An entry with what the merge orders by. */
interface Ranked {
  entry: TimelineEntry;
  ms: number;
  /** Ties on time: events (0) before milestones (1) before commits (2), newest first. */
  rank: number;
  /** The entry's position in its source: commit seq, event id or milestone flag. */
  key: number;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * An asset's timeline (docs/drift.md, "The 3 a.m. answer"): its declared changes on main (with the
 * change request that made each, or none) and what its host reported (drift events, first and latest
 * report), merged newest first, and a verdict on whether its drift went through Git.
 */
export class AssetTimeline {
  readonly #d: AssetTimelineDeps;

  constructor(deps: AssetTimelineDeps) {
    this.#d = deps;
  }

  /** Whether anything is known of `id`: it was on main, or its host reported or has drift events. */
  async exists(id: string, host: string | undefined): Promise<boolean> {
    if ((await readHistoryPage(this.#d.store, id, { limit: 1 })).found) return true;
    if (host !== undefined && this.#observation(host)) return true;
    return this.#d.db.prepare('SELECT 1 FROM drift_events WHERE asset = ? LIMIT 1').get(id) !== undefined;
  }

  /**
   * One page of the timeline of asset `id` (whose host is `host`, for Hosts), newest first, from
   * `from` (a previous page's `next`), only entries at or after `since`.
   */
  async page(id: string, host: string | undefined, options: { limit: number; from?: TimelinePosition; since?: Date }): Promise<TimelinePage> {
    const { limit, from } = options;
    const sinceMs = options.since?.getTime() ?? -Infinity;
    // The asset's latest versions: what its managed files declare, for the declared entries and the verdict.
    const versions = await this.#d.store.assetVersions(id, { limit: EXPLAIN_VERSIONS });
    const declared = await this.#declared(id, versions, limit + 1, from?.commitBefore, sinceMs);
    const observed = this.#events(id, host, limit + 1, from?.eventBefore, sinceMs);
    const milestones = this.#milestones(host, from, sinceMs);
    const sources = [observed.items, milestones, declared.items];
    const heads = [0, 0, 0];
    const items: Ranked[] = [];
    while (items.length < limit) {
      let best = -1;
      for (let s = 0; s < sources.length; s++) {
        const candidate = sources[s]![heads[s]!];
        if (!candidate) continue;
        const current = best < 0 ? undefined : sources[best]![heads[best]!]!;
        if (!current || candidate.ms > current.ms || (candidate.ms === current.ms && candidate.rank < current.rank)) best = s;
      }
      if (best < 0) break;
      items.push(sources[best]![heads[best]!]!);
      heads[best]!++;
    }
    const left = (s: number): boolean => heads[s]! < sources[s]!.length;
    const more = left(0) || left(1) || left(2) || observed.more || declared.more;
    const lastTaken = (s: number): Ranked | undefined => sources[s]![heads[s]! - 1];
    const position = (s: number, start: number | undefined, sourceMore: boolean): number => {
      if (!left(s) && !sourceMore) return 0;
      return lastTaken(s)?.key ?? start ?? Number.MAX_SAFE_INTEGER;
    };
    const pending = sources[1]!.slice(heads[1]).reduce((flags, m) => flags | m.key, 0);
    const verdict = await this.#verdict(id, host, versions);
    return {
      asset: id,
      ...verdict,
      items: items.map((r) => r.entry),
      ...(more
        ? {
            next: {
              commitBefore: position(2, from?.commitBefore, declared.more),
              eventBefore: position(0, from?.eventBefore, observed.more),
              lastAtMs: items[items.length - 1]?.ms ?? from?.lastAtMs ?? Number.MAX_SAFE_INTEGER,
              milestones: pending,
            },
          }
        : {}),
    };
  }

  /**
   * Declared entries below `before`, newest first: the asset's changes, and the commits that changed
   * only a `source:` file of its managed files; up to `want` of each, stopping at the first older
   * than `sinceMs`. A commit that changed both is the asset's entry.
   */
  async #declared(id: string, versions: readonly AssetVersion[], want: number, before: number | undefined, sinceMs: number): Promise<{ items: Ranked[]; more: boolean }> {
    const governedFrom = await this.#d.governedFromSeq();
    const own = await this.#assetChanges(id, want, before, sinceMs, governedFrom);
    const sourced = await this.#sourceChanges(versions, want, before, sinceMs, governedFrom);
    if (sourced.items.length === 0) return { items: own.items, more: own.more || sourced.more };
    const seqs = new Set(own.items.map((item) => item.key));
    const items = [...own.items, ...sourced.items.filter((item) => !seqs.has(item.key))].sort((a, b) => b.key - a.key);
    return { items, more: own.more || sourced.more };
  }

  /** The asset's changes on main below `before`, newest first, up to `want`; stops at the first older than `sinceMs`. */
  async #assetChanges(id: string, want: number, before: number | undefined, sinceMs: number, governedFrom: number): Promise<{ items: Ranked[]; more: boolean }> {
    const items: Ranked[] = [];
    let next = before;
    while (items.length < want && next !== 0) {
      const page = await readHistoryPage(this.#d.store, id, { limit: want - items.length, ...(next !== undefined ? { before: next } : {}) });
      const dates = new Map((await this.#d.store.commitsBySeq(page.items.map((e) => e.commit.seq))).map((c) => [c.seq, c.committer.date]));
      for (const entry of page.items) {
        const ms = Date.parse(dates.get(entry.commit.seq) ?? entry.commit.author.date);
        if (ms < sinceMs) return { items, more: false };
        items.push({ entry: this.#declaredEntry(entry, ms, governedFrom), ms, rank: 2, key: entry.commit.seq });
      }
      next = page.next ?? 0;
    }
    return { items, more: next !== 0 };
  }

  /**
   * Commits on main below `before` that changed a `source:` file of the asset's managed files
   * while the asset declared it, newest first, up to `want`; stops at the first older than
   * `sinceMs`. The declared content of those files changed with them, with no new version of the
   * asset (`versions`: its latest, newest first). Main's first-parent chain is walked: a change
   * merged from a branch is the merge's.
   */
  async #sourceChanges(versions: readonly AssetVersion[], want: number, before: number | undefined, sinceMs: number, governedFrom: number): Promise<{ items: Ranked[]; more: boolean }> {
    const sources = new Set(versions.flatMap((version) => [...contentSources(version.document).keys()]));
    const head = sources.size === 0 ? undefined : await this.#d.store.head();
    const items: Ranked[] = [];
    if (head === undefined) return { items, more: false };
    for await (const logged of this.#d.repo.iterateLogPaths(head.sha, [...sources], { firstParent: true })) {
      const record = await this.#d.store.findCommit(logged.commit.sha);
      if (record === undefined || (before !== undefined && record.seq >= before)) continue;
      // Only the files the asset declared as sources at that commit.
      const live = versions.find((version) => version.from.seq <= record.seq && (version.to === undefined || version.to.seq > record.seq));
      const declared = live === undefined ? undefined : contentSources(live.document);
      const changes = declared === undefined ? [] : logged.changes.filter((change) => declared.has(change.path));
      if (changes.length === 0) continue;
      const ms = Date.parse(record.committer.date);
      if (ms < sinceMs) break;
      if (items.length === want) return { items, more: true };
      items.push({ entry: await this.#sourceEntry(record, changes, declared!, ms, governedFrom), ms, rank: 2, key: record.seq });
    }
    return { items, more: false };
  }

  async #sourceEntry(record: CommitRecord, changes: readonly TreeChange[], sources: Map<string, string[]>, ms: number, governedFrom: number): Promise<DeclaredEntry> {
    const commit: TimelineCommit = { seq: record.seq, sha: record.sha, subject: record.message.split('\n', 1)[0] ?? '', author: record.author.name, committedAt: new Date(ms).toISOString() };
    const provenance = this.#d.changes.provenance(commit.sha, commit.seq, governedFrom);
    const digests = await this.#digests(changes.flatMap((change) => [change.oldOid, change.newOid]).filter((oid): oid is string => oid !== undefined));
    const fields: FieldChange[] = [];
    const parts: string[] = [];
    for (const change of changes) {
      const old = change.oldOid === undefined ? undefined : digests.get(change.oldOid);
      const now = change.newOid === undefined ? undefined : digests.get(change.newOid);
      const paths = sources.get(change.path) ?? [];
      for (const path of paths) {
        const pointer = `/spec/files/${pointerToken(path)}/content`;
        fields.push(old === undefined ? { op: 'add', pointer, new: now } : now === undefined ? { op: 'remove', pointer, old } : { op: 'replace', pointer, old, new: now });
      }
      parts.push(`${change.path} (the content of ${paths.join(', ')}) ${old === undefined ? 'added' : now === undefined ? 'deleted' : `changed ${showValue(old)} → ${showValue(now)}`}`);
    }
    return {
      at: commit.committedAt,
      source: 'declared',
      type: 'source.changed',
      summary: `${parts.join(', ')} ${describeProvenance(provenance, commit)}`,
      commit,
      provenance,
      path: changes[0]!.path,
      fields,
    };
  }

  /**
   * `sha256:<hex>` of each blob, as the drift engine declares a `source:` file's content; a blob
   * it would not read (over {@link MAX_SOURCE_FILE_BYTES}) is {@link UNREADABLE_SOURCE}, unread.
   */
  async #digests(oids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(oids)];
    const sizes = await this.#d.repo.blobSizes(unique);
    const readable = unique.filter((_, i) => sizes[i] !== undefined && sizes[i]! <= MAX_SOURCE_FILE_BYTES);
    const blobs = await this.#d.repo.readBlobs(readable);
    const out = new Map(unique.map((oid) => [oid, UNREADABLE_SOURCE]));
    readable.forEach((oid, i) => out.set(oid, `sha256:${createHash('sha256').update(blobs[i]!).digest('hex')}`));
    return out;
  }

  #declaredEntry(entry: HistoryEntry, ms: number, governedFrom: number): DeclaredEntry {
    const commit: TimelineCommit = { seq: entry.commit.seq, sha: entry.commit.sha, subject: entry.commit.subject, author: entry.commit.author.name, committedAt: new Date(ms).toISOString() };
    const provenance = this.#d.changes.provenance(commit.sha, commit.seq, governedFrom);
    const fields = entry.fields.map(redactFieldChange);
    const how = describeProvenance(provenance, commit);
    const what =
      entry.change === 'changed'
        ? describeFields(fields)
        : entry.change === 'moved'
          ? `moved from ${entry.fromPath ?? '?'} to ${entry.path}${fields.length ? `, ${describeFields(fields)}` : ''}`
          : `${entry.change} (${entry.path})`;
    return {
      at: commit.committedAt,
      source: 'declared',
      type: `asset.${entry.change}`,
      summary: `${what} ${how}`,
      commit,
      provenance,
      path: entry.path,
      ...(entry.fromPath !== undefined ? { fromPath: entry.fromPath } : {}),
      fields,
    };
  }

  /** Drift events of the asset (or of its host) below `before`, newest first; those older than `sinceMs` left out. */
  #events(id: string, host: string | undefined, want: number, before: number | undefined, sinceMs: number): { items: Ranked[]; more: boolean } {
    // Two index walks of at most a chunk each, merged: `asset = ? OR host = ?` would read every event of the asset below the position and sort them.
    const columns = 'id, at, type, field, item_id, report_id, commit_sha, details';
    const statement = this.#d.db.prepare(
      `SELECT * FROM (SELECT ${columns} FROM drift_events WHERE asset = @asset AND id < @before ORDER BY id DESC LIMIT @limit)
       UNION SELECT * FROM (SELECT ${columns} FROM drift_events WHERE host = @host AND id < @before ORDER BY id DESC LIMIT @limit)
       ORDER BY id DESC LIMIT @limit`,
    );
    const items: Ranked[] = [];
    let next = before ?? Number.MAX_SAFE_INTEGER;
    while (items.length < want && next !== 0) {
      const rows = statement.all({ asset: id, host: host ?? null, before: next, limit: EVENT_CHUNK }) as EventRow[];
      for (const row of rows) {
        next = row.id;
        const ms = Date.parse(row.at);
        if (ms < sinceMs) continue;
        items.push({ entry: eventEntry(row, ms), ms, rank: 0, key: row.id });
        if (items.length === want) break;
      }
      if (rows.length < EVENT_CHUNK && items.length < want) next = 0;
    }
    // A full chunk read to its end may have been the last: the next page then finds nothing, which is cheap.
    return { items, more: next !== 0 && items.length === want };
  }

  /** The host's first and latest report, those still to show after `from`. */
  #milestones(host: string | undefined, from: TimelinePosition | undefined, sinceMs: number): Ranked[] {
    if (host === undefined) return [];
    const pending = from?.milestones ?? FIRST | LATEST;
    const maxMs = from?.lastAtMs ?? Infinity;
    const out: Ranked[] = [];
    const latest = this.#observation(host);
    const first = this.#d.firstReports.of(host);
    if (latest && pending & LATEST) {
      const ms = Date.parse(latest.collectedAt);
      const only = first?.reportId === latest.reportId;
      const summary = `${only ? 'first and latest' : 'latest'} report ${latest.reportId} (seq ${latest.seq}), collected ${showTime(latest.collectedAt)}, applied ${showTime(latest.observedAt)}`;
      out.push({ entry: { at: new Date(ms).toISOString(), source: 'observed', type: 'report.latest', summary, reportId: latest.reportId, seq: latest.seq }, ms, rank: 1, key: LATEST | (only ? FIRST : 0) });
    }
    if (first && pending & FIRST && first.reportId !== latest?.reportId) {
      const ms = Date.parse(first.collectedAt);
      out.push({ entry: { at: new Date(ms).toISOString(), source: 'observed', type: 'report.first', summary: `first report ${first.reportId} (seq ${first.seq})`, reportId: first.reportId, seq: first.seq }, ms, rank: 1, key: FIRST });
    }
    return out.filter((m) => m.ms >= sinceMs && m.ms <= maxMs).sort((a, b) => b.ms - a.ms);
  }

  #observation(host: string): { reportId: string; seq: number; collectedAt: string; observedAt: string; facts: string } | undefined {
    return this.#d.db.prepare('SELECT report_id AS reportId, seq, collected_at AS collectedAt, observed_at AS observedAt, facts FROM host_observations WHERE host = ?').get(host) as
      | { reportId: string; seq: number; collectedAt: string; observedAt: string; facts: string }
      | undefined;
  }

  /** The verdict sentence and the open drift items with their explanations. */
  async #verdict(id: string, host: string | undefined, versions: readonly AssetVersion[]): Promise<{ verdict: string; openDrift: OpenDrift[] }> {
    const governedFrom = await this.#d.governedFromSeq();
    const last = (await readHistoryPage(this.#d.store, id, { limit: 1 })).items[0];
    const observation = host === undefined ? undefined : this.#observation(host);
    const items = this.#d.drift.items({ assets: [id], state: 'open', afterId: 0, limit: 10_000 });
    const facts = observation ? (JSON.parse(observation.facts) as HostFacts) : undefined;
    const openDrift: OpenDrift[] = [];
    const explain = host !== undefined && facts && items.length > 0 ? await this.#explainer(id, host, facts, versions) : undefined;
    for (const item of items) {
      const commit = explain ? await explain(item) : undefined;
      const record = commit ? await this.#d.store.commitBySeq(commit.seq) : undefined;
      const explainedBy = commit && record ? { seq: commit.seq, sha: commit.sha, author: record.author.name } : undefined;
      openDrift.push({
        field: item.field,
        declared: item.declared,
        observed: item.observed,
        firstSeen: item.firstSeen,
        reportId: item.reportId,
        ...(explainedBy ? { explainedBy: { ...explainedBy, provenance: this.#d.changes.provenance(explainedBy.sha, explainedBy.seq, governedFrom) } } : {}),
      });
    }
    if (!last) {
      const reports = observation ? ` (latest report ${observation.reportId}, collected ${showTime(observation.collectedAt)})` : '';
      return { verdict: `${id} was never declared in Git${observation ? `; host ${host} reports as unmanaged${reports}` : ''}`, openDrift };
    }
    const parts: string[] = [];
    if (openDrift.length > 0) {
      const since = openDrift.map((d) => d.firstSeen).reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b));
      const fields = openDrift.length === 1 ? 'field' : 'fields';
      parts.push(`${id} differs from Git on ${openDrift.length} ${fields} since ${showTime(since)} (report ${observation?.reportId ?? items[items.length - 1]!.reportId})`);
    } else if (observation) {
      parts.push(`${id} matches Git (latest report ${observation.reportId}, collected ${showTime(observation.collectedAt)})`);
    } else if (host !== undefined) {
      parts.push(`${id} has no reports: its host never reported`);
    } else {
      parts.push(`${id} is not a host: nothing reports on it`);
    }
    // A later commit of a source: file of its managed files changed what is declared too.
    const sourced = last.change === 'removed' ? undefined : (await this.#sourceChanges(versions, 1, undefined, -Infinity, governedFrom)).items[0]?.entry;
    if (sourced !== undefined && sourced.source === 'declared' && sourced.commit.seq > last.commit.seq) {
      parts.push(`the last declared change was ${nameProvenance(sourced.provenance, sourced.commit)} (${sourced.path}) at ${showTime(sourced.commit.committedAt)}`);
    } else {
      const dates = await this.#d.store.commitsBySeq([last.commit.seq]);
      const commit = { sha: last.commit.sha, author: last.commit.author.name };
      const when = dates[0]?.committer.date ?? last.commit.author.date;
      const status = last.change === 'removed' ? 'it was removed from Git by' : 'the last declared change was';
      parts.push(`${status} ${nameProvenance(this.#d.changes.provenance(commit.sha, last.commit.seq, governedFrom), commit)} at ${showTime(when)}`);
    }
    if (openDrift.length > 0) parts.push(explanation(openDrift));
    return { verdict: parts.join('; '), openDrift };
  }

  /**
   * Finds, for an open item, the commit that explains it: the latest commit that changed the
   * field's declared value, when the host still matches the value before it (compared as the drift
   * engine does, with the latest facts) and has not matched the new value since (no resolution of
   * the field at or after that commit). A field the commit newly declared has no earlier value: it
   * counts when its drift opened on a report received before the commit was indexed (the drift
   * engine's re-comparison after the commit) or on the host's first report.
   */
  async #explainer(id: string, host: string, facts: HostFacts, versions: readonly AssetVersion[]): Promise<(item: DriftItem) => Promise<CommitRef | undefined>> {
    const compared = new Map<AssetVersion, Map<string, DriftField>>();
    const fieldsOf = (version: AssetVersion): Map<string, DriftField> => {
      let fields = compared.get(version);
      if (!fields) {
        const spec = (version.document['spec'] ?? {}) as Record<string, unknown>;
        fields = new Map(compareHost({ spec }, facts, { sha256 }).map((f) => [f.field, f]));
        compared.set(version, fields);
      }
      return fields;
    };
    const seqOf = new Map<string, number | undefined>();
    const commitSeq = async (sha: string | null): Promise<number | undefined> => {
      if (sha === null) return undefined;
      if (!seqOf.has(sha)) seqOf.set(sha, (await this.#d.store.findCommit(sha))?.seq);
      return seqOf.get(sha);
    };
    return async (item) => {
      /** The commit that last changed the declared value, and whether the host has the value from before it (undefined: nothing was declared before). */
      let change: { commit: CommitRef; hostHasBefore: boolean | undefined } | undefined;
      const managed = managedFileOfContent(item.field);
      if (managed !== undefined) {
        // A managed file's content: declared inline, or by a `source:` file that changes with no new version of the asset.
        const content = await this.#contentChange(versions, managed);
        const file = facts.files?.[managed];
        const observed = file !== undefined && 'sha256' in file ? `sha256:${file.sha256.toLowerCase()}` : undefined;
        if (content !== undefined) change = { commit: content.commit, hostHasBefore: content.before === undefined ? undefined : observed === content.before };
      }
      for (let i = 0; managed === undefined && i < versions.length; i++) {
        const newer = versions[i]!;
        const older = versions[i + 1];
        const now = fieldsOf(newer).get(item.field);
        if (older === undefined || older.to?.seq !== newer.from.seq) {
          // The asset was added here (a gap before it, or its first version): nothing was declared before.
          // The oldest of a full read may not be its first version: then the change is further back, unknown.
          const first = older !== undefined || versions.length < EXPLAIN_VERSIONS;
          if (first && now !== undefined) change = { commit: newer.from, hostHasBefore: undefined };
          break;
        }
        const before = fieldsOf(older).get(item.field);
        if (JSON.stringify(now?.declared) !== JSON.stringify(before?.declared)) {
          change = { commit: newer.from, hostHasBefore: before === undefined ? undefined : !before.differs };
          break;
        }
      }
      if (!change) return undefined;
      const opened = this.#d.db.prepare(`SELECT id, report_id FROM drift_events WHERE item_id = ? AND type = 'drift.opened' ORDER BY id LIMIT 1`).get(item.id) as
        | { id: number; report_id: string | null }
        | undefined;
      if (!opened) return undefined;
      if (change.hostHasBefore === undefined ? !(await this.#openedBefore(opened.report_id, host, change.commit)) : !change.hostHasBefore) return undefined;
      const resolved = this.#d.db
        .prepare(`SELECT commit_sha FROM drift_events WHERE asset = ? AND field = ? AND type = 'drift.resolved' AND id < ? ORDER BY id DESC LIMIT 1`)
        .get(id, item.field, opened.id) as { commit_sha: string | null } | undefined;
      const resolvedAt = resolved ? await commitSeq(resolved.commit_sha) : undefined;
      if (resolvedAt !== undefined && resolvedAt >= change.commit.seq) return undefined;
      return change.commit;
    };
  }

  /**
   * The commit that last changed the declared content of the managed file `path` (versions newest
   * first), with that content's digest before it (`sha256:<hex>`; undefined when nothing was
   * declared before; {@link UNREADABLE_SOURCE} or `unknown` when it cannot be told). A change is a
   * version of the asset that added the file or changed its inline content or `source:` path, or,
   * while a `source:` is declared, a commit on main that changed that file.
   */
  async #contentChange(versions: readonly AssetVersion[], path: string): Promise<{ commit: CommitRef; before: string | undefined } | undefined> {
    const current = versions[0] === undefined ? undefined : contentDeclaration(versions[0].document, path);
    if (current === undefined) return undefined;
    // The first version of the run of contiguous versions that declare the content as now.
    let since = 0;
    while (versions[since + 1]?.to?.seq === versions[since]!.from.seq && sameDeclaration(contentDeclaration(versions[since + 1]!.document, path), current)) since++;
    const from = versions[since]!.from;
    if ('source' in current) {
      const changed = await this.#lastSourceCommit(current.source);
      if (changed !== undefined && changed.commit.seq > from.seq) {
        return { commit: changed.commit, before: changed.oldOid === undefined ? undefined : (await this.#digests([changed.oldOid])).get(changed.oldOid) };
      }
    }
    const older = versions[since + 1];
    if (older === undefined || older.to?.seq !== from.seq) {
      // Declared since the asset was added (a gap before it, or its first version); the oldest of a full read may not be its first version.
      return older !== undefined || versions.length < EXPLAIN_VERSIONS ? { commit: from, before: undefined } : undefined;
    }
    const previous = contentDeclaration(older.document, path);
    if (previous === undefined) return { commit: from, before: undefined };
    if ('content' in previous) return { commit: from, before: `sha256:${sha256(previous.content)}` };
    // The previous source file as it was just before this version.
    const parent = await this.#d.store.commitBySeq(from.seq - 1);
    const entry = parent === undefined ? undefined : (await this.#d.repo.listTree(parent.sha, [previous.source])).find((e) => e.path === previous.source);
    return { commit: from, before: entry === undefined ? 'unknown' : (await this.#digests([entry.oid])).get(entry.oid) };
  }

  /** The latest commit on main's first-parent chain, up to its indexed head, that changed the repo file `source`, with the file's blob before it. */
  async #lastSourceCommit(source: string): Promise<{ commit: CommitRef; oldOid: string | undefined } | undefined> {
    const head = await this.#d.store.head();
    if (!head) return undefined;
    for await (const entry of this.#d.repo.iterateLogPaths(head.sha, [source], { limit: 1, firstParent: true })) {
      const record = await this.#d.store.findCommit(entry.commit.sha);
      if (!record) return undefined;
      return { commit: { seq: record.seq, sha: record.sha }, oldOid: entry.changes.find((change) => change.path === source)?.oldOid };
    }
    return undefined;
  }

  /** Whether `reportId` is the host's first report, or was received before `commit` was indexed. */
  async #openedBefore(reportId: string | null, host: string, commit: CommitRef): Promise<boolean> {
    if (reportId === null) return false;
    if (this.#d.firstReports.of(host)?.reportId === reportId) return true;
    const received = this.#d.db.prepare('SELECT received_at FROM ingest_reports WHERE report_id = ?').get(reportId) as { received_at: number } | undefined;
    const indexedAt = (await this.#d.store.commitBySeq(commit.seq))?.indexedAt;
    return received !== undefined && indexedAt !== undefined && received.received_at < Date.parse(indexedAt);
  }
}

/** A JSON pointer token: `~` as `~0`, `/` as `~1`. */
function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** The managed file whose content a drift field is (`/spec/files/~1etc~1motd/content` → `/etc/motd`). */
function managedFileOfContent(field: string): string | undefined {
  const token = /^\/spec\/files\/([^/]+)\/content$/.exec(field)?.[1];
  return token?.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** How a document declares the content of its managed file `path`: inline (which wins), by a repo-relative `source:`, or not (undefined). */
function contentDeclaration(document: Record<string, unknown>, path: string): { content: string } | { source: string } | undefined {
  const files = (document['spec'] as Record<string, unknown> | undefined)?.['files'];
  if (!Array.isArray(files)) return undefined;
  const file = (files as unknown[]).find((f): f is Record<string, unknown> => typeof f === 'object' && f !== null && (f as Record<string, unknown>)['path'] === path);
  if (file === undefined) return undefined;
  if (typeof file['content'] === 'string') return { content: file['content'] };
  if (typeof file['source'] === 'string' && isRepoRelativePath(file['source'])) return { source: file['source'] };
  return undefined;
}

function sameDeclaration(a: ReturnType<typeof contentDeclaration>, b: ReturnType<typeof contentDeclaration>): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The managed files of `document` whose content is a repo-relative `source:` file: their paths on the host, by source. */
function contentSources(document: Record<string, unknown>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const files = (document['spec'] as Record<string, unknown> | undefined)?.['files'];
  if (!Array.isArray(files)) return out;
  for (const file of files as unknown[]) {
    if (typeof file !== 'object' || file === null || typeof (file as Record<string, unknown>)['path'] !== 'string') continue;
    const path = (file as Record<string, string>)['path']!;
    const declared = contentDeclaration(document, path);
    if (declared !== undefined && 'source' in declared) out.set(declared.source, [...(out.get(declared.source) ?? []), path]);
  }
  return out;
}

/** The last part of the verdict: which open fields a Git change explains. */
function explanation(open: readonly OpenDrift[]): string {
  const explained = open.filter((d) => d.explainedBy);
  const outside = open.filter((d) => !d.explainedBy);
  const by = [...new Map(explained.map(({ explainedBy: e }) => [e!.sha, nameProvenance(e!.provenance, e!)])).values()];
  if (explained.length === 0) return 'the drift is not explained by any Git change: it changed outside Git';
  if (outside.length === 0) return `the drift is explained by Git: ${by.join(', ')} changed the declared value and the host has not applied it yet`;
  return `${explained.length} of ${open.length} fields are explained by Git (${by.join(', ')}, not applied on the host yet); ${outside.map((d) => d.field).join(', ')} changed outside Git`;
}

function eventEntry(row: EventRow, ms: number): ObservedEntry {
  const details = redactContents(JSON.parse(row.details)) as Record<string, unknown>;
  const event = { type: row.type, details, ...(row.field === null ? {} : { field: row.field }), ...(row.report_id === null ? {} : { reportId: row.report_id }) };
  return {
    at: new Date(ms).toISOString(),
    source: 'observed',
    type: row.type,
    summary: describeEvent(event),
    eventId: row.id,
    ...(row.field === null ? {} : { field: row.field }),
    ...(row.item_id === null ? {} : { itemId: row.item_id }),
    ...(row.report_id === null ? {} : { reportId: row.report_id }),
    ...(row.commit_sha === null ? {} : { commit: row.commit_sha }),
    details,
  };
}
