import type { CommitRef } from '../store/Store.js';

/**
 * What the indexer reports about itself; the HTTP layer reads it for `/readyz` and `/metrics`
 * (a function returning the current value is passed to `buildApp`).
 */
export interface IndexStatus {
  /** The last indexed commit of main. */
  head?: CommitRef;
  /** Where main is in the estate repo (may be ahead of `head` while indexing). */
  mainSha?: string;
  state: 'starting' | 'indexing' | 'ready';
  /** Commits indexed since the process started. */
  commitsIndexed: number;
  /** How far the index is behind main, in seconds (0 when caught up). */
  lagSeconds: number;
  /** Validation errors the estate has at `head` (main was pushed around the gates when > 0). */
  headErrors: number;
  /** The last indexing failure, for logs and operators; never served over HTTP (it may name URLs). */
  lastError?: string;
}
