import { EstateError, NotAllowedError, NotFoundError, parseSecretsFile } from '@estate/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/AuditLog.js';
import type { Store, TokenRecord } from '../store/Store.js';
import type { ConfigIndex } from './ConfigIndex.js';
import { mayReadApp, mayReadSecrets } from './configRoutes.js';
import { configNotFound, type ConfigService } from './ConfigService.js';
import type { ConfigVersion, ConfigVersionStore } from './ConfigVersionStore.js';

/** What the provenance and reveal routes need. */
export interface ConfigSourcesRoutesOptions {
  service: ConfigService;
  versions: ConfigVersionStore;
  index: ConfigIndex;
  store: Pick<Store, 'findCommit'>;
  audit: AuditLog;
}

/** A secret of a config as {@link registerConfigSourcesRoutes} lists it: never its value. */
export interface ConfigSecretKey {
  /** The key in the secrets file (`db.password`). */
  key: string;
  /** Where it lands in the merged config: a dotted key is a nested path (`/db/password`). */
  pointer: string;
}

const NAME = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' } as const;
const SECRET_KEY = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,127}$', description: 'A key of the secrets file, e.g. db.password.' } as const;
const versionQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cluster: { ...NAME, description: 'The cluster, when config/<app>/<env>/<cluster>.yaml applies.' },
    version: { type: 'string', pattern: '^[0-9a-f]{7,40}$', description: "A commit of main: the config as it was then (default: main's newest version)." },
  },
} as const;

type VersionRequest<P> = FastifyRequest<{ Params: P; Querystring: { cluster?: string; version?: string } }>;

/**
 * Where each value of a merged config comes from, and its secrets revealed one at a time (viewer):
 * - `GET /api/v1/config/:app/:env/sources` answers the values (without secrets), the file of each
 *   leaf (`{pointer: file}`, kept with every stored version by the config index, so Git is not
 *   read), the secrets file's keys (names only, read from the stored file without decrypting) and
 *   whether this token may reveal them.
 * - `GET /api/v1/config/:app/:env/secrets/:key` answers one secret's value to a token whose
 *   `secrets` scope names the app and env, and records every such read in the audit trail
 *   (`config.secrets.read`, `via: reveal`; a refused one as `access.denied`).
 * Both serve main's newest version (not a gray release's baseline), or `?version=`'s. See docs/config.md.
 */
export function registerConfigSourcesRoutes(app: FastifyInstance, options: ConfigSourcesRoutesOptions): void {
  const { service, versions, audit } = options;

  /** The version a request names, after the token's app scope and readiness are checked. */
  const versionOf = async (token: TokenRecord | undefined, appName: string, env: string, query: { cluster?: string; version?: string }): Promise<ConfigVersion> => {
    if (!mayReadApp(token, appName)) throw new NotAllowedError('E_FORBIDDEN', `token '${token!.id}' may read the config of ${token!.scopes['apps']!.join(', ')} only`, { app: appName });
    if (!options.index.ready()) throw new EstateError('E_NOT_READY', 'the server is still reading the config from main; retry in a moment', {});
    const cluster = query.cluster ?? '';
    let version: ConfigVersion | undefined;
    if (query.version !== undefined) {
      const commit = await options.store.findCommit(query.version);
      if (!commit) throw new NotFoundError('E_CONFIG_NOT_FOUND', `no commit '${query.version}' on main`, { version: query.version });
      version = service.atCommit(appName, env, cluster || undefined, commit.seq);
    } else {
      const own = cluster ? versions.latest(appName, env, cluster) : undefined;
      version = own && !own.removed ? own : versions.latest(appName, env, '');
    }
    if (!version || version.removed) throw configNotFound(appName, env);
    return version;
  };

  app.get('/api/v1/config/:app/:env/sources', {
    config: { access: 'viewer', appScoped: true },
    schema: {
      summary: 'The merged config without its secrets, the file each value came from, and the secret keys (never their values).',
      tags: ['config'],
      params: { type: 'object', required: ['app', 'env'], properties: { app: NAME, env: NAME } },
      querystring: versionQuery,
    },
    handler: async (request: VersionRequest<{ app: string; env: string }>, reply) => {
      const { app: appName, env } = request.params;
      const version = await versionOf(request.token, appName, env, request.query);
      reply.header('cache-control', 'no-store');
      return {
        app: version.app,
        env: version.env,
        ...(version.cluster ? { cluster: version.cluster } : {}),
        version: version.sha,
        seq: version.seq,
        committedAt: version.committedAt,
        author: version.author,
        values: version.config.values,
        sources: version.config.sources,
        ...(version.secrets
          ? { secrets: { file: version.secrets.path, keys: secretKeys(version.secrets.path, version.secrets.text), reveal: mayReadSecrets(request.token, appName, env) } }
          : {}),
      };
    },
  });

  app.get('/api/v1/config/:app/:env/secrets/:key', {
    config: { access: 'viewer', appScoped: true },
    schema: {
      summary: "One secret's value, for a token allowed the app and env's secrets; every read is audited.",
      tags: ['config'],
      params: { type: 'object', required: ['app', 'env', 'key'], properties: { app: NAME, env: NAME, key: SECRET_KEY } },
      querystring: versionQuery,
    },
    handler: async (request: VersionRequest<{ app: string; env: string; key: string }>, reply) => {
      const { app: appName, env, key } = request.params;
      const token = request.token;
      const version = await versionOf(token, appName, env, request.query);
      const subject = `config/${version.app}/${version.env}${version.cluster ? `/${version.cluster}` : ''}`;
      if (!mayReadSecrets(token, appName, env)) {
        if (token) audit.append({ actor: token.name, event: 'access.denied', subject, details: { action: 'reveal-secret', key, code: 'E_FORBIDDEN', role: token.role, tokenId: token.id } });
        throw new NotAllowedError('E_FORBIDDEN', `this token may not read the secrets of ${appName} in ${env}: its secrets scope must name ${appName}/${env}`, { app: appName, env });
      }
      if (!version.secrets || !secretKeys(version.secrets.path, version.secrets.text).some((secret) => secret.key === key)) {
        throw new NotFoundError('E_SECRET_NOT_FOUND', `${appName} in ${env} has no secret '${key}' at version ${version.sha.slice(0, 12)}`, { app: appName, env, key });
      }
      const value = readPath(await service.values(version, true), key.split('.'));
      audit.append({ actor: token!.name, event: 'config.secrets.read', subject, details: { version: version.sha, file: version.secrets.path, key, via: 'reveal', tokenId: token!.id } });
      reply.header('cache-control', 'no-store');
      return { app: version.app, env: version.env, version: version.sha, key, value };
    },
  });
}

/** The keys of a stored secrets file and where each lands in the config; nothing is decrypted. */
function secretKeys(path: string, text: string): ConfigSecretKey[] {
  return parseSecretsFile(path, text)
    .keys.map((key) => ({ key, pointer: `/${key.split('.').map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}` }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function readPath(values: unknown, path: readonly string[]): unknown {
  let node = values;
  for (const part of path) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part] : undefined;
  return node;
}
