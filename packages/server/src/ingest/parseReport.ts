import { InputError, ValidationError } from '@estate/core';
import secureJson from 'secure-json-parse';
import type { Report } from './types.js';

/** A ULID in its canonical form: 26 characters of Crockford's base32, the first at most `7` (ulid spec). */
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
/** A DNS label (RFC 1123 §2.1), lower case: the host names tokens are scoped to. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** An ISO 8601 UTC or offset timestamp with a time part, as `Date.prototype.toISOString` writes one. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const MAX_STRING = 1024 * 1024;
/** At most this many enforcement entries per report (a file has three fields an agent restores). */
export const MAX_ENFORCEMENT_ENTRIES = 1000;
const SHA256 = /^[0-9a-f]{64}$/;

/** The JSON pointer of a value, built only when a check fails (most reports pass). */
type Path = () => string;
type Check = (value: unknown, path: Path) => void;

const ROOT: Path = () => '';
/** The pointer of `key` below `parent` (RFC 6901 §3 escapes `~` and `/`). */
const below =
  (parent: Path, key: string | number): Path =>
  () =>
    `${parent()}/${typeof key === 'number' ? key : escapePointer(key)}`;

const string: Check = (value, path) => {
  if (typeof value !== 'string' || value.length > MAX_STRING) fail(path, 'must be a string');
};
const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (value, path) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(path, `must be an integer from ${min} to ${max}`);
  };
const number: Check = (value, path) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(path, 'must be a non-negative number');
};
const array =
  (item: Check): Check =>
  (value, path) => {
    if (!Array.isArray(value)) fail(path, 'must be an array');
    (value as unknown[]).forEach((entry, i) => item(entry, below(path, i)));
  };
const map =
  (item: Check): Check =>
  (value, path) => {
    if (!isObject(value)) fail(path, 'must be an object');
    for (const [key, entry] of Object.entries(value as object)) item(entry, below(path, key));
  };
const object =
  (properties: Record<string, Check>, required: string[] = []): Check =>
  (value, path) => {
    if (!isObject(value)) fail(path, 'must be an object');
    const record = value as Record<string, unknown>;
    for (const name of required) if (!Object.hasOwn(record, name)) fail(below(path, name), 'is required');
    for (const [name, entry] of Object.entries(record)) {
      const check = Object.hasOwn(properties, name) ? properties[name] : undefined;
      if (!check) fail(below(path, name), 'is not a known field');
      check(entry, below(path, name));
    }
  };
const text =
  (max: number, pattern?: RegExp): Check =>
  (value, path) => {
    if (typeof value !== 'string' || value.length > max || (pattern !== undefined && !pattern.test(value))) fail(path, pattern ? `must be a string of the form ${pattern.source}` : `must be a string of at most ${max} characters`);
  };
const nullable =
  (check: Check): Check =>
  (value, path) => {
    if (value !== null) check(value, path);
  };
const boolean: Check = (value, path) => {
  if (typeof value !== 'boolean') fail(path, 'must be true or false');
};
const literal =
  (...values: unknown[]): Check =>
  (value, path) => {
    if (!values.includes(value)) fail(path, `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`);
  };

const missingFile = object({ missing: literal(true) }, ['missing']);
const presentFile = object({ sha256: string, mode: string, owner: string, size: integer(0), content: string, truncated: literal(true) }, ['sha256', 'mode', 'owner']);
/** A managed file: `{missing: true}`, or what was read of it. */
const fileFact: Check = (value, path) => (isObject(value) && 'missing' in value ? missingFile : presentFile)(value, path);
/** The OS release: one string, or `/etc/os-release` fields. */
const osFact: Check = (value, path) => (typeof value === 'string' ? string : map(string))(value, path);

/** The facts of issue 6, point 1; unknown facts are refused, so a typo does not pass unnoticed. */
const checkFacts = object({
  hostname: string,
  ip: array(string),
  os: osFact,
  kernel: string,
  cpus: integer(0),
  memoryGiB: number,
  packages: map(string),
  files: map(fileFact),
  services: map(string),
  ports: array(object({ protocol: literal('tcp', 'udp'), address: string, port: integer(0, 65535) }, ['protocol', 'port'])),
});

/** What an enforcing agent restored (docs/drift.md#enforce), bounded. */
const checkEnforcement: Check = (value, path) => {
  if (Array.isArray(value) && value.length > MAX_ENFORCEMENT_ENTRIES) fail(path, `must have at most ${MAX_ENFORCEMENT_ENTRIES} entries`);
  array(
    object(
      {
        path: text(4096, /^\//),
        field: literal('content', 'mode', 'owner'),
        fromSha256: nullable(text(64, SHA256)),
        toSha256: nullable(text(64, SHA256)),
        from: text(256),
        to: text(256),
        backup: text(4096),
        at: text(64, ISO_TIME),
        ok: boolean,
        error: text(1024),
      },
      ['path', 'field', 'fromSha256', 'toSha256', 'at', 'ok'],
    ),
  )(value, path);
};

/**
 * Checks a report body and returns it typed. A body of the wrong form is refused with
 * `E_BAD_REPORT` (400) naming the first bad field as a JSON pointer; one with more than `maxFacts`
 * facts (see {@link countFacts}) with `E_REPORT_TOO_BIG` (422).
 */
export function parseReport(body: unknown, maxFacts: number): Report {
  object({ reportId: string, host: string, seq: integer(1), collectedAt: string, facts: checkFacts, errors: map(string), enforcement: checkEnforcement }, ['reportId', 'host', 'seq', 'collectedAt', 'facts'])(body, ROOT);
  const report = body as Report;
  if (!ULID.test(report.reportId)) fail('/reportId', 'must be a ULID (26 characters of Crockford base32)');
  if (!DNS_LABEL.test(report.host)) fail('/host', 'must be a host name (a DNS-1123 label)');
  if (!ISO_TIME.test(report.collectedAt) || Number.isNaN(Date.parse(report.collectedAt))) fail('/collectedAt', 'must be an ISO 8601 time');
  const facts = countFacts(report);
  if (facts > maxFacts) {
    throw new ValidationError('E_REPORT_TOO_BIG', `the report has ${facts} facts; at most ${maxFacts} are accepted`, { facts, limit: maxFacts });
  }
  return report;
}

/**
 * Parses and checks a report body as sent: not JSON, or JSON with a `__proto__` or
 * `constructor.prototype` key (prototype poisoning), is `E_BAD_REQUEST` (400); then as
 * {@link parseReport}.
 */
export function parseReportText(text: string, maxFacts: number): Report {
  let body: unknown;
  try {
    body = secureJson.parse(text, null, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw new InputError('E_BAD_REQUEST', 'the request body is not valid JSON', {});
  }
  return parseReport(body, maxFacts);
}

/** The facts that are collections: each of their entries counts as one fact. */
const COLLECTIONS = new Set(['ip', 'packages', 'files', 'services', 'ports']);

/**
 * How many facts a report carries: one per entry of a collection (IP addresses, packages, files,
 * services, ports), one for every other fact.
 */
export function countFacts(report: Report): number {
  let count = 0;
  for (const [name, value] of Object.entries(report.facts)) {
    if (!COLLECTIONS.has(name)) count++;
    else count += Array.isArray(value) ? value.length : Object.keys(value as object).length;
  }
  return count;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 6901 §3: `~` and `/` in a key are escaped in a JSON pointer. */
function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function fail(path: Path | string, reason: string): never {
  const pointer = typeof path === 'string' ? path : path();
  throw new InputError('E_BAD_REPORT', `report field '${pointer || '/'}' ${reason}`, { pointer: pointer || '/', reason });
}
