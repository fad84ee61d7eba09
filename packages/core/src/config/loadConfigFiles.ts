import { reporterFor } from '../assetChecks.js';
import { compareDiagnostics, type Diagnostic } from '../diagnostics.js';
import { compileSchema } from '../kinds/schemaCompiler.js';
import { describeValue } from '../kinds/schemaProblems.js';
import { comparePaths } from '../loadEstate.js';
import { isObject } from '../values.js';
import { parseYamlFile } from '../yaml/parseYamlFile.js';
import { readConfigPath } from './configLayout.js';
import type { ConfigApp, ConfigLayerFile, ConfigSet } from './types.js';

const encoder = new TextEncoder();

/**
 * Parses and checks the config files (path and text) of one revision. Files outside `config/` and
 * non-YAML files are ignored; see {@link readConfigPath} for the layout. `environments` are the
 * envs declared in `estate.yaml`: a file of any other env is reported, not loaded.
 *
 * Problems (never thrown): `E_YAML_*`, `E_TOO_LARGE`, `E_ENCODING` from parsing; `E_CONFIG_LAYOUT`
 * for a file that does not fit the layout, an undeclared env, more than one YAML document or a top
 * level that is not a map; `E_CONFIG_SCHEMA` for a `schema.yaml` that is not a valid JSON Schema.
 * A file with a problem is left out of the set. `<env>.secrets.yaml` files are kept unparsed.
 */
export function loadConfigFiles(files: Array<{ path: string; text: string }>, environments: string[]): ConfigSet {
  const set: ConfigSet = { environments: [...environments], apps: new Map(), diagnostics: [] };
  const declared = new Set(environments);
  const layout = (path: string, message: string, line = 1, col = 1): void => {
    set.diagnostics.push({ code: 'E_CONFIG_LAYOUT', path, line, col, message });
  };
  for (const file of [...files].sort(comparePaths)) {
    const reading = readConfigPath(file.path);
    if (!reading) continue;
    if ('problem' in reading) {
      layout(file.path, reading.problem);
      continue;
    }
    const { info } = reading;
    if (info.env !== undefined && !declared.has(info.env)) {
      const known = environments.length ? environments.join(', ') : 'none';
      layout(file.path, `environment '${info.env}' of '${file.path}' is not declared in estate.yaml spec.environments (declared: ${known})`);
      continue;
    }
    let app = set.apps.get(info.app);
    if (!app) {
      app = { name: info.app, envs: new Map(), clusters: new Map(), secrets: new Map() };
      set.apps.set(info.app, app);
    }
    if (info.kind === 'secrets') {
      app.secrets.set(info.env!, { path: file.path, text: file.text });
      continue;
    }
    const layer = readLayerFile(file.path, file.text, set.diagnostics);
    if (!layer) continue;
    switch (info.kind) {
      case 'base':
        app.base = layer;
        break;
      case 'env':
        app.envs.set(info.env!, layer);
        break;
      case 'cluster': {
        const clusters = app.clusters.get(info.env!) ?? new Map<string, ConfigLayerFile>();
        clusters.set(info.cluster!, layer);
        app.clusters.set(info.env!, clusters);
        break;
      }
      case 'schema':
        readSchema(app, layer, set.diagnostics);
        break;
    }
  }
  set.diagnostics.sort(compareDiagnostics);
  return set;
}

/** Parses one layer or schema file; reports and returns `undefined` when it is unusable. */
function readLayerFile(path: string, text: string, sink: Diagnostic[]): ConfigLayerFile | undefined {
  const parsed = parseYamlFile(path, encoder.encode(text));
  sink.push(...parsed.diagnostics);
  if (parsed.diagnostics.length > 0) return undefined;
  const [document, second] = parsed.documents;
  if (second) {
    sink.push({ code: 'E_CONFIG_LAYOUT', path, line: second.line, col: 1, message: `config file '${path}' must hold one YAML document (found another at line ${second.line})` });
    return undefined;
  }
  // A file of comments only is an empty layer: it sets nothing.
  if (!document) return { path, value: {}, document: undefined };
  if (!isObject(document.value)) {
    reporterFor(sink, path, document)('E_CONFIG_LAYOUT', [], `config file '${path}' must hold a map at its top level (got ${describeValue(document.value)})`);
    return undefined;
  }
  return { path, value: document.value, document };
}

function readSchema(app: ConfigApp, file: ConfigLayerFile, sink: Diagnostic[]): void {
  try {
    app.schema = { path: file.path, validate: compileSchema(file.value) };
  } catch (error) {
    const at = file.document ? reporterFor(sink, file.path, file.document) : undefined;
    const message = `invalid JSON Schema in '${file.path}' for app '${app.name}': ${(error as Error).message}`;
    if (at) at('E_CONFIG_SCHEMA', [], message, 'key');
    else sink.push({ code: 'E_CONFIG_SCHEMA', path: file.path, line: 1, col: 1, message });
  }
}
