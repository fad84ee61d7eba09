import type { Diagnostic, DiagnosticCode } from './diagnostics.js';
import type { Asset, AssetMetadata, Relation } from './estate.js';
import type { KindRegistry } from './kinds/kindRegistry.js';
import { valuesAt } from './kinds/referenceFields.js';
import { describeValue, displayPath, toSchemaProblems } from './kinds/schemaProblems.js';
import { isObject } from './values.js';
import { locateInDocument } from './yaml/locateInDocument.js';
import type { YamlDocument } from './yaml/parseYamlFile.js';

/** `apiVersion` of every Estate document. */
export const API_VERSION = 'estate/v1';
/** DNS-1123 label (RFC 1123 §2.1 host name label, lower-case). */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** The top-level fields of every Estate document. */
export const ENVELOPE_KEYS: ReadonlySet<string> = new Set(['apiVersion', 'kind', 'metadata', 'spec']);

/** Reports a problem at a JSON path of a document. */
export type Reporter = (code: DiagnosticCode, path: Array<string | number>, message: string, target?: 'key' | 'value') => void;

/** Makes a reporter that locates each problem in `document` and appends it to `sink`. */
export function reporterFor(sink: Diagnostic[], path: string, document: YamlDocument, asset?: string): Reporter {
  return (code, at, message, target = 'value') => {
    const { line, col } = locateInDocument(document, at, target);
    sink.push({ code, path, line, col, message, ...(asset ? { asset } : {}) });
  };
}

/** A reference that passed every check one document can make; whether its target exists is left. */
export interface PendingReference {
  relation: Relation;
  path: Array<string | number>;
}

/** A value of an `x-estate-unique` field, keyed by kind, field and value. */
export interface PendingUnique {
  key: string;
  path: Array<string | number>;
  value: unknown;
}

/** Everything one asset document yields on its own, before the checks that span assets. */
export interface CheckedDocument {
  /** Set when the document names an asset of a known kind. */
  asset?: Asset;
  diagnostics: Diagnostic[];
  references: PendingReference[];
  uniques: PendingUnique[];
}

interface CachedCheck {
  kindsKey: string;
  path: string;
  blobId: string;
  checked: CheckedDocument;
}

/**
 * Results per parsed document. A document object lives as long as its blob stays in the parse
 * cache, so an unchanged file is neither parsed nor checked again while the kinds are the same.
 */
const checks = new WeakMap<YamlDocument, CachedCheck>();

/**
 * Checks one asset document: envelope, name, metadata and spec schemas, and the form and kind of
 * its references. `kindsKey` identifies the kinds the registry was built from (same key, same kinds).
 */
export function checkAssetDocument(path: string, blobId: string, document: YamlDocument, kinds: KindRegistry, kindsKey: string): CheckedDocument {
  const cached = checks.get(document);
  if (cached && cached.kindsKey === kindsKey && cached.path === path && cached.blobId === blobId) return cached.checked;
  const checked = checkUncached(path, blobId, document, kinds);
  checks.set(document, { kindsKey, path, blobId, checked });
  return checked;
}

function checkUncached(path: string, blobId: string, document: YamlDocument, kinds: KindRegistry): CheckedDocument {
  const checked: CheckedDocument = { diagnostics: [], references: [], uniques: [] };
  let report = reporterFor(checked.diagnostics, path, document);
  const value = document.value;
  if (!isObject(value)) {
    report('E_ENVELOPE', [], 'an asset must be a mapping with apiVersion, kind, metadata and spec');
    return checked;
  }
  if (value['apiVersion'] !== API_VERSION) {
    report('E_ENVELOPE', ['apiVersion'], apiVersionMessage(value['apiVersion']), value['apiVersion'] === undefined ? 'key' : 'value');
  }
  for (const key of Object.keys(value)) {
    if (!ENVELOPE_KEYS.has(key)) {
      report('E_ENVELOPE', [key], `unknown top-level field '${key}'; an asset has apiVersion, kind, metadata and spec`, 'key');
    }
  }
  const kindName = value['kind'];
  if (typeof kindName !== 'string' || kindName === '') {
    report('E_ENVELOPE', ['kind'], kindName === undefined ? 'missing kind, e.g. kind: Host' : `kind must be a string (got ${describeValue(kindName)})`, kindName === undefined ? 'key' : 'value');
    return checked;
  }
  const kind = kinds.get(kindName);
  if (!kind) {
    const near = kinds.byIdPrefix(kindName.toLowerCase());
    const where = kindName === 'Schema' ? '; Schema documents belong in schemas/' : kindName === 'Estate' ? '; the Estate document is estate.yaml' : '';
    const hint = near ? `; did you mean '${near.name}'?` : where || `; known kinds: ${kinds.list().map((k) => k.name).join(', ')}`;
    report('E_UNKNOWN_KIND', ['kind'], `unknown kind '${kindName}'${hint}`);
    return checked;
  }
  const metadata = value['metadata'];
  const name = isObject(metadata) ? metadata['name'] : undefined;
  if (typeof name !== 'string') {
    if (name !== undefined) report('E_ENVELOPE', ['metadata', 'name'], `metadata.name must be a string (got ${describeValue(name)})`);
    else if (metadata !== undefined && !isObject(metadata)) report('E_ENVELOPE', ['metadata'], `metadata must be a mapping with a name (got ${describeValue(metadata)})`);
    else report('E_ENVELOPE', metadata === undefined ? [] : ['metadata'], 'missing metadata.name', 'key');
    return checked;
  }
  const id = `${kind.idPrefix}/${name}`;
  report = reporterFor(checked.diagnostics, path, document, id);
  if (!DNS_LABEL.test(name)) report('E_NAME', ['metadata', 'name'], nameMessage(kind.name, name));
  for (const p of toSchemaProblems(kinds.validateMetadata(metadata), ['metadata'])) {
    if (p.path.length === 2 && p.path[1] === 'name' && p.target === 'value') continue;
    report('E_SCHEMA', p.path, p.message, p.target);
  }
  const spec = value['spec'];
  if (!isObject(spec)) {
    report('E_ENVELOPE', spec === undefined ? [] : ['spec'], spec === undefined ? `missing spec for ${kind.name} '${name}'` : `spec must be a mapping (got ${describeValue(spec)})`, 'key');
  } else {
    for (const p of toSchemaProblems(kind.validateSpec(spec), ['spec'])) report('E_SCHEMA', p.path, p.message, p.target);
  }
  checked.asset = {
    id,
    kind: kind.name,
    name,
    path,
    document,
    blobId,
    metadata: metadata as unknown as AssetMetadata,
    spec: isObject(spec) ? spec : {},
  };

  for (const field of kind.references) {
    const defaultPrefix = field.targets.length === 1 ? kinds.get(field.targets[0]!)?.idPrefix : undefined;
    for (const { path: at, value: ref } of valuesAt(value, field.pattern)) {
      if (typeof ref !== 'string') continue;
      const where = displayPath(at);
      const allowed = field.targets.map((t) => kinds.get(t)?.idPrefix ?? t.toLowerCase());
      const parsed = parseAssetRef(ref, defaultPrefix);
      if (!parsed) {
        report('E_SCHEMA', at, `${where} must be a reference <kind>/<name> to ${allowed.join(' or ')} (got ${describeValue(ref)})`);
        continue;
      }
      const targetKind = kinds.byIdPrefix(parsed.prefix);
      if (!targetKind || !field.targets.includes(targetKind.name)) {
        const hint = kinds.byIdPrefix(parsed.prefix.toLowerCase()) ? `; kinds in references are lower-case: ${parsed.prefix.toLowerCase()}/${parsed.name}` : '';
        report('E_REF_KIND', at, `${where} of ${id} must reference ${allowed.join(' or ')}, not '${parsed.prefix}' (got ${describeValue(ref)})${hint}`);
        continue;
      }
      const relation = { from: id, to: `${targetKind.idPrefix}/${parsed.name}`, type: field.relation, inverse: field.inverse, field: where };
      checked.references.push({ relation, path: at });
    }
  }
  for (const field of kind.unique) {
    for (const { path: at, value: unique } of valuesAt(value, field.pattern)) {
      if (unique === null || typeof unique === 'object') continue;
      checked.uniques.push({ key: `${kind.name}\u0000${field.pattern.join('/')}\u0000${JSON.stringify(unique)}`, path: at, value: unique });
    }
  }
  return checked;
}

/**
 * The checks that span assets, over documents already checked one by one: duplicate ids (the
 * first definition wins), references to assets that do not exist, and unique fields. Returns the
 * assets by id and the relations between them; problems go to `diagnostics`.
 */
export function checkAcrossAssets(checked: CheckedDocument[], diagnostics: Diagnostic[]): { assets: Map<string, Asset>; relations: Relation[] } {
  const assets = new Map<string, Asset>();
  const winners: Array<{ asset: Asset; doc: CheckedDocument }> = [];
  for (const doc of checked) {
    const asset = doc.asset;
    if (!asset) continue;
    const first = assets.get(asset.id);
    if (first) {
      reportDuplicateAsset(diagnostics, asset, first);
      continue;
    }
    assets.set(asset.id, asset);
    winners.push({ asset, doc });
  }

  const relations: Relation[] = [];
  const seen = new Map<string, { asset: Asset; path: Array<string | number> }>();
  for (const { asset, doc } of winners) {
    for (const reference of doc.references) {
      if (assets.has(reference.relation.to)) relations.push(reference.relation);
      else reportDanglingReference(diagnostics, asset, reference);
    }
    for (const unique of doc.uniques) {
      const first = seen.get(unique.key);
      if (first) reportUniqueConflict(diagnostics, asset, unique, first);
      else seen.set(unique.key, { asset, path: unique.path });
    }
  }
  return { assets, relations };
}

// The reports of the checks that span assets, shared by checkAcrossAssets and EstateTracker (which
// recomputes them for a few documents at a time and must produce the very same diagnostics).

/** Reports a second definition of an id (E_DUPLICATE_ASSET), pointing at the one that wins. */
export function reportDuplicateAsset(sink: Diagnostic[], asset: Asset, winner: Asset): void {
  const at = locateInDocument(winner.document, ['metadata', 'name'], 'value');
  reporterFor(sink, asset.path, asset.document, asset.id)(
    'E_DUPLICATE_ASSET',
    ['metadata', 'name'],
    `asset '${asset.id}' is already defined at ${winner.path}:${at.line}:${at.col}`,
  );
}

/** Reports a reference of `asset` to an asset that does not exist (E_DANGLING_REF). */
export function reportDanglingReference(sink: Diagnostic[], asset: Asset, reference: PendingReference): void {
  reporterFor(sink, asset.path, asset.document, asset.id)(
    'E_DANGLING_REF',
    reference.path,
    `asset '${reference.relation.to}' referenced by ${asset.id} (${reference.relation.field}) does not exist`,
  );
}

/**
 * Reports a unique value of `asset` that an earlier asset already holds (E_UNIQUE); `first` is that
 * asset and the place of the value in it (possibly `asset` itself, when it repeats the value).
 */
export function reportUniqueConflict(sink: Diagnostic[], asset: Asset, unique: PendingUnique, first: { asset: Asset; path: Array<string | number> }): void {
  const at = locateInDocument(first.asset.document, first.path, 'value');
  reporterFor(sink, asset.path, asset.document, asset.id)(
    'E_UNIQUE',
    unique.path,
    `${displayPath(unique.path)} ${describeValue(unique.value)} of ${asset.id} is already used by ${first.asset.id} (${first.asset.path}:${at.line}:${at.col}); it must be unique among ${asset.kind} assets`,
  );
}

/** Splits a reference `host/web-01` into kind prefix and name; a bare name takes `defaultPrefix`. */
export function parseAssetRef(ref: string, defaultPrefix?: string): { prefix: string; name: string } | undefined {
  const slash = ref.indexOf('/');
  if (slash === -1) return defaultPrefix !== undefined && ref !== '' ? { prefix: defaultPrefix, name: ref } : undefined;
  const prefix = ref.slice(0, slash);
  const name = ref.slice(slash + 1);
  return prefix && name && !name.includes('/') ? { prefix, name } : undefined;
}

/** The message for a missing or wrong `apiVersion`. */
export function apiVersionMessage(actual: unknown): string {
  return actual === undefined
    ? `missing apiVersion; expected apiVersion: ${API_VERSION}`
    : `apiVersion must be ${API_VERSION} (got ${describeValue(actual)})`;
}

/** The message for a name that is not a DNS-1123 label. */
export function nameMessage(what: string, name: string): string {
  return `${what} name '${name}' must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`;
}
