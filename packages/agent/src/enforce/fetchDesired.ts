import { AgentError } from '../AgentError.js';
import type { ReportEndpoint } from '../sendReport.js';
import type { DesiredState } from '../types.js';

/**
 * Reads `GET /api/v1/hosts/<host>/desired` with the agent token, sending the last answer's `ETag`
 * as `If-None-Match`: a 304 reuses that answer, so polling every interval costs the server little.
 */
export class DesiredStateClient {
  readonly #endpoint: ReportEndpoint;
  readonly #host: string;
  #etag: string | undefined;
  #last: DesiredState | undefined;

  constructor(endpoint: ReportEndpoint, host: string) {
    this.#endpoint = endpoint;
    this.#host = host;
  }

  /** The host's desired state now; throws {@link AgentError} `E_DESIRED` (with the server's code in `data.code`) when it cannot be had. */
  async fetch(): Promise<DesiredState> {
    const url = new URL(`api/v1/hosts/${encodeURIComponent(this.#host)}/desired`, this.#endpoint.server);
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${this.#endpoint.token}` };
    if (this.#etag !== undefined && this.#last !== undefined) headers['if-none-match'] = this.#etag;
    let response: Response;
    let text: string;
    try {
      response = await this.#endpoint.fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(this.#endpoint.timeoutMs) });
      text = await response.text();
    } catch (error) {
      const reason = error instanceof Error ? ((error.cause as { code?: string } | undefined)?.code ?? error.message) : String(error);
      throw new AgentError('E_DESIRED', `cannot reach ${url.href}: ${reason}`, { code: 'E_UNREACHABLE' }, { cause: error });
    }
    if (response.status === 304 && this.#last) return this.#last;
    if (response.status !== 200) {
      const code = serverCode(text) ?? `E_HTTP_${response.status}`;
      throw new AgentError('E_DESIRED', `${url.href} answered ${response.status} (${code})`, { code, status: response.status });
    }
    const desired = checkDesired(JSON.parse(text) as unknown);
    this.#last = desired;
    this.#etag = response.headers.get('etag') ?? undefined;
    return desired;
  }
}

/** The answer's form, checked enough that enforcement can rely on it. */
function checkDesired(value: unknown): DesiredState {
  const state = value as DesiredState;
  const ok =
    typeof state === 'object' &&
    state !== null &&
    ['observe', 'shadow', 'enforce'].includes(state.mode) &&
    Array.isArray(state.files) &&
    state.files.every((file) => typeof file?.path === 'string' && file.path.startsWith('/')) &&
    Array.isArray(state.reverts) &&
    state.reverts.every((revert) => typeof revert?.field === 'string');
  if (!ok) throw new AgentError('E_DESIRED', 'the desired state the server answered is not of the expected form', { code: 'E_BAD_ANSWER' });
  return state;
}

function serverCode(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}
