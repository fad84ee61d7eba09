/** A JSON Schema (the subset kinds use), as the kinds API returns it. */
export type Schema = Record<string, unknown>;

/**
 * How the edit form shows a schema: one control per scalar, fieldsets for objects, rows for maps
 * and arrays, and a YAML text area (`yaml`) for anything else (oneOf, anyOf, $ref, several types…).
 */
export type FieldShape = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'ref' | 'object' | 'map' | 'array' | 'yaml';

/** Keywords the form does not interpret: a schema with one of them is edited as YAML. */
const EXOTIC = ['oneOf', 'anyOf', 'allOf', 'not', '$ref', 'if', 'patternProperties', 'const', 'dependentSchemas', 'prefixItems'];

/**
 * The metadata of every asset, as the envelope schema of the server (packages/core's
 * schemas/envelope.yaml) declares it; `name` also carries the DNS-1123 rule checked in code.
 */
export const METADATA_SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: "Unique within its kind: lower-case letters, digits and '-'." },
    labels: {
      type: 'object',
      description: 'Key/value pairs to select and group assets, e.g. env: prod.',
      propertyNames: { maxLength: 317, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$' },
      additionalProperties: { type: 'string', pattern: '^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$' },
    },
    owner: { type: 'string', 'x-estate-ref': 'Team', description: 'The team that owns the asset (team/<name>).' },
    description: { type: 'string', description: 'One line saying what the asset is for.' },
    annotations: { type: 'object', description: 'Free-form notes for people and tools.', additionalProperties: { type: 'string' } },
  },
};

/** Whether a value is a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The kinds a reference field may point to (`x-estate-ref`), or undefined for other fields. */
export function refKinds(schema: Schema): string[] | undefined {
  const ref = schema['x-estate-ref'];
  if (typeof ref === 'string') return [ref];
  if (Array.isArray(ref) && ref.every((kind) => typeof kind === 'string')) return ref as string[];
  return undefined;
}

/** The schema of an object's property, of a map's values or of an array's items (`{}` when absent or `true`). */
export function subSchema(schema: Schema, key: 'items' | 'additionalProperties' | string, from: 'properties' | 'self' = 'self'): Schema {
  const holder = from === 'properties' ? schema['properties'] : schema;
  const value = isRecord(holder) ? holder[key] : undefined;
  return isRecord(value) ? value : {};
}

/** How the form shows a field of this schema. */
export function fieldShape(schema: Schema): FieldShape {
  if (EXOTIC.some((keyword) => keyword in schema)) return 'yaml';
  if (Array.isArray(schema['enum'])) return schema['enum'].every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') ? 'enum' : 'yaml';
  switch (schema['type']) {
    case 'string':
      return refKinds(schema) ? 'ref' : 'string';
    case 'number':
    case 'integer':
    case 'boolean':
      return schema['type'];
    case 'array':
      return isRecord(schema['items']) && fieldShape(schema['items']) !== 'yaml' ? 'array' : 'yaml';
    case 'object': {
      const hasProperties = isRecord(schema['properties']) && Object.keys(schema['properties']).length > 0;
      if (hasProperties) return 'object';
      // A map: values of one schema under free keys.
      return isRecord(schema['additionalProperties']) && fieldShape(schema['additionalProperties']) !== 'yaml' ? 'map' : 'yaml';
    }
    default:
      return 'yaml';
  }
}

/** Whether a shape is a single control (shown on one line with its label). */
export function isScalarShape(shape: FieldShape): boolean {
  return shape === 'string' || shape === 'number' || shape === 'integer' || shape === 'boolean' || shape === 'enum' || shape === 'ref';
}

/** The value a new array item or map entry starts with. */
export function emptyValue(schema: Schema): unknown {
  if (schema['default'] !== undefined) return structuredClone(schema['default']);
  switch (fieldShape(schema)) {
    case 'object':
    case 'map':
      return {};
    case 'array':
      return [];
    case 'boolean':
      return false;
    case 'enum':
      return (schema['enum'] as unknown[])[0];
    case 'number':
    case 'integer':
      return typeof schema['minimum'] === 'number' ? schema['minimum'] : 0;
    default:
      return schema['type'] === 'object' ? {} : schema['type'] === 'array' ? [] : '';
  }
}

/** A JSON pointer one step deeper: `/spec` + `cpus` → `/spec/cpus` (RFC 6901 escaping). */
export function childPointer(pointer: string, key: string | number): string {
  return `${pointer}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** Problems of a form's value, by the JSON pointer of the field they belong to. */
export type FieldErrors = Map<string, string[]>;

function add(errors: FieldErrors, pointer: string, message: string): void {
  const list = errors.get(pointer);
  if (list) list.push(message);
  else errors.set(pointer, [message]);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matches(pattern: string, text: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(text);
  } catch {
    // A pattern this browser cannot read is left to the server's check.
    return true;
  }
}

/**
 * Checks a value against the schema keywords the form understands (type, required, enum,
 * pattern, lengths, bounds, item counts, uniqueness, property names, additional properties) and
 * files each problem under the pointer of the field it concerns — a missing required field under
 * that field's own pointer, so the message shows next to it. The server's dry run checks the rest.
 */
export function validateValue(schema: Schema, value: unknown, pointer = '', errors: FieldErrors = new Map()): FieldErrors {
  if (value === undefined) return errors;
  const type = schema['type'];
  if (typeof type === 'string') {
    const actual = typeOf(value);
    const fits = actual === type || (type === 'number' && actual === 'integer');
    if (!fits) {
      const article = /^[aeiou]/.test(type) ? 'an' : 'a';
      add(errors, pointer, typeof value === 'string' && (type === 'number' || type === 'integer') ? `must be ${article} ${type}` : `must be ${article} ${type} (got ${actual})`);
      return errors;
    }
  }
  if (Array.isArray(schema['enum']) && !schema['enum'].some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    add(errors, pointer, `must be one of ${schema['enum'].map((option) => JSON.stringify(option)).join(', ')}`);
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof schema['minLength'] === 'number' && length < schema['minLength']) add(errors, pointer, schema['minLength'] === 1 ? 'must not be empty' : `must be at least ${schema['minLength']} characters`);
    if (typeof schema['maxLength'] === 'number' && length > schema['maxLength']) add(errors, pointer, `must be at most ${schema['maxLength']} characters`);
    if (typeof schema['pattern'] === 'string' && !matches(schema['pattern'], value)) add(errors, pointer, `must match ${schema['pattern']}`);
  }
  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum']) add(errors, pointer, `must be at least ${schema['minimum']}`);
    if (typeof schema['maximum'] === 'number' && value > schema['maximum']) add(errors, pointer, `must be at most ${schema['maximum']}`);
    if (typeof schema['exclusiveMinimum'] === 'number' && value <= schema['exclusiveMinimum']) add(errors, pointer, `must be more than ${schema['exclusiveMinimum']}`);
    if (typeof schema['exclusiveMaximum'] === 'number' && value >= schema['exclusiveMaximum']) add(errors, pointer, `must be less than ${schema['exclusiveMaximum']}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) add(errors, pointer, `needs at least ${schema['minItems']} item(s)`);
    if (typeof schema['maxItems'] === 'number' && value.length > schema['maxItems']) add(errors, pointer, `takes at most ${schema['maxItems']} item(s)`);
    if (schema['uniqueItems'] === true) {
      const seen = new Set<string>();
      value.forEach((item, index) => {
        const key = JSON.stringify(item);
        if (seen.has(key)) add(errors, childPointer(pointer, index), 'repeats an earlier item');
        seen.add(key);
      });
    }
    const items = subSchema(schema, 'items');
    value.forEach((item, index) => validateValue(items, item, childPointer(pointer, index), errors));
  }
  if (isRecord(value)) {
    const properties = isRecord(schema['properties']) ? schema['properties'] : {};
    for (const key of Array.isArray(schema['required']) ? schema['required'] : []) {
      if (typeof key === 'string' && value[key] === undefined) add(errors, childPointer(pointer, key), 'is required');
    }
    const names = isRecord(schema['propertyNames']) ? schema['propertyNames'] : undefined;
    for (const [key, item] of Object.entries(value)) {
      if (names) for (const message of validateValue(names, key).get('') ?? []) add(errors, childPointer(pointer, key), `key '${key}' ${message}`);
      if (key in properties) validateValue(subSchema(schema, key, 'properties'), item, childPointer(pointer, key), errors);
      else if (schema['additionalProperties'] === false) add(errors, pointer, `has a field '${key}' the schema does not allow`);
      else validateValue(subSchema(schema, 'additionalProperties'), item, childPointer(pointer, key), errors);
    }
  }
  return errors;
}

/**
 * The JSON merge patch (RFC 7396) that turns `before` into `after`: changed keys with their new
 * values, removed keys as null, objects patched key by key, arrays and scalars replaced whole.
 * `undefined` when nothing changed.
 */
export function mergePatch(before: unknown, after: unknown): unknown {
  if (!isRecord(before) || !isRecord(after)) return JSON.stringify(before) === JSON.stringify(after) ? undefined : after;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(before)) if (after[key] === undefined) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    if (value === undefined) continue;
    if (!(key in before) || before[key] === undefined) {
      patch[key] = value;
      continue;
    }
    const inner = mergePatch(before[key], value);
    if (inner !== undefined) patch[key] = inner;
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/**
 * A copy without `undefined` values (cleared optional fields), the document that is sent. Empty
 * objects and arrays stay: the schema decides whether they are allowed.
 */
export function withoutUnset<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
