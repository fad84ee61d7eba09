import type { ActiveFreeze, ChangedItem, Diagnostic, EstateDiff, PolicyDecision, RequirementTally } from '@estate/core';
import type { Role } from '../store/Store.js';

/**
 * Where a change request is: `open` (checks or approvals missing), `approved` (it may merge now),
 * `merged` or `closed`. `approved` is recomputed whenever checks or approvals change.
 */
export type ChangeState = 'open' | 'approved' | 'merged' | 'closed';

/** How a change request came in. */
export type ChangeSource = 'api' | 'push' | 'revert' | 'emergency-push';

/** One check of a change request and its outcome. */
export interface CheckResult {
  name: 'conflicts' | 'validation' | 'policy' | 'freeze';
  status: 'passed' | 'failed' | 'warning';
  message: string;
}

/** The checks of one revision of a change request against one commit of main. */
export interface ChangeChecks {
  /** `failed` when a check failed; freezes and missing approvals do not fail checks, they block the merge. */
  status: 'passed' | 'failed';
  ranAt: string;
  /** The CR's head and main's commit the checks ran against. */
  head: string;
  main: string;
  results: CheckResult[];
  /** Files both sides changed differently (`E_CONFLICT` at merge). */
  conflicts: Array<{ path: string; reason: string }>;
  /** Problems of the merged estate that main does not have (they block the merge); at most 200. */
  diagnostics: Diagnostic[];
  /** Problems main already has and the CR leaves as they are (they do not block it). */
  preexistingErrors: number;
  /** Semantic diffs: what the CR changed since its base, and what merging it would change on main now. */
  diff: { base: EstateDiff; main: EstateDiff };
  /** Files the merge would change on main. */
  paths: string[];
  policy: PolicyDecision;
  /** Freeze windows in force when the checks ran that the change touches. */
  freezes: ActiveFreeze[];
  /** The tree of main with the change merged (none on conflicts): what a merge commits. */
  mergedTree?: string;
  /** What policies and freezes judged, kept for the merge to judge freezes again at its moment. */
  items: ChangedItem[];
}

/** A change request as stored. */
export interface ChangeRecord {
  id: number;
  title: string;
  description: string;
  /** Short branch name, `cr/<id>` unless a push chose another `cr/*` name. */
  branch: string;
  state: ChangeState;
  source: ChangeSource;
  /** The user (token name) who opened it; never an approver of it. */
  author: string;
  authorGroups: string[];
  /** Other users who changed its content; none of them counts as an approver either. */
  contributors: string[];
  /** The commit of main it started from. */
  base: string;
  /** The tip of its branch. */
  head: string;
  /** Increases whenever the content changes; approvals of an older revision are stale. */
  revision: number;
  /** The merged change request this one reverts. */
  reverts?: number;
  /** Emergency: who declared it and why. */
  emergency?: { reason: string; by: string };
  checks?: ChangeChecks;
  merged?: { sha: string; by: string; at: string; commits: string[] };
  closed?: { by: string; at: string; reason?: string };
  /** A merge commit made and about to move main (crash recovery resolves it at start). */
  mergingSha?: string;
  createdAt: string;
  updatedAt: string;
}

/** An approval or a rejection, given to one revision. */
export interface ApprovalRecord {
  changeId: number;
  user: string;
  role: Role;
  groups: string[];
  revision: number;
  verdict: 'approve' | 'reject';
  comment?: string;
  at: string;
}

/** The post-merge review an emergency change needs. */
export interface ReviewRecord {
  changeId: number;
  dueAt: string;
  acknowledged?: { by: string; at: string; comment?: string };
}

/** Filters of {@link ChangeStore.listChanges}. */
export interface ChangeQuery {
  state?: ChangeState | 'active';
  author?: string;
  emergency?: boolean;
  /** Only ids below this (the cursor of the previous page); newest first. */
  beforeId?: number;
  limit: number;
}

/** What a change request's approvals amount to now. */
export interface ApprovalStatus {
  tallies: RequirementTally[];
  satisfied: boolean;
  /** Current-revision rejections by users who could approve: each blocks the merge. */
  rejections: ApprovalRecord[];
  /** Approvals given to an older revision. */
  stale: ApprovalRecord[];
}
