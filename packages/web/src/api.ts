import { EstateApiError, EstateClient } from '@estate/client';

/** The caller's token as `GET /api/v1/whoami` describes it (never the secret). */
export interface Identity {
  id: string;
  name: string;
  role: 'viewer' | 'editor' | 'approver' | 'admin' | 'agent';
  groups: string[];
  scopes: Record<string, string[]>;
  expiresAt?: string;
}

/** A client of the server that served the UI, with the signed-in token. */
export function createClient(token: string): EstateClient {
  return new EstateClient({ url: window.location.origin, token });
}

/**
 * Who the token is (`GET /api/v1/whoami`). Fails with the server's code (`E_UNAUTHORIZED` for a
 * wrong, revoked or expired token) as an {@link EstateApiError}.
 */
export async function whoami(token: string): Promise<Identity> {
  let response: Response;
  try {
    response = await fetch('/api/v1/whoami', { headers: { accept: 'application/json', authorization: `Bearer ${token}` }, redirect: 'error' });
  } catch (error) {
    throw new EstateApiError('E_UNREACHABLE', 'cannot reach the Estate server', 0, {}, { cause: error });
  }
  const body = (await response.json().catch(() => undefined)) as { token?: Identity; error?: { code: string; message: string } } | undefined;
  if (!response.ok) throw new EstateApiError(body?.error?.code ?? 'E_BAD_RESPONSE', body?.error?.message ?? `the server answered ${response.status}`, response.status);
  if (!body?.token) throw new EstateApiError('E_UNAUTHORIZED', 'the server knows no token for this session', response.status);
  return body.token;
}

/** A message for any failure of a call: the server's own, else the error's. */
export function describeError(error: unknown): string {
  if (error instanceof Error && 'code' in error) return `${error.message} (${String((error as { code: unknown }).code)})`;
  return error instanceof Error ? error.message : String(error);
}
