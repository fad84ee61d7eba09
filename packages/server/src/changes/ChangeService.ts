import { randomBytes } from 'node:crypto';
import {
  ConflictError,
  type EstateError,
  InputError,
  NotAllowedError,
  NotFoundError,
  activeFreezes,
  tallyApprovals,
  ValidationError,
  type ActiveFreeze,
  type Estate,
} from '@estate/core';
import { commitFiles, commitTree, deleteRef, revertTree, runGit, updateRef, type GitCliRepo, type GitIdentity } from '@estate/git';
import type { AuditLog } from '../audit/AuditLog.js';
import type { AuditEvent } from '../audit/types.js';
import type { Role } from '../store/Store.js';
import type { WebhookDispatcher } from '../webhooks/WebhookDispatcher.js';
import { applyOperations, type ChangeOperation } from './applyOperations.js';
import type { RevisionReader } from './RevisionReader.js';
import { describeApprovers, runChecks, type CheckOutcome } from './runChecks.js';
import type { SqliteChangeStore } from './SqliteChangeStore.js';
import type { ApprovalRecord, ApprovalStatus, ChangeChecks, ChangeQuery, ChangeRecord, ChangeSource, ReviewRecord } from './types.js';

/** Who acts: the user behind a token. */
export interface Actor {
  user: string;
  role: Role;
  groups: string[];
}

/** The server acting on its own (auto-merge, recovery). */
export const SYSTEM_ACTOR: Actor = { user: 'system', role: 'admin', groups: [] };

/** A change request as the API shows it: the record, its approvals and what stands between it and main. */
export interface ChangeView extends Omit<ChangeRecord, 'mergingSha' | 'checks'> {
  /** The checks, without the items they judged (the diff shows those). */
  checks?: Omit<ChangeChecks, 'items'>;
  /** Each approval requirement with who approved and how many are missing. */
  requiredApprovals: Array<{ id: string; risk: string; count: number; approvers: { role: string; groups: string[] }; reason: string; given: string[]; missing: number }>;
  approvals: ApprovalRecord[];
  /** Approvals given to an older revision: they no longer count. */
  staleApprovals: ApprovalRecord[];
  rejections: ApprovalRecord[];
  /** What blocks a merge now (empty: it may merge). */
  blockers: Array<{ code: string; message: string }>;
  review?: ReviewRecord & { overdue: boolean };
}

/** The body of `POST /api/v1/changes`. */
export interface CreateChangeInput {
  title: string;
  description?: string;
  /** The commit of main to start from (default: main's head). */
  base?: string;
  operations: ChangeOperation[];
  /** Run the checks on the result and create nothing. */
  dryRun?: boolean;
}

/** Options of {@link ChangeService}. */
export interface ChangeServiceOptions {
  repo: GitCliRepo;
  changes: SqliteChangeStore;
  audit: AuditLog;
  webhooks?: WebhookDispatcher;
  /** Hears every event the webhooks are sent, as it happens (the live event stream). */
  onEvent?: (event: { type: string; data: Record<string, unknown> }) => void;
  reader: RevisionReader;
  /** Resolves once the indexer has indexed `sha` (or after a bounded wait). */
  waitForIndexed: (sha: string) => Promise<void>;
  /** The server's base URL, for links in messages. */
  publicUrl: () => string;
  now?: () => Date;
  log?: (level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>) => void;
}

const MAIN = 'refs/heads/main';
/** How long an approver has to acknowledge an emergency change. */
export const REVIEW_DUE_MS = 24 * 3600_000;
const MAX_TITLE = 200;
const MAX_DESCRIPTION = 20_000;
const MAX_REASON = 1000;
/** How long main must stay put before open change requests are checked against it again. */
const RECHECK_QUIET_MS = 1_000;
/** Merge attempts when main keeps moving under a merge (each re-runs the checks). */
const MERGE_ATTEMPTS = 5;

/**
 * The change-request workflow (docs/changes.md): opening a CR from operations, a push or a
 * revert; checks; approvals under the policies of main; freezes; the merge onto main with
 * compare-and-swap; the emergency path and its post-merge review. Every event is written to the
 * audit trail in the same transaction as the state it changes, and announced to webhooks.
 */
export class ChangeService {
  readonly #o: ChangeServiceOptions;
  readonly #now: () => Date;
  /** Merges run one at a time in this process; the CAS on main guards against other writers. */
  #mergeQueue: Promise<unknown> = Promise.resolve();
  /** Per-CR queue: updates, checks and merges of one CR never interleave. */
  readonly #locks = new Map<number, Promise<unknown>>();
  #lastCheckedMain: string | undefined;
  /** Where main moved last, and when: rechecks wait for it to stay put. */
  #movedTo: string | undefined;
  #movedAt = 0;
  #recheckRunning = false;
  /** Merges queued or running, for {@link ChangeService.idle}. */
  #busyMerges = 0;
  /** Reviews whose lateness webhooks have heard about in this process. */
  readonly #announcedOverdue = new Set<number>();

  constructor(options: ChangeServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
  }

  // ---- reading -------------------------------------------------------------------------------

  /** One change request, as the API shows it. */
  get(id: number): ChangeView {
    return this.#view(this.#require(id));
  }

  list(query: ChangeQuery): ChangeView[] {
    return this.#o.changes.list(query).map((record) => this.#view(record));
  }

  /** The validated estate of a commit (cached). */
  estateAt(sha: string): Promise<Estate> {
    return this.#o.reader.estate(sha);
  }

  /** Post-merge reviews of emergency changes, due first. */
  reviews(pendingOnly: boolean): Array<ReviewRecord & { overdue: boolean; change: { id: number; title: string; emergency?: ChangeRecord['emergency'] } }> {
    const now = this.#now().getTime();
    return this.#o.changes.reviews(pendingOnly).map((review) => {
      const change = this.#o.changes.get(review.changeId);
      return {
        ...review,
        overdue: review.acknowledged === undefined && Date.parse(review.dueAt) < now,
        change: { id: review.changeId, title: change?.title ?? '', ...(change?.emergency ? { emergency: change.emergency } : {}) },
      };
    });
  }

  /**
   * Announces each review that became overdue to webhooks (`review.overdue`), once per process:
   * after a restart a still-overdue review is announced again.
   */
  announceOverdueReviews(): void {
    for (const review of this.reviews(true)) {
      if (!review.overdue || this.#announcedOverdue.has(review.changeId)) continue;
      this.#announcedOverdue.add(review.changeId);
      const change = this.#o.changes.get(review.changeId);
      if (change) this.#notify('review.overdue', change, { dueAt: review.dueAt });
    }
  }


  /**
   * How a commit of main got there: through which change request, approved by whom, in an
   * emergency or not; `unreviewed` when no change request put it there, `before-governance` for
   * history from before this server first followed the repo.
   */
  provenance(sha: string, seq: number, governedFromSeq: number): CommitProvenance {
    const changeId = this.#o.changes.changeOfCommit(sha);
    if (changeId === undefined) return { status: seq < governedFromSeq ? 'before-governance' : 'unreviewed' };
    const change = this.#o.changes.get(changeId)!;
    const approvedBy = [...new Set(this.#currentVerdicts(change).filter((a) => a.verdict === 'approve').map((a) => a.user))];
    return {
      status: change.emergency ? 'emergency' : 'change-request',
      change: {
        id: change.id,
        title: change.title,
        author: change.author,
        approvedBy,
        ...(change.merged ? { mergedBy: change.merged.by, mergedAt: change.merged.at } : {}),
        ...(change.emergency ? { emergency: change.emergency } : {}),
      },
    };
  }

  /** The commit of main that governance starts at (the first server start that had CRs); fixed once set. */
  governedSince(mainAtStart: string | undefined): string {
    return this.#o.changes.setting('governed_since', () => mainAtStart ?? '');
  }

  // ---- opening and updating ------------------------------------------------------------------

  /**
   * Opens a change request from operations: a commit on a new branch `cr/<id>` built with git
   * plumbing (no work tree), authored by the actor; then runs its checks. With `dryRun`, only the
   * checks of the would-be change are returned.
   */
  async create(actor: Actor, input: CreateChangeInput): Promise<ChangeView | { dryRun: true; checks: ChangeRecord['checks'] }> {
    const title = checkText(input.title, 'title', MAX_TITLE, true);
    const description = checkText(input.description ?? '', 'description', MAX_DESCRIPTION, false);
    const main = await this.#main();
    const base = input.base === undefined ? main : await this.#resolveBase(input.base);
    const files = await applyOperations(
      { estate: await this.#o.reader.estate(base), readFile: (path) => this.#o.reader.readFile(base, path) },
      input.operations,
    );
    // A dangling commit until #open points the CR's branch at it.
    const head = await commitFiles(this.#o.repo, { parent: base, files, message: commitMessage(title, description), author: identity(actor.user) });
    if (input.dryRun) {
      const outcome = await runChecks(this.#o.repo, this.#o.reader, { base, head, main, author: actor, now: this.#now() });
      return { dryRun: true, checks: outcome.checks };
    }
    const record = await this.#open(actor, { title, description, base, head, source: 'api' }, { operations: input.operations.length });
    return this.#view(record);
  }

  /** Adds a commit with more operations to an open change request's branch; approvals go stale. */
  async addOperations(actor: Actor, id: number, operations: ChangeOperation[]): Promise<ChangeView> {
    return this.#withLock(id, async () => {
      const record = this.#requireActive(id);
      const files = await applyOperations(
        { estate: await this.#o.reader.estate(record.head), readFile: (path) => this.#o.reader.readFile(record.head, path) },
        operations,
      );
      const head = await commitFiles(this.#o.repo, {
        ref: `refs/heads/${record.branch}`,
        parent: record.head,
        files,
        message: commitMessage(record.title, `${operations.length} more operation(s) by ${actor.user}`),
        author: identity(actor.user),
        expectedOld: record.head,
      });
      return this.#view(await this.#updated(actor, record, head));
    });
  }

  /** Changes a change request's title or description (not its content: approvals stay). */
  edit(actor: Actor, id: number, input: { title?: string; description?: string }): ChangeView {
    const record = this.#requireActive(id);
    const next: ChangeRecord = {
      ...record,
      ...(input.title !== undefined ? { title: checkText(input.title, 'title', MAX_TITLE, true) } : {}),
      ...(input.description !== undefined ? { description: checkText(input.description, 'description', MAX_DESCRIPTION, false) } : {}),
      updatedAt: this.#now().toISOString(),
    };
    this.#o.changes.transaction(() => {
      this.#o.changes.save(next);
      this.#audit({ actor: actor.user, event: 'change.updated', subject: subject(id), details: { fields: Object.keys(input).sort() } });
    });
    return this.#view(next);
  }

  /** Opens a change request that undoes a merged one, on a new branch from main's head. */
  async revert(actor: Actor, id: number): Promise<ChangeView> {
    const original = this.#require(id);
    if (original.state !== 'merged' || !original.merged) {
      throw new ConflictError('E_CHANGE_STATE', `change request ${id} is ${original.state}; only a merged one can be reverted`, { id, state: original.state });
    }
    const main = await this.#main();
    let onto = main;
    // Newest first: each commit is undone on top of the undoing of the ones after it.
    for (const commit of [...original.merged.commits].reverse()) {
      const result = await revertTree(this.#o.repo, commit, onto);
      if (result.tree === undefined) {
        throw new ConflictError('E_CONFLICT', `change request ${id} cannot be reverted cleanly: later changes touched ${result.conflicts.map((c) => c.path).join(', ')}`, {
          id,
          files: result.conflicts,
        });
      }
      onto = await commitTree(this.#o.repo, {
        tree: result.tree,
        parents: [onto],
        message: commitMessage(`Revert "${original.title}"`, `This reverts change request ${id} (commit ${commit}).`),
        author: identity(actor.user),
      });
    }
    const record = await this.#open(
      actor,
      { title: `Revert "${original.title}"`.slice(0, MAX_TITLE), description: `Reverts change request ${id}.`, base: main, head: onto, source: 'revert', reverts: id },
      { reverts: id },
    );
    return this.#view(record);
  }

  // ---- approvals -----------------------------------------------------------------------------

  /** Approves the current revision. The author and contributors cannot (`E_SELF_APPROVAL`). */
  async approve(actor: Actor, id: number, comment: string | undefined): Promise<ChangeView> {
    return this.#verdict(actor, id, 'approve', comment);
  }

  /** Rejects the current revision: the merge is blocked until the rejecter approves a revision. */
  async reject(actor: Actor, id: number, comment: string | undefined): Promise<ChangeView> {
    return this.#verdict(actor, id, 'reject', comment);
  }

  async #verdict(actor: Actor, id: number, verdict: 'approve' | 'reject', comment: string | undefined): Promise<ChangeView> {
    const record = await this.#withLock(id, async () => {
      const current = this.#requireActive(id);
      if (current.author === actor.user || current.contributors.includes(actor.user)) {
        throw this.denied(
          actor,
          id,
          verdict,
          new NotAllowedError('E_SELF_APPROVAL', `${actor.user} ${current.author === actor.user ? 'opened' : 'changed'} change request ${id} and cannot ${verdict} it; ask another approver`, {
            id,
            user: actor.user,
          }),
        );
      }
      const note = comment === undefined ? undefined : checkText(comment, 'comment', MAX_DESCRIPTION, false);
      const at = this.#now().toISOString();
      this.#o.changes.transaction(() => {
        this.#o.changes.putApproval({ changeId: id, user: actor.user, role: actor.role, groups: actor.groups, revision: current.revision, verdict, ...(note ? { comment: note } : {}), at });
        const state = this.#withState({ ...current, updatedAt: at });
        this.#o.changes.save(state);
        this.#audit({ actor: actor.user, event: verdict === 'approve' ? 'change.approved' : 'change.rejected', subject: subject(id), details: { revision: current.revision, head: current.head, ...(note ? { comment: note } : {}) } });
        this.#notify(verdict === 'approve' ? 'change.approved' : 'change.rejected', state, { by: actor.user });
      });
      return this.#require(id);
    });
    await this.#maybeAutoMerge(record);
    return this.#view(this.#require(id));
  }

  /** Acknowledges an emergency change's post-merge review (an approver other than who merged it). */
  acknowledgeReview(actor: Actor, id: number, comment: string | undefined): ChangeView {
    const record = this.#require(id);
    const review = this.#o.changes.review(id);
    if (!review) throw new NotFoundError('E_REVIEW_NOT_FOUND', `change request ${id} was not an emergency change and has no review`, { id });
    if (review.acknowledged) throw new ConflictError('E_CHANGE_STATE', `the review of change request ${id} was acknowledged by ${review.acknowledged.by} at ${review.acknowledged.at}`, { id });
    if (record.emergency?.by === actor.user || record.author === actor.user) {
      throw this.denied(actor, id, 'review', new NotAllowedError('E_SELF_APPROVAL', `${actor.user} made emergency change ${id} and cannot review it; ask another approver`, { id, user: actor.user }));
    }
    const note = comment === undefined ? undefined : checkText(comment, 'comment', MAX_DESCRIPTION, false);
    const at = this.#now();
    this.#o.changes.transaction(() => {
      this.#o.changes.acknowledgeReview(id, actor.user, at, note);
      this.#audit({ actor: actor.user, event: 'review.acknowledged', subject: subject(id), details: { dueAt: review.dueAt, late: at.getTime() > Date.parse(review.dueAt), ...(note ? { comment: note } : {}) } });
      this.#notify('review.acknowledged', record, { by: actor.user });
    });
    return this.#view(record);
  }

  // ---- merging -------------------------------------------------------------------------------

  /**
   * Merges a change request onto main: re-runs its checks against main's head, refuses on
   * conflicts (`E_CONFLICT`), new validation problems (`E_CHECKS_FAILED`), a freeze
   * (`E_FROZEN`), a rejection (`E_REJECTED`) or missing approvals (`E_APPROVALS_REQUIRED`), then
   * commits the merged tree on top of main (linear history, trailers `Change-Request:`,
   * `Approved-by:`, `Emergency:`) and moves main with compare-and-swap. An emergency merge (admin,
   * with a reason) skips freezes, approvals and rejections and opens a post-merge review.
   */
  async merge(actor: Actor, id: number, options: { emergency?: string } = {}): Promise<ChangeView> {
    const emergency = options.emergency === undefined ? undefined : checkText(options.emergency, 'emergency', MAX_REASON, true);
    if (emergency !== undefined && actor.role !== 'admin') {
      throw this.denied(actor, id, 'emergency-merge', new NotAllowedError('E_FORBIDDEN', `an emergency merge needs the role 'admin'; ${actor.user} has '${actor.role}'`, { required: 'admin', role: actor.role }));
    }
    const merged = await this.#serialMerge(() => this.#withLock(id, () => this.#mergeNow(actor, id, emergency)));
    await this.#o.waitForIndexed(merged.merged!.sha);
    return this.#view(merged);
  }

  async #mergeNow(actor: Actor, id: number, emergency: string | undefined): Promise<ChangeRecord> {
    let record = this.#requireActive(id);
    for (let attempt = 1; attempt <= MERGE_ATTEMPTS; attempt++) {
      const main = await this.#main();
      let checks = record.checks;
      let freezes: ActiveFreeze[];
      if (checks && checks.head === record.head && checks.main === main && checks.mergedTree !== undefined) {
        // Checked against this very main already: only the freezes depend on the moment.
        const [mainTree] = await this.#o.reader.treesOf([main]);
        const policies = await this.#o.reader.policies(mainTree!);
        freezes = activeFreezes(policies.freezes, this.#now(), { items: checks.items, author: { user: record.author, groups: record.authorGroups } });
      } else {
        checks = (await this.#check(record, main)).checks;
        freezes = checks.freezes;
        record = this.#require(id);
      }
      this.#refuseUnmergeable(record, checks, freezes, emergency);
      const approvers = this.#currentVerdicts(record).filter((a) => a.verdict === 'approve').map((a) => a.user);
      const message = mergeMessage(record, approvers, emergency);
      const commit = await commitTree(this.#o.repo, {
        tree: checks.mergedTree!,
        parents: [main],
        message,
        author: identity(record.author),
        committer: { name: 'Estate', email: 'estate@localhost' },
      });
      // The intent is on disk before main moves: a crash in between is settled at the next start.
      record = { ...record, mergingSha: commit };
      this.#o.changes.save(record);
      try {
        await updateRef(this.#o.repo, MAIN, commit, main);
      } catch (error) {
        delete record.mergingSha;
        this.#o.changes.save(record);
        if ((error as { code?: string }).code === 'E_REF_CONFLICT') continue; // main moved: check again on the new main
        throw error;
      }
      return this.#finishMerge(record, commit, [commit], actor, emergency);
    }
    throw new ConflictError('E_MAIN_MOVED', `main moved ${MERGE_ATTEMPTS} times while change request ${id} was merging; try again`, { id });
  }

  /** Throws the first reason the change request may not merge now. */
  #refuseUnmergeable(record: ChangeRecord, checks: ChangeChecks, freezes: ActiveFreeze[], emergency: string | undefined): void {
    if (checks.conflicts.length > 0 || checks.mergedTree === undefined) {
      throw new ConflictError('E_CONFLICT', `change request ${record.id} conflicts with main in ${checks.conflicts.map((c) => c.path).join(', ')}; update its branch onto main`, {
        id: record.id,
        files: checks.conflicts,
      });
    }
    if (checks.status === 'failed') {
      throw new ValidationError('E_CHECKS_FAILED', `change request ${record.id} fails its checks: ${checks.results.filter((r) => r.status === 'failed').map((r) => r.message).join('; ')}`, {
        id: record.id,
        diagnostics: checks.diagnostics.slice(0, 20),
      });
    }
    if (emergency !== undefined) return;
    if (freezes.length > 0) throw frozenError(record.id, freezes);
    const status = this.#approvalStatus(record);
    if (status.rejections.length > 0) {
      throw new ConflictError('E_REJECTED', `change request ${record.id} was rejected by ${status.rejections.map((r) => r.user).join(', ')}; they must approve a revision before it can merge`, {
        id: record.id,
        rejectedBy: status.rejections.map((r) => r.user),
      });
    }
    if (!status.satisfied) {
      const missing = status.tallies.filter((t) => t.missing > 0);
      throw new ConflictError(
        'E_APPROVALS_REQUIRED',
        `change request ${record.id} needs ${missing.map((t) => `${t.missing} more approval(s) by ${describeApprovers(t.requirement.approvers)} (${t.requirement.id})`).join(' and ')}`,
        { id: record.id, missing: missing.map((t) => ({ requirement: t.requirement.id, missing: t.missing, given: t.given })) },
      );
    }
  }

  /** Main moved to `commit` through this change request: record it, its audit entries, review and webhooks. */
  #finishMerge(record: ChangeRecord, commit: string, commits: string[], actor: Actor, emergency: string | undefined): ChangeRecord {
    const at = this.#now();
    const approvedBy = [...new Set(this.#currentVerdicts(record).filter((a) => a.verdict === 'approve').map((a) => a.user))];
    const merged: ChangeRecord = {
      ...record,
      state: 'merged',
      merged: { sha: commit, by: actor.user, at: at.toISOString(), commits },
      ...(emergency !== undefined ? { emergency: { reason: emergency, by: actor.user } } : {}),
      updatedAt: at.toISOString(),
    };
    delete merged.mergingSha;
    this.#o.changes.transaction(() => {
      this.#o.changes.save(merged);
      for (const sha of commits) this.#o.changes.linkCommit(sha, record.id);
      if (emergency !== undefined) {
        this.#o.changes.openReview(record.id, new Date(at.getTime() + REVIEW_DUE_MS));
        this.#audit({ actor: actor.user, event: 'change.emergency', subject: subject(record.id), details: { reason: emergency, commit, reviewDueAt: new Date(at.getTime() + REVIEW_DUE_MS).toISOString() } });
        this.#notify('change.emergency', merged, { by: actor.user, reason: emergency });
      }
      this.#audit({ actor: actor.user, event: 'change.merged', subject: subject(record.id), details: { commit, commits: commits.length, approvedBy, emergency: emergency !== undefined, revision: record.revision } });
      if (record.reverts !== undefined) this.#audit({ actor: actor.user, event: 'change.reverted', subject: subject(record.reverts), details: { by: record.id, commit } });
      this.#notify('change.merged', merged, { by: actor.user });
    });
    this.#o.log?.('info', `change request ${record.id} merged as ${commit.slice(0, 12)}${emergency !== undefined ? ' (emergency)' : ''}`);
    return merged;
  }

  /** Closes a change request without merging it. */
  close(actor: Actor, id: number, reason: string | undefined): ChangeView {
    const record = this.#requireActive(id);
    if (record.author !== actor.user && actor.role !== 'admin' && actor.role !== 'approver') {
      throw this.denied(actor, id, 'close', new NotAllowedError('E_FORBIDDEN', `only the author (${record.author}), an approver or an admin may close change request ${id}`, { id }));
    }
    const note = reason === undefined ? undefined : checkText(reason, 'reason', MAX_REASON, false);
    const at = this.#now().toISOString();
    const closed: ChangeRecord = { ...record, state: 'closed', closed: { by: actor.user, at, ...(note ? { reason: note } : {}) }, updatedAt: at };
    this.#o.changes.transaction(() => {
      this.#o.changes.save(closed);
      this.#audit({ actor: actor.user, event: 'change.closed', subject: subject(id), details: note ? { reason: note } : {} });
      this.#notify('change.closed', closed, { by: actor.user });
    });
    return this.#view(closed);
  }

  // ---- pushes --------------------------------------------------------------------------------

  /**
   * Opens or updates a change request from a pushed commit: `refs/for/main` opens one on a new
   * `cr/<id>` branch; a `cr/*` branch opens one named after it or updates the one it belongs to.
   */
  async fromPush(actor: Actor, branch: string | undefined, head: string): Promise<ChangeView> {
    const main = await this.#main();
    const existing = branch === undefined ? undefined : this.#o.changes.byBranch(branch);
    if (existing) {
      return this.#withLock(existing.id, async () => this.#view(await this.#updated(actor, this.#requireActive(existing.id), head)));
    }
    const info = await this.#o.repo.readCommit(head);
    const base = (await this.#mergeBase(main, head)) ?? main;
    const record = await this.#open(
      actor,
      { title: checkText(info.subject || `Change pushed by ${actor.user}`, 'title', MAX_TITLE, true), description: info.body.slice(0, MAX_DESCRIPTION), base, head, source: 'push', ...(branch ? { branch } : {}) },
      { pushed: true },
    );
    return this.#view(record);
  }

  /** Records an emergency push that moved main from `oldSha` to `newSha` as a merged emergency change. */
  async recordEmergencyPush(actor: Actor, reason: string, oldSha: string | undefined, newSha: string): Promise<ChangeView> {
    const commits = oldSha === undefined ? await this.#o.repo.firstParentShas(newSha) : await this.#firstParentRange(oldSha, newSha);
    const info = await this.#o.repo.readCommit(newSha);
    const at = this.#now().toISOString();
    const record = this.#o.changes.create((id) => ({
      id,
      title: checkText(info.subject || 'Emergency push', 'title', MAX_TITLE, true),
      description: info.body.slice(0, MAX_DESCRIPTION),
      branch: `cr/${id}`,
      state: 'open',
      source: 'emergency-push' as ChangeSource,
      author: actor.user,
      authorGroups: actor.groups,
      contributors: [],
      base: oldSha ?? newSha,
      head: newSha,
      revision: 1,
      createdAt: at,
      updatedAt: at,
    }));
    await updateRef(this.#o.repo, `refs/heads/${record.branch}`, newSha, null).catch(() => undefined);
    this.#audit({ actor: actor.user, event: 'change.opened', subject: subject(record.id), details: { title: record.title, branch: record.branch, source: 'emergency-push', head: newSha } });
    return this.#view(this.#finishMerge(record, newSha, commits, actor, reason));
  }

  /**
   * Records a write on change request `id` that a rule of the workflow refuses `actor` (beyond the
   * route's role: an emergency merge by a non-admin, approving one's own change, closing someone
   * else's) as `access.denied`, and returns `error` for the caller to throw.
   */
  denied(actor: Actor, id: number, action: string, error: EstateError): EstateError {
    this.#audit({ actor: actor.user, event: 'access.denied', subject: subject(id), details: { action, code: error.code, role: actor.role } });
    return error;
  }

  /** Records a refused push in the audit trail. */
  recordRefusedPush(actor: Actor, refs: string[], reason: string): void {
    this.#audit({ actor: actor.user, event: 'push.refused', subject: 'repo/estate.git', details: { refs, reason } });
  }

  // ---- keeping checks current ----------------------------------------------------------------

  /**
   * Re-runs the checks of every open change request once main has moved and then stayed put for
   * {@link RECHECK_QUIET_MS} (called on a timer with main's current sha). While merges land one
   * after another, rechecking every open CR after each would only compete with them: a merge
   * checks its CR against main anyway. A run stops early when main moves again; one run at a time.
   */
  async recheckIfMainMoved(currentMain: () => string | undefined): Promise<void> {
    const main = currentMain();
    if (this.#recheckRunning || main === undefined || main === this.#lastCheckedMain) return;
    if (main !== this.#movedTo) {
      this.#movedTo = main;
      this.#movedAt = Date.now();
      return;
    }
    if (Date.now() - this.#movedAt < RECHECK_QUIET_MS) return;
    this.#recheckRunning = true;
    try {
      this.#lastCheckedMain = main;
      for (const record of this.#o.changes.list({ state: 'active', limit: 10_000 })) {
        if (currentMain() !== main) {
          this.#lastCheckedMain = undefined;
          return;
        }
        if (record.checks?.main === main && record.checks.head === record.head) continue;
        await this.#withLock(record.id, async () => {
          const current = this.#o.changes.get(record.id);
          if (current && (current.state === 'open' || current.state === 'approved')) await this.#check(current, main);
        }).catch((error: unknown) => this.#o.log?.('warn', `checks of change request ${record.id} failed: ${(error as Error).message}`));
        await this.#maybeAutoMerge(this.#require(record.id));
      }
    } finally {
      this.#recheckRunning = false;
    }
  }

  /**
   * Settles what a crash may have left: a merge whose commit reached main but was not recorded
   * is recorded; one that did not is forgotten; a change request whose branch was not created yet
   * gets it; a `refs/for/*` push left unprocessed is removed.
   */
  async recover(): Promise<void> {
    const main = await this.#o.repo.tryReadRef(MAIN);
    for (const record of this.#o.changes.withMergeIntent()) {
      const sha = record.mergingSha!;
      const landed = main !== undefined && (await this.#o.repo.tryResolveCommit(sha)) !== undefined && (await this.#o.repo.isAncestor(sha, main));
      if (landed) {
        this.#o.log?.('warn', `change request ${record.id}: recording its merge ${sha.slice(0, 12)}, which reached main before the server stopped`);
        this.#finishMerge(record, sha, [sha], SYSTEM_ACTOR, undefined);
      } else {
        const clean = { ...record };
        delete clean.mergingSha;
        this.#o.changes.save(clean);
      }
    }
    for (const record of this.#o.changes.list({ state: 'active', limit: 10_000 })) {
      if ((await this.#o.repo.tryResolveCommit(`refs/heads/${record.branch}`)) === undefined) {
        await updateRef(this.#o.repo, `refs/heads/${record.branch}`, record.head, null).catch((error: unknown) =>
          this.#o.log?.('warn', `change request ${record.id}: could not restore branch ${record.branch}: ${(error as Error).message}`),
        );
      }
    }
    // A push to refs/for/main whose change request was not opened (the server died in between)
    // would block the next one: the pusher pushes again.
    const stale = (await runGit(['for-each-ref', '--format=%(refname) %(objectname)', 'refs/for/'], { cwd: this.#o.repo.gitDir })).toString('utf8').trim();
    for (const line of stale ? stale.split('\n') : []) {
      const [ref = '', sha = ''] = line.split(' ');
      this.#o.log?.('warn', `removing ${ref} (${sha.slice(0, 12)}), a push whose change request was never opened; its pusher must push again`);
      await deleteRef(this.#o.repo, ref, sha).catch(() => undefined);
    }
  }

  /** Resolves once no merge, check or update of any change request is running (for a clean stop). */
  async idle(): Promise<void> {
    while (this.#locks.size > 0 || this.#busyMerges > 0) {
      await Promise.all([this.#mergeQueue, ...this.#locks.values()]);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  // ---- internals -----------------------------------------------------------------------------

  /** Stores a new change request, creates its branch, audits it and runs its checks. */
  async #open(
    actor: Actor,
    input: { title: string; description: string; base: string; head: string; source: ChangeSource; reverts?: number; branch?: string },
    details: Record<string, unknown>,
  ): Promise<ChangeRecord> {
    const at = this.#now().toISOString();
    let record = this.#o.changes.transaction(() => {
      const created = this.#o.changes.create((id) => ({
        id,
        title: input.title,
        description: input.description,
        branch: input.branch ?? `cr/${id}`,
        state: 'open',
        source: input.source,
        author: actor.user,
        authorGroups: actor.groups,
        contributors: [],
        base: input.base,
        head: input.head,
        revision: 1,
        ...(input.reverts !== undefined ? { reverts: input.reverts } : {}),
        createdAt: at,
        updatedAt: at,
      }));
      this.#audit({ actor: actor.user, event: 'change.opened', subject: subject(created.id), details: { title: created.title, branch: created.branch, source: created.source, base: created.base, head: created.head, ...details } });
      return created;
    });
    if (input.branch === undefined) {
      await updateRef(this.#o.repo, `refs/heads/${record.branch}`, input.head, null).catch(async (error: unknown) => {
        // A branch of that name left by someone else: keep theirs, take another.
        if ((error as { code?: string }).code !== 'E_REF_CONFLICT') throw error;
        record = { ...record, branch: `cr/${record.id}-${randomBytes(3).toString('hex')}` };
        this.#o.changes.save(record);
        await updateRef(this.#o.repo, `refs/heads/${record.branch}`, input.head, null);
      });
    }
    await this.#check(record, await this.#main()).catch((error: unknown) => this.#o.log?.('warn', `checks of change request ${record.id} failed: ${(error as Error).message}`));
    record = this.#require(record.id);
    this.#notify('change.opened', record, { by: actor.user });
    await this.#maybeAutoMerge(record);
    return this.#require(record.id);
  }

  /** The content of a change request changed (new head): a new revision, so approvals go stale. */
  async #updated(actor: Actor, record: ChangeRecord, head: string): Promise<ChangeRecord> {
    if (head === record.head) return record;
    const next: ChangeRecord = {
      ...record,
      head,
      revision: record.revision + 1,
      contributors: actor.user === record.author || record.contributors.includes(actor.user) ? record.contributors : [...record.contributors, actor.user],
      updatedAt: this.#now().toISOString(),
    };
    delete next.checks;
    this.#o.changes.transaction(() => {
      this.#o.changes.save(this.#withState(next));
      this.#audit({ actor: actor.user, event: 'change.updated', subject: subject(record.id), details: { revision: next.revision, head, previousHead: record.head } });
    });
    await this.#check(next, await this.#main());
    const checked = this.#require(record.id);
    this.#notify('change.updated', checked, { by: actor.user });
    // Not awaited by the lock holder: an auto-merge takes the lock itself.
    void Promise.resolve().then(() => this.#maybeAutoMerge(this.#require(record.id)));
    return checked;
  }

  /** Runs and stores the checks of a change request's current head against `main`. */
  async #check(record: ChangeRecord, main: string): Promise<CheckOutcome> {
    const outcome = await runChecks(this.#o.repo, this.#o.reader, { base: record.base, head: record.head, main, author: { user: record.author, groups: record.authorGroups }, now: this.#now() });
    const latest = this.#require(record.id);
    if (latest.head !== record.head || (latest.state !== 'open' && latest.state !== 'approved')) return outcome;
    const next = this.#withState({ ...latest, checks: outcome.checks });
    this.#o.changes.save(next);
    // The trail and receivers hear about checks when their outcome changes, not on every move of main.
    if (latest.checks?.status !== outcome.checks.status || latest.checks.head !== record.head) {
      const { checks } = outcome;
      this.#audit({
        actor: 'system',
        event: 'change.checked',
        subject: subject(record.id),
        details: { revision: latest.revision, head: record.head, main, ok: checks.status === 'passed', problems: checks.diagnostics.length, conflicts: checks.conflicts.length },
      });
      this.#notify('change.checked', next, { checks: checks.status, results: checks.results });
    }
    return outcome;
  }

  /** Merges a change request by itself when its policy allows auto-merge and nothing blocks it. */
  async #maybeAutoMerge(record: ChangeRecord): Promise<void> {
    if (record.state !== 'approved' || !record.checks?.policy.autoMerge) return;
    await this.merge(SYSTEM_ACTOR, record.id).catch((error: unknown) =>
      this.#o.log?.('info', `change request ${record.id} may auto-merge but did not: ${(error as Error).message}`),
    );
  }

  /** The record with its state recomputed from its checks and approvals. */
  #withState(record: ChangeRecord): ChangeRecord {
    if (record.state === 'merged' || record.state === 'closed') return record;
    const status = this.#approvalStatus(record);
    const ready = record.checks?.status === 'passed' && record.checks.head === record.head && status.satisfied && status.rejections.length === 0;
    return { ...record, state: ready ? 'approved' : 'open' };
  }

  #approvalStatus(record: ChangeRecord): ApprovalStatus {
    const verdicts = this.#o.changes.approvals(record.id);
    const current = this.#currentVerdicts(record, verdicts);
    const requirements = record.checks?.policy.requirements ?? [];
    const excluded = [record.author, ...record.contributors];
    const { tallies, satisfied } = tallyApprovals(
      requirements,
      current.filter((a) => a.verdict === 'approve').map((a) => ({ user: a.user, role: a.role, groups: a.groups })),
      excluded,
    );
    const rejections = current.filter((a) => a.verdict === 'reject' && !excluded.includes(a.user));
    return { tallies, satisfied: satisfied && record.checks !== undefined, rejections, stale: verdicts.filter((a) => a.revision !== record.revision) };
  }

  /** Each user's verdict on the current revision. */
  #currentVerdicts(record: ChangeRecord, verdicts = this.#o.changes.approvals(record.id)): ApprovalRecord[] {
    return verdicts.filter((a) => a.revision === record.revision);
  }

  #view(record: ChangeRecord): ChangeView {
    const status = this.#approvalStatus(record);
    const blockers: ChangeView['blockers'] = [];
    if (record.state === 'open' || record.state === 'approved') {
      if (!record.checks || record.checks.head !== record.head) blockers.push({ code: 'E_CHECKS_PENDING', message: 'the checks of this revision have not run yet' });
      else if (record.checks.conflicts.length > 0) blockers.push({ code: 'E_CONFLICT', message: `conflicts with main in ${record.checks.conflicts.map((c) => c.path).join(', ')}` });
      else if (record.checks.status === 'failed') blockers.push({ code: 'E_CHECKS_FAILED', message: record.checks.results.filter((r) => r.status === 'failed').map((r) => r.message).join('; ') });
      if (record.checks) {
        const frozen = record.checks.freezes.filter((f) => Date.parse(f.endsAt) > this.#now().getTime());
        if (frozen.length > 0) blockers.push({ code: 'E_FROZEN', message: frozenError(record.id, frozen).message });
      }
      for (const rejection of status.rejections) blockers.push({ code: 'E_REJECTED', message: `rejected by ${rejection.user}${rejection.comment ? `: ${rejection.comment}` : ''}` });
      for (const tally of status.tallies.filter((t) => t.missing > 0)) {
        blockers.push({ code: 'E_APPROVALS_REQUIRED', message: `needs ${tally.missing} more approval(s) by ${describeApprovers(tally.requirement.approvers)} (${tally.requirement.id})` });
      }
    }
    const review = this.#o.changes.review(record.id);
    const { mergingSha, checks, ...rest } = record;
    void mergingSha;
    const view: ChangeView = {
      ...rest,
      ...(checks ? { checks: omitItems(checks) } : {}),
      requiredApprovals: status.tallies.map((t) => ({
        id: t.requirement.id,
        risk: t.requirement.risk,
        count: t.requirement.count,
        approvers: t.requirement.approvers,
        reason: t.requirement.reason,
        given: t.given,
        missing: t.missing,
      })),
      approvals: this.#currentVerdicts(record).filter((a) => a.verdict === 'approve'),
      staleApprovals: status.stale,
      rejections: status.rejections,
      blockers,
      ...(review ? { review: { ...review, overdue: review.acknowledged === undefined && Date.parse(review.dueAt) < this.#now().getTime() } } : {}),
    };
    return view;
  }

  #require(id: number): ChangeRecord {
    const record = this.#o.changes.get(id);
    if (!record) throw new NotFoundError('E_CHANGE_NOT_FOUND', `no change request ${id}`, { id });
    return record;
  }

  #requireActive(id: number): ChangeRecord {
    const record = this.#require(id);
    if (record.state !== 'open' && record.state !== 'approved') {
      throw new ConflictError('E_CHANGE_STATE', `change request ${id} is ${record.state}`, { id, state: record.state });
    }
    return record;
  }

  async #main(): Promise<string> {
    const main = await this.#o.repo.tryReadRef(MAIN);
    if (main === undefined) throw new ConflictError('E_NO_MAIN', 'the estate repo has no branch main yet: push a first commit to main (an admin emergency push) or import a repo', {});
    return main;
  }

  async #resolveBase(base: string): Promise<string> {
    const sha = await this.#o.repo.tryResolveCommit(base);
    if (sha === undefined) throw new InputError('E_BAD_PARAM', `base '${base}' names no commit`, { parameter: 'base', base });
    const main = await this.#main();
    if (!(await this.#o.repo.isAncestor(sha, main))) throw new InputError('E_BAD_PARAM', `base '${base}' is not a commit of main`, { parameter: 'base', base });
    return sha;
  }

  async #mergeBase(a: string, b: string): Promise<string | undefined> {
    try {
      return (await runGit(['merge-base', a, b], { cwd: this.#o.repo.gitDir })).toString().trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Main's first-parent commits after `from` up to `to`, oldest first. */
  async #firstParentRange(from: string, to: string): Promise<string[]> {
    const shas: string[] = [];
    for await (const entry of this.#o.repo.iterateFirstParentChain(to, from)) shas.push(entry.commit.sha);
    return shas;
  }

  #withLock<T>(id: number, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(id) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.#locks.set(id, settled);
    void settled.then(() => {
      if (this.#locks.get(id) === settled) this.#locks.delete(id);
    });
    return next;
  }

  #serialMerge<T>(fn: () => Promise<T>): Promise<T> {
    this.#busyMerges++;
    const next = this.#mergeQueue.then(fn, fn).finally(() => this.#busyMerges--);
    this.#mergeQueue = next.catch(() => undefined);
    return next;
  }

  #audit(event: AuditEvent): void {
    this.#o.audit.append(event);
  }

  #notify(type: string, record: ChangeRecord, extra: Record<string, unknown>): void {
    const event = { type, data: { change: summary(record, this.#o.publicUrl()), ...extra } };
    this.#o.webhooks?.dispatch(event);
    this.#o.onEvent?.(event);
  }
}

/** How a commit of main got there (see {@link ChangeService.provenance}). */
export interface CommitProvenance {
  status: 'change-request' | 'emergency' | 'unreviewed' | 'before-governance';
  change?: { id: number; title: string; author: string; approvedBy: string[]; mergedBy?: string; mergedAt?: string; emergency?: { reason: string; by: string } };
}

/** What webhooks get about a change request (no diff, no checks detail). */
function summary(record: ChangeRecord, baseUrl: string): Record<string, unknown> {
  return {
    id: record.id,
    title: record.title,
    state: record.state,
    branch: record.branch,
    author: record.author,
    revision: record.revision,
    head: record.head,
    url: `${baseUrl}/api/v1/changes/${record.id}`,
    ...(record.checks ? { checks: record.checks.status, risk: record.checks.policy.risk } : {}),
    ...(record.merged ? { merged: record.merged } : {}),
    ...(record.emergency ? { emergency: record.emergency } : {}),
  };
}

function frozenError(id: number, frozen: ActiveFreeze[]): EstateError {
  const names = frozen.map((f) => `'${f.window.name}' (${f.window.reason}) until ${f.endsAt}`).join(', ');
  return new ConflictError('E_FROZEN', `change request ${id} touches a frozen scope: freeze window ${names}; wait, or merge as an emergency`, {
    id,
    windows: frozen.map((f) => ({ name: f.window.name, reason: f.window.reason, startedAt: f.startedAt, endsAt: f.endsAt, path: f.window.path })),
  });
}

/** The checks without the items they judged, which repeat the diff: they are for the merge, not for readers. */
function omitItems(checks: ChangeChecks): Omit<ChangeChecks, 'items'> {
  const { items, ...rest } = checks;
  void items;
  return rest;
}

function subject(id: number): string {
  return `change/${id}`;
}

/** Commit message of a change's own commits. */
function commitMessage(title: string, description: string): string {
  return description.trim() === '' ? `${title}\n` : `${title}\n\n${description.trim()}\n`;
}

/** The merge commit's message: title, description and the trailers (git-interpret-trailers(1)). */
function mergeMessage(record: ChangeRecord, approvers: string[], emergency: string | undefined): string {
  const trailers = [`Change-Request: ${record.id}`, ...approvers.map((user) => `Approved-by: ${user}`), ...(emergency !== undefined ? [`Emergency: ${emergency.replace(/\s+/g, ' ')}`] : [])];
  const body = record.description.trim();
  return `${record.title}\n\n${body ? `${body}\n\n` : ''}${trailers.join('\n')}\n`;
}

/** A git identity for a user name: an e-mail as is, else `<name>@estate.invalid` (RFC 2606). */
export function identity(user: string): GitIdentity {
  return { name: user, email: /^[^\s@<>]+@[^\s@<>]+$/.test(user) ? user : `${user.replace(/[^A-Za-z0-9._-]/g, '-')}@estate.invalid` };
}

function checkText(value: unknown, field: string, max: number, required: boolean): string {
  if (typeof value !== 'string' || (required && value.trim() === '') || value.length > max) {
    throw new InputError('E_BAD_PARAM', `${field} must be ${required ? 'a non-empty' : 'a'} string of at most ${max} characters`, { parameter: field });
  }
  return value.trim();
}
