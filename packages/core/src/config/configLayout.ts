import { DNS_LABEL } from '../assetChecks.js';
import type { ConfigPathInfo } from './types.js';

/** The folder of the estate repo that holds application config. */
export const CONFIG_PREFIX = 'config/';

/** File names of `config/<app>/` with a fixed role; they can never be env names. */
const RESERVED = new Set(['base', 'schema']);

/** A path under `config/` read as the layout says, or why it does not fit (`undefined` when ignored). */
export type ConfigPathReading = { info: ConfigPathInfo } | { problem: string } | undefined;

/**
 * Tells what a path under `config/` is (see docs/config.md):
 * - `config/<app>/base.yaml` (base), `config/<app>/<env>.yaml` (env), `config/<app>/<env>/<cluster>.yaml`
 *   (cluster), `config/<app>/schema.yaml` (schema), `config/<app>/<env>.secrets.yaml` (secrets);
 * - any other YAML file (`.yaml`/`.yml`) under `config/` is a mistake, reported with the reason;
 * - any other file (README.md, .gitkeep …) is ignored.
 *
 * App, env and cluster names are DNS-1123 labels. Whether an env is declared is checked by the loader.
 */
export function readConfigPath(path: string): ConfigPathReading {
  if (!path.startsWith(CONFIG_PREFIX)) return undefined;
  const parts = path.slice(CONFIG_PREFIX.length).split('/');
  const file = parts[parts.length - 1] ?? '';
  if (!/\.ya?ml$/i.test(file)) return undefined;
  if (!/\.yaml$/.test(file)) return { problem: `config file '${path}' must end in '.yaml'` };
  const layout = 'config/<app>/{base,schema,<env>,<env>.secrets}.yaml or config/<app>/<env>/<cluster>.yaml';
  if (parts.length < 2 || parts.length > 3) return { problem: `'${path}' is not a config file; config files are ${layout}` };
  const app = parts[0]!;
  if (!DNS_LABEL.test(app)) return { problem: `app name '${app}' of '${path}' must be a DNS-1123 label (lower-case letters, digits and '-', at most 63)` };
  const stem = file.slice(0, -'.yaml'.length);
  if (parts.length === 3) {
    const env = parts[1]!;
    if (!DNS_LABEL.test(env) || RESERVED.has(env)) return { problem: `'${env}' of '${path}' is not an env name; cluster files are config/<app>/<env>/<cluster>.yaml` };
    if (!DNS_LABEL.test(stem)) return { problem: `cluster name '${stem}' of '${path}' must be a DNS-1123 label (lower-case letters, digits and '-', at most 63)` };
    return { info: { app, kind: 'cluster', env, cluster: stem } };
  }
  if (stem === 'base') return { info: { app, kind: 'base' } };
  if (stem === 'schema') return { info: { app, kind: 'schema' } };
  const secrets = /^(.*)\.secrets$/.exec(stem);
  const env = secrets ? secrets[1]! : stem;
  if (!DNS_LABEL.test(env) || RESERVED.has(env)) {
    return { problem: `'${file}' of '${path}' is not a config file name; config files are ${layout}, where <env> is a DNS-1123 label` };
  }
  return { info: secrets ? { app, kind: 'secrets', env } : { app, kind: 'env', env } };
}

/**
 * Classifies a config file path: its app, role, env and cluster; `undefined` for a path that is
 * not a config file (outside `config/`, not YAML, or not fitting the layout).
 */
export function classifyConfigPath(path: string): ConfigPathInfo | undefined {
  const reading = readConfigPath(path);
  return reading && 'info' in reading ? reading.info : undefined;
}

/** True for a path the config loader reads or reports: a YAML file under `config/`. */
export function isConfigPath(path: string): boolean {
  return readConfigPath(path) !== undefined;
}
