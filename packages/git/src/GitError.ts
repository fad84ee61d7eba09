/** Failure kinds of the git adapter; callers branch on these, never on messages. */
export type GitErrorCode =
  | 'E_NOT_A_REPO'
  | 'E_REV_NOT_FOUND'
  | 'E_OBJECT_NOT_FOUND'
  | 'E_REF_CONFLICT'
  | 'E_BARE_REPO'
  | 'E_INVALID_PATH'
  /** Two commits share no history, so there is nothing to merge them against. */
  | 'E_NO_MERGE_BASE'
  /** A commit that must be an ancestor of another (a revert's target on its branch) is not. */
  | 'E_NOT_ANCESTOR'
  | 'E_GIT';

/** An error from the git adapter, with a literal `code` and structured `data`. */
export class GitError extends Error {
  /** What went wrong, as a stable literal. */
  readonly code: GitErrorCode;
  /** Structured context: the revision, object id, ref or git arguments involved. */
  readonly data: Record<string, unknown>;

  /**
   * @param code - the failure kind
   * @param message - names the thing and the value, e.g. `revision 'nope' not found in /srv/estate`
   * @param data - structured context
   * @param options - `cause`: the underlying error
   */
  constructor(
    code: GitErrorCode,
    message: string,
    data: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GitError';
    this.code = code;
    this.data = data;
  }

  /** A plain object for logs and API responses (errors are not JSON-serializable by default). */
  toJSON(): { name: string; code: GitErrorCode; message: string; data: Record<string, unknown> } {
    return { name: this.name, code: this.code, message: this.message, data: this.data };
  }
}
