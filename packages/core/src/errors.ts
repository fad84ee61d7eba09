/**
 * Errors carry a stable, literal `code` that callers check (never `instanceof` across packages),
 * structured `data` for machines, and the `cause` they wrap.
 */
export class EstateError extends Error {
  /** Stable machine-readable code, e.g. `E_REV_NOT_FOUND`; listed in docs/errors.md. */
  readonly code: string;
  /** Structured details: the offending value, the path, the limit... */
  readonly data: Record<string, unknown>;

  constructor(code: string, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.data = data;
  }

  /** Serializes as the product's standard error body (`{code, message, details}`). */
  toJSON(): { code: string; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.data };
  }
}

/** The caller asked for something malformed: a bad argument, flag or parameter. */
export class InputError extends EstateError {}

/** The named thing (asset, revision, kind...) does not exist. */
export class NotFoundError extends EstateError {}

/** The operation lost a race or contradicts current state. */
export class ConflictError extends EstateError {}

/** The caller is not allowed to do this. */
export class NotAllowedError extends EstateError {}

/** Content failed validation; `data.errors` holds the diagnostics. */
export class ValidationError extends EstateError {}

/** True when `error` is an object with a string `code` property (works across packages and realms). */
export function hasErrorCode(error: unknown, code?: string): error is { code: string; message: string } {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const actual = (error as { code: unknown }).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}
