/**
 * A failure of the agent itself, with a stable code: `E_USAGE` (bad options or flags),
 * `E_TOKEN` (no agent token, or an unreadable token file). Check by `code`.
 */
export class AgentError extends Error {
  /** Stable machine-readable code, `E_…`. */
  readonly code: string;
  /** Structured details (never secrets). */
  readonly data: Record<string, unknown>;

  constructor(code: string, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
    this.code = code;
    this.data = data;
  }

  /** The product's error shape. */
  toJSON(): { code: string; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.data };
  }
}
