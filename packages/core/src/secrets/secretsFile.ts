import { compareDiagnostics, type Diagnostic } from '../diagnostics.js';
import type { PathSegments } from '../jsonPointer.js';
import { DNS_LABEL } from '../assetChecks.js';
import { locateInDocument } from '../yaml/locateInDocument.js';
import { parseYamlFile, type YamlDocument } from '../yaml/parseYamlFile.js';

/** `kind` of a secrets file (`config/<app>/<env>.secrets.yaml`). */
export const SECRETS_KIND = 'Secrets';

/**
 * Names a secret key may have: usable as an environment variable name or a dotted config key.
 * Keys are visible in the file and in diffs; only values are secret.
 */
export const SECRET_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** An age recipient as written in estate.yaml: Bech32, lower case, `age1` prefix (X25519 keys). */
export const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{20,}$/;

const BASE64 = '[A-Za-z0-9+/]+={0,2}';
const ENCRYPTED_VALUE = new RegExp(`^ENC\\[age,(${BASE64})\\]$`);
const MAC_VALUE = new RegExp(`^HMAC\\[sha256,(${BASE64})\\]$`);
const SECRETS_PATH = /^config\/([^/]+)\/([^/]+)\.secrets\.yaml$/;
const TOP_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec']);
const METADATA_FIELDS = new Set(['app', 'env']);
const SPEC_FIELDS = new Set(['recipients', 'values', 'macKey', 'mac']);

/** What a secrets file declares, readable without any key: what validation and diffs need. */
export interface SecretsFileSummary {
  /** `metadata.app`, when present and valid. */
  app: string | undefined;
  /** `metadata.env`, when present and valid. */
  env: string | undefined;
  /** `spec.recipients`: the age recipients every value is encrypted to. */
  recipients: string[];
  /** Secret keys, sorted. */
  keys: string[];
  /** Problems found (`E_SECRET_FORMAT`, or the YAML loader's codes), sorted by position; empty when the file is well formed. */
  diagnostics: Diagnostic[];
}

/** A secrets file read in full (still encrypted): the summary plus the ciphertexts and the MAC. */
export interface SecretsFileContent extends SecretsFileSummary {
  /** Base64 age ciphertext of each value, by key. */
  values: Map<string, string>;
  /** Base64 age ciphertext of the MAC key. */
  macKey: string | undefined;
  /** Base64 HMAC-SHA256 tag. */
  mac: string | undefined;
}

/** The parts of a well-formed secrets file, as written by {@link renderSecretsFile}. */
export interface SecretsFileParts {
  app: string;
  env: string;
  recipients: readonly string[];
  /** Base64 ciphertexts by key. */
  values: ReadonlyMap<string, string>;
  macKey: string;
  mac: string;
}

/**
 * Reads a secrets file without decrypting anything: its app, env, recipients and keys, and every
 * format problem as a diagnostic (`E_SECRET_FORMAT`). Messages name fields and keys, never the
 * text of a value, since a value that is not `ENC[age,...]` may be a plaintext secret.
 *
 * When `path` has the layout `config/<app>/<env>.secrets.yaml`, the metadata must match it.
 */
export function parseSecretsFile(path: string, text: string): SecretsFileSummary {
  const { app, env, recipients, keys, diagnostics } = readSecretsFile(path, text);
  return { app, env, recipients, keys, diagnostics };
}

/** Like {@link parseSecretsFile}, plus the ciphertexts and the MAC (for decryption and diffs). */
export function readSecretsFile(path: string, text: string): SecretsFileContent {
  const result: SecretsFileContent = {
    app: undefined,
    env: undefined,
    recipients: [],
    keys: [],
    diagnostics: [],
    values: new Map(),
    macKey: undefined,
    mac: undefined,
  };
  const parsed = parseYamlFile(path, new TextEncoder().encode(text));
  result.diagnostics.push(...parsed.diagnostics);
  if (parsed.diagnostics.length > 0) return result;
  if (parsed.documents.length !== 1) {
    const line = parsed.documents[1]?.line ?? 1;
    result.diagnostics.push({ code: 'E_SECRET_FORMAT', path, line, col: 1, message: `a secrets file holds exactly one YAML document; found ${parsed.documents.length}` });
    return result;
  }
  const document = parsed.documents[0] as YamlDocument;
  const problem = (at: PathSegments, message: string, target: 'key' | 'value' = 'value'): void => {
    const { line, col } = at.length === 0 ? { line: document.line, col: 1 } : locateInDocument(document, at, target);
    result.diagnostics.push({ code: 'E_SECRET_FORMAT', path, line, col, message });
  };

  const root = document.value;
  if (!isRecord(root)) {
    problem([], 'a secrets file is a mapping with apiVersion, kind, metadata and spec');
    return result;
  }
  unknownFields(root, [], TOP_FIELDS, problem);
  if (root.apiVersion !== 'estate/v1') problem(['apiVersion'], `apiVersion must be 'estate/v1'`);
  if (root.kind !== SECRETS_KIND) problem(['kind'], `kind must be '${SECRETS_KIND}'`);

  const metadata = root.metadata;
  if (!isRecord(metadata)) {
    problem(['metadata'], 'metadata must be a mapping with app and env');
  } else {
    unknownFields(metadata, ['metadata'], METADATA_FIELDS, problem);
    result.app = label(metadata, 'app', problem);
    result.env = label(metadata, 'env', problem);
    const layout = SECRETS_PATH.exec(path);
    if (layout) {
      if (result.app !== undefined && layout[1] !== result.app) problem(['metadata', 'app'], `metadata.app '${result.app}' does not match the file's folder '${layout[1]}'`);
      if (result.env !== undefined && layout[2] !== result.env) problem(['metadata', 'env'], `metadata.env '${result.env}' does not match the file name '${layout[2]}.secrets.yaml'`);
    }
  }

  const spec = root.spec;
  if (!isRecord(spec)) {
    problem(['spec'], 'spec must be a mapping with recipients, values, macKey and mac');
    return result;
  }
  unknownFields(spec, ['spec'], SPEC_FIELDS, problem);

  const recipients = spec.recipients;
  if (!Array.isArray(recipients) || recipients.length === 0) {
    problem(['spec', 'recipients'], 'spec.recipients must be a non-empty list of age recipients (age1...)');
  } else {
    recipients.forEach((recipient: unknown, index) => {
      if (typeof recipient !== 'string' || !AGE_RECIPIENT.test(recipient)) {
        problem(['spec', 'recipients', index], `spec.recipients[${index}] is not an age recipient (age1...)`);
      } else if (result.recipients.includes(recipient)) {
        problem(['spec', 'recipients', index], `spec.recipients[${index}] repeats recipient '${recipient}'`);
      } else {
        result.recipients.push(recipient);
      }
    });
  }

  const values = spec.values;
  if (!isRecord(values)) {
    problem(['spec', 'values'], 'spec.values must be a mapping of keys to ENC[age,...] values');
  } else {
    for (const [key, value] of Object.entries(values)) {
      if (!SECRET_KEY.test(key)) {
        problem(['spec', 'values', key], `secret key '${key.slice(0, 140)}' is not valid (letters, digits, '_', '.', '-'; starting with a letter or '_'; at most 128 characters)`, 'key');
        continue;
      }
      const ciphertext = typeof value === 'string' ? ENCRYPTED_VALUE.exec(value)?.[1] : undefined;
      // The value is not echoed: a hand-edited file may hold a plaintext secret here.
      if (ciphertext === undefined || !isBase64(ciphertext)) problem(['spec', 'values', key], `value of secret '${key}' is not an encrypted value ENC[age,<base64>]`);
      else result.values.set(key, ciphertext);
    }
    result.keys = [...result.values.keys()].sort();
  }

  const macKey = typeof spec.macKey === 'string' ? ENCRYPTED_VALUE.exec(spec.macKey)?.[1] : undefined;
  if (macKey === undefined || !isBase64(macKey)) problem(['spec', 'macKey'], 'spec.macKey must be the encrypted MAC key ENC[age,<base64>]');
  else result.macKey = macKey;
  const mac = typeof spec.mac === 'string' ? MAC_VALUE.exec(spec.mac)?.[1] : undefined;
  if (mac === undefined || !isBase64(mac) || mac.length !== 44) problem(['spec', 'mac'], 'spec.mac must be the file MAC HMAC[sha256,<base64 of 32 bytes>]');
  else result.mac = mac;
  result.diagnostics.sort(compareDiagnostics);
  return result;
}

/**
 * Writes a secrets file in its canonical form: fixed field order, keys sorted, every encrypted
 * value double-quoted. Comments are not kept (the file is machine-written).
 */
export function renderSecretsFile(parts: SecretsFileParts): string {
  const lines = [
    'apiVersion: estate/v1',
    `kind: ${SECRETS_KIND}`,
    'metadata:',
    `  app: ${renderLabel(parts.app)}`,
    `  env: ${renderLabel(parts.env)}`,
    'spec:',
    '  recipients:',
    ...parts.recipients.map((recipient) => `    - ${recipient}`),
  ];
  const keys = [...parts.values.keys()].sort();
  if (keys.length === 0) lines.push('  values: {}');
  else lines.push('  values:', ...keys.map((key) => `    ${renderKey(key)}: "ENC[age,${parts.values.get(key)}]"`));
  lines.push(`  macKey: "ENC[age,${parts.macKey}]"`, `  mac: "HMAC[sha256,${parts.mac}]"`, '');
  return lines.join('\n');
}

/** Labels that YAML would read as a number, boolean or null (`123`, `true`) are quoted. */
function renderLabel(label: string): string {
  return /^[a-z][a-z0-9-]*$/.test(label) && !['null', 'true', 'false'].includes(label) ? label : JSON.stringify(label);
}

/** Plain identifiers stay bare; keys with `.` or `-` are quoted so no YAML reader misreads them. */
function renderKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
}

function label(metadata: Record<string, unknown>, field: 'app' | 'env', problem: (at: PathSegments, message: string) => void): string | undefined {
  const value = metadata[field];
  if (typeof value === 'string' && DNS_LABEL.test(value)) return value;
  problem(['metadata', field], `metadata.${field} must be a DNS label ([a-z0-9-], at most 63 characters)`);
  return undefined;
}

function unknownFields(
  value: Record<string, unknown>,
  at: PathSegments,
  allowed: ReadonlySet<string>,
  problem: (at: PathSegments, message: string, target: 'key' | 'value') => void,
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) problem([...at, key], `unknown field '${[...at, key].join('.').slice(0, 140)}'; allowed: ${[...allowed].join(', ')}`, 'key');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isBase64(text: string): boolean {
  return text.length % 4 === 0;
}
