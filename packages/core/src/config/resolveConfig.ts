import { compareDiagnostics, type Diagnostic } from '../diagnostics.js';
import { NotFoundError } from '../errors.js';
import { toSchemaProblems } from '../kinds/schemaProblems.js';
import { isObject } from '../values.js';
import { locateInDocument } from '../yaml/locateInDocument.js';
import { CONFIG_PREFIX } from './configLayout.js';
import { mergeConfig } from './mergeConfig.js';
import type { ConfigApp, ConfigLayerFile, ConfigSet, ResolvedConfig } from './types.js';

/** A schema problem before the resolution it was found in is named in its message. */
interface SchemaFinding {
  diagnostic: Diagnostic;
  context: string;
}

/**
 * Resolves the config of `app` in `env` (and `cluster`, when given): merges `base.yaml`,
 * `<env>.yaml` and `<env>/<cluster>.yaml` (see {@link mergeConfig}; missing files are skipped, so a
 * cluster without a file gets the env's config) and validates the result against the app's
 * `schema.yaml`, if any. `diagnostics` holds the problems of the files involved and `E_CONFIG_SCHEMA`
 * problems, each at the offending key of the file the value came from.
 *
 * Throws NotFoundError E_CONFIG_NOT_FOUND for an app without config files or an env not declared.
 */
export function resolveConfig(set: ConfigSet, app: string, env: string, cluster?: string): ResolvedConfig {
  const config = set.apps.get(app);
  if (!config) throw new NotFoundError('E_CONFIG_NOT_FOUND', `app '${app}' has no config (no files under ${CONFIG_PREFIX}${app}/)`, { app });
  if (!set.environments.includes(env)) {
    throw new NotFoundError('E_CONFIG_NOT_FOUND', `environment '${env}' is not declared in estate.yaml (declared: ${set.environments.join(', ') || 'none'})`, { app, env });
  }
  const { values, sources, findings } = resolveApp(config, env, cluster);
  const folder = `${CONFIG_PREFIX}${app}/`;
  const involved = new Set([`${folder}base.yaml`, `${folder}schema.yaml`, `${folder}${env}.yaml`, ...(cluster ? [`${folder}${env}/${cluster}.yaml`] : [])]);
  const diagnostics = [
    ...set.diagnostics.filter((d) => involved.has(d.path)),
    ...findings.map((f) => ({ ...f.diagnostic, message: `${f.diagnostic.message} (${f.context})` })),
  ].sort(compareDiagnostics);
  return { values, sources, diagnostics };
}

/**
 * Every problem of a config set: those of its files plus the schema problems of each app resolved
 * for every declared env and every cluster that has a file. A problem found in several resolutions
 * (a bad value in `base.yaml`) is reported once, naming all of them.
 */
export function validateConfigs(set: ConfigSet): Diagnostic[] {
  const grouped = new Map<string, { diagnostic: Diagnostic; contexts: string[] }>();
  for (const name of [...set.apps.keys()].sort()) {
    const config = set.apps.get(name)!;
    if (!config.schema) continue;
    for (const env of set.environments) {
      const clusters = [...(config.clusters.get(env)?.keys() ?? [])].sort();
      for (const cluster of [undefined, ...clusters]) {
        for (const { diagnostic, context } of resolveApp(config, env, cluster).findings) {
          const key = `${diagnostic.path}:${diagnostic.line}:${diagnostic.col}:${diagnostic.message}`;
          const group = grouped.get(key);
          if (group) group.contexts.push(context.replace(/^.* for /, ''));
          else grouped.set(key, { diagnostic, contexts: [context] });
        }
      }
    }
  }
  const schemaProblems = [...grouped.values()].map(({ diagnostic, contexts }) => ({ ...diagnostic, message: `${diagnostic.message} (${contexts.join(', ')})` }));
  return [...set.diagnostics, ...schemaProblems].sort(compareDiagnostics);
}

function resolveApp(config: ConfigApp, env: string, cluster: string | undefined): { values: Record<string, unknown>; sources: Record<string, string>; findings: SchemaFinding[] } {
  const files = [config.base, config.envs.get(env), cluster === undefined ? undefined : config.clusters.get(env)?.get(cluster)].filter(
    (f): f is ConfigLayerFile => f !== undefined,
  );
  const { values, sources } = mergeConfig(files);
  const findings: SchemaFinding[] = [];
  if (!config.schema) return { values, sources, findings };
  const context = `${config.name} for ${env}${cluster === undefined ? '' : `/${cluster}`}`;
  const fallback = `${CONFIG_PREFIX}${config.name}/${env}.yaml`;
  for (const problem of toSchemaProblems(config.schema.validate(values), [])) {
    const file = fileWith(files, problem.path);
    const at = file?.document ? locateInDocument(file.document, problem.path, problem.target) : { line: 1, col: 1 };
    findings.push({ diagnostic: { code: 'E_CONFIG_SCHEMA', path: file?.path ?? fallback, line: at.line, col: at.col, message: problem.message.startsWith(' ') ? `the config${problem.message}` : problem.message }, context });
  }
  return { values, sources, findings };
}

/**
 * The file to blame for a problem at `path`: the highest layer that writes the longest prefix of
 * it. For a value, that is the file it came from; for a missing or extra key, the last file that
 * wrote the map holding it (a `null` that deleted a required key counts as writing it).
 */
function fileWith(files: ConfigLayerFile[], path: ReadonlyArray<string | number>): ConfigLayerFile | undefined {
  for (let length = path.length; length >= 0; length--) {
    for (let i = files.length - 1; i >= 0; i--) {
      if (holds(files[i]!.value, path.slice(0, length))) return files[i];
    }
  }
  return undefined;
}

function holds(value: unknown, path: ReadonlyArray<string | number>): boolean {
  let node = value;
  for (const segment of path) {
    if (Array.isArray(node)) {
      node = node[Number(segment)];
      if (node === undefined) return false;
    } else if (isObject(node) && Object.hasOwn(node, String(segment))) {
      node = node[String(segment)];
    } else {
      return false;
    }
  }
  return true;
}
