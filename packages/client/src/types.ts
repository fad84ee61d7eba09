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
