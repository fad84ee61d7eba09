/**
 * The shapes of the server's answers (docs/api.md). Declared here, not imported from core: the
 * client stands alone (browsers, agents), so it carries its own copy of the contract.
 */

/** A commit named by both its order on main (`seq`) and its id. Every answer says which one it is about. */
export interface CommitRef {
  seq: number;
  sha: string;
}

/** A person and moment of a commit (author or committer). */
export interface Signature {
  name: string;
  email: string;
  /** Strict ISO 8601 with the signer's UTC offset, as git records it. */
  date: string;
}

/** `metadata` of an asset document: name, labels, owner, and whatever else the kind allows. */
export interface AssetMetadata {
  name: string;
  labels?: Record<string, string>;
  /** A reference to the owning team, `team/<name>`. */
  owner?: string;
  description?: string;
  [key: string]: unknown;
}

/** The whole YAML document of an asset, as JSON. */
export interface AssetDocument {
  apiVersion: string;
  kind: string;
  metadata: AssetMetadata;
  spec: Record<string, unknown>;
  [key: string]: unknown;
}

/** One asset as of a commit. */
export interface Asset {
  /** `<kind>/<name>`, the kind lower-cased: `host/web-01`. */
  id: string;
  /** The kind's name, `Host`. */
  kind: string;
  name: string;
  /** The repo-relative file that defines it. */
  path: string;
  /** The git blob id of that file. */
  blobId: string;
  /** The commit that gave it its current content. */
  since: CommitRef;
  document: AssetDocument;
}

/** One change of a field, addressed by a JSON pointer (RFC 6901) into the document. */
export interface FieldChange {
  op: 'add' | 'remove' | 'replace';
  pointer: string;
  old?: unknown;
  new?: unknown;
}

/** The commit of a history entry. */
export interface HistoryCommit {
  seq: number;
  sha: string;
  author: Signature;
  /** First paragraph of the message. */
  subject: string;
}

/** One commit that changed an asset. */
export interface HistoryEntry {
  commit: HistoryCommit;
  change: 'added' | 'changed' | 'moved' | 'removed';
  /** The file holding the asset after the commit (before it, for `removed`). */
  path: string;
  /** The file before, when the commit moved the asset. */
  fromPath?: string;
  fields: FieldChange[];
}

/** One hop of a relation path, seen from `from`. */
export interface RelationStep {
  from: string;
  to: string;
  /** The relation's name in the direction followed (`runsOn` out, `hosts` in). */
  relation: string;
  /** The field of the referencing asset that declares it, e.g. `spec.runsOn[0]`. */
  field: string;
}

/** An asset reached from the start, with the shortest path that reached it. */
export interface RelatedAsset {
  id: string;
  depth: number;
  path: RelationStep[];
}

/** A commit of main as the server indexed it. */
export interface Commit {
  seq: number;
  sha: string;
  parents: string[];
  author: Signature;
  committer: Signature;
  /** The whole commit message. */
  message: string;
  /** Validation errors of the estate at this commit. */
  errors: number;
  /** When the server indexed it (ISO 8601, UTC). */
  indexedAt: string;
}

/** A validation problem, at a file position: `path:line:col: error[E_CODE]: message`. */
export interface Diagnostic {
  code: string;
  path: string;
  line: number;
  col: number;
  message: string;
  /** The asset it belongs to, when known. */
  asset?: string;
}

/** A commit with the diagnostics the estate had there. */
export interface CommitDetail extends Commit {
  diagnostics: Diagnostic[];
}

/** How one asset differs between two commits (`estate diff --format json`). */
export interface AssetDiff {
  id: string;
  kind: string;
  status: 'added' | 'removed' | 'changed' | 'moved';
  path: string;
  fromPath?: string;
  fields: FieldChange[];
}

/** Counts of a diff by status. */
export interface DiffSummary {
  added: number;
  removed: number;
  changed: number;
  moved: number;
}

/** A kind as the server describes it (name, idPrefix, description, its JSON schema…), passed through as it is. */
export interface Kind {
  name: string;
  idPrefix?: string;
  description?: string;
  [key: string]: unknown;
}

/** Answer of `GET /api/v1/assets`. */
export interface AssetPage {
  commit: CommitRef;
  items: Asset[];
  nextCursor?: string;
}

/** Answer of `GET /api/v1/assets/:kind/:name`. */
export interface AssetAnswer {
  commit: CommitRef;
  asset: Asset;
}

/** Answer of `GET /api/v1/assets/:kind/:name/history`, newest first. */
export interface HistoryPage {
  commit: CommitRef;
  /** The asset's id. */
  asset: string;
  items: HistoryEntry[];
  nextCursor?: string;
}

/** Answer of `GET /api/v1/assets/:kind/:name/relations`. */
export interface RelationsAnswer {
  commit: CommitRef;
  /** The starting asset's id. */
  asset: string;
  items: RelatedAsset[];
  /** More assets were reached than `limit`; the nearest ones are listed. */
  truncated: boolean;
}

/** Answer of `GET /api/v1/commits`, newest first. */
export interface CommitPage {
  commit: CommitRef;
  items: Commit[];
  nextCursor?: string;
}

/** Answer of `GET /api/v1/commits/:sha`. */
export interface CommitAnswer {
  commit: CommitRef;
  item: CommitDetail;
}

/** Answer of `GET /api/v1/diff`. */
export interface DiffAnswer {
  commit: CommitRef;
  /** The older side. */
  from: CommitRef;
  /** The newer side. */
  to: CommitRef;
  summary: DiffSummary;
  assets: AssetDiff[];
  /** Present when more assets follow (the server pages big diffs; `EstateClient.diff` gathers them). */
  nextCursor?: string;
}

/** Answer of `GET /api/v1/kinds`. */
export interface KindsAnswer {
  commit: CommitRef;
  items: Kind[];
}

/** Answer of `GET /healthz`. */
export interface Health {
  status: 'ok';
}

/** Answer of `GET /readyz` once something is indexed (before that, 503 `E_NOT_READY`). */
export interface Readiness {
  /** `degraded`: main's head has validation errors. */
  status: 'ready' | 'degraded';
  /** What the indexer is doing. */
  state: 'starting' | 'indexing' | 'ready';
  /** The last indexed commit of main. */
  head: CommitRef;
  /** Where main is in the repository (ahead of `head` while indexing). */
  mainSha?: string;
  /** Validation errors at the head. */
  errors: number;
  /** How far the index is behind main, in seconds. */
  lagSeconds: number;
  /** Commits indexed since the server started. */
  commitsIndexed: number;
}

/** Filters of {@link EstateClient.listAssets}; all must hold. */
export interface AssetQuery {
  /** A kind name or id prefix, any case. */
  kind?: string;
  /** A label selector, `env=prod,role in (web,api)`. */
  selector?: string;
  /** The owner reference, `team/team-web`. */
  owner?: string;
  /** Words that must all occur in the asset (name, description, labels, spec values). */
  q?: string;
  /** A commit sha (or prefix of ≥ 4 hex digits) or an ISO 8601 time; default the head. */
  at?: string;
  /** Page size, 1..1000 (server default 100). */
  limit?: number;
  cursor?: string;
}

/** Paging of a list: page size and the cursor of the previous page. */
export interface PageQuery {
  limit?: number;
  cursor?: string;
}

/** Which way {@link EstateClient.relations} follows references. */
export type RelationDirection = 'in' | 'out' | 'both';

/** Options of {@link EstateClient.relations}. */
export interface RelationsQuery {
  /** `out`: what the asset references; `in`: what references it; default both. */
  direction?: RelationDirection;
  /** Hops to follow, 1..10. */
  depth?: number;
  /** Only these relations (either name of a pair). */
  type?: string | string[];
  at?: string;
  /** Assets to report at most, nearest first (default 1,000, at most 10,000). */
  limit?: number;
}

// ---- change requests (docs/api.md, "Change requests") ------------------------------------------

/** One edit a change request makes. `patch` is a JSON merge patch (RFC 7396) of the asset document. */
export type ChangeOperation =
  | { op: 'put'; asset: Record<string, unknown> }
  | { op: 'patch'; id: string; patch: Record<string, unknown> }
  | { op: 'delete'; id: string }
  | { op: 'putFile'; path: string; content: string }
  | { op: 'deleteFile'; path: string };

/** Body of `POST /api/v1/changes`. */
export interface CreateChangeInput {
  title: string;
  description?: string;
  /** A commit of main to start from (default: its head). */
  base?: string;
  operations: ChangeOperation[];
  /** Only run the checks of the would-be change; nothing is created. */
  dryRun?: boolean;
}

/** `open` (checks or approvals missing), `approved` (it may merge now), `merged` or `closed`. */
export type ChangeState = 'open' | 'approved' | 'merged' | 'closed';

/** How a change request came in. */
export type ChangeSource = 'api' | 'push' | 'revert' | 'emergency-push';

/** Risk of a change as the policies rate it. */
export type RiskLevel = 'low' | 'medium' | 'high';

/** One check of a change request and its outcome. */
export interface CheckResult {
  name: 'conflicts' | 'validation' | 'policy' | 'freeze';
  status: 'passed' | 'failed' | 'warning';
  message: string;
}

/** Who may give an approval: a minimum role and, when not empty, one of these groups. */
export interface ApproverSpec {
  role: string;
  groups: string[];
}

/** One set of approvals a change needs. */
export interface ApprovalRequirement {
  /** `<policy>/<rule>`, `builtin/default` or `builtin/policy-change`. */
  id: string;
  risk: RiskLevel;
  count: number;
  approvers: ApproverSpec;
  autoMerge: boolean;
  reason: string;
}

/** What the approval rules decided for a change. */
export interface PolicyDecision {
  requirements: ApprovalRequirement[];
  risk: RiskLevel;
  autoMerge: boolean;
  matchedRules: string[];
}

/** A freeze window in force for a change (the fields the server reports). */
export interface ActiveFreeze {
  window: { name: string; path: string; reason: string; [key: string]: unknown };
  startedAt: string;
  endsAt: string;
}

/** The semantic difference of two estates, by asset and field. */
export interface EstateDiff {
  summary: DiffSummary;
  assets: AssetDiff[];
}

/** The checks of one revision of a change request against one commit of main. */
export interface ChangeChecks {
  status: 'passed' | 'failed';
  ranAt: string;
  /** The change's head and main's commit the checks ran against. */
  head: string;
  main: string;
  results: CheckResult[];
  /** Files both sides changed differently. */
  conflicts: Array<{ path: string; reason: string }>;
  /** Problems of the merged estate that main does not have (at most 200). */
  diagnostics: Diagnostic[];
  /** Problems main already has that the change leaves as they are. */
  preexistingErrors: number;
  /** What the change did since its base, and what merging it would change on main now. */
  diff: { base: EstateDiff; main: EstateDiff };
  /** Files the merge would change on main. */
  paths: string[];
  policy: PolicyDecision;
  freezes: ActiveFreeze[];
}

/** An approval or a rejection of one revision. */
export interface ApprovalRecord {
  changeId: number;
  user: string;
  role: string;
  groups: string[];
  revision: number;
  verdict: 'approve' | 'reject';
  comment?: string;
  at: string;
}

/** One approval requirement with who approved and how many approvals are missing. */
export interface RequiredApproval {
  id: string;
  risk: string;
  count: number;
  approvers: ApproverSpec;
  reason: string;
  given: string[];
  missing: number;
}

/** The post-merge review of an emergency change. */
export interface ChangeReview {
  changeId: number;
  dueAt: string;
  acknowledged?: { by: string; at: string; comment?: string };
  overdue: boolean;
}

/** Fields of a change request shared by its full view and its list item. */
export interface ChangeBase {
  id: number;
  title: string;
  description: string;
  /** `cr/<id>` unless a push chose another `cr/*` name. */
  branch: string;
  state: ChangeState;
  source: ChangeSource;
  /** The user who opened it; never an approver of it. */
  author: string;
  authorGroups: string[];
  /** Other users who changed its content; they cannot approve it either. */
  contributors: string[];
  base: string;
  head: string;
  /** Increases with every content change; approvals of older revisions are stale. */
  revision: number;
  /** The merged change request this one reverts. */
  reverts?: number;
  emergency?: { reason: string; by: string };
  merged?: { sha: string; by: string; at: string; commits: string[] };
  closed?: { by: string; at: string; reason?: string };
  createdAt: string;
  updatedAt: string;
  requiredApprovals: RequiredApproval[];
  approvals: ApprovalRecord[];
  staleApprovals: ApprovalRecord[];
  rejections: ApprovalRecord[];
  /** What blocks a merge now (empty: it may merge). */
  blockers: Array<{ code: string; message: string }>;
  review?: ChangeReview;
}

/** A change request as `GET /api/v1/changes/:id` (and every write) returns it. */
export interface Change extends ChangeBase {
  checks?: ChangeChecks;
}

/** A change request in a list: checks in short, without diffs or diagnostics. */
export interface ChangeListItem extends ChangeBase {
  checks?: Pick<ChangeChecks, 'status' | 'ranAt' | 'head' | 'main' | 'results'> & { risk: RiskLevel; summary: DiffSummary };
}

/** Answer of `POST /api/v1/changes` with `dryRun`: the checks of a change that was not created. */
export interface DryRunAnswer {
  dryRun: true;
  checks?: ChangeChecks;
}

/** Filters of {@link EstateClient.listChanges}. */
export interface ChangeQuery {
  /** `active` = open or approved. */
  state?: ChangeState | 'active';
  author?: string;
  /** Only the caller's own change requests. */
  mine?: boolean;
  /** Only active change requests the caller could approve and has not. */
  waiting?: boolean;
  emergency?: boolean;
  limit?: number;
  cursor?: string;
}

/** Answer of `GET /api/v1/changes`, newest first. */
export interface ChangePage {
  items: ChangeListItem[];
  nextCursor?: string;
}

/** A pending or acknowledged post-merge review, with its change. */
export interface ReviewItem extends ChangeReview {
  change: { id: number; title: string; emergency?: { reason: string; by: string } };
}

/** Answer of `GET /api/v1/reviews`, due first. */
export interface ReviewsAnswer {
  items: ReviewItem[];
  overdue: number;
}

/** How a commit reached main. `unreviewed`: no change request put it there. */
export type ProvenanceStatus = 'change-request' | 'emergency' | 'unreviewed' | 'before-governance';

/** A commit of main and the change request that put it there, if any. */
export interface Provenance {
  sha: string;
  seq: number;
  subject: string;
  author: string;
  committedAt: string;
  status: ProvenanceStatus;
  change?: { id: number; title: string; author: string; approvedBy: string[]; mergedBy?: string; mergedAt?: string; emergency?: { reason: string; by: string } };
}

/** Answer of `GET /api/v1/provenance`, newest first. */
export interface ProvenancePage {
  items: Provenance[];
  nextCursor?: string;
}

/** Filters of {@link EstateClient.listProvenance}. */
export interface ProvenanceQuery extends PageQuery {
  /** Only commits with this status (of the page scanned). */
  status?: ProvenanceStatus;
}

// ---- audit trail (docs/audit.md) ---------------------------------------------------------------

/** One entry of the hash-chained audit trail. */
export interface AuditEntry {
  seq: number;
  /** ISO 8601 UTC with milliseconds. */
  at: string;
  actor: string;
  event: string;
  /** What it is about, e.g. `change/12`; absent for some events. */
  subject?: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** Filters of {@link EstateClient.listAudit}. */
export interface AuditQuery {
  /** Entries at or after this ISO 8601 time. */
  since?: string;
  /** Entries before this ISO 8601 time (exclusive). */
  until?: string;
  actor?: string;
  event?: string;
  subject?: string;
  limit?: number;
  cursor?: string;
}

/** Answer of `GET /api/v1/audit`, oldest first. */
export interface AuditPage {
  items: AuditEntry[];
  nextCursor?: string;
}

/** An entry of the trail recorded earlier (`<seq>:<hash>`), to check the trail still holds it. */
export interface AuditAnchor {
  seq: number;
  hash: string;
}

/** A verification's verdict: the server's (`GET /api/v1/audit/verify`) or one made locally. */
export interface AuditVerification {
  ok: boolean;
  entries: number;
  head?: AuditAnchor;
  problems: Array<{ seq: number; code: 'E_AUDIT_TAMPERED' | 'E_AUDIT_GAP' | 'E_AUDIT_BROKEN_LINK'; message: string }>;
  moreProblems?: number;
}

/** Options of {@link EstateClient.exportAudit}. */
export interface AuditExportQuery {
  since?: string;
  until?: string;
  /** `jsonl` (exact, verifiable) or `csv` (RFC 4180, for spreadsheets). */
  format: 'jsonl' | 'csv';
}

/** A gray release of one app's config in one env (`/api/v1/config/:app/:env/releases`). */
export interface GrayRelease {
  id: number;
  app: string;
  env: string;
  state: 'active' | 'promoted' | 'aborted';
  /** Canaries are the instances whose labels match it… */
  selector?: string;
  /** …or this share of instances, by a hash of their id. */
  percentage?: number;
  /** The newest config version id when it started: what non-canaries keep getting. */
  baselineId: number;
  /** Aborted: every instance stays at the baseline until a version newer than this one. */
  heldUntilId?: number;
  createdBy: string;
  createdAt: string;
  endedBy?: string;
  endedAt?: string;
}

/** An instance that asked for a config (`/api/v1/config/:app/:env/instances`). */
export interface ConfigInstance {
  instance: string;
  labels: Record<string, string>;
  /** The version it was last served (a commit sha of main). */
  version: string;
  release: 'stable' | 'canary';
  lastSeen: string;
  via: 'get' | 'watch';
  /** It is watching now. */
  connected: boolean;
}

/** One version of a config, with what it changed (`/api/v1/config/:app/:env/versions`). */
export interface ConfigVersionEntry {
  id: number;
  version: string;
  seq: number;
  committedAt: string;
  author: string;
  removed: boolean;
  /** Leaves added, removed or changed (JSON pointers); secret keys as `secret:<key>`, never with values. */
  changes: Array<{ path: string; change: 'added' | 'removed' | 'changed'; secret?: true; from?: unknown; to?: unknown }>;
}

/** A host report that kept failing and was set aside (`GET /api/v1/reports/dead-letters`; docs/ingest.md). */
export interface DeadLetter {
  /** The dead letter's id, for a replay. */
  id: number;
  reportId: string;
  host: string;
  seq: number;
  /** The last failure's message. */
  reason: string;
  attempts: number;
  failedAt: string;
}

/** What the drift engine does with an asset's drift (docs/drift.md#modes-driftmode). */
export type DriftMode = 'observe' | 'shadow' | 'enforce';

/** A declared field that differs (or differed) from what a host reports (`GET /api/v1/drift`; docs/drift.md). */
export interface DriftItem {
  /** `host/web-01` */
  asset: string;
  /** JSON pointer of the declared field. */
  field: string;
  declared: unknown;
  observed: unknown;
  firstSeen: string;
  lastSeen: string;
  /** The report that last showed it (or converged it). */
  reportId: string;
  /** `ignored`: open, but someone ignored it while its observed value stays the same. */
  state: 'open' | 'ignored' | 'resolved';
  resolvedAt?: string;
  /** State `ignored`: who ignored it, when and why. */
  ignored?: { reason: string; by: string; at: string };
  /** The asset's drift mode by the DriftMode policies at main's head. */
  mode: DriftMode;
}

/** Filters of {@link DriftItem} lists; `state` defaults to `open`. */
export interface DriftQuery extends PageQuery {
  /** Only items of this asset, e.g. `host/web-01`. */
  asset?: string;
  /** Only items of declared assets whose labels match this selector. */
  selector?: string;
  state?: 'open' | 'ignored' | 'resolved' | 'all';
}

/** One page of drift items, in the order they opened. */
export interface DriftPage {
  items: DriftItem[];
  nextCursor?: string;
}

/** A drift field an adoption left out, and why. */
export interface DriftSkip {
  field: string;
  reason: string;
}

/** The answer of `POST /api/v1/drift/adopt`: the change request opened and the fields left out. */
export interface DriftAdoptAnswer {
  change: Change;
  skipped: DriftSkip[];
}

/** The answer of `POST /api/v1/drift/revert`: the revert request an enforcing agent acts on. */
export interface DriftRevertAnswer {
  asset: string;
  field: string;
  requestedBy: string;
  requestedAt: string;
  /** The asset's drift mode now (an agent running with enforcement on acts on revert requests in any mode). */
  mode: DriftMode;
}

/** The answer of `POST /api/v1/drift/ignore`. */
export interface DriftIgnoreAnswer {
  item: DriftItem;
  /** What ignoring does and the permanent way (a DriftIgnore policy). */
  note: string;
}

/** One entry of an asset's timeline (`GET /api/v1/assets/:kind/:name/timeline`; docs/drift.md). */
export interface TimelineEntry {
  /** ISO 8601 UTC. */
  at: string;
  source: 'declared' | 'observed';
  /** `asset.added|changed|moved|removed`, `source.changed` (a `source:` file of its managed files), `drift.opened|changed|resolved`, `host.enforced`, `host.stale`, `report.first|latest`. */
  type: string;
  /** One readable line; file contents never appear. */
  summary: string;
  /** Declared entries: the commit of main and how it got there. */
  commit?: { seq: number; sha: string; subject: string; author: string; committedAt: string } | string;
  provenance?: Omit<Provenance, 'sha' | 'seq' | 'subject' | 'author' | 'committedAt'>;
  path?: string;
  fromPath?: string;
  fields?: FieldChange[];
  /** Observed entries: the drift event, field and report. */
  eventId?: number;
  field?: string;
  itemId?: number;
  reportId?: string;
  seq?: number;
  details?: Record<string, unknown>;
}

/** An open drift item of a timeline, with the commit that explains it (absent: changed outside Git). */
export interface TimelineDrift {
  field: string;
  declared: unknown;
  observed: unknown;
  firstSeen: string;
  reportId: string;
  explainedBy?: { seq: number; sha: string; author: string; provenance: Omit<Provenance, 'sha' | 'seq' | 'subject' | 'author' | 'committedAt'> };
}

/** Paging and time filter of a timeline. */
export interface TimelineQuery extends PageQuery {
  /** Only entries at or after this ISO 8601 time. */
  since?: string;
}

/** One page of an asset's timeline, newest first, with the verdict. */
export interface TimelinePage {
  asset: string;
  /** Does the asset differ from Git, since when, and did that go through Git. */
  verdict: string;
  openDrift: TimelineDrift[];
  items: TimelineEntry[];
  nextCursor?: string;
}

/** The answer to a replay: the report is queued again. */
export interface ReplayAnswer {
  reportId: string;
  queued: true;
}
