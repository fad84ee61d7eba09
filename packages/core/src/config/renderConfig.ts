import { stringify } from 'yaml';
import { InputError, ValidationError } from '../errors.js';
import { isObject } from '../values.js';
import type { ConfigFormat } from './types.js';

/** The formats {@link renderConfig} knows. */
export const CONFIG_FORMATS: readonly ConfigFormat[] = ['json', 'yaml', 'env', 'properties'];

/**
 * Writes merged config values in one format, map keys sorted at every level (see docs/config.md):
 * - `json`: 2-space indented JSON with a final newline;
 * - `yaml`: block YAML; strings that a YAML 1.1 reader would take for something else (`yes`, `on`,
 *   `1.0`) are quoted, so old readers and new ones read the same values;
 * - `env`: `KEY=value` lines, see {@link toEnvName} and {@link quoteEnvValue};
 * - `properties`: Java `.properties` lines (`a.b=value`, lists as `a[0]`), see {@link escapeProperty}.
 *
 * Throws InputError E_CONFIG_FORMAT for an unknown format and ValidationError E_CONFIG_FORMAT when
 * two keys would get the same env variable name.
 */
export function renderConfig(values: Record<string, unknown>, format: ConfigFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(sortKeys(values), null, 2)}\n`;
    case 'yaml':
      return Object.keys(values).length === 0 ? '{}\n' : stringify(sortKeys(values), { version: '1.1', lineWidth: 0, sortMapEntries: true });
    case 'env':
      return renderEnv(values);
    case 'properties':
      return renderProperties(values);
    default:
      throw new InputError('E_CONFIG_FORMAT', `unknown config format '${String(format)}'; formats: ${CONFIG_FORMATS.join(', ')}`, { format });
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
  return out;
}

/**
 * The env variable name of a key path: segments joined with `_`, upper-cased, every character
 * other than A-Z, 0-9 and `_` replaced by `_`; a name starting with a digit gets a leading `_`
 * (POSIX names cannot start with one). `payments.timeoutMs` → `PAYMENTS_TIMEOUTMS`.
 */
export function toEnvName(path: readonly string[]): string {
  const name = path.join('_').toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) || name === '' ? `_${name}` : name;
}

const ENV_SAFE = /^[A-Za-z0-9_./:@%+,=-]+$/;

/**
 * Quotes a value for a dotenv file that a POSIX shell can also source (`set -a; . ./app.env`):
 * - left bare when it is made only of `A-Za-z0-9_./:@%+,=-` (numbers and booleans always are);
 * - else in single quotes when it holds no `'` (nothing inside is special, newlines included);
 * - else in double quotes with `\`, `"`, `$` and `` ` `` escaped by a backslash.
 * The empty string is `''`.
 */
export function quoteEnvValue(value: string): string {
  if (ENV_SAFE.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

function renderEnv(values: Record<string, unknown>): string {
  const lines = new Map<string, { line: string; key: string }>();
  const visit = (value: unknown, path: string[]): void => {
    if (isObject(value) && Object.keys(value).length > 0) {
      for (const key of Object.keys(value)) visit(value[key], [...path, key]);
      return;
    }
    const name = toEnvName(path);
    const key = path.join('.');
    const other = lines.get(name);
    if (other) {
      const [first, second] = [other.key, key].sort();
      throw new ValidationError('E_CONFIG_FORMAT', `config keys '${first}' and '${second}' both become the env variable ${name}`, { name, keys: [first, second] });
    }
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    lines.set(name, { line: `${name}=${quoteEnvValue(text)}`, key });
  };
  visit(values, []);
  return [...lines.keys()].sort().map((name) => `${lines.get(name)!.line}\n`).join('');
}

/**
 * Escapes a key or value for a Java `.properties` file as `Properties.store` does: `\`, tab, line
 * feed, carriage return and form feed become `\\ \t \n \r \f`; `=`, `:`, `#` and `!` get a
 * backslash; spaces get one in keys and at the start of values; characters outside printable ASCII
 * become `\uXXXX` (UTF-16 units), as the format is ISO-8859-1.
 */
export function escapeProperty(text: string, kind: 'key' | 'value'): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const code = text.charCodeAt(i);
    if (c === '\\') out += '\\\\';
    else if (c === '\t') out += '\\t';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\f') out += '\\f';
    else if ('=:#!'.includes(c)) out += `\\${c}`;
    else if (c === ' ') out += kind === 'key' || i === 0 ? '\\ ' : ' ';
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += c;
  }
  return out;
}

function renderProperties(values: Record<string, unknown>): string {
  const lines: string[] = [];
  const visit = (value: unknown, key: string): void => {
    if (isObject(value) && Object.keys(value).length > 0) {
      for (const name of Object.keys(value).sort()) visit(value[name], key ? `${key}.${name}` : name);
    } else if (Array.isArray(value) && value.length > 0) {
      value.forEach((item, i) => visit(item, `${key}[${i}]`));
    } else {
      // An empty map or list is an empty value: Spring binds it to an empty collection.
      const text = isObject(value) || Array.isArray(value) ? '' : typeof value === 'string' ? value : JSON.stringify(value);
      lines.push(`${escapeProperty(key, 'key')}=${escapeProperty(text, 'value')}\n`);
    }
  };
  visit(values, '');
  return lines.join('');
}
