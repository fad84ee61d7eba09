import jsYaml from 'js-yaml';
import { stringify } from 'yaml';
import type { KindDefinition } from './kinds/kindRegistry.js';
import type { JsonSchema } from './kinds/schemaCompiler.js';
import { API_VERSION } from './assetChecks.js';
import { deepEqual, isObject } from './values.js';

/**
 * Writes a new asset's YAML from its kind's schema: required fields get a placeholder that
 * fails validation until filled in (an empty string, list or map), optional fields are listed as
 * comments with their descriptions, so the file documents itself.
 */
export function createAssetSkeleton(kind: KindDefinition, name: string): string {
  const lines = [
    `apiVersion: ${API_VERSION}`,
    `kind: ${inlineYaml(kind.name)}`,
    'metadata:',
    `  name: ${inlineYaml(name)}`,
    '  labels: {}',
    '  # owner: team/<name>    # the team that owns it',
    '  # description: ""       # one line saying what it is for',
    ...mappingLines('spec', '', schemaLines(kind.specSchema, 1)),
  ];
  return lines.join('\n') + '\n';
}

/**
 * `key:` and its fields; `key: {}` when every field is commented out, since a key followed by
 * only comments is null in YAML, which a mapping schema refuses.
 */
function mappingLines(key: string, note: string, body: string[]): string[] {
  return body.some((line) => !line.trimStart().startsWith('#')) ? [`${key}:${note}`, ...body] : [`${key}: {}${note}`, ...body];
}

function schemaLines(schema: JsonSchema, depth: number): string[] {
  const properties = isObject(schema['properties']) ? schema['properties'] : {};
  const required = new Set(Array.isArray(schema['required']) ? schema['required'].map(String) : []);
  const indent = '  '.repeat(depth);
  const lines: string[] = [];
  for (const [key, raw] of Object.entries(properties)) {
    const field = isObject(raw) ? raw : {};
    const note = describeField(field, required.has(key));
    if (required.has(key)) {
      if (field['type'] === 'object' && isObject(field['properties'])) {
        lines.push(...mappingLines(`${indent}${key}`, note, schemaLines(field, depth + 1)));
      } else {
        lines.push(`${indent}${key}: ${placeholder(field)}${note}`);
      }
    } else {
      lines.push(`${indent}# ${key}: ${placeholder(field)}${note}`);
    }
  }
  return lines;
}

function placeholder(field: JsonSchema): string {
  if (field['default'] !== undefined) return inlineYaml(field['default']);
  switch (field['type']) {
    case 'array':
      return '[]';
    case 'object':
      return '{}';
    case 'integer':
    case 'number':
      return typeof field['minimum'] === 'number' ? String(field['minimum']) : '0';
    case 'boolean':
      return 'false';
    default:
      return Array.isArray(field['enum']) ? inlineYaml(field['enum'][0]) : '""';
  }
}

/**
 * A value as one line of YAML that the loader reads back as the same value: plain when that is
 * safe, else JSON (valid YAML). A DNS label such as `123` or `0x1f` is a number to the YAML 1.2
 * core schema, and a map or a long string would spill onto lines a comment or a key cannot hold.
 */
function inlineYaml(value: unknown): string {
  const text = stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).trim();
  if (text.includes('\n')) return JSON.stringify(value);
  try {
    return deepEqual(jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA }), value) ? text : JSON.stringify(value);
  } catch {
    return JSON.stringify(value);
  }
}

function describeField(field: JsonSchema, required: boolean): string {
  const parts: string[] = [];
  if (required) parts.push('required');
  if (typeof field['x-estate-ref'] === 'string' || Array.isArray(field['x-estate-ref'])) {
    parts.push(`reference to ${[field['x-estate-ref']].flat().map((k) => `${String(k).toLowerCase()}/<name>`).join(' or ')}`);
  }
  const items = field['items'];
  if (isObject(items) && items['x-estate-ref'] !== undefined) {
    parts.push(`references to ${[items['x-estate-ref']].flat().map((k) => `${String(k).toLowerCase()}/<name>`).join(' or ')}`);
  }
  if (Array.isArray(field['enum'])) parts.push(`one of ${field['enum'].join(', ')}`);
  if (typeof field['description'] === 'string') parts.push(field['description'].replace(/\s+/g, ' ').trim());
  return parts.length ? `    # ${parts.join('; ')}` : '';
}
