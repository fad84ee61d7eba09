import { compareDiagnostics, type Diagnostic } from '../diagnostics.js';
import { parseSecretsFile } from '../secrets/secretsFile.js';
import { validateConfigs } from './resolveConfig.js';
import type { ConfigApp, ConfigSet } from './types.js';

/**
 * Every problem of an estate's application config: the layout, each app's schema in every
 * environment, the form of its secrets files (nothing is decrypted), and — when `applications`
 * (the names of the estate's `Application` assets) is given — a `config/<app>/` that no
 * Application asset declares. Sorted by file and place. What `estate validate` and the
 * change-request checks report for `config/`.
 */
export function configProblems(set: ConfigSet, applications?: ReadonlySet<string>): Diagnostic[] {
  const secrets = [...set.apps.values()].flatMap((app) => [...app.secrets.values()].flatMap((file) => parseSecretsFile(file.path, file.text).diagnostics));
  const undeclared: Diagnostic[] = [];
  for (const app of set.apps.values()) {
    if (applications === undefined || applications.has(app.name)) continue;
    undeclared.push({
      code: 'E_CONFIG_LAYOUT',
      path: firstFile(app),
      line: 1,
      col: 1,
      message: `config/${app.name}/ belongs to no application: declare it and its owner with an Application asset named '${app.name}' (application/${app.name})`,
    });
  }
  return [...validateConfigs(set), ...secrets, ...undeclared].sort(compareDiagnostics);
}

/** The file a problem of the whole app is reported at: its base, else its first other file. */
function firstFile(app: ConfigApp): string {
  const paths = [
    ...[...app.envs.values()].map((file) => file.path),
    ...[...app.clusters.values()].flatMap((clusters) => [...clusters.values()].map((file) => file.path)),
    ...(app.schema ? [app.schema.path] : []),
    ...[...app.secrets.values()].map((file) => file.path),
  ].sort();
  return app.base?.path ?? paths[0] ?? `config/${app.name}/base.yaml`;
}
