import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import {
  classifyEstatePath,
  deepEqual,
  EstateTracker,
  MemoryParseCache,
  type Asset,
  type Diagnostic,
  type EstateDelta,
  type EstateFileRef,
  type FileChange,
  type ParseCache,
} from '@estate/core';
import { ESTATE_PREFIXES, type CommitInfo, type GitCliRepo, type TreeChange } from '@estate/git';
import type { IndexStatus } from '../http/IndexStatus.js';
import type { AssetWrite, CommitBatch, CommitRef, EstateModel, Store } from '../store/Store.js';
import { toAssetWrite } from './assetWrite.js';
import { CoalescedRun } from './CoalescedRun.js';

/** Options of {@link Indexer}. */
export interface IndexerOptions {
  /** The ref to follow; default `refs/heads/main`. */
  branch?: string;
  /** Period of the safety-net check of the ref, besides watching it; default 1000 ms. */
  pollMs?: number;
  cache?: ParseCache;
  /** Progress of a long run (commits done, commits to do). */
  onProgress?: (done: number, total: number) => void;
  /** Called after each transaction that added commits to the store, with them (the config center follows it). */
  onIndexed?: (commits: IndexedCommit[]) => void;
  /** Events worth a log line. */
  log?: (level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>) => void;
}

/** A commit the indexer stored, as {@link IndexerOptions.onIndexed} reports it. */
export interface IndexedCommit {
  sha: string;
  seq: number;
  /** Its first parent, if any. */
  parent: string | undefined;
  authorName: string;
  committerDate: string;
  /** What it changed against the commit indexed before it; undefined when not known (the first commit indexed). */
  changes: readonly TreeChange[] | undefined;
}

/**
 * Follows a branch of the estate repo and writes the commits of its first-parent chain into the
 * store: only the paths a commit changed are read and checked (the tracker keeps the estate of
 * the indexed head in memory). Commits are stored whole, several to a transaction while catching
 * up, so a crash leaves the store at a commit boundary and the next run resumes from there. When
 * the branch stops passing through the indexed head (a force push, a reset), the index goes back
 * to the newest commit the branch still passes through and goes forward from there: the store
 * always describes the branch's first-parent history as it is now, as a reindex would.
 */
export class Indexer {
  readonly #repo: GitCliRepo;
  readonly #store: Store;
  readonly #branch: string;
  readonly #pollMs: number;
  readonly #cache: ParseCache;
  readonly #options: IndexerOptions;
  /** The estate at the store's head; undefined until first needed. */
  #tracker: EstateTracker | undefined;
  #trackerAt: string | undefined;
  /** Diagnostics per path at the head, to count the head's errors without sorting them all. */
  #errorsByPath = new Map<string, number>();
  /** Assets written by prepared commits not yet in the store (latest write per id). */
  #pendingAssets = new Map<string, AssetWrite | null>();
  #headErrors = 0;
  #state: IndexStatus = { state: 'starting', commitsIndexed: 0, lagSeconds: 0, headErrors: 0 };
  #behindSince: number | undefined;
  readonly #run = new CoalescedRun(() => this.#syncOnce(), () => !this.#stopped);
  #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(repo: GitCliRepo, store: Store, options: IndexerOptions = {}) {
    this.#repo = repo;
    this.#store = store;
    this.#branch = options.branch ?? 'refs/heads/main';
    this.#pollMs = options.pollMs ?? 1000;
    this.#cache = options.cache ?? new MemoryParseCache();
    this.#options = options;
  }

  /** The current state (a copy). */
  status(): IndexStatus {
    const lagSeconds = this.#behindSince === undefined ? 0 : (Date.now() - this.#behindSince) / 1000;
    return { ...this.#state, lagSeconds };
  }

  /**
   * Indexes up to where the branch points now. Calls while a run is going join it and cause one
   * more run after it, so a move during a run is never missed.
   */
  sync(): Promise<void> {
    return this.#run.run();
  }

  /** Starts following the branch: a file watch on its ref for speed, a poll as a safety net. */
  start(): void {
    const kick = (): void => {
      this.sync().catch(() => undefined); // recorded in the state and logged by #syncOnce
    };
    for (const dir of [this.#repo.gitDir, join(this.#repo.gitDir, 'refs', 'heads')]) {
      try {
        const watcher = watch(dir, { persistent: false }, kick);
        watcher.on('error', () => undefined);
        this.#watchers.push(watcher);
      } catch {
        // The poll covers what cannot be watched.
      }
    }
    // The poll reads the ref's files rather than asking git each time: a run only when they
    // changed, or when the index is not yet where it should be (a failed or unfinished run).
    let seen = '';
    const poll = (): void => {
      const now = this.#refFingerprint();
      if (now === seen && this.#state.state === 'ready' && this.#state.lastError === undefined) return;
      seen = now;
      kick();
    };
    this.#timer = setInterval(poll, this.#pollMs);
    this.#timer.unref();
    poll();
  }

  /** What changes when the branch moves: its loose ref file and the packed-refs file. */
  #refFingerprint(): string {
    const read = (path: string): string => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return '';
      }
    };
    const packed = statSync(join(this.#repo.gitDir, 'packed-refs'), { throwIfNoEntry: false });
    return `${read(join(this.#repo.gitDir, this.#branch))}|${packed ? `${packed.mtimeMs}:${packed.size}` : ''}`;
  }

  /** Stops following and waits for a run in progress to finish its current commit. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
    if (this.#timer) clearInterval(this.#timer);
    await this.#run.idle();
  }

  async #syncOnce(): Promise<void> {
    try {
      await this.#indexToBranch();
      delete this.#state.lastError;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#state.lastError = message;
      this.#options.log?.('error', 'indexing failed; retrying on the next check', { error: message });
      throw err;
    }
  }

  async #indexToBranch(): Promise<void> {
    const target = await this.#repo.tryReadRef(this.#branch);
    let head = await this.#store.head();
    if (target === undefined && head && this.#state.mainSha !== undefined) {
      this.#options.log?.('warn', `${this.#branch} no longer exists in ${this.#repo.gitDir}; serving the last indexed commit ${head.sha} until it is back`);
    }
    this.#state.mainSha = target;
    if (head) this.#state.head = head;
    if (target === undefined || head?.sha === target) {
      this.#behindSince = undefined;
      if (head) {
        // After a restart the head's error count comes from its record and reads are answered at
        // once; the estate is loaded into memory in this run (state `indexing` meanwhile), so
        // that the next commit is indexed in milliseconds, not after a full load.
        if (this.#state.state === 'starting') this.#state.headErrors = (await this.#store.commitBySeq(head.seq))?.errors ?? 0;
        if (target !== undefined && this.#trackerAt !== head.sha) {
          this.#state.state = 'indexing';
          await this.#restoreTracker(head.sha);
        }
        this.#state.state = 'ready';
      }
      return;
    }
    this.#behindSince ??= Date.now();
    this.#state.state = 'indexing';
    let total = head ? await this.#countOnChain(target, head.sha) : undefined;
    if (head && total === undefined) {
      // Main no longer passes through the indexed head on its first-parent chain (a force push, a
      // reset, a merge of main into an old branch pushed as main): go back to the newest indexed
      // commit main still passes through, and index forward from there.
      const keep = await this.#lastSharedCommit(target);
      this.#options.log?.('warn', `${this.#branch} moved off the indexed history (${head.sha} → ${target}); re-indexing from ${keep ? keep.sha : 'the start'}`);
      await this.#store.truncateAfter(keep?.seq ?? 0);
      this.#forgetTracker();
      head = keep;
      if (head) this.#state.head = head;
      else delete this.#state.head;
      total = undefined;
    }
    if (head && this.#trackerAt !== head.sha) await this.#restoreTracker(head.sha);
    total ??= await this.#repo.countFirstParent(target, head?.sha);
    let done = 0;
    // Catching up on many commits, several share one transaction (one disk sync); each is
    // still whole, so a crash leaves the store at a commit boundary.
    let pending: CommitBatch[] = [];
    let pendingChanges: Array<readonly TreeChange[] | undefined> = [];
    let pendingSince = 0;
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const batches = pending;
      const changes = pendingChanges;
      pending = [];
      pendingChanges = [];
      this.#pendingAssets.clear();
      const seqs = await this.#store.appendCommits(batches);
      const last = batches.at(-1)!.commit;
      this.#state.head = { seq: seqs.at(-1)!, sha: last.sha };
      this.#state.headErrors = last.errors;
      this.#state.commitsIndexed += batches.length;
      done += batches.length;
      this.#options.onProgress?.(done, total);
      this.#options.onIndexed?.(
        batches.map(({ commit }, i) => ({
          sha: commit.sha,
          seq: seqs[i]!,
          parent: commit.parents[0],
          authorName: commit.author.name,
          committerDate: commit.committer.date,
          changes: changes[i],
        })),
      );
    };
    try {
      // One commit on top of the head (the usual push or merge) is read without starting git.
      const entries = total === 1 && head ? [await this.#repo.readCommitEntry(target)] : this.#repo.iterateFirstParentChain(target, head?.sha);
      for await (const entry of entries) {
        if (this.#stopped) break;
        const previous = this.#trackerAt;
        const changes =
          previous === undefined || entry.commit.parents[0] === previous ? entry.changes : await this.#repo.diffTrees(previous, entry.commit.sha);
        if (pending.length === 0) pendingSince = performance.now();
        pendingChanges.push(previous === undefined ? undefined : changes);
        pending.push(await this.#prepareCommit(entry.commit, changes));
        if (pending.length >= GROUP_COMMITS || performance.now() - pendingSince >= GROUP_MS) await flush();
      }
      await flush();
    } catch (err) {
      // The tracker may be ahead of the store now: forget it, the next run restores it.
      this.#pendingAssets.clear();
      this.#forgetTracker();
      throw err;
    }
    if (this.#stopped) return;
    this.#behindSince = undefined;
    this.#state.state = 'ready';
  }

  /**
   * The number of commits from `head` (excluded) to `target` along target's first-parent chain;
   * undefined when that chain does not pass through `head`.
   */
  async #countOnChain(target: string, head: string): Promise<number | undefined> {
    // The common case, one new commit on top of the head, costs no git process.
    if ((await this.#repo.readParents(target))?.[0] === head) return 1;
    if ((await this.#repo.tryResolveCommit(head)) === undefined || !(await this.#repo.isAncestor(head, target))) return undefined;
    const count = await this.#repo.countFirstParent(target, head);
    return (await this.#repo.tryResolveCommit(`${target}~${count}`)) === head ? count : undefined;
  }

  /** The newest indexed commit on target's first-parent chain. */
  async #lastSharedCommit(target: string): Promise<CommitRef | undefined> {
    const chain = new Set(await this.#repo.firstParentShas(target));
    for (let before: number | undefined; ; ) {
      const page = await this.#store.listCommits({ limit: 500, ...(before !== undefined ? { beforeSeq: before } : {}) });
      const shared = page.find((c) => chain.has(c.sha));
      if (shared) return { seq: shared.seq, sha: shared.sha };
      if (page.length < 500) return undefined;
      before = page.at(-1)!.seq;
    }
  }

  /** Loads the estate at an indexed commit into memory (after a restart), writing nothing. */
  async #restoreTracker(sha: string): Promise<void> {
    this.#forgetTracker();
    const tracker = new EstateTracker({ cache: this.#cache });
    await tracker.reset(await this.#filesAt(sha), this.#readFiles);
    this.#tracker = tracker;
    this.#trackerAt = sha;
    for (const d of this.#tracker.diagnostics()) this.#countError(d.path, 1);
    this.#state.headErrors = this.#headErrors;
  }

  /** Applies one commit's changes to the tracker and turns the delta into what the store keeps. */
  async #prepareCommit(commit: CommitInfo, changes: TreeChange[]): Promise<CommitBatch> {
    let delta: EstateDelta;
    const first = !this.#tracker;
    if (!this.#tracker) {
      this.#forgetTracker();
      this.#tracker = new EstateTracker({ cache: this.#cache });
      delta = await this.#tracker.reset(await this.#filesAt(commit.sha), this.#readFiles);
    } else {
      const relevant: FileChange[] = [];
      for (const change of changes) {
        if (classifyEstatePath(change.path) === undefined) continue;
        relevant.push(change.newOid ? { path: change.path, file: { path: change.path, blobId: change.newOid } } : { path: change.path });
      }
      delta = relevant.length ? await this.#tracker.apply(relevant, this.#readFiles) : emptyDelta();
    }
    const tracker = this.#tracker;
    const assets = new Map<string, AssetWrite | null>();
    const head = this.#state.head;
    for (const [id, asset] of delta.assets) {
      if (asset && !first && !delta.configChanged && (await this.#unchanged(id, asset, head?.seq))) continue;
      const write = asset ? toAssetWrite(asset, tracker.referencesOf(id)) : null;
      assets.set(id, write);
      this.#pendingAssets.set(id, write);
    }
    for (const [path, list] of delta.diagnostics) this.#setPathErrors(path, list);
    this.#trackerAt = commit.sha;
    return {
      commit: {
        sha: commit.sha,
        parents: commit.parents,
        author: { name: commit.authorName, email: commit.authorEmail, date: commit.authorDate },
        committer: { name: commit.committerName, email: commit.committerEmail, date: commit.committerDate },
        message: commit.body ? `${commit.subject}\n\n${commit.body}` : commit.subject,
        errors: this.#headErrors,
      },
      assets,
      diagnostics: delta.diagnostics,
      ...(delta.configChanged || first ? { model: this.#model() } : {}),
    };
  }

  /**
   * True when the stored version reads the same: a file rewritten for one of its documents
   * rewrites none of the others. (Its references are the same too, as the kinds did not change.)
   */
  async #unchanged(id: string, asset: Asset, seq: number | undefined): Promise<boolean> {
    const last = this.#pendingAssets.has(id) ? this.#pendingAssets.get(id) : seq === undefined ? undefined : await this.#store.getAsset(id, seq);
    return last != null && last.path === asset.path && deepEqual(last.document, asset.document.value);
  }

  #model(): EstateModel {
    const tracker = this.#tracker!;
    const kinds = tracker.kinds.list().map((k) => ({
      name: k.name,
      idPrefix: k.idPrefix,
      ...(k.description !== undefined ? { description: k.description } : {}),
      builtin: k.builtin,
      source: k.source,
      specSchema: k.specSchema,
      references: k.references.map((r) => ({ field: r.pattern.join('.'), targets: r.targets, relation: r.relation, inverse: r.inverse })),
      unique: k.unique.map((u) => u.pattern.join('.')),
    }));
    return { kinds, config: tracker.config ?? null };
  }

  #forgetTracker(): void {
    this.#tracker = undefined;
    this.#trackerAt = undefined;
    this.#errorsByPath.clear();
    this.#headErrors = 0;
  }

  #setPathErrors(path: string, list: Diagnostic[]): void {
    this.#countError(path, list.length - (this.#errorsByPath.get(path) ?? 0));
  }

  #countError(path: string, change: number): void {
    const count = (this.#errorsByPath.get(path) ?? 0) + change;
    if (count === 0) this.#errorsByPath.delete(path);
    else this.#errorsByPath.set(path, count);
    this.#headErrors += change;
  }

  async #filesAt(sha: string): Promise<EstateFileRef[]> {
    const entries = await this.#repo.listTree(sha, ESTATE_PREFIXES);
    return entries.map((e) => ({ path: e.path, blobId: e.oid, ...(e.size !== undefined ? { size: e.size } : {}) }));
  }

  readonly #readFiles = (files: EstateFileRef[]): Promise<Uint8Array[]> => this.#repo.readBlobs(files.map((f) => f.blobId));
}

/** Commits per transaction while catching up, at most… */
const GROUP_COMMITS = 200;
/** …and milliseconds a prepared commit waits for its transaction, at most. */
const GROUP_MS = 250;

function emptyDelta(): EstateDelta {
  return { assets: new Map(), diagnostics: new Map(), configChanged: false };
}
