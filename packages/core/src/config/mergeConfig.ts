import { ValidationError } from '../errors.js';
import { toPointer } from '../jsonPointer.js';
import { describeValue } from '../kinds/schemaProblems.js';
import { isObject } from '../values.js';
import type { ConfigLayer, MergedConfig } from './types.js';

/**
 * Merges config layers, lowest first (base, env, cluster):
 * - maps merge key by key, at any depth;
 * - any other value (scalar or list) replaces what was there: lists are never concatenated;
 * - `null` deletes the key (and everything under it) that lower layers set; a `null` with nothing
 *   to delete leaves no key either. `null` inside a list is kept: a list is one value.
 *
 * `sources` maps the JSON pointer of each leaf (scalar, list or empty map) to the path of the
 * layer that set it, which is how the UI shows "which file each value came from".
 * Throws ValidationError E_CONFIG_LAYOUT when a layer's top level is not a map.
 */
export function mergeConfig(layers: ConfigLayer[]): MergedConfig {
  let values: Record<string, unknown> = {};
  for (const layer of layers) {
    if (!isObject(layer.value)) {
      throw new ValidationError('E_CONFIG_LAYOUT', `config file '${layer.path}' must hold a map at its top level (got ${describeValue(layer.value)})`, { path: layer.path });
    }
    values = mergeMap(values, layer.value);
  }
  return { values, sources: collectSources(values, layers) };
}

function mergeMap(lower: Record<string, unknown> | undefined, upper: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...lower };
  for (const [key, value] of Object.entries(upper)) {
    if (value === null) delete out[key];
    else if (isObject(value)) out[key] = mergeMap(isObject(out[key]) ? out[key] : undefined, value);
    else out[key] = value;
  }
  return out;
}

/** For each leaf of the merged values, the highest layer that holds a non-null value at its path. */
function collectSources(values: Record<string, unknown>, layers: ConfigLayer[]): Record<string, string> {
  const sources: Record<string, string> = {};
  const path: string[] = [];
  const visit = (value: unknown): void => {
    if (isObject(value) && (Object.keys(value).length > 0 || path.length === 0)) {
      for (const key of Object.keys(value).sort()) {
        path.push(key);
        visit(value[key]);
        path.pop();
      }
      return;
    }
    const layer = lastLayerWith(layers, path);
    if (layer) sources[toPointer(path)] = layer.path;
  };
  visit(values);
  return sources;
}

/**
 * The highest layer that sets the value at `path`: the last one holding a non-null value there.
 * For an empty map, a higher layer may hold more keys that were all deleted; the map it holds still
 * came from the last layer writing it.
 */
export function lastLayerWith(layers: ConfigLayer[], path: ReadonlyArray<string | number>): ConfigLayer | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    let node: unknown = layer.value;
    for (const segment of path) {
      node = isObject(node) ? node[String(segment)] : undefined;
      if (node === undefined || node === null) break;
    }
    if (node !== undefined && node !== null) return layer;
  }
  return undefined;
}
