import { isObject } from '../values.js';
import type { JsonSchema } from './schemaCompiler.js';

/** A path into a document where `*` stands for any list index or map key. */
export type FieldPattern = ReadonlyArray<string>;

/** A field whose string values name other assets. */
export interface ReferenceField {
  /** Where the references live, from the document root (`['spec', 'runsOn', '*']`). */
  pattern: FieldPattern;
  /** Kinds a reference may point at (`['Service', 'Database']`). */
  targets: string[];
  /** Relation name seen from the referrer (`runsOn`). */
  relation: string;
  /** Relation name seen from the target (`hosts`). */
  inverse: string;
}

/** A field whose value must be unique among the assets of a kind. */
export interface UniqueField {
  pattern: FieldPattern;
}

/** The reference and unique fields a schema declares with `x-estate-*` keywords. */
export interface SchemaFields {
  references: ReferenceField[];
  unique: UniqueField[];
}

const MAX_SCHEMA_DEPTH = 32;

/**
 * Finds the `x-estate-ref` and `x-estate-unique` fields of a schema, following `properties`,
 * `items`, `prefixItems`, `additionalProperties`, `patternProperties`, the `allOf`/`anyOf`/`oneOf`
 * combinators and local `$ref`s (`#/$defs/...`). `prefix` is where the schema sits in a document.
 */
export function findSchemaFields(schema: JsonSchema, prefix: FieldPattern): SchemaFields {
  const fields: SchemaFields = { references: [], unique: [] };
  const seen = new Set<string>();

  const walk = (node: unknown, pattern: string[], lastKey: string | undefined, depth: number): void => {
    if (!isObject(node) || depth > MAX_SCHEMA_DEPTH) return;
    const ref = node['$ref'];
    if (typeof ref === 'string' && ref.startsWith('#/')) {
      const key = `${ref}@${pattern.join('/')}`;
      if (!seen.has(key)) {
        seen.add(key);
        walk(resolveLocalRef(schema, ref), pattern, lastKey, depth + 1);
      }
    }
    const targets = node['x-estate-ref'];
    if (typeof targets === 'string' || Array.isArray(targets)) {
      const relation = typeof node['x-estate-relation'] === 'string' ? node['x-estate-relation'] : (lastKey ?? 'references');
      const inverse = typeof node['x-estate-inverse'] === 'string' ? node['x-estate-inverse'] : `${relation}Of`;
      fields.references.push({
        pattern: [...pattern],
        targets: (Array.isArray(targets) ? targets : [targets]).map(String),
        relation,
        inverse,
      });
    }
    if (node['x-estate-unique'] === true) fields.unique.push({ pattern: [...pattern] });

    if (isObject(node['properties'])) {
      for (const [key, child] of Object.entries(node['properties'])) walk(child, [...pattern, key], key, depth + 1);
    }
    for (const key of ['items', 'additionalProperties'] as const) {
      if (isObject(node[key])) walk(node[key], [...pattern, '*'], lastKey, depth + 1);
    }
    if (Array.isArray(node['prefixItems'])) {
      node['prefixItems'].forEach((child, i) => walk(child, [...pattern, String(i)], lastKey, depth + 1));
    }
    if (isObject(node['patternProperties'])) {
      for (const child of Object.values(node['patternProperties'])) walk(child, [...pattern, '*'], lastKey, depth + 1);
    }
    for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
      const list = node[key];
      if (Array.isArray(list)) for (const child of list) walk(child, pattern, lastKey, depth + 1);
    }
  };
  walk(schema, [...prefix], prefix[prefix.length - 1], 0);
  return fields;
}

/** Every value at a pattern in a document, with its concrete path (a plain loop: this is hot). */
export function valuesAt(document: unknown, pattern: FieldPattern): Array<{ path: Array<string | number>; value: unknown }> {
  const found: Array<{ path: Array<string | number>; value: unknown }> = [];
  const path: Array<string | number> = [];
  const walk = (node: unknown, at: number): void => {
    if (at === pattern.length) {
      found.push({ path: path.slice(), value: node });
      return;
    }
    const segment = pattern[at]!;
    const step = (key: string | number, child: unknown): void => {
      path.push(key);
      walk(child, at + 1);
      path.pop();
    };
    if (Array.isArray(node)) {
      if (segment === '*') node.forEach((child, i) => step(i, child));
      else if (Number(segment) in node) step(Number(segment), node[Number(segment)]);
    } else if (isObject(node)) {
      if (segment === '*') for (const key of Object.keys(node)) step(key, node[key]);
      else if (Object.hasOwn(node, segment)) step(segment, node[segment]);
    }
  };
  walk(document, 0);
  return found;
}

function resolveLocalRef(root: JsonSchema, ref: string): unknown {
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObject(node) ? node[key] : undefined;
  }
  return node;
}
