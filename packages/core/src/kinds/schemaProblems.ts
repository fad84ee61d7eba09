import type { ErrorObject } from 'ajv';
import { parsePointer } from '../jsonPointer.js';

/** One schema violation, located by JSON path, with a message that names the field and the value. */
export interface SchemaProblem {
  path: Array<string | number>;
  target: 'key' | 'value';
  message: string;
}

/** Formats a document path the way people write it: `spec.files[0].mode`. */
export function displayPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number' || /^\d+$/.test(segment)) out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** A short rendering of a value for messages. */
export function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Turns ajv's errors into one problem per violation, with paths relative to the document (under
 * `base`). The branch errors of a failed `oneOf`/`anyOf` are folded into its own message so that
 * one mistake reads as one problem.
 */
export function toSchemaProblems(errors: ErrorObject[], base: Array<string | number>): SchemaProblem[] {
  const combinators = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  const isBranchOf = (e: ErrorObject, c: ErrorObject): boolean =>
    e !== c && e.schemaPath.startsWith(`${c.schemaPath}/`) && e.instancePath.startsWith(c.instancePath);
  const problems: SchemaProblem[] = [];
  for (const error of errors) {
    if (combinators.some((c) => isBranchOf(error, c))) continue;
    // A failed `propertyNames` reports its subschema's errors (naming the key) and then a generic
    // one of its own; the former say what is wrong.
    if (error.keyword === 'propertyNames' && errors.some((e) => e.propertyName !== undefined && isBranchOf(e, error))) continue;
    const path = [...base, ...parsePointer(error.instancePath)];
    const field = displayPath(path);
    if (error.propertyName !== undefined) {
      problems.push({ path: [...path, error.propertyName], target: 'key', message: `${field} key '${error.propertyName}' ${error.message ?? `fails ${error.keyword}`}` });
      continue;
    }
    const got = error.data !== undefined && typeof error.data !== 'object' ? ` (got ${describeValue(error.data)})` : '';
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'required':
        problems.push({ path, target: 'key', message: `${field} is missing required field '${String(params['missingProperty'])}'` });
        break;
      case 'additionalProperties': {
        const extra = String(params['additionalProperty']);
        const known = Object.keys((error.parentSchema?.['properties'] as object | undefined) ?? {});
        const hint = known.length ? `; known fields: ${known.join(', ')}` : '';
        problems.push({ path: [...path, extra], target: 'key', message: `unknown field '${displayPath([...path, extra])}'${hint}` });
        break;
      }
      case 'uniqueItems': {
        const first = Number(params['j']);
        const repeat = Number(params['i']);
        const item = [...path, Math.max(first, repeat)];
        problems.push({ path: item, target: 'value', message: `${displayPath(item)} repeats ${displayPath([...path, Math.min(first, repeat)])}; ${field} must not list an item twice` });
        break;
      }
      case 'enum':
        problems.push({ path, target: 'value', message: `${field} must be one of ${(params['allowedValues'] as unknown[]).map(describeValue).join(', ')}${got}` });
        break;
      case 'format':
        problems.push({ path, target: 'value', message: `${field} must be a valid ${String(params['format'])}${got}` });
        break;
      case 'oneOf':
      case 'anyOf': {
        // A branch error below the combinator's value names its field relative to that value.
        const branches = errors
          .filter((e) => isBranchOf(e, error))
          .map((e) => {
            const below = displayPath(parsePointer(e.instancePath.slice(error.instancePath.length)));
            return `${below ? `${below} ` : ''}${e.message ?? e.keyword}`;
          });
        const passing = params['passingSchemas'];
        const detail = branches.length
          ? `: ${[...new Set(branches)].join('; or ')}`
          : Array.isArray(passing) ? ` but matches ${passing.length} of them` : '';
        const which = error.keyword === 'oneOf' ? 'exactly one' : 'at least one';
        problems.push({ path, target: 'value', message: `${field} must match ${which} of the allowed forms${detail}` });
        break;
      }
      default:
        problems.push({ path, target: 'value', message: `${field} ${error.message ?? `fails ${error.keyword}`}${got}` });
    }
  }
  return problems;
}
