import { createHash } from 'node:crypto';
import { EstateError, NotFoundError, type DriftMode } from '@estate/core';
import type { GitCliRepo } from '@estate/git';
import type { FastifyInstance } from 'fastify';
import { requireHostScope } from '../auth/tokens.js';
import type { CommitRef, Store } from '../store/Store.js';
import type { DriftEngine } from './DriftEngine.js';
import type { DriftStore } from './DriftStore.js';
import { readSources, type SourceContent } from './sourceFiles.js';

export { isRepoRelativePath } from './sourceFiles.js';
/** How many hosts' file lists are kept for the current commit before the cache starts over. */
const MAX_CACHED_HOSTS = 10_000;

/** One managed file as its host should have it. */
export interface DesiredFile {
  /** Absolute path on the host. */
  path: string;
  /** The content: UTF-8 text, or base64 of the bytes when `encoding` is `base64` (a `source:` file that is not UTF-8). */
  content?: string;
  encoding?: 'utf8' | 'base64';
  /** Hex SHA-256 of the content's bytes. */
  sha256?: string;
  /** Octal permission bits as declared (`0644`). */
  mode?: string;
  /** `user` or `user:group` as declared. */
  owner?: string;
  /** Why no content is served (`mode` and `owner` still are): the agent leaves the content alone. */
  problem?: { code: string; message: string };
}

/** What `GET /api/v1/hosts/:name/desired` answers. */
export interface DesiredState {
  host: string;
  /** `host/<name>` */
  asset: string;
  /** The commit of main the files and the mode were read at (the drift engine's snapshot). */
  commit: string;
  mode: DriftMode;
  files: DesiredFile[];
  /** Pending revert requests of the asset: fields an enforcing agent restores in any mode. */
  reverts: Array<{ field: string; requestedBy: string; requestedAt: string }>;
}

const hostParams = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description: 'The host name.' } },
} as const;

const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

const desired = {
  type: 'object',
  required: ['host', 'asset', 'commit', 'mode', 'files', 'reverts'],
  properties: {
    host: { type: 'string' },
    asset: { type: 'string' },
    commit: { type: 'string' },
    mode: { type: 'string', enum: ['observe', 'shadow', 'enforce'] },
    files: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path'],
        properties: {
          path: { type: 'string' },
          content: { type: 'string' },
          encoding: { type: 'string', enum: ['utf8', 'base64'] },
          sha256: { type: 'string' },
          mode: { type: 'string' },
          owner: { type: 'string' },
          problem: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
        },
      },
    },
    reverts: {
      type: 'array',
      items: { type: 'object', required: ['field', 'requestedBy', 'requestedAt'], properties: { field: { type: 'string' }, requestedBy: { type: 'string' }, requestedAt: { type: 'string' } } },
    },
  },
} as const;

/**
 * `GET /api/v1/hosts/:name/desired` (docs/drift.md#enforce): the host's drift mode, its managed
 * files at the drift engine's snapshot of main with their content, and its pending revert requests,
 * for the host's own agent token only. Answers carry an `ETag`; `If-None-Match` with it answers 304.
 */
export function registerDesiredRoutes(app: FastifyInstance, deps: { engine: DriftEngine; drift: DriftStore; store: Store; repo: GitCliRepo }): void {
  const { engine, drift } = deps;
  const files = new DesiredFiles(deps.store, deps.repo);

  app.get<{ Params: { name: string } }>(
    '/api/v1/hosts/:name/desired',
    {
      config: { access: 'agent', conditional: true },
      schema: {
        summary: "A host's desired managed files, drift mode and revert requests (that host's agent token); ETag/If-None-Match",
        tags: ['drift'],
        params: hostParams,
        querystring: noQuery,
        response: { 200: desired },
      },
    },
    async (request, reply) => {
      const host = request.params.name;
      requireHostScope(request.token!, host);
      const commit = engine.commit;
      if (!commit) throw new EstateError('E_NOT_READY', 'the drift engine has not read main yet; retry in a moment', {});
      const asset = `host/${host}`;
      const state: DesiredState = {
        host,
        asset,
        commit: commit.sha,
        mode: engine.modeOf(asset),
        files: await files.of(asset, commit),
        reverts: drift.reverts(asset).map(({ field, requestedBy, requestedAt }) => ({ field, requestedBy, requestedAt })),
      };
      const etag = `"${createHash('sha256').update(JSON.stringify(state)).digest('hex').slice(0, 32)}"`;
      reply.header('etag', etag).header('cache-control', 'no-cache');
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return state;
    },
  );
}

/** RFC 9110 §13.1.2: `If-None-Match` is `*` or a list of (weak or strong) tags, compared weakly. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}

/** The managed files of Host assets at a commit, with `source:` contents read from git; cached per commit. */
class DesiredFiles {
  readonly #store: Store;
  readonly #repo: GitCliRepo;
  #cacheCommit = '';
  readonly #cache = new Map<string, DesiredFile[]>();

  constructor(store: Store, repo: GitCliRepo) {
    this.#store = store;
    this.#repo = repo;
  }

  async of(asset: string, commit: CommitRef): Promise<DesiredFile[]> {
    if (this.#cacheCommit !== commit.sha || this.#cache.size >= MAX_CACHED_HOSTS) {
      this.#cache.clear();
      this.#cacheCommit = commit.sha;
    }
    const cached = this.#cache.get(asset);
    if (cached) return cached;
    const version = await this.#store.getAsset(asset, commit.seq);
    if (!version) throw new NotFoundError('E_ASSET_NOT_FOUND', `no Host asset ${asset} at main's ${commit.sha.slice(0, 12)}`, { asset, commit: commit.sha });
    const spec = (version.document['spec'] ?? {}) as Record<string, unknown>;
    const declared = Array.isArray(spec['files']) ? (spec['files'] as unknown[]) : [];
    const managed = declared.filter((file): file is Record<string, unknown> => typeof file === 'object' && file !== null && typeof (file as { path?: unknown }).path === 'string');
    const sources = await readSources(this.#repo, commit.sha, managed.flatMap((file) => (typeof file['content'] !== 'string' && typeof file['source'] === 'string' ? [file['source']] : [])));
    const result = managed.map((file) => desiredFile(file, sources));
    this.#cache.set(asset, result);
    return result;
  }
}

/** One managed file as declared, with its inline content or its `source:` read from git (`sources`, by source). */
function desiredFile(file: Record<string, unknown>, sources: Map<string, SourceContent>): DesiredFile {
  const desired: DesiredFile = { path: file['path'] as string };
  if (typeof file['mode'] === 'string') desired.mode = file['mode'];
  if (typeof file['owner'] === 'string') desired.owner = file['owner'];
  let bytes: Buffer;
  if (typeof file['content'] === 'string') {
    bytes = Buffer.from(file['content'], 'utf8');
  } else if (typeof file['source'] === 'string') {
    const read = sources.get(file['source'])!;
    if ('problem' in read) return { ...desired, problem: read.problem };
    bytes = read.bytes;
  } else {
    return desired;
  }
  const text = decodeUtf8(bytes);
  return {
    ...desired,
    content: text ?? bytes.toString('base64'),
    encoding: text === undefined ? 'base64' : 'utf8',
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
