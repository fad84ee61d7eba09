import type { Diagnostic, LabelSelector } from '@estate/core';

/** A person and moment of a commit (author or committer). */
export interface Signature {
  name: string;
  email: string;
  /** Strict ISO 8601 with the signer's UTC offset, as git records it. */
  date: string;
}

/**
 * A commit of `main`, in the order the indexer saw `main` reach it. `seq` numbers those states:
 * every question "as of commit X" is answered for X's seq.
 */
export interface CommitRecord {
  seq: number;
  sha: string;
  parents: string[];
  author: Signature;
  committer: Signature;
  /** The whole commit message. */
  message: string;
  /** Errors the estate had at this commit (the commit was pushed around the gates when > 0). */
  errors: number;
  /** When the indexer stored it (ISO 8601, UTC). */
  indexedAt: string;
}

/** One declared reference of an asset version. */
export interface StoredReference {
  to: string;
  type: string;
  inverse: string;
  field: string;
}

/** What the indexer writes for one asset whose content changed at a commit. */
export interface AssetWrite {
  id: string;
  kind: string;
  name: string;
  path: string;
  blobId: string;
  /** The whole document (apiVersion, kind, metadata, spec) as plain JSON. */
  document: Record<string, unknown>;
  labels: Record<string, string>;
  owner: string | undefined;
  /** Lower-cased text that `q` searches: name, description, labels and spec values. */
  searchText: string;
  references: StoredReference[];
}

/** Everything that changed at one commit: written atomically, or not at all. */
export interface CommitBatch {
  commit: Omit<CommitRecord, 'seq' | 'indexedAt'>;
  /** Assets changed by this commit, by id; `null` = no longer defined. */
  assets: Map<string, AssetWrite | null>;
  /** Paths whose diagnostics changed, with their complete new list ([] = none now). */
  diagnostics: Map<string, Diagnostic[]>;
  /** The kinds and estate config as of this commit, when they changed. */
  model?: EstateModel;
}

/** The kinds (with their JSON schemas) and estate settings at some commit, as served by /kinds. */
export interface EstateModel {
  kinds: unknown[];
  config: unknown;
}

/** One version of an asset: its content from commit `from` (inclusive) until `to` (exclusive). */
export interface AssetVersion {
  id: string;
  kind: string;
  name: string;
  path: string;
  blobId: string;
  document: Record<string, unknown>;
  from: CommitRef;
  /** The commit that changed or removed it; absent while it is current. */
  to?: CommitRef;
}

/**
 * An asset version whose document is still the JSON text the store keeps, for answers that pass
 * it on without parsing it (a list of 1,000 assets spends more time parsing and serializing
 * documents than finding them).
 */
export type AssetVersionJson = Omit<AssetVersion, 'document'> & {
  /** The document as JSON text, exactly as `JSON.stringify(document)` writes it. */
  documentJson: string;
};

/** A commit named by both its order on main and its id. */
export interface CommitRef {
  seq: number;
  sha: string;
}

/** A relation that holds at some commit, seen from `from`. */
export interface StoredEdge {
  from: string;
  to: string;
  /** The relation's name as seen from `from` (`runsOn`, or `hosts` when followed inward). */
  relation: string;
  /** Both names of the pair, for filtering by either. */
  names: [string, string];
  /** The field of the referencing asset that declares it. */
  field: string;
}

/** Filters of {@link Store.listAssets}; all must hold. */
export interface AssetQuery {
  seq: number;
  kind?: string;
  owner?: string;
  selector?: LabelSelector;
  /** Terms (already lower-cased); every one must occur in the asset's search text. */
  terms?: string[];
  limit: number;
  /** Only ids after this one (the cursor of the previous page). */
  after?: string;
}

/** Matches of a query counted per kind and per owner (each map sums to the number of matches). */
export interface AssetCounts {
  kinds: Record<string, number>;
  /** By owner reference; `''` counts the assets without an owner. */
  owners: Record<string, number>;
}

/** An API token as stored: never the token itself, only its hash. */
export interface TokenRecord {
  id: string;
  /** Who uses the token: the user name that changes, approvals and the audit trail show. */
  name: string;
  role: TokenRole;
  /** Groups of the user (`sre`, `dba`): approval policies require approvals from groups. */
  groups: string[];
  /** Restrictions for later use (apps, kinds, paths); empty = no restriction. */
  scopes: Record<string, string[]>;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

/** The human roles, each including the rights of the ones before it. */
export const ROLES = ['viewer', 'editor', 'approver', 'admin'] as const;
/**
 * Every token role: the human ones and `agent`, a host's agent that may only post reports about the
 * hosts of its `hosts` scope. `agent` is outside the human ordering: neither above nor below them.
 */
export const TOKEN_ROLES = [...ROLES, 'agent'] as const;
/** A human role: what a person's (or a robot's) token may do in the API. */
export type Role = (typeof ROLES)[number];
/** A token's role: a human role or `agent`. */
export type TokenRole = (typeof TOKEN_ROLES)[number];

/**
 * The read model: commits of main, asset versions with validity intervals, their references and
 * labels, diagnostics per path, kinds, and API tokens. SQLite is the embedded adapter; every
 * adapter passes the contract suite in `storeContract.ts`. Everything but tokens can be rebuilt
 * from the repo (`clearIndex`).
 */
export interface Store {
  /** The last indexed commit, if any. */
  head(): Promise<CommitRef | undefined>;
  /** Stores one commit's changes and makes it the head, atomically. Returns its seq. */
  appendCommit(batch: CommitBatch): Promise<number>;
  /** Stores successive commits in one transaction (all or none). Returns their seqs. */
  appendCommits(batches: readonly CommitBatch[]): Promise<number[]>;
  /** Forgets everything indexed (tokens and settings stay). */
  clearIndex(): Promise<void>;
  /**
   * Forgets the commits after `seq`, atomically: the store answers as it did when `seq` was the
   * head (0 = empty). For a branch that moved off the indexed history.
   */
  truncateAfter(seq: number): Promise<void>;

  /** A commit by full sha or unambiguous prefix (≥ 4 hex digits); throws E_AMBIGUOUS on several. */
  findCommit(shaOrPrefix: string): Promise<CommitRecord | undefined>;
  commitBySeq(seq: number): Promise<CommitRecord | undefined>;
  /** The commits with these seqs (unknown ones left out), by seq ascending: one read for many. */
  commitsBySeq(seqs: readonly number[]): Promise<CommitRecord[]>;
  /** The last commit whose committer date is at or before `time` (in main's order). */
  commitAtTime(time: Date): Promise<CommitRecord | undefined>;
  /** Commits newest first, with seq below `beforeSeq` when given. */
  listCommits(options: { limit: number; beforeSeq?: number }): Promise<CommitRecord[]>;

  getAsset(id: string, seq: number): Promise<AssetVersion | undefined>;
  /** {@link getAsset} with the document left as JSON text. */
  getAssetJson(id: string, seq: number): Promise<AssetVersionJson | undefined>;
  listAssets(query: AssetQuery): Promise<AssetVersion[]>;
  /** {@link listAssets} with the documents left as JSON text. */
  listAssetsJson(query: AssetQuery): Promise<AssetVersionJson[]>;
  /** Versions of one asset, newest first, starting below `beforeSeq` when given. */
  assetVersions(id: string, options: { limit: number; beforeSeq?: number }): Promise<AssetVersion[]>;
  /** Ids of assets with a version starting or ending in (fromSeq, toSeq]. */
  changedAssetIds(fromSeq: number, toSeq: number): Promise<string[]>;
  /**
   * Relations of `id` at `seq` whose other end exists then: `out` = what it references,
   * `in` = what references it (seen from `id`, with the inverse name).
   */
  edges(id: string, seq: number, direction: 'in' | 'out'): Promise<StoredEdge[]>;
  /** Every diagnostic that holds at `seq`, sorted by path and position. */
  diagnosticsAt(seq: number): Promise<Diagnostic[]>;
  /** Kinds and estate settings at `seq`. */
  modelAt(seq: number): Promise<EstateModel | undefined>;
  /** Number of current assets per kind at `seq`. */
  countByKind(seq: number): Promise<Record<string, number>>;
  /** How many assets match `query` (its limit and cursor aside), per kind and per owner (`''`: none). */
  countAssets(query: Omit<AssetQuery, 'limit' | 'after'>): Promise<AssetCounts>;

  createToken(record: TokenRecord, hash: string): Promise<void>;
  /** The token with this hash, revoked or not. */
  tokenByHash(hash: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /** Marks a token revoked; false when there is no such token. */
  revokeToken(id: string, at: Date): Promise<boolean>;
  /** Records use, at most about once a minute per token. */
  touchToken(id: string, at: Date): Promise<void>;

  close(): Promise<void>;
}
