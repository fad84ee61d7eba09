import { createHash, randomBytes } from 'node:crypto';
import { hasErrorCode, InputError, NotAllowedError, NotFoundError } from '@estate/core';
import { ROLES, TOKEN_ROLES, type Role, type Store, type TokenRecord, type TokenRole } from '../store/Store.js';

/** Every API token starts with this, so secret scanners and people recognise one. */
export const TOKEN_PREFIX = 'est_';

/** `est_` + 32 random bytes in base64url (RFC 4648 §5, no padding: 43 characters). */
const TOKEN_PATTERN = /^est_[A-Za-z0-9_-]{43}$/;
/** RFC 6750 §2.1: `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1). */
const BEARER = /^Bearer +(\S+) *$/i;
/** RFC 4648 §6 base32 alphabet, lower-cased: ids stay readable and unambiguous in a terminal. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const MAX_NAME_LENGTH = 200;
/** A group name: lower-case letters, digits, `-`, `_` and `.`, starting with a letter or digit. */
const GROUP_NAME = /^[a-z0-9][-a-z0-9_.]{0,62}$/;

/** What {@link issueToken} needs to know about a new token. */
export interface TokenRequest {
  /**
   * Who uses the token: a person's user name (`alice`) or a robot's (`ci-deploy`). Changes,
   * approvals and audit entries name it; tokens with the same name are the same user.
   */
  name: string;
  role: TokenRole;
  /** Groups of the user (`sre`, `dba`), which approval policies name. */
  groups?: string[];
  /** When the token stops working; none = until revoked. */
  expiresAt?: Date;
  /**
   * Restrictions and grants: `apps` limits the token to those apps' config (it may call nothing
   * else); `secrets` lets it read the secrets of `app/env` pairs (`*` for any app or env).
   */
  scopes?: Record<string, string[]>;
}

/** The sha256 (hex) of a token: the only form in which a token is stored or compared. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Creates a token and stores its hash. The token itself is in the answer and nowhere else: it
 * cannot be shown again, only revoked and replaced.
 */
export async function issueToken(store: Store, request: TokenRequest, now: Date = new Date()): Promise<{ token: string; record: TokenRecord }> {
  const name = typeof request.name === 'string' ? request.name.trim() : '';
  if (name === '' || name.length > MAX_NAME_LENGTH) {
    throw new InputError('E_BAD_PARAM', `a token needs a name of 1 to ${MAX_NAME_LENGTH} characters`, { parameter: 'name' });
  }
  if (!(TOKEN_ROLES as readonly string[]).includes(request.role)) {
    throw new InputError('E_BAD_PARAM', `unknown role '${String(request.role)}': expected one of ${TOKEN_ROLES.join(', ')}`, { parameter: 'role', roles: [...TOKEN_ROLES] });
  }
  const groups = [...new Set(request.groups ?? [])].sort();
  const badGroup = groups.find((group) => !GROUP_NAME.test(group));
  if (badGroup !== undefined) {
    throw new InputError('E_BAD_PARAM', `invalid group name '${badGroup}': use lower-case letters, digits, '-', '_' and '.' (at most 63)`, { parameter: 'groups', value: badGroup });
  }
  checkScopes(request.role, request.scopes ?? {});
  if (request.expiresAt !== undefined) {
    const time = request.expiresAt.getTime();
    if (Number.isNaN(time) || time <= now.getTime()) {
      throw new InputError('E_BAD_PARAM', 'a token must expire in the future', { parameter: 'expiresAt' });
    }
  }
  // Ids have 40 random bits: a clash is rare but possible, and only costs another draw.
  for (let attempt = 1; ; attempt++) {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const record: TokenRecord = {
      id: newTokenId(),
      name,
      role: request.role,
      scopes: request.scopes ?? {},
      groups,
      createdAt: now.toISOString(),
      ...(request.expiresAt ? { expiresAt: request.expiresAt.toISOString() } : {}),
    };
    try {
      await store.createToken(record, hashToken(token));
      return { token, record };
    } catch (error) {
      if (!hasErrorCode(error, 'E_CONFLICT') || attempt === 3) throw error;
    }
  }
}

/** Every token, revoked and expired ones included (they show why a caller is refused), oldest first. */
export async function listTokens(store: Store): Promise<TokenRecord[]> {
  const tokens = await store.listTokens();
  return tokens.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Revokes a token named by its id or its name, and returns it. Revoking a revoked token changes
 * nothing. A name shared by several live tokens is refused (`E_AMBIGUOUS`): revoke by id.
 */
export async function revokeToken(store: Store, idOrName: string, now: Date = new Date()): Promise<TokenRecord> {
  const tokens = await store.listTokens();
  let token = tokens.find((t) => t.id === idOrName);
  if (!token) {
    const named = tokens.filter((t) => t.name === idOrName);
    const live = named.filter((t) => t.revokedAt === undefined);
    if (live.length > 1) {
      throw new InputError('E_AMBIGUOUS', `${live.length} tokens are named '${idOrName}' (${live.map((t) => t.id).join(', ')}): revoke one by id`, {
        name: idOrName,
        ids: live.map((t) => t.id),
      });
    }
    token = live[0] ?? named[0];
  }
  if (!token) throw new NotFoundError('E_TOKEN_NOT_FOUND', `no token with the id or name '${idOrName}'`, { token: idOrName });
  if (token.revokedAt !== undefined) return token;
  if (!(await store.revokeToken(token.id, now))) throw new NotFoundError('E_TOKEN_NOT_FOUND', `no token with the id or name '${idOrName}'`, { token: idOrName });
  // The caches of this process over the same store forget it at once (another process's within their time).
  for (const cache of cachesByStore.get(store) ?? []) cache.forget(token.id);
  return { ...token, revokedAt: now.toISOString() };
}

/** How long (ms) a {@link TokenCache} trusts a person's or robot's token it read, without asking the store again. */
export const TOKEN_CACHE_MS = 1_000;
/**
 * How long (ms) a {@link TokenCache} trusts an agent token: a fleet's agents each report every
 * interval, so a cache of one second would miss on every report (at 10k agents the lookups were
 * 5 % of the server's CPU under the fleet benchmark).
 */
export const AGENT_TOKEN_CACHE_MS = 30_000;
/** Tokens a {@link TokenCache} keeps at most (the oldest read goes first): room for a fleet of 10k agents and their people. */
const TOKEN_CACHE_SIZE = 20_000;

/** The caches of each store, so that {@link revokeToken} in this process makes them forget the token at once. */
const cachesByStore = new WeakMap<object, Set<TokenCache>>();

/**
 * The tokens of recent requests by hash, each trusted for {@link TOKEN_CACHE_MS} after it was read
 * ({@link AGENT_TOKEN_CACHE_MS} for an agent token): a busy client's requests then cost no token
 * lookup in the store (measured: 15 % of the CPU of a point get). A token revoked with
 * {@link revokeToken} in this process is forgotten at once; one revoked by another process
 * (`estate token revoke`) is refused within that time. Hashes the store does not know are not
 * kept: a new token works at once. Expiry is checked on every request by {@link authenticate}.
 */
export class TokenCache {
  readonly #store: Pick<Store, 'tokenByHash'>;
  readonly #kept = new Map<string, { record: TokenRecord; until: number }>();

  constructor(store: Pick<Store, 'tokenByHash'>) {
    this.#store = store;
    let caches = cachesByStore.get(store);
    if (!caches) cachesByStore.set(store, (caches = new Set()));
    caches.add(this);
  }

  /** The token with this hash, revoked or not, as the store had it at most {@link TOKEN_CACHE_MS} ({@link AGENT_TOKEN_CACHE_MS}) ago. */
  async tokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const now = Date.now();
    const kept = this.#kept.get(hash);
    if (kept !== undefined && kept.until > now) return kept.record;
    this.#kept.delete(hash);
    const record = await this.#store.tokenByHash(hash);
    if (record !== undefined) {
      if (this.#kept.size >= TOKEN_CACHE_SIZE) this.#kept.delete(this.#kept.keys().next().value!);
      this.#kept.set(hash, { record, until: now + (record.role === 'agent' ? AGENT_TOKEN_CACHE_MS : TOKEN_CACHE_MS) });
    }
    return record;
  }

  /** Drops the token with this id (revoked): its next request asks the store. */
  forget(id: string): void {
    for (const [hash, kept] of this.#kept) if (kept.record.id === id) this.#kept.delete(hash);
  }
}

/**
 * The token of an `Authorization: Bearer …` header, if it is live. Throws `E_UNAUTHORIZED` when
 * the header is missing or garbled, or the token is unknown, revoked or expired. An unknown and a
 * revoked token get the same message, so a caller learns nothing about tokens it does not hold.
 * The token is never logged nor put in an error: only its hash leaves this function. `tokens` is
 * the store, or a {@link TokenCache} of it.
 */
export async function authenticate(tokens: Pick<Store, 'tokenByHash'>, authorizationHeader: string | undefined, now: Date = new Date()): Promise<TokenRecord> {
  if (authorizationHeader === undefined || authorizationHeader.trim() === '') {
    throw unauthorized('missing bearer token: send Authorization: Bearer <token>', 'missing');
  }
  const token = BEARER.exec(authorizationHeader)?.[1];
  if (token === undefined || !TOKEN_PATTERN.test(token)) {
    throw unauthorized('malformed Authorization header: expected Bearer est_<43 characters>', 'malformed');
  }
  const record = await tokens.tokenByHash(hashToken(token));
  if (!record || record.revokedAt !== undefined) throw unauthorized('invalid token', 'invalid');
  if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime()) {
    throw unauthorized(`token expired at ${record.expiresAt}`, 'expired');
  }
  return record;
}

/**
 * A duration such as `90m`, `12h`, `30d` or `1w` (minutes, hours, days, weeks), in milliseconds.
 * Throws InputError `E_BAD_PARAM` for anything else, zero included.
 */
export function parseDuration(text: string): number {
  const match = /^(\d{1,6})([mhdw])$/.exec(text.trim());
  const count = match ? Number(match[1]) : 0;
  if (!match || count === 0) {
    throw new InputError('E_BAD_PARAM', `invalid duration '${text}': expected a positive number and a unit m, h, d or w (90m, 12h, 30d, 1w)`, {
      parameter: 'duration',
      value: text,
    });
  }
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as 'm' | 'h' | 'd' | 'w'];
  return count * unit;
}

/**
 * True when `role` has the rights of `needed`. Human roles are ordered: viewer < editor < approver
 * < admin. `agent` stands apart: only an agent has an agent's rights, and an agent has no others.
 */
export function roleAtLeast(role: TokenRole, needed: TokenRole): boolean {
  if (role === 'agent' || needed === 'agent') return role === needed;
  const have = ROLES.indexOf(role);
  return have >= 0 && have >= ROLES.indexOf(needed);
}

/** Refuses (`403 E_FORBIDDEN`) an agent token whose `hosts` scope does not name `host`: an agent acts only for its own hosts. */
export function requireHostScope(token: Pick<TokenRecord, 'id' | 'scopes'>, host: string): void {
  const hosts = token.scopes['hosts'] ?? [];
  if (!hosts.includes(host)) {
    throw new NotAllowedError('E_FORBIDDEN', `token '${token.id}' is for ${hosts.join(', ') || 'no host'}, not for host '${host}'`, { host, hosts });
  }
}

/** A DNS label (RFC 1123 §2.1), lower case: app and host names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The human role of a token that acts as a user (changes, approvals, pushes). An agent token is
 * refused (`E_FORBIDDEN`): it acts for a host, never as a user.
 */
export function humanRole(token: TokenRecord): Role {
  if (token.role === 'agent') throw new NotAllowedError('E_FORBIDDEN', `token '${token.id}' is an agent token: it may only post reports`, { role: token.role });
  return token.role;
}

/** The scopes a token may have, and the form of their entries. */
const SCOPE_ENTRY: Record<string, RegExp> = {
  apps: DNS_LABEL,
  hosts: DNS_LABEL,
  secrets: /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?|\*)\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?|\*)$/,
};

/** What each scope's entries must be, for the message of a refused entry. */
const SCOPE_EXPECTED: Record<string, string> = {
  apps: 'an app name (a DNS-1123 label)',
  hosts: 'a host name (a DNS-1123 label)',
  secrets: 'app/env, where either may be *',
};

/**
 * Scopes must be known and well-formed. An agent token names the hosts it reports for, and
 * nothing else; `hosts` on any other role is refused (it would grant nothing and mislead).
 */
function checkScopes(role: TokenRole, scopes: Record<string, string[]>): void {
  const hosts = scopes['hosts'];
  if (role === 'agent') {
    const other = Object.keys(scopes).find((scope) => scope !== 'hosts');
    if (other !== undefined) throw new InputError('E_BAD_PARAM', `an agent token takes no '${other}' scope, only hosts`, { parameter: 'scopes', scope: other });
    if (hosts === undefined || hosts.length === 0) throw new InputError('E_BAD_PARAM', 'an agent token needs the hosts it reports for (scope hosts)', { parameter: 'scopes', scope: 'hosts' });
  } else if (hosts !== undefined) {
    throw new InputError('E_BAD_PARAM', `the hosts scope is for agent tokens; role '${role}' cannot have it`, { parameter: 'scopes', scope: 'hosts' });
  }
  for (const [scope, entries] of Object.entries(scopes)) {
    const form = SCOPE_ENTRY[scope];
    if (!form) throw new InputError('E_BAD_PARAM', `unknown token scope '${scope}': expected ${Object.keys(SCOPE_ENTRY).join(' or ')}`, { parameter: 'scopes', scope });
    const bad = entries.find((entry) => typeof entry !== 'string' || !form.test(entry));
    if (bad !== undefined) {
      throw new InputError('E_BAD_PARAM', `invalid ${scope} scope '${String(bad)}': expected ${SCOPE_EXPECTED[scope]}`, { parameter: 'scopes', scope, value: String(bad) });
    }
  }
}

/** `tok_` + 8 base32 characters (40 random bits): short enough to type, shown in token lists. */
function newTokenId(): string {
  const bytes = randomBytes(5);
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  let id = '';
  for (let i = 7; i >= 0; i--) id += BASE32[Number((bits >> BigInt(i * 5)) & 31n)];
  return 'tok_' + id;
}

function unauthorized(message: string, reason: 'missing' | 'malformed' | 'invalid' | 'expired'): NotAllowedError {
  return new NotAllowedError('E_UNAUTHORIZED', message, { reason });
}
