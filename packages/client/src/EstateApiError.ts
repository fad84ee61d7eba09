/**
 * A failed call to the Estate server. `code` is the server's own (`E_UNAUTHORIZED`,
 * `E_ASSET_NOT_FOUND`, …, from the `{"error": {code, message, details}}` body), or one of the
 * client's: `E_UNREACHABLE` (no answer: connection refused, DNS, timeout), `E_BAD_RESPONSE` (an
 * answer that is not the API's JSON, e.g. a proxy's HTML page), `E_BAD_PARAM` (refused before
 * sending, e.g. a malformed asset id) and `E_USAGE` (a server URL that cannot be used). Check
 * errors by `code`, not `instanceof`.
 */
export class EstateApiError extends Error {
  /** Stable machine-readable code, `E_…`. */
  readonly code: string;
  /** The HTTP status, or 0 when no answer arrived (or the request was never sent). */
  readonly status: number;
  /** Structured details from the server's error body. */
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, status: number, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EstateApiError';
    this.code = code;
    this.status = status;
    this.details = details;
  }

  /** The product's standard error body, plus the status. */
  toJSON(): { code: string; message: string; status: number; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, status: this.status, details: this.details };
  }
}

/**
 * The code for an error answer whose body does not carry one (a proxy, or a server from before
 * the contract): what the API would have said for that status.
 */
export function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'E_BAD_PARAM';
    case 401:
      return 'E_UNAUTHORIZED';
    case 403:
      return 'E_FORBIDDEN';
    case 404:
      return 'E_NOT_FOUND';
    case 413:
      return 'E_TOO_LARGE';
    case 503:
      return 'E_NOT_READY';
    default:
      return 'E_BAD_RESPONSE';
  }
}
