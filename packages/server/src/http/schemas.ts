/**
 * JSON schemas of the HTTP API (draft-07, as Fastify's Ajv reads them). Fastify validates
 * parameters and serializes answers with them, and the OpenAPI document is generated from them.
 * Every params and querystring schema has `additionalProperties: false`: an unknown parameter is
 * a mistake worth a 400, not something to ignore.
 */

const at = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  description: 'A commit of main: full sha or unambiguous prefix (≥ 4 hex digits), or an ISO 8601 time (the last commit at or before it). Default: the head.',
} as const;
const limit = { type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Items per page.' } as const;
const cursor = { type: 'string', minLength: 1, maxLength: 1024, description: 'The nextCursor of the previous page.' } as const;

/** Query parameters from their schemas; every one optional unless `required` says so. */
function query(properties: Record<string, unknown>, required: string[] = []): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, properties, ...(required.length ? { required } : {}) };
}

/** For routes that take no query parameters at all. */
export const noQuery = query({});

export const assetListQuery = query({
  kind: { type: 'string', minLength: 1, maxLength: 64, description: 'Kind name or id prefix, any case (Host, host).' },
  selector: { type: 'string', minLength: 1, maxLength: 2048, description: 'Label selector: env=prod,role in (web,api),!legacy.' },
  owner: { type: 'string', minLength: 1, maxLength: 253, description: 'Owner reference, e.g. team/web.' },
  q: { type: 'string', minLength: 1, maxLength: 256, description: 'Words that must all occur in the name, description, labels or spec values.' },
  at,
  limit,
  cursor,
});

export const assetParams = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'name'],
  properties: {
    kind: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]{0,62}$', description: 'Kind name or id prefix, any case.' },
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description: 'metadata.name (a DNS-1123 label).' },
  },
} as const;

export const atQuery = query({ at });
export const pageQuery = query({ limit, cursor });

export const relationsQuery = query({
  direction: { type: 'string', enum: ['in', 'out', 'both'], default: 'both', description: 'out: what the asset references; in: what references it.' },
  depth: { type: 'integer', minimum: 1, maximum: 10, default: 1, description: 'Hops to follow.' },
  limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000, description: 'Assets to report at most, nearest first; truncated says whether more were reached.' },
  type: { type: 'string', minLength: 1, maxLength: 512, description: 'Comma-separated relation names (either name of a pair: runsOn or hosts).' },
  at,
});

export const commitParams = {
  type: 'object',
  additionalProperties: false,
  required: ['sha'],
  properties: { sha: { type: 'string', pattern: '^[0-9a-fA-F]{4,64}$', description: 'Full sha or unambiguous prefix (≥ 4 hex digits).' } },
} as const;

export const diffQuery = query(
  {
    from: { ...at, description: 'The older side: sha, prefix or ISO 8601 time.' },
    to: { ...at, description: 'The newer side (default: the head).' },
    limit: { ...limit, maximum: 10000, default: 1000, description: 'Assets per page (the summary counts them all).' },
    cursor,
  },
  ['from'],
);

const commitRef = {
  type: 'object',
  required: ['seq', 'sha'],
  properties: { seq: { type: 'integer' }, sha: { type: 'string' } },
} as const;

const signature = {
  type: 'object',
  required: ['name', 'email', 'date'],
  properties: { name: { type: 'string' }, email: { type: 'string' }, date: { type: 'string' } },
} as const;

const commit = {
  type: 'object',
  required: ['seq', 'sha', 'parents', 'author', 'committer', 'message', 'errors', 'indexedAt'],
  properties: {
    seq: { type: 'integer' },
    sha: { type: 'string' },
    parents: { type: 'array', items: { type: 'string' } },
    author: signature,
    committer: signature,
    message: { type: 'string' },
    errors: { type: 'integer', description: 'Validation errors of the estate at this commit.' },
    indexedAt: { type: 'string' },
  },
} as const;

const diagnostic = {
  type: 'object',
  required: ['code', 'path', 'line', 'col', 'message'],
  properties: {
    code: { type: 'string' },
    path: { type: 'string' },
    line: { type: 'integer' },
    col: { type: 'integer' },
    message: { type: 'string' },
    asset: { type: 'string' },
  },
} as const;

const document = { type: 'object', additionalProperties: true, description: 'The whole YAML document as JSON: apiVersion, kind, metadata, spec.' } as const;

const asset = {
  type: 'object',
  required: ['id', 'kind', 'name', 'path', 'blobId', 'since', 'document'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    name: { type: 'string' },
    path: { type: 'string' },
    blobId: { type: 'string' },
    since: { ...commitRef, description: 'The commit that made this version.' },
    document,
  },
} as const;

const fieldChange = {
  type: 'object',
  required: ['op', 'pointer'],
  properties: {
    op: { type: 'string', enum: ['add', 'remove', 'replace'] },
    pointer: { type: 'string', description: 'RFC 6901 JSON pointer into the document.' },
    old: {},
    new: {},
  },
} as const;

const historyEntry = {
  type: 'object',
  required: ['commit', 'change', 'path', 'fields'],
  properties: {
    commit: {
      type: 'object',
      required: ['seq', 'sha', 'author', 'subject'],
      properties: { seq: { type: 'integer' }, sha: { type: 'string' }, author: signature, subject: { type: 'string' } },
    },
    change: { type: 'string', enum: ['added', 'changed', 'moved', 'removed'] },
    path: { type: 'string' },
    fromPath: { type: 'string' },
    fields: { type: 'array', items: fieldChange },
  },
} as const;

const relationStep = {
  type: 'object',
  required: ['from', 'to', 'relation', 'field'],
  properties: { from: { type: 'string' }, to: { type: 'string' }, relation: { type: 'string' }, field: { type: 'string' } },
} as const;

const assetDiff = {
  type: 'object',
  required: ['id', 'kind', 'status', 'path', 'fields'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    status: { type: 'string', enum: ['added', 'removed', 'changed', 'moved'] },
    path: { type: 'string' },
    fromPath: { type: 'string' },
    fields: { type: 'array', items: fieldChange },
  },
} as const;

const nextCursor = { type: 'string', description: 'Present when there are more items: pass it as cursor.' } as const;

function page(items: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'object',
    required: ['commit', 'items', ...Object.keys(extra)],
    properties: { commit: commitRef, ...extra, items: { type: 'array', items }, nextCursor },
  };
}

export const assetListResponse = page(asset);
export const assetResponse = { type: 'object', required: ['commit', 'asset'], properties: { commit: commitRef, asset } } as const;
export const historyResponse = page(historyEntry, { asset: { type: 'string' } });
export const relationsResponse = page(
  { type: 'object', required: ['id', 'depth', 'path'], properties: { id: { type: 'string' }, depth: { type: 'integer' }, path: { type: 'array', items: relationStep } } },
  { asset: { type: 'string' }, truncated: { type: 'boolean', description: 'More assets were reached than limit.' } },
);
export const commitListResponse = page(commit);
export const commitResponse = {
  type: 'object',
  required: ['commit', 'item'],
  properties: {
    commit: commitRef,
    item: { ...commit, required: [...commit.required, 'diagnostics'], properties: { ...commit.properties, diagnostics: { type: 'array', items: diagnostic } } },
  },
} as const;
export const diffResponse = {
  type: 'object',
  required: ['commit', 'from', 'to', 'summary', 'assets'],
  properties: {
    commit: commitRef,
    from: commitRef,
    to: commitRef,
    summary: {
      type: 'object',
      required: ['added', 'removed', 'changed', 'moved'],
      properties: { added: { type: 'integer' }, removed: { type: 'integer' }, changed: { type: 'integer' }, moved: { type: 'integer' } },
    },
    assets: { type: 'array', items: assetDiff },
    nextCursor,
  },
} as const;
export const kindsResponse = page({ type: 'object', additionalProperties: true, description: 'A kind: name, idPrefix, description, its JSON schema…' });

export const healthResponse = { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } as const;
export const readyResponse = {
  type: 'object',
  required: ['status', 'state', 'head', 'errors', 'lagSeconds', 'commitsIndexed'],
  properties: {
    status: { type: 'string', enum: ['ready', 'degraded'], description: 'degraded: the estate at the head of main has validation errors.' },
    state: { type: 'string', enum: ['starting', 'indexing', 'ready'] },
    head: commitRef,
    mainSha: { type: 'string' },
    errors: { type: 'integer' },
    lagSeconds: { type: 'number' },
    commitsIndexed: { type: 'integer' },
  },
} as const;
export const metricsResponse = { type: 'string', description: 'Prometheus text exposition format 0.0.4.' } as const;
export const openApiResponse = { type: 'object', additionalProperties: true, description: 'This OpenAPI 3.1 document.' } as const;
export const tokenListResponse = {
  type: 'object',
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'name', 'role', 'createdAt'],
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          role: { type: 'string', enum: ['viewer', 'editor', 'approver', 'admin', 'agent'] },
          scopes: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
          groups: { type: 'array', items: { type: 'string' } },
          createdAt: { type: 'string' },
          expiresAt: { type: 'string' },
          revokedAt: { type: 'string' },
          lastUsedAt: { type: 'string' },
        },
      },
    },
  },
} as const;
export const whoamiResponse = {
  type: 'object',
  properties: {
    token: {
      type: 'object',
      required: ['id', 'name', 'role', 'groups', 'scopes'],
      properties: {
        id: { type: 'string' },
        name: { type: 'string' },
        role: { type: 'string', enum: ['viewer', 'editor', 'approver', 'admin', 'agent'] },
        groups: { type: 'array', items: { type: 'string' } },
        scopes: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
        expiresAt: { type: 'string' },
      },
    },
  },
} as const;
