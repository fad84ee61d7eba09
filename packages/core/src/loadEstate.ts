import { compareDiagnostics, type Diagnostic, type DiagnosticCode } from './diagnostics.js';
import type { Asset, AssetMetadata, Environment, Estate, EstateConfig, Relation } from './estate.js';
import { buildKindRegistry, type KindDefinition, type KindRegistry, type SchemaDocument } from './kinds/kindRegistry.js';
import { valuesAt } from './kinds/referenceFields.js';
import { describeValue, displayPath, toSchemaProblems } from './kinds/schemaProblems.js';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from './limits.js';
import { isObject } from './values.js';
import { locateInDocument } from './yaml/locateInDocument.js';
import { parseYamlFile, type ParsedYamlFile, type YamlDocument } from './yaml/parseYamlFile.js';

/** A file of a revision or of the work tree, named by path and git blob id. */
export interface EstateFileRef {
  path: string;
  blobId: string;
  /** Size in bytes, when known: a file over the limit is refused without being read. */
  size?: number;
}

/** Reads the bytes of files (only those missing from the parse cache are asked for). */
export type ReadFiles = (files: EstateFileRef[]) => Promise<Uint8Array[]>;

/**
 * Parsed files by git blob id: a blob is never parsed twice while it is cached. Results of non-YAML
 * files under assets/ are kept under `<blobId>:other`.
 */
export interface ParseCache {
  get(blobId: string): ParsedYamlFile | undefined;
  set(blobId: string, parsed: ParsedYamlFile): void;
}

/** Options of {@link loadEstate}. */
export interface LoadEstateOptions {
  cache?: ParseCache;
  limits?: ParseLimits;
  /** Called as files are parsed, for progress on long loads. */
  onProgress?: (done: number, total: number) => void;
}

/** The file that makes a directory an estate repo. */
export const ESTATE_FILE = 'estate.yaml';
const YAML_FILE = /\.ya?ml$/i;
/** DNS-1123 label (RFC 1123 §2.1 host name label, lower-case). */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ENVELOPE_KEYS = new Set(['apiVersion', 'kind', 'metadata', 'spec']);
export const API_VERSION = 'estate/v1';

/** What a repo path is to Estate; `undefined` for files it does not read. */
export function classifyEstatePath(path: string): 'estate' | 'schema' | 'asset' | 'asset-other' | undefined {
  if (path === ESTATE_FILE) return 'estate';
  if (path.startsWith('schemas/')) return YAML_FILE.test(path) ? 'schema' : undefined;
  if (path.startsWith('assets/')) return YAML_FILE.test(path) ? 'asset' : 'asset-other';
  return undefined;
}

/** Splits a reference `host/web-01` into kind prefix and name; a bare name takes `defaultPrefix`. */
export function parseAssetRef(ref: string, defaultPrefix?: string): { prefix: string; name: string } | undefined {
  const slash = ref.indexOf('/');
  if (slash === -1) return defaultPrefix !== undefined && ref !== '' ? { prefix: defaultPrefix, name: ref } : undefined;
  const prefix = ref.slice(0, slash);
  const name = ref.slice(slash + 1);
  return prefix && name && !name.includes('/') ? { prefix, name } : undefined;
}

interface PendingAsset {
  asset: Asset;
  kind: KindDefinition;
  report: Reporter;
}

type Reporter = (code: DiagnosticCode, path: Array<string | number>, message: string, target?: 'key' | 'value') => void;

/**
 * Loads and validates an estate from its files: parses YAML (through the cache), builds the kinds
 * of the revision, checks every document's envelope and schema, then the rules that span assets
 * (duplicate ids, references, unique fields). Reports all problems; never throws on bad content.
 */
export async function loadEstate(files: EstateFileRef[], readFiles: ReadFiles, options: LoadEstateOptions = {}): Promise<Estate> {
  const limits = options.limits ?? DEFAULT_PARSE_LIMITS;
  const diagnostics: Diagnostic[] = [];
  const relevant = files
    .filter((f) => classifyEstatePath(f.path) !== undefined)
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parsed = await parseFiles(relevant, readFiles, limits, options);

  const reporterFor = (path: string, document: YamlDocument, asset?: string): Reporter => (code, at, message, target = 'value') => {
    const { line, col } = locateInDocument(document, at, target);
    diagnostics.push({ code, path, line, col, message, ...(asset ? { asset } : {}) });
  };

  let documents = 0;
  const schemaDocuments: SchemaDocument[] = [];
  const assetDocuments: Array<{ file: EstateFileRef; document: YamlDocument }> = [];
  let estateDocument: { file: EstateFileRef; document: YamlDocument } | undefined;
  for (const file of relevant) {
    const result = parsed.get(file.path);
    if (!result) continue;
    diagnostics.push(...result.diagnostics);
    documents += result.documents.length;
    const role = classifyEstatePath(file.path);
    for (const document of result.documents) {
      if (role === 'schema') {
        const report = reporterFor(file.path, document);
        if (checkEnvelopeBasics(document, report, 'Schema')) {
          schemaDocuments.push({ path: file.path, value: document.value as Record<string, unknown>, report });
        }
      } else if (role === 'asset') {
        assetDocuments.push({ file, document });
      } else if (role === 'estate') {
        if (estateDocument) reporterFor(file.path, document)('E_ESTATE_FILE', [], 'estate.yaml must hold a single document');
        else estateDocument = { file, document };
      }
    }
  }

  const kinds = buildKindRegistry(schemaDocuments);
  const config = readEstateConfig(estateDocument, kinds, reporterFor, diagnostics, relevant);

  const pending: PendingAsset[] = [];
  for (const { file, document } of assetDocuments) {
    const checked = checkAssetDocument(file, document, kinds, reporterFor);
    if (checked) pending.push(checked);
  }

  const assets = new Map<string, Asset>();
  for (const item of pending) {
    const first = assets.get(item.asset.id);
    if (first) {
      const at = locateInDocument(first.document, ['metadata', 'name'], 'value');
      item.report('E_DUPLICATE_ASSET', ['metadata', 'name'], `asset '${item.asset.id}' is already defined at ${first.path}:${at.line}:${at.col}`);
      continue;
    }
    assets.set(item.asset.id, item.asset);
  }
  const relations = checkReferences(pending, assets, kinds);
  checkUniqueFields(pending, assets);

  diagnostics.sort(compareDiagnostics);
  const byKind: Record<string, number> = {};
  for (const asset of assets.values()) byKind[asset.kind] = (byKind[asset.kind] ?? 0) + 1;
  return {
    config,
    kinds,
    assets,
    relations,
    diagnostics,
    stats: { files: relevant.length, documents, assets: assets.size, parsed: parsed.parsedCount, byKind },
  };
}

async function parseFiles(
  files: EstateFileRef[],
  readFiles: ReadFiles,
  limits: ParseLimits,
  options: LoadEstateOptions,
): Promise<Map<string, ParsedYamlFile> & { parsedCount: number }> {
  const results = Object.assign(new Map<string, ParsedYamlFile>(), { parsedCount: 0 });
  const missing: EstateFileRef[] = [];
  for (const file of files) {
    const cached = options.cache?.get(cacheKey(file));
    if (cached) results.set(file.path, withPath(cached, file.path));
    else if (file.size !== undefined && file.size > limits.maxFileBytes) results.set(file.path, tooLarge(file.path, file.size, limits));
    else missing.push(file);
  }
  const batch = 2000;
  for (let start = 0; start < missing.length; start += batch) {
    const slice = missing.slice(start, start + batch);
    const contents = await readFiles(slice);
    slice.forEach((file, i) => {
      const bytes = contents[i]!;
      const result = classifyEstatePath(file.path) === 'asset-other' ? checkOtherAssetFile(file.path, bytes) : parseYamlFile(file.path, bytes, limits);
      options.cache?.set(cacheKey(file), result);
      results.set(file.path, result);
    });
    results.parsedCount += slice.length;
    options.onProgress?.(files.length - missing.length + results.parsedCount, files.length);
  }
  return results;
}

function tooLarge(path: string, size: number, limits: ParseLimits): ParsedYamlFile {
  const message = `file is ${size} bytes; the limit is ${limits.maxFileBytes} bytes`;
  return { documents: [], diagnostics: [{ code: 'E_TOO_LARGE', path, line: 1, col: 1, message }] };
}

/**
 * The cache key of a file's result. A non-YAML file under assets/ is only checked for binary
 * content, so its result is kept apart from the YAML parse of the same blob at a `.yaml` path
 * (a blob renamed from `web.yaml.orig` to `web.yaml` must still be parsed).
 */
function cacheKey(file: EstateFileRef): string {
  return classifyEstatePath(file.path) === 'asset-other' ? `${file.blobId}:other` : file.blobId;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Non-YAML files under assets/ are ignored, unless they are binary (a mistake worth reporting). */
function checkOtherAssetFile(path: string, bytes: Uint8Array): ParsedYamlFile {
  let binary = bytes.includes(0);
  if (!binary) {
    try {
      strictUtf8.decode(bytes);
    } catch {
      binary = true;
    }
  }
  const diagnostics: Diagnostic[] = binary
    ? [{ code: 'E_ENCODING', path, line: 1, col: 1, message: 'binary file under assets/; only YAML text files belong there' }]
    : [];
  return { documents: [], diagnostics };
}

function withPath(parsed: ParsedYamlFile, path: string): ParsedYamlFile {
  if (parsed.diagnostics.every((d) => d.path === path)) return parsed;
  return { documents: parsed.documents, diagnostics: parsed.diagnostics.map((d) => ({ ...d, path })) };
}

/** Checks `apiVersion` and `kind` of a document that must be of one fixed kind. */
function checkEnvelopeBasics(document: YamlDocument, report: Reporter, expectedKind: string): boolean {
  const value = document.value;
  if (!isObject(value)) {
    report('E_ENVELOPE', [], `a ${expectedKind} document must be a mapping with apiVersion, kind, metadata and spec`);
    return false;
  }
  if (value['apiVersion'] !== API_VERSION) {
    report('E_ENVELOPE', ['apiVersion'], apiVersionMessage(value['apiVersion']), value['apiVersion'] === undefined ? 'key' : 'value');
    return false;
  }
  if (value['kind'] !== expectedKind) {
    report('E_ENVELOPE', ['kind'], `expected kind: ${expectedKind} here, got ${describeValue(value['kind'])}`);
    return false;
  }
  return true;
}

function apiVersionMessage(actual: unknown): string {
  return actual === undefined
    ? `missing apiVersion; expected apiVersion: ${API_VERSION}`
    : `apiVersion must be ${API_VERSION} (got ${describeValue(actual)})`;
}

function readEstateConfig(
  found: { file: EstateFileRef; document: YamlDocument } | undefined,
  kinds: KindRegistry,
  reporterFor: (path: string, document: YamlDocument) => Reporter,
  diagnostics: Diagnostic[],
  files: EstateFileRef[],
): EstateConfig | undefined {
  if (!found) {
    if (!diagnostics.some((d) => d.path === ESTATE_FILE)) {
      const message = files.some((f) => f.path === ESTATE_FILE)
        ? 'estate.yaml is empty; it must declare kind: Estate with spec.environments'
        : 'estate.yaml is missing: this is not an estate repo (run `estate init` to create one)';
      diagnostics.push({ code: 'E_ESTATE_FILE', path: ESTATE_FILE, line: 1, col: 1, message });
    }
    return undefined;
  }
  const report = reporterFor(found.file.path, found.document);
  if (!checkEnvelopeBasics(found.document, report, 'Estate')) return undefined;
  const value = found.document.value as Record<string, unknown>;
  const metadata = value['metadata'];
  const name = isObject(metadata) && typeof metadata['name'] === 'string' ? metadata['name'] : undefined;
  if (name === undefined) report('E_ENVELOPE', isObject(metadata) ? ['metadata'] : [], 'estate.yaml needs metadata.name', 'key');
  else if (!DNS_LABEL.test(name)) report('E_NAME', ['metadata', 'name'], nameMessage('estate', name));
  const spec = isObject(value['spec']) ? value['spec'] : undefined;
  if (!spec) {
    report('E_ENVELOPE', value['spec'] === undefined ? [] : ['spec'], 'estate.yaml needs spec.environments, e.g. [dev, staging, prod]', 'key');
    return undefined;
  }
  const problems = toSchemaProblems(kinds.validateEstateSpec(spec), ['spec']);
  for (const p of problems) report('E_SCHEMA', p.path, p.message, p.target);
  const environments: Environment[] = [];
  const rawEnvironments = Array.isArray(spec['environments']) ? spec['environments'] : [];
  rawEnvironments.forEach((env, i) => {
    const e: Environment | undefined =
      typeof env === 'string'
        ? { name: env, protected: false }
        : isObject(env) && typeof env['name'] === 'string'
          ? { name: env['name'], protected: env['protected'] === true, ...(typeof env['description'] === 'string' ? { description: env['description'] } : {}) }
          : undefined;
    if (!e) return;
    if (environments.some((x) => x.name === e.name)) {
      report('E_SCHEMA', ['spec', 'environments', i], `environment '${e.name}' is declared twice`);
      return;
    }
    environments.push(e);
  });
  const secrets = isObject(spec['secrets']) ? spec['secrets'] : {};
  return {
    name: name ?? '',
    environments,
    settings: isObject(spec['settings']) ? spec['settings'] : {},
    secrets: { recipients: Array.isArray(secrets['recipients']) ? secrets['recipients'].map(String) : [] },
  };
}

function nameMessage(what: string, name: string): string {
  return `${what} name '${name}' must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`;
}

function checkAssetDocument(
  file: EstateFileRef,
  document: YamlDocument,
  kinds: KindRegistry,
  reporterFor: (path: string, document: YamlDocument, asset?: string) => Reporter,
): PendingAsset | undefined {
  let report = reporterFor(file.path, document);
  const value = document.value;
  if (!isObject(value)) {
    report('E_ENVELOPE', [], 'an asset must be a mapping with apiVersion, kind, metadata and spec');
    return undefined;
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
    return undefined;
  }
  const kind = kinds.get(kindName);
  if (!kind) {
    const near = kinds.byIdPrefix(kindName.toLowerCase());
    const where = kindName === 'Schema' ? '; Schema documents belong in schemas/' : kindName === 'Estate' ? '; the Estate document is estate.yaml' : '';
    const hint = near ? `; did you mean '${near.name}'?` : where || `; known kinds: ${kinds.list().map((k) => k.name).join(', ')}`;
    report('E_UNKNOWN_KIND', ['kind'], `unknown kind '${kindName}'${hint}`);
    return undefined;
  }
  const metadata = value['metadata'];
  const name = isObject(metadata) ? metadata['name'] : undefined;
  if (typeof name !== 'string') {
    if (name !== undefined) report('E_ENVELOPE', ['metadata', 'name'], `metadata.name must be a string (got ${describeValue(name)})`);
    else if (metadata !== undefined && !isObject(metadata)) report('E_ENVELOPE', ['metadata'], `metadata must be a mapping with a name (got ${describeValue(metadata)})`);
    else report('E_ENVELOPE', metadata === undefined ? [] : ['metadata'], 'missing metadata.name', 'key');
    return undefined;
  }
  const id = `${kind.idPrefix}/${name}`;
  report = reporterFor(file.path, document, id);
  if (!DNS_LABEL.test(name)) {
    report('E_NAME', ['metadata', 'name'], nameMessage(kind.name, name));
  }
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
  const asset: Asset = {
    id,
    kind: kind.name,
    name,
    path: file.path,
    document,
    blobId: file.blobId,
    metadata: metadata as unknown as AssetMetadata,
    spec: isObject(spec) ? spec : {},
  };
  return { asset, kind, report };
}

function checkReferences(pending: PendingAsset[], assets: Map<string, Asset>, kinds: KindRegistry): Relation[] {
  const relations: Relation[] = [];
  for (const { asset, kind, report } of pending) {
    if (assets.get(asset.id) !== asset) continue;
    for (const field of kind.references) {
      const defaultPrefix = field.targets.length === 1 ? kinds.get(field.targets[0]!)?.idPrefix : undefined;
      for (const { path, value } of valuesAt(asset.document.value, field.pattern)) {
        if (typeof value !== 'string') continue;
        const where = displayPath(path);
        const allowed = field.targets.map((t) => kinds.get(t)?.idPrefix ?? t.toLowerCase());
        const ref = parseAssetRef(value, defaultPrefix);
        if (!ref) {
          report('E_SCHEMA', path, `${where} must be a reference <kind>/<name> to ${allowed.join(' or ')} (got ${describeValue(value)})`);
          continue;
        }
        const targetKind = kinds.byIdPrefix(ref.prefix);
        if (!targetKind || !field.targets.includes(targetKind.name)) {
          const hint = kinds.byIdPrefix(ref.prefix.toLowerCase()) ? `; kinds in references are lower-case: ${ref.prefix.toLowerCase()}/${ref.name}` : '';
          report('E_REF_KIND', path, `${where} of ${asset.id} must reference ${allowed.join(' or ')}, not '${ref.prefix}' (got ${describeValue(value)})${hint}`);
          continue;
        }
        const targetId = `${targetKind.idPrefix}/${ref.name}`;
        if (!assets.has(targetId)) {
          report('E_DANGLING_REF', path, `asset '${targetId}' referenced by ${asset.id} (${where}) does not exist`);
          continue;
        }
        relations.push({ from: asset.id, to: targetId, type: field.relation, inverse: field.inverse, field: where });
      }
    }
  }
  return relations;
}

function checkUniqueFields(pending: PendingAsset[], assets: Map<string, Asset>): void {
  const seen = new Map<string, { asset: Asset; path: Array<string | number> }>();
  for (const { asset, kind, report } of pending) {
    if (assets.get(asset.id) !== asset) continue;
    for (const field of kind.unique) {
      for (const { path, value } of valuesAt(asset.document.value, field.pattern)) {
        if (value === null || typeof value === 'object') continue;
        const key = `${kind.name}\u0000${field.pattern.join('/')}\u0000${JSON.stringify(value)}`;
        const first = seen.get(key);
        if (!first) {
          seen.set(key, { asset, path });
          continue;
        }
        const at = locateInDocument(first.asset.document, first.path, 'value');
        report('E_UNIQUE', path, `${displayPath(path)} ${describeValue(value)} of ${asset.id} is already used by ${first.asset.id} (${first.asset.path}:${at.line}:${at.col}); it must be unique among ${kind.name} assets`);
      }
    }
  }
}
