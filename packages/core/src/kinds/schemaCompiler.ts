import _Ajv2020 from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import _addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';

// ajv and ajv-formats are CommonJS; under NodeNext their default export is the module object.
const Ajv2020 = _Ajv2020 as unknown as typeof _Ajv2020.default;
const addFormats = _addFormats as unknown as typeof _addFormats.default;

/** A JSON Schema (draft 2020-12) as plain data. */
export type JsonSchema = Record<string, unknown>;

/** Validates one value; returns ajv's errors (empty when valid). */
export type SchemaValidator = (value: unknown) => ErrorObject[];

/** The Estate keywords a schema may carry; ajv treats them as annotations. */
export const ESTATE_KEYWORDS = ['x-estate-ref', 'x-estate-relation', 'x-estate-inverse', 'x-estate-unique'] as const;

const ipv4 = fullFormats.ipv4 as RegExp;
const ipv6 = fullFormats.ipv6 as RegExp;

function createAjv(): InstanceType<typeof Ajv2020> {
  const ajv = new Ajv2020({
    allErrors: true,
    // Errors carry the offending value and schema, so messages can name them.
    verbose: true,
    // Unknown keywords are usually typos (`requried`) and must be reported, not ignored.
    strictSchema: true,
    strictNumbers: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    // Custom kinds may carry `$id`s; compiling one revision's schemas must not pollute the next.
    addUsedSchema: false,
    logger: false,
  });
  addFormats(ajv);
  ajv.addFormat('ip', { type: 'string', validate: (s: string) => ipv4.test(s) || ipv6.test(s) });
  for (const keyword of ESTATE_KEYWORDS) ajv.addKeyword({ keyword, schemaType: ['string', 'array', 'boolean'] });
  // ajv compares list items of object type pairwise: a 300 KiB list of `ports` took seconds, a
  // 1 MiB one minutes. The same check (JSON Schema 2020-12 validation §6.4.3) by hashing is linear.
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', errors: true, validate: validateUniqueItems });
  return ajv;
}

/** `uniqueItems`, with ajv's error: `i` and `j` are the indexes of two equal items. */
function validateUniqueItems(unique: boolean, data: unknown[]): boolean {
  const self = validateUniqueItems as { errors?: Array<Partial<ErrorObject>> };
  self.errors = [];
  if (!unique) return true;
  const seen = new Map<string, number>();
  for (let i = 0; i < data.length; i++) {
    const key = canonicalJson(data[i]);
    const j = seen.get(key);
    if (j !== undefined) {
      self.errors = [{ keyword: 'uniqueItems', params: { i, j }, message: `must NOT have duplicate items (items ## ${j} and ${i} are identical)` }];
      return false;
    }
    seen.set(key, i);
  }
  return true;
}

/** JSON text with object keys sorted, so equal values (JSON Schema equality) give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
  }
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

let sharedAjv: InstanceType<typeof Ajv2020> | undefined;
const compiled = new Map<string, ValidateFunction>();

/**
 * Compiles a schema once per distinct content (revisions usually share their schemas, so a
 * re-validation never pays for compilation again). Throws ajv's error for an invalid schema.
 */
export function compileSchema(schema: JsonSchema): SchemaValidator {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    sharedAjv ??= createAjv();
    validate = sharedAjv.compile(schema);
    compiled.set(key, validate);
  }
  const fn = validate;
  return (value) => (fn(value) ? [] : [...(fn.errors ?? [])]);
}
