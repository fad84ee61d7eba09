import { API_VERSION, apiVersionMessage, DNS_LABEL, ENVELOPE_KEYS, nameMessage, reporterFor, type Reporter } from '../assetChecks.js';
import { compareDiagnostics, type Diagnostic } from '../diagnostics.js';
import { hasErrorCode } from '../errors.js';
import { compileSchema, type JsonSchema } from '../kinds/schemaCompiler.js';
import { describeValue, toSchemaProblems } from '../kinds/schemaProblems.js';
import { parseLabelSelector } from '../labelSelector.js';
import { comparePaths } from '../loadEstate.js';
import { isObject } from '../values.js';
import { locateInDocument } from '../yaml/locateInDocument.js';
import { parseYamlFile, type YamlDocument } from '../yaml/parseYamlFile.js';
import { isValidTimeZone, parseCron } from './cron.js';
import { pathGlobProblem, pointerGlobProblem } from './globs.js';
import type { ApprovalRule, ChangeMatch, DriftIgnoreRule, DriftMode, DriftModeMatch, DriftModeRule, FreezeScope, FreezeWindow, PolicySet, RiskLevel } from './types.js';

/** The folder of the estate repo that holds policies. */
export const POLICY_PREFIX = 'policies/';

/** The kinds of document a policy file may hold. */
export const POLICY_KINDS = ['ApprovalPolicy', 'FreezeWindow', 'DriftIgnore', 'DriftMode'] as const;

/** The drift modes, weakest first: when several `DriftMode` rules cover an asset, the strictest wins. */
export const DRIFT_MODES: readonly DriftMode[] = ['observe', 'shadow', 'enforce'];

/** The longest a recurring freeze window may stay open each time: 31 days. */
export const MAX_FREEZE_DURATION_MS = 31 * 24 * 3600_000;

/** True for a path the policy loader reads (`policies/**` files ending in `.yaml` or `.yml`). */
export function isPolicyPath(path: string): boolean {
  return path.startsWith(POLICY_PREFIX) && /\.ya?ml$/i.test(path);
}

const RISKS: readonly RiskLevel[] = ['low', 'medium', 'high'];
const NAME_PATTERN = DNS_LABEL.source;
const stringList: JsonSchema = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } };
const globList: JsonSchema = { type: 'array', minItems: 1, items: { type: 'string' } };

const METADATA_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string' }, description: { type: 'string' } },
};

const MATCH_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kinds: stringList,
    selector: { type: 'string' },
    owners: stringList,
    paths: globList,
    fields: globList,
    authors: stringList,
    authorGroups: stringList,
    exceptAuthors: stringList,
    exceptAuthorGroups: stringList,
  },
};

const APPROVAL_POLICY_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['rules'],
  additionalProperties: false,
  properties: {
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'match', 'approvals'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: NAME_PATTERN },
          description: { type: 'string' },
          match: MATCH_SCHEMA,
          risk: { enum: RISKS },
          approvals: { type: 'integer', minimum: 0, maximum: 20 },
          approvers: {
            type: 'object',
            additionalProperties: false,
            properties: { role: { enum: ['approver', 'admin'] }, groups: { ...stringList, minItems: 0, uniqueItems: true } },
          },
          autoMerge: { type: 'boolean' },
        },
      },
    },
  },
};

const FREEZE_WINDOW_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['reason'],
  additionalProperties: false,
  properties: {
    reason: { type: 'string', minLength: 1 },
    start: { type: 'string' },
    end: { type: 'string' },
    schedule: { type: 'string' },
    // A number is accepted here so that a forgotten unit (`duration: 64`) gets the message that says so.
    duration: { type: ['string', 'number'] },
    timeZone: { type: 'string' },
    scope: {
      type: 'object',
      additionalProperties: false,
      properties: { environments: stringList, selector: { type: 'string' }, paths: globList },
    },
  },
};

const DRIFT_IGNORE_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['rules'],
  additionalProperties: false,
  properties: {
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['fields', 'reason'],
        additionalProperties: false,
        properties: {
          kind: { type: 'string', minLength: 1 },
          selector: { type: 'string' },
          fields: globList,
          reason: { type: 'string', minLength: 1 },
        },
      },
    },
  },
};

const DRIFT_MODE_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['rules'],
  additionalProperties: false,
  properties: {
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['mode', 'match'],
        additionalProperties: false,
        properties: {
          mode: { enum: DRIFT_MODES },
          match: {
            type: 'object',
            additionalProperties: false,
            properties: { envs: stringList, kinds: stringList, selector: { type: 'string' } },
          },
          reason: { type: 'string', minLength: 1 },
        },
      },
    },
  },
};

const encoder = new TextEncoder();

/**
 * Parses and checks policy files (path and text), as a loader would: reads every YAML document of
 * the files under `policies/` (others are ignored), in path order, and returns the approval rules,
 * freeze windows, drift ignore rules and drift mode rules of the documents without problems. A document with any problem is left out as
 * a whole and its problems are reported (`E_YAML_*`, `E_ENVELOPE`, `E_NAME`, `E_POLICY`), with
 * line and column. Never throws on bad content.
 */
export function loadPolicies(files: Array<{ path: string; text: string }>): PolicySet {
  const set: PolicySet = { rules: [], freezes: [], driftIgnores: [], driftModes: [], diagnostics: [] };
  const seen = new Map<string, { path: string; document: YamlDocument }>();
  for (const file of files.filter((f) => isPolicyPath(f.path)).sort(comparePaths)) {
    const parsed = parseYamlFile(file.path, encoder.encode(file.text));
    set.diagnostics.push(...parsed.diagnostics);
    for (const document of parsed.documents) {
      const problems: Diagnostic[] = [];
      const report = reporterFor(problems, file.path, document);
      const envelope = readEnvelope(document, report);
      if (!envelope) {
        set.diagnostics.push(...problems);
        continue;
      }
      const key = `${envelope.kind}/${envelope.name}`;
      const first = seen.get(key);
      if (first) {
        const where = locateInDocument(first.document, ['metadata', 'name'], 'value');
        report('E_POLICY', ['metadata', 'name'], `${envelope.kind} '${envelope.name}' is already defined at ${first.path}:${where.line}:${where.col}`);
      } else if (problems.length === 0) {
        seen.set(key, { path: file.path, document });
      }
      if (envelope.kind === 'ApprovalPolicy') {
        const rules = readApprovalPolicy(envelope.name, file.path, envelope.spec, report, document);
        if (problems.length === 0) set.rules.push(...rules);
      } else if (envelope.kind === 'DriftIgnore') {
        const rules = readDriftIgnore(envelope.name, file.path, envelope.spec, report);
        if (problems.length === 0) set.driftIgnores.push(...rules);
      } else if (envelope.kind === 'DriftMode') {
        const rules = readDriftMode(envelope.name, file.path, envelope.spec, report);
        if (problems.length === 0) set.driftModes.push(...rules);
      } else {
        const window = readFreezeWindow(envelope.name, file.path, envelope.spec, report);
        if (problems.length === 0 && window) set.freezes.push(window);
      }
      set.diagnostics.push(...problems);
    }
  }
  set.diagnostics.sort(compareDiagnostics);
  return set;
}

interface Envelope {
  kind: (typeof POLICY_KINDS)[number];
  name: string;
  spec: Record<string, unknown>;
}

/** Checks apiVersion, kind, metadata and the presence of spec; reports and returns `undefined` when unusable. */
function readEnvelope(document: YamlDocument, report: Reporter): Envelope | undefined {
  const value = document.value;
  if (!isObject(value)) {
    report('E_ENVELOPE', [], `a policy document must be a mapping with apiVersion, kind, metadata and spec (got ${describeValue(value)})`);
    return undefined;
  }
  let usable = true;
  if (value['apiVersion'] !== API_VERSION) {
    report('E_ENVELOPE', ['apiVersion'], apiVersionMessage(value['apiVersion']), value['apiVersion'] === undefined ? 'key' : 'value');
    usable = false;
  }
  for (const key of Object.keys(value)) {
    if (!ENVELOPE_KEYS.has(key)) {
      report('E_ENVELOPE', [key], `unknown top-level field '${key}'; a policy document has apiVersion, kind, metadata and spec`, 'key');
      usable = false;
    }
  }
  const kind = value['kind'];
  const known = POLICY_KINDS as readonly unknown[];
  if (kind === undefined) {
    report('E_ENVELOPE', [], `missing kind; policy kinds are ${POLICY_KINDS.join(', ')}`, 'key');
    return undefined;
  }
  if (!known.includes(kind)) {
    report('E_POLICY', ['kind'], `unknown policy kind ${describeValue(kind)}; known kinds: ${POLICY_KINDS.join(', ')}`);
    return undefined;
  }
  const metadata = value['metadata'];
  if (!isObject(metadata)) {
    report('E_ENVELOPE', metadata === undefined ? [] : ['metadata'], metadata === undefined ? `missing metadata.name of ${String(kind)}` : `metadata must be a mapping with a name (got ${describeValue(metadata)})`, 'key');
    return undefined;
  }
  const name = metadata['name'];
  if (typeof name !== 'string') {
    report('E_ENVELOPE', name === undefined ? ['metadata'] : ['metadata', 'name'], name === undefined ? 'missing metadata.name' : `metadata.name must be a string (got ${describeValue(name)})`, name === undefined ? 'key' : 'value');
    return undefined;
  }
  for (const p of toSchemaProblems(compileSchema(METADATA_SCHEMA)(metadata), ['metadata'])) {
    report('E_POLICY', p.path, p.message, p.target);
    usable = false;
  }
  if (!DNS_LABEL.test(name)) {
    report('E_NAME', ['metadata', 'name'], nameMessage(String(kind), name));
    usable = false;
  }
  const spec = value['spec'];
  if (!isObject(spec)) {
    report('E_ENVELOPE', spec === undefined ? [] : ['spec'], spec === undefined ? `missing spec for ${String(kind)} '${name}'` : `spec must be a mapping (got ${describeValue(spec)})`, 'key');
    return undefined;
  }
  return usable ? { kind: kind as Envelope['kind'], name, spec } : undefined;
}

function readApprovalPolicy(policy: string, path: string, spec: Record<string, unknown>, report: Reporter, document: YamlDocument): ApprovalRule[] {
  const problems = toSchemaProblems(compileSchema(APPROVAL_POLICY_SCHEMA)(spec), ['spec']);
  for (const p of problems) report('E_POLICY', p.path, p.message, p.target);
  if (problems.length) return [];
  const rules: ApprovalRule[] = [];
  const firstIndex = new Map<string, number>();
  (spec['rules'] as Array<Record<string, unknown>>).forEach((raw, i) => {
    const at = ['spec', 'rules', i];
    const name = raw['name'] as string;
    const earlier = firstIndex.get(name);
    if (earlier !== undefined) {
      const where = locateInDocument(document, ['spec', 'rules', earlier, 'name'], 'value');
      report('E_POLICY', [...at, 'name'], `rule '${name}' is defined twice in ApprovalPolicy '${policy}' (first at line ${where.line}); rule names must be unique within a policy`);
    } else {
      firstIndex.set(name, i);
    }
    const risk = (raw['risk'] as RiskLevel | undefined) ?? 'medium';
    const approvals = raw['approvals'] as number;
    const autoMerge = raw['autoMerge'] === true;
    if (autoMerge && risk !== 'low') {
      report('E_POLICY', [...at, 'autoMerge'], `rule '${name}': autoMerge is only allowed on low-risk rules (its risk is ${risk}); set risk: low or remove autoMerge`);
    }
    if (autoMerge && approvals !== 0) {
      report('E_POLICY', [...at, 'autoMerge'], `rule '${name}': autoMerge needs approvals: 0 (it has ${approvals}), as an auto-merged change waits for no one`);
    }
    const match = readMatch(raw['match'] as Record<string, unknown>, [...at, 'match'], report);
    const approvers = (raw['approvers'] as { role?: 'approver' | 'admin'; groups?: string[] } | undefined) ?? {};
    rules.push({
      policy,
      name,
      path,
      risk,
      approvals,
      approvers: { role: approvers.role ?? 'approver', groups: [...(approvers.groups ?? [])] },
      autoMerge,
      match,
    });
  });
  return rules;
}

function readMatch(raw: Record<string, unknown>, at: Array<string | number>, report: Reporter): ChangeMatch {
  const match: ChangeMatch = {};
  for (const key of ['kinds', 'owners', 'authors', 'authorGroups', 'exceptAuthors', 'exceptAuthorGroups'] as const) {
    if (raw[key] !== undefined) match[key] = [...(raw[key] as string[])];
  }
  if (typeof raw['selector'] === 'string') match.selector = checkSelector(raw['selector'], [...at, 'selector'], report);
  if (raw['paths'] !== undefined) match.paths = checkGlobs(raw['paths'] as string[], [...at, 'paths'], pathGlobProblem, report);
  if (raw['fields'] !== undefined) match.fields = checkGlobs(raw['fields'] as string[], [...at, 'fields'], pointerGlobProblem, report);
  return match;
}

function checkSelector(selector: string, at: Array<string | number>, report: Reporter): string {
  try {
    parseLabelSelector(selector);
  } catch (error) {
    if (!hasErrorCode(error, 'E_SELECTOR')) throw error;
    report('E_POLICY', at, error.message);
  }
  return selector;
}

function checkGlobs(globs: string[], at: Array<string | number>, problemOf: (glob: string) => string | undefined, report: Reporter): string[] {
  globs.forEach((glob, i) => {
    const problem = problemOf(glob);
    if (problem) report('E_POLICY', [...at, i], problem);
  });
  return [...globs];
}

function readDriftIgnore(policy: string, path: string, spec: Record<string, unknown>, report: Reporter): DriftIgnoreRule[] {
  const problems = toSchemaProblems(compileSchema(DRIFT_IGNORE_SCHEMA)(spec), ['spec']);
  for (const p of problems) report('E_POLICY', p.path, p.message, p.target);
  if (problems.length) return [];
  return (spec['rules'] as Array<Record<string, unknown>>).map((raw, i) => {
    const at = ['spec', 'rules', i];
    const rule: DriftIgnoreRule = { policy, path, fields: checkGlobs(raw['fields'] as string[], [...at, 'fields'], pointerGlobProblem, report), reason: raw['reason'] as string };
    if (typeof raw['kind'] === 'string') rule.kind = raw['kind'];
    if (typeof raw['selector'] === 'string') rule.selector = checkSelector(raw['selector'], [...at, 'selector'], report);
    return rule;
  });
}

function readDriftMode(policy: string, path: string, spec: Record<string, unknown>, report: Reporter): DriftModeRule[] {
  const problems = toSchemaProblems(compileSchema(DRIFT_MODE_SCHEMA)(spec), ['spec']);
  for (const p of problems) report('E_POLICY', p.path, p.message, p.target);
  if (problems.length) return [];
  return (spec['rules'] as Array<Record<string, unknown>>).map((raw, index) => {
    const rawMatch = raw['match'] as Record<string, unknown>;
    const match: DriftModeMatch = {};
    if (rawMatch['envs'] !== undefined) match.envs = [...(rawMatch['envs'] as string[])];
    if (rawMatch['kinds'] !== undefined) match.kinds = [...(rawMatch['kinds'] as string[])];
    if (typeof rawMatch['selector'] === 'string') match.selector = checkSelector(rawMatch['selector'], ['spec', 'rules', index, 'match', 'selector'], report);
    const rule: DriftModeRule = { policy, path, index, mode: raw['mode'] as DriftMode, match };
    if (typeof raw['reason'] === 'string') rule.reason = raw['reason'];
    return rule;
  });
}

function readFreezeWindow(name: string, path: string, spec: Record<string, unknown>, report: Reporter): FreezeWindow | undefined {
  const problems = toSchemaProblems(compileSchema(FREEZE_WINDOW_SCHEMA)(spec), ['spec']);
  for (const p of problems) report('E_POLICY', p.path, p.message, p.target);
  if (problems.length) return undefined;
  const has = (key: string): boolean => spec[key] !== undefined;
  const fixed = has('start') || has('end');
  const recurring = has('schedule') || has('duration');
  const window: FreezeWindow = { name, path, reason: spec['reason'] as string, timeZone: (spec['timeZone'] as string | undefined) ?? 'UTC' };
  let ok = true;
  const fail = (at: Array<string | number>, message: string, target: 'key' | 'value' = 'value'): void => {
    report('E_POLICY', at, message, target);
    ok = false;
  };
  if (fixed && recurring) {
    fail(['spec'], `FreezeWindow '${name}' is either a fixed range (start, end) or recurring (schedule, duration), not both`, 'key');
  } else if (!fixed && !recurring) {
    fail(['spec'], `FreezeWindow '${name}' needs either start and end (a fixed range) or schedule and duration (recurring)`, 'key');
  } else if (fixed) {
    if (!has('start') || !has('end')) fail(['spec'], `FreezeWindow '${name}' has ${has('start') ? 'start but no end' : 'end but no start'}; a fixed range needs both`, 'key');
    if (has('timeZone')) fail(['spec', 'timeZone'], `timeZone applies to a schedule only; start and end carry their own offset (e.g. 2026-12-20T00:00:00+01:00)`, 'key');
    const start = has('start') ? readTimestamp(spec['start'] as string, ['spec', 'start'], fail) : undefined;
    const end = has('end') ? readTimestamp(spec['end'] as string, ['spec', 'end'], fail) : undefined;
    if (start !== undefined && end !== undefined && end <= start) fail(['spec', 'end'], `end ${spec['end'] as string} must be after start ${spec['start'] as string}`);
    if (start !== undefined) window.start = new Date(start).toISOString();
    if (end !== undefined) window.end = new Date(end).toISOString();
  } else {
    if (!has('schedule') || !has('duration')) fail(['spec'], `FreezeWindow '${name}' has ${has('schedule') ? 'a schedule but no duration' : 'a duration but no schedule'}; a recurring window needs both`, 'key');
    if (has('schedule')) {
      try {
        parseCron(spec['schedule'] as string);
        window.schedule = spec['schedule'] as string;
      } catch (error) {
        if (!hasErrorCode(error, 'E_POLICY')) throw error;
        fail(['spec', 'schedule'], error.message);
      }
    }
    if (has('duration')) {
      const duration = readDuration(String(spec['duration']));
      if (typeof duration === 'string') fail(['spec', 'duration'], duration);
      else window.durationMs = duration;
    }
    if (!isValidTimeZone(window.timeZone)) fail(['spec', 'timeZone'], `unknown time zone '${window.timeZone}'; use an IANA name such as Europe/Berlin or UTC`);
  }
  if (isObject(spec['scope'])) {
    const raw = spec['scope'];
    const scope: FreezeScope = {};
    if (raw['environments'] !== undefined) scope.environments = [...(raw['environments'] as string[])];
    const reportScope: Reporter = (_code, at, message) => fail(at, message);
    if (typeof raw['selector'] === 'string') scope.selector = checkSelector(raw['selector'], ['spec', 'scope', 'selector'], reportScope);
    if (raw['paths'] !== undefined) scope.paths = checkGlobs(raw['paths'] as string[], ['spec', 'scope', 'paths'], pathGlobProblem, reportScope);
    if (Object.keys(raw).length === 0) fail(['spec', 'scope'], 'scope is empty, so the window would hold no change; list environments, selector or paths, or remove scope to freeze every change', 'key');
    window.scope = scope;
  }
  return ok ? window : undefined;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|([+-])(\d{2}):(\d{2}))$/i;

/** Epoch ms of an ISO 8601 date-time with an offset (RFC 3339 §5.6), or a report. */
function readTimestamp(text: string, at: Array<string | number>, fail: (at: Array<string | number>, message: string) => void): number | undefined {
  const m = TIMESTAMP.exec(text);
  const bad = (): undefined => {
    fail(at, `${at[at.length - 1] as string} must be an ISO 8601 date and time with an offset, e.g. 2026-12-20T00:00:00Z or 2026-12-20T00:00:00+01:00 (got ${describeValue(text)})`);
    return undefined;
  };
  if (!m) return bad();
  const [year, month, day, hour, minute, second = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) => (v === undefined ? undefined : Number(v))) as number[];
  const millis = m[7] ? Math.floor(Number(m[7]) * 1000) : 0;
  const local = Date.UTC(year!, month! - 1, day!, hour!, minute!, second, millis);
  const check = new Date(local);
  const offsetHours = m[10] ? Number(m[10]) : 0;
  const offsetMinutes = m[11] ? Number(m[11]) : 0;
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month! - 1 || check.getUTCDate() !== day || hour! > 23 || minute! > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) {
    return bad();
  }
  const sign = m[9] === '-' ? -1 : 1;
  return local - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
}

const DURATION_UNITS: Record<string, number> = { m: 60_000, h: 3600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** Milliseconds of a duration `<n>m|h|d|w`, or why it is not one. */
function readDuration(text: string): number | string {
  const m = /^(\d+)([mhdw])$/.exec(text);
  if (!m) return `duration must be a whole number with a unit m, h, d or w, e.g. 64h or 2d (got ${text})`;
  const ms = Number(m[1]) * DURATION_UNITS[m[2]!]!;
  if (ms === 0) return 'duration must be longer than 0';
  if (ms > MAX_FREEZE_DURATION_MS) return `duration ${text} is longer than the maximum of 31d`;
  return ms;
}
