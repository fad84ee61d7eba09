import { compareDiagnostics, type Diagnostic } from '../diagnostics.js';
import { parseSecretsFile } from '../secrets/secretsFile.js';
import { validateConfigs } from './resolveConfig.js';
import type { ConfigSet } from './types.js';

/**
 * Every problem of an estate's application config: the layout, each app's schema in every
 * environment, and the form of its secrets files (nothing is decrypted), sorted by file and place.
 * What `estate validate` and the change-request checks report for `config/`.
 */
export function configProblems(set: ConfigSet): Diagnostic[] {
  const secrets = [...set.apps.values()].flatMap((app) => [...app.secrets.values()].flatMap((file) => parseSecretsFile(file.path, file.text).diagnostics));
  return [...validateConfigs(set), ...secrets].sort(compareDiagnostics);
}
