import jsYaml from 'js-yaml';
import type { Diagnostic } from '../diagnostics.js';
import { parsePointer } from '../jsonPointer.js';
import { isObject } from '../values.js';
import { BUILTIN_SCHEMA_SOURCES } from './builtinKinds.generated.js';
import { findSchemaFields, type ReferenceField, type UniqueField } from './referenceFields.js';
import { compileSchema, type JsonSchema, type SchemaValidator } from './schemaCompiler.js';

/** One kind of asset: its schema and the fields that make relations or must be unique. */
export interface KindDefinition {
  /** The kind as written in documents (`Host`). */
  name: string;
  /** The kind as written in ids and references (`host`). */
  idPrefix: string;
  description?: string;
  builtin: boolean;
  /** Where it is defined: `builtin` or the repo path of its `kind: Schema` file. */
  source: string;
  /** JSON Schema of the asset's `spec`. */
  specSchema: JsonSchema;
  validateSpec: SchemaValidator;
  /** Reference fields, `metadata.owner` included, from the document root. */
  references: ReferenceField[];
  unique: UniqueField[];
}

/** The kinds known at one revision: the built-in ones plus those in `schemas/`. */
export interface KindRegistry {
  /** By kind name (`Host`). */
  get(kind: string): KindDefinition | undefined;
  /** By id prefix (`host`). */
  byIdPrefix(prefix: string): KindDefinition | undefined;
  list(): KindDefinition[];
  /** Validates an asset's `metadata` against the envelope schema. */
  validateMetadata: SchemaValidator;
  /** Validates the `spec` of `estate.yaml`. */
  validateEstateSpec: SchemaValidator;
}

/** A `kind: Schema` document, from a user's `schemas/` folder or from the product. */
export interface SchemaDocument {
  path: string;
  value: Record<string, unknown>;
  /** Reports a problem at a JSON path of the document. */
  report(code: Diagnostic['code'], path: Array<string | number>, message: string, target?: 'key' | 'value'): void;
}

/** Kind names are PascalCase identifiers: they appear as `kind:` values and become id prefixes. */
export const KIND_NAME = /^[A-Z][A-Za-z0-9]{0,62}$/;
const MAX_SCHEMA_DEPTH = 64;

interface BuiltinParts {
  kinds: KindDefinition[];
  envelopeSchema: JsonSchema;
  estateSchema: JsonSchema;
}

let builtins: BuiltinParts | undefined;

function loadBuiltins(): BuiltinParts {
  if (builtins) return builtins;
  const load = (file: string): Record<string, unknown> => {
    const text = BUILTIN_SCHEMA_SOURCES[file];
    if (text === undefined) throw new Error(`built-in schema ${file} is missing from the build`);
    return jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA }) as Record<string, unknown>;
  };
  const envelopeSchema = load('envelope.yaml');
  const estateSchema = load('estate.yaml');
  const envelopeFields = findSchemaFields(envelopeSchema, ['metadata']);
  const kinds = Object.keys(BUILTIN_SCHEMA_SOURCES)
    .filter((f) => /^[A-Z]/.test(f))
    .map((file) => {
      const doc = load(file);
      const metadata = doc['metadata'] as Record<string, unknown>;
      const spec = doc['spec'] as Record<string, unknown>;
      return defineKind(String(metadata['name']), spec['schema'] as JsonSchema, 'builtin', metadata['description'], envelopeFields.references);
    });
  builtins = { kinds, envelopeSchema, estateSchema };
  return builtins;
}

function defineKind(
  name: string,
  specSchema: JsonSchema,
  source: string,
  description: unknown,
  envelopeReferences: ReferenceField[],
): KindDefinition {
  const validateSpec = compileSchema(specSchema);
  const fields = findSchemaFields(specSchema, ['spec']);
  return {
    name,
    idPrefix: name.toLowerCase(),
    ...(typeof description === 'string' ? { description } : {}),
    builtin: source === 'builtin',
    source,
    specSchema,
    validateSpec,
    references: [...envelopeReferences, ...fields.references],
    unique: fields.unique,
  };
}

/**
 * Where in a schema ajv's compile error is, from its message: an unknown keyword (strict mode)
 * names the key, a meta-schema violation names its place as `data/<JSON pointer>`.
 */
function schemaErrorPath(schema: JsonSchema, message: string): Array<string | number> {
  const keyword = /unknown keyword: "([^"]*)"/.exec(message)?.[1];
  if (keyword !== undefined) return findKey(schema, keyword, 0) ?? [];
  const pointer = /^schema is invalid: data(\/\S*)? /.exec(message);
  return pointer ? parsePointer(pointer[1] ?? '') : [];
}

/** The path of the first (depth-first) property named `key`. */
function findKey(node: unknown, key: string, depth: number): Array<string | number> | undefined {
  if (typeof node !== 'object' || node === null || depth > MAX_SCHEMA_DEPTH) return undefined;
  for (const [k, child] of Object.entries(node)) {
    if (k === key && !Array.isArray(node)) return [k];
    const below = findKey(child, key, depth + 1);
    if (below) return [Array.isArray(node) ? Number(k) : k, ...below];
  }
  return undefined;
}

/**
 * Builds the registry of one revision from its `kind: Schema` documents, reporting bad ones
 * (E_ENVELOPE, E_NAME, E_SCHEMA_DEFINITION) through each document's `report` and leaving them out.
 */
export function buildKindRegistry(schemaDocuments: SchemaDocument[]): KindRegistry {
  const base = loadBuiltins();
  const byName = new Map(base.kinds.map((k) => [k.name, k]));
  const envelopeReferences = findSchemaFields(base.envelopeSchema, ['metadata']).references;

  for (const doc of schemaDocuments) {
    const metadata = doc.value['metadata'];
    const spec = doc.value['spec'];
    const name = isObject(metadata) ? metadata['name'] : undefined;
    if (typeof name !== 'string') {
      doc.report('E_ENVELOPE', ['metadata'], 'a Schema needs metadata.name: the kind it defines, e.g. Certificate');
      continue;
    }
    if (!KIND_NAME.test(name)) {
      doc.report('E_NAME', ['metadata', 'name'], `kind name '${name}' must be PascalCase letters and digits (e.g. LoadBalancer), at most 63 characters`, 'value');
      continue;
    }
    const existing = byName.get(name) ?? [...byName.values()].find((k) => k.idPrefix === name.toLowerCase());
    if (existing) {
      const where = existing.builtin ? 'is a built-in kind' : `is already defined in ${existing.source}`;
      doc.report('E_SCHEMA_DEFINITION', ['metadata', 'name'], `kind '${name}' ${where}`, 'value');
      continue;
    }
    const schema = isObject(spec) ? spec['schema'] : undefined;
    if (!isObject(schema)) {
      doc.report('E_SCHEMA_DEFINITION', isObject(spec) ? ['spec'] : [], `Schema '${name}' needs spec.schema: a JSON Schema object for the assets' spec`, 'key');
      continue;
    }
    try {
      byName.set(name, defineKind(name, schema, doc.path, metadata && (metadata as Record<string, unknown>)['description'], envelopeReferences));
    } catch (error) {
      const message = (error as Error).message;
      doc.report('E_SCHEMA_DEFINITION', ['spec', 'schema', ...schemaErrorPath(schema, message)], `invalid JSON Schema for kind '${name}': ${message}`, 'key');
    }
  }

  for (const kind of byName.values()) {
    for (const ref of kind.references) {
      for (const target of ref.targets) {
        if (!byName.has(target) && kind.source !== 'builtin') {
          const doc = schemaDocuments.find((d) => d.path === kind.source);
          doc?.report('E_SCHEMA_DEFINITION', ['spec', 'schema'], `kind '${kind.name}' references unknown kind '${target}' (x-estate-ref at ${ref.pattern.join('.')})`, 'key');
        }
      }
    }
  }

  const byPrefix = new Map([...byName.values()].map((k) => [k.idPrefix, k]));
  return {
    get: (kind) => byName.get(kind),
    byIdPrefix: (prefix) => byPrefix.get(prefix),
    list: () => [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)),
    validateMetadata: compileSchema(base.envelopeSchema),
    validateEstateSpec: compileSchema(base.estateSchema),
  };
}
