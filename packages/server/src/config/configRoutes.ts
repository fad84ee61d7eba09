import { CONFIG_FORMATS, diffSecrets, EstateError, InputError, NotAllowedError, NotFoundError, type ConfigFormat } from '@estate/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store, TokenRecord } from '../store/Store.js';
import type { ConfigIndex } from './ConfigIndex.js';
import { configNotFound, type ConfigCaller, type ConfigService } from './ConfigService.js';
import type { ConfigVersion, ConfigVersionStore } from './ConfigVersionStore.js';

/** What the config routes need. */
export interface ConfigRoutesOptions {
  service: ConfigService;
  versions: ConfigVersionStore;
  index: ConfigIndex;
  store: Pick<Store, 'findCommit'>;
  /** The server's age recipient. */
  recipient: () => string;
}

const NAME = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' } as const;
const params = { type: 'object', required: ['app', 'env'], properties: { app: NAME, env: NAME } } as const;
const callerQuery = {
  cluster: { ...NAME, description: 'The cluster, when config/<app>/<env>/<cluster>.yaml applies.' },
  instance: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9][-A-Za-z0-9_.:]*$', description: 'The instance asking, for gray releases and the instances list.' },
  labels: { type: 'string', maxLength: 2048, description: 'Labels of the instance as k=v,k2=v2 (gray release selectors match them).' },
} as const;
const MAX_WAIT_SECONDS = 60;
const MEDIA_TYPES: Record<ConfigFormat, string> = {
  json: 'application/json; charset=utf-8',
  yaml: 'application/yaml; charset=utf-8',
  env: 'text/plain; charset=utf-8',
  properties: 'text/plain; charset=utf-8',
};

type ConfigRequest = FastifyRequest<{ Params: { app: string; env: string }; Querystring: { cluster?: string; instance?: string; labels?: string } }>;

/**
 * `/api/v1/config/...`: config snapshots (rendered, conditional, long poll), SSE watch, versions
 * with their changes, instances, gray releases, and the server's age recipient. See docs/config.md.
 */
export function registerConfigRoutes(app: FastifyInstance, options: ConfigRoutesOptions): void {
  const { service, versions } = options;

  app.get('/api/v1/config-recipient', {
    config: { access: 'viewer' },
    schema: { summary: "The server's age recipient: list it in estate.yaml so the server can decrypt config secrets.", tags: ['config'] },
    handler: async () => ({ recipient: options.recipient() }),
  });

  app.get('/api/v1/config', {
    config: { access: 'viewer', appScoped: true },
    schema: { summary: 'Every app and env with config on main, its current version, and problems holding it back.', tags: ['config'] },
    handler: async (request) => {
      const problems = options.index.problems();
      const items = versions
        .allLatest()
        .filter((v) => !v.removed && mayReadApp(request.token, v.app))
        .map((v) => ({
          app: v.app,
          env: v.env,
          ...(v.cluster ? { cluster: v.cluster } : {}),
          version: v.sha,
          seq: v.seq,
          updatedAt: v.committedAt,
          secrets: v.secrets !== undefined,
          ...(problems.has(`${v.app}/${v.env}/${v.cluster}`) ? { problems: problems.get(`${v.app}/${v.env}/${v.cluster}`) } : {}),
        }))
        .sort((a, b) => compareText(`${a.app}/${a.env}/${a.cluster ?? ''}`, `${b.app}/${b.env}/${b.cluster ?? ''}`));
      return { items };
    },
  });

  app.get('/api/v1/config/:app/:env', {
    config: { access: 'viewer', appScoped: true, conditional: true },
    schema: {
      summary: 'The merged config of an app in an env (ETag = version; If-None-Match → 304; ?wait= long-polls).',
      tags: ['config'],
      params,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          ...callerQuery,
          format: { type: 'string', enum: [...CONFIG_FORMATS], default: 'json' },
          version: { type: 'string', pattern: '^[0-9a-f]{7,40}$', description: 'A commit of main: the config as it was then.' },
          wait: { type: 'integer', minimum: 1, maximum: MAX_WAIT_SECONDS, description: 'With If-None-Match: hold the request until another version is due, at most this many seconds.' },
        },
      },
    },
    handler: async (request: FastifyRequest<{ Params: { app: string; env: string }; Querystring: { cluster?: string; instance?: string; labels?: string; format: ConfigFormat; version?: string; wait?: number } }>, reply) => {
      const { app: appName, env } = request.params;
      checkApp(request.token, appName);
      checkReady(options.index);
      const caller = callerOf(request);
      const secrets = mayReadSecrets(request.token, appName, env);
      const query = request.query;
      let served: { version: ConfigVersion; release: 'stable' | 'canary' } | undefined;
      if (query.version !== undefined) {
        const commit = await options.store.findCommit(query.version);
        if (!commit) throw new NotFoundError('E_CONFIG_NOT_FOUND', `no commit '${query.version}' on main`, { version: query.version });
        const version = service.atCommit(appName, env, caller.cluster, commit.seq);
        if (!version || version.removed) throw new NotFoundError('E_CONFIG_NOT_FOUND', `no config for app '${appName}' in environment '${env}' at ${commit.sha}`, { app: appName, env, version: commit.sha });
        served = { version, release: 'stable' };
      } else {
        served = service.target(appName, env, caller);
        const etag = request.headers['if-none-match'];
        if (served && query.wait !== undefined && etag === `"${served.version.sha}"`) {
          const changed = await service.waitForChange(appName, env, caller, served.version.sha, query.wait * 1000);
          if (changed) served = service.target(appName, env, caller);
        }
        if (!served || served.version.removed) throw configNotFound(appName, env);
        service.seen(appName, env, caller, served, 'get');
      }
      const { version } = served;
      reply.headers({
        etag: `"${version.sha}"`,
        'cache-control': 'no-cache',
        vary: 'Authorization',
        'estate-config-version': version.sha,
        'estate-config-seq': String(version.seq),
        'estate-config-secrets': service.secretsState(version, secrets),
        'estate-config-release': served.release,
      });
      if (request.headers['if-none-match'] === `"${version.sha}"`) return reply.code(304).send();
      const body = await service.render(version, query.format, secrets);
      if (secrets) service.auditSecretsRead(request.token, version);
      return reply.type(MEDIA_TYPES[query.format]).send(body);
    },
  });

  app.get('/api/v1/config/:app/:env/watch', {
    config: { access: 'viewer', appScoped: true, contentType: 'text/event-stream' },
    schema: {
      summary: 'Server-sent events: each new version of the config as soon as main has it (resumable with Last-Event-ID).',
      tags: ['config'],
      params,
      querystring: { type: 'object', additionalProperties: false, properties: callerQuery },
    },
    handler: async (request: ConfigRequest, reply: FastifyReply) => {
      const { app: appName, env } = request.params;
      checkApp(request.token, appName);
      checkReady(options.index);
      const caller = callerOf(request);
      if (!service.target(appName, env, caller)) throw configNotFound(appName, env);
      const secrets = mayReadSecrets(request.token, appName, env);
      const lastEventId = request.headers['last-event-id'];
      reply.hijack();
      await service.watch(appName, env, caller, secrets, typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined, request.raw.socket);
      if (secrets) {
        const served = service.target(appName, env, caller);
        if (served) service.auditSecretsRead(request.token, served.version);
      }
    },
  });

  app.get('/api/v1/config/:app/:env/versions', {
    config: { access: 'viewer', appScoped: true },
    schema: {
      summary: 'Versions of the config, newest first, with what each changed (secret values are never shown).',
      tags: ['config'],
      params,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          cluster: callerQuery.cluster,
          limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
          before: { type: 'integer', minimum: 1, description: 'The id of the last version of the previous page.' },
        },
      },
    },
    handler: async (request: FastifyRequest<{ Params: { app: string; env: string }; Querystring: { cluster?: string; limit: number; before?: number } }>) => {
      const { app: appName, env } = request.params;
      checkApp(request.token, appName);
      const cluster = request.query.cluster ?? '';
      if (!versions.latest(appName, env, cluster)) throw configNotFound(appName, env);
      const page = versions.history(appName, env, cluster, request.query.before ?? Number.MAX_SAFE_INTEGER, request.query.limit + 1);
      const shown = page.slice(0, request.query.limit);
      const items = shown.map((version, i) => {
        const previous = page[i + 1] ?? (i === page.length - 1 ? versions.history(appName, env, cluster, version.id, 1)[0] : undefined);
        return {
          id: version.id,
          version: version.sha,
          seq: version.seq,
          committedAt: version.committedAt,
          author: version.author,
          removed: version.removed,
          changes: configChanges(previous, version),
        };
      });
      return { items, ...(page.length > request.query.limit ? { nextBefore: shown.at(-1)!.id } : {}) };
    },
  });

  app.get('/api/v1/config/:app/:env/instances', {
    config: { access: 'viewer', appScoped: true },
    schema: { summary: 'Instances that asked for the config: the version each got, stable or canary, and when it was last seen.', tags: ['config'], params },
    handler: async (request: ConfigRequest) => {
      checkApp(request.token, request.params.app);
      return { items: service.instances(request.params.app, request.params.env) };
    },
  });

  app.get('/api/v1/config/:app/:env/releases', {
    config: { access: 'viewer', appScoped: true },
    schema: { summary: 'Gray releases of the config, newest first.', tags: ['config'], params },
    handler: async (request: ConfigRequest) => {
      checkApp(request.token, request.params.app);
      return { items: service.releases(request.params.app, request.params.env) };
    },
  });

  app.post('/api/v1/config/:app/:env/releases', {
    config: { access: 'approver' },
    schema: {
      summary: 'Starts a gray release: versions of main from now on reach the canaries only, until promoted or aborted.',
      tags: ['config'],
      params,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          selector: { type: 'string', minLength: 1, maxLength: 1024, description: 'Canaries are the instances whose labels match this selector.' },
          percentage: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 100, description: 'Canaries are this share of instances, chosen by a hash of their id (sticky).' },
        },
      },
    },
    handler: async (request: FastifyRequest<{ Params: { app: string; env: string }; Body: { selector?: string; percentage?: number } }>, reply) => {
      const release = service.startRelease(request.params.app, request.params.env, request.body ?? {}, request.token!.name);
      return reply.code(201).send(release);
    },
  });

  for (const outcome of ['promote', 'abort'] as const) {
    app.post(`/api/v1/config/:app/:env/releases/:id/${outcome}`, {
      config: { access: 'approver' },
      schema: {
        summary: outcome === 'promote' ? "Promotes a gray release: every instance gets main's newest version." : 'Aborts a gray release: every instance goes back to the baseline, until a newer version lands on main.',
        tags: ['config'],
        params: { type: 'object', required: ['app', 'env', 'id'], properties: { app: NAME, env: NAME, id: { type: 'integer', minimum: 1 } } },
      },
      handler: async (request: FastifyRequest<{ Params: { app: string; env: string; id: number } }>) =>
        service.endRelease(request.params.app, request.params.env, request.params.id, outcome === 'promote' ? 'promoted' : 'aborted', request.token!.name),
    });
  }
}

/** True when a token may read an app's config: tokens without an `apps` scope read every app's. */
export function mayReadApp(token: TokenRecord | undefined, app: string): boolean {
  const apps = token?.scopes['apps'];
  return apps === undefined || apps.length === 0 || apps.includes(app);
}

/** True when a token may read the secrets of an app in an env: its `secrets` scope names `app/env` (`*` for any). */
export function mayReadSecrets(token: TokenRecord | undefined, app: string, env: string): boolean {
  if (!token || !mayReadApp(token, app)) return false;
  return (token.scopes['secrets'] ?? []).some((pattern) => {
    const [a, e] = pattern.split('/');
    return (a === '*' || a === app) && (e === '*' || e === env);
  });
}

/** E_NOT_READY (503, retried by clients) until main was read once: a fresh server knows no config yet. */
function checkReady(index: ConfigIndex): void {
  if (!index.ready()) throw new EstateError('E_NOT_READY', 'the server is still reading the config from main; retry in a moment', {});
}

function checkApp(token: TokenRecord | undefined, app: string): void {
  if (mayReadApp(token, app)) return;
  throw new NotAllowedError('E_FORBIDDEN', `token '${token!.id}' may read the config of ${token!.scopes['apps']!.join(', ')} only`, { app });
}

function callerOf(request: ConfigRequest): ConfigCaller {
  const { cluster, instance, labels } = request.query;
  return { ...(cluster ? { cluster } : {}), ...(instance ? { instance } : {}), ...(labels ? { labels: parseLabels(labels) } : {}) };
}

/** `k=v,k2=v2` → a label map; E_BAD_PARAM for anything else. */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const match = /^\s*([A-Za-z0-9][-A-Za-z0-9_./]{0,252})\s*=\s*([-A-Za-z0-9_.]{0,63})\s*$/.exec(pair);
    if (!match) throw new InputError('E_BAD_PARAM', `invalid labels '${text}': expected key=value pairs separated by commas`, { parameter: 'labels' });
    labels[match[1]!] = match[2]!;
  }
  return labels;
}

/** What a version changed against the one before: leaves added, removed or changed, and secret keys (never their values). */
function configChanges(previous: ConfigVersion | undefined, version: ConfigVersion): Array<{ path: string; change: 'added' | 'removed' | 'changed'; secret?: true; from?: unknown; to?: unknown }> {
  const before = leaves(previous?.removed ? {} : (previous?.config.values ?? {}));
  const after = leaves(version.config.values);
  const changes: Array<{ path: string; change: 'added' | 'removed' | 'changed'; secret?: true; from?: unknown; to?: unknown }> = [];
  for (const [path, value] of after) {
    if (!before.has(path)) changes.push({ path, change: 'added', to: value });
    else if (JSON.stringify(before.get(path)) !== JSON.stringify(value)) changes.push({ path, change: 'changed', from: before.get(path), to: value });
  }
  for (const [path, value] of before) if (!after.has(path)) changes.push({ path, change: 'removed', from: value });
  const secrets = diffSecrets(previous?.removed ? undefined : previous?.secrets?.text, version.secrets?.text);
  for (const change of ['added', 'removed', 'changed'] as const) for (const key of secrets[change]) changes.push({ path: `secret:${key}`, change, secret: true });
  return changes.sort((a, b) => compareText(a.path, b.path));
}

/** The leaves of a config (scalars, lists, empty maps below the top) by JSON pointer: an empty config has none. */
function leaves(values: Record<string, unknown>): Map<string, unknown> {
  const found = new Map<string, unknown>();
  const walk = (node: unknown, pointer: string): void => {
    if (typeof node === 'object' && node !== null && !Array.isArray(node) && (Object.keys(node).length > 0 || pointer === '')) {
      for (const [key, child] of Object.entries(node)) walk(child, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    } else {
      found.set(pointer, node);
    }
  };
  walk(values, '');
  return found;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
