import {
  API_VERSION,
  apiVersionMessage,
  checkAcrossAssets,
  checkAssetDocument,
  DNS_LABEL,
  ENVELOPE_KEYS,
  nameMessage,
  reporterFor,
  type CheckedDocument,
  type Reporter,
} from './assetChecks.js';
import { compareDiagnostics, type Diagnostic } from './diagnostics.js';
import type { Environment, Estate, EstateConfig } from './estate.js';
import { buildKindRegistry, type KindRegistry, type SchemaDocument } from './kinds/kindRegistry.js';
import { describeValue, toSchemaProblems } from './kinds/schemaProblems.js';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from './limits.js';
import { isObject } from './values.js';
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

/** What a repo path is to Estate; `undefined` for files it does not read. */
export function classifyEstatePath(path: string): 'estate' | 'schema' | 'asset' | 'asset-other' | undefined {
  if (path === ESTATE_FILE) return 'estate';
  if (path.startsWith('schemas/')) return YAML_FILE.test(path) ? 'schema' : undefined;
  if (path.startsWith('assets/')) return YAML_FILE.test(path) ? 'asset' : 'asset-other';
  return undefined;
}

/**
 * Loads and validates an estate from its files: parses YAML (through the cache), builds the kinds
 * of the revision, checks every document's envelope and schema, then the rules that span assets
 * (duplicate ids, references, unique fields). Reports all problems; never throws on bad content.
 */
export async function loadEstate(files: EstateFileRef[], readFiles: ReadFiles, options: LoadEstateOptions = {}): Promise<Estate> {
  const limits = options.limits ?? DEFAULT_PARSE_LIMITS;
  const diagnostics: Diagnostic[] = [];
  const relevant = files.filter((f) => classifyEstatePath(f.path) !== undefined).sort(comparePaths);
  const parsed = await parseEstateFiles(relevant, readFiles, limits, options);

  let documents = 0;
  const schemaFiles: ParsedEstateFile[] = [];
  const assetDocuments: Array<{ file: EstateFileRef; document: YamlDocument }> = [];
  let estateFile: ParsedEstateFile | undefined;
  for (const file of relevant) {
    const result = parsed.get(file.path);
    if (!result) continue;
    diagnostics.push(...result.diagnostics);
    documents += result.documents.length;
    const role = classifyEstatePath(file.path);
    if (role === 'schema') schemaFiles.push({ file, parsed: result });
    else if (role === 'estate') estateFile = { file, parsed: result };
    else if (role === 'asset') for (const document of result.documents) assetDocuments.push({ file, document });
  }

  const { kinds, kindsKey, diagnostics: kindProblems } = buildEstateKinds(schemaFiles);
  diagnostics.push(...kindProblems);
  const { config, diagnostics: configProblems } = readEstateConfig(estateFile, kinds);
  diagnostics.push(...configProblems);

  const checked: CheckedDocument[] = [];
  for (const { file, document } of assetDocuments) {
    const result = checkAssetDocument(file.path, file.blobId, document, kinds, kindsKey);
    for (const d of result.diagnostics) diagnostics.push(d);
    checked.push(result);
  }
  const { assets, relations } = checkAcrossAssets(checked, diagnostics);

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

/** Orders repo paths as Estate does everywhere (by UTF-16 code units, like {@link compareDiagnostics}). */
export function comparePaths(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** A file of the estate with its parse result. */
export interface ParsedEstateFile {
  file: EstateFileRef;
  parsed: ParsedYamlFile;
}

/** The kinds of a revision (see {@link buildEstateKinds}). */
export interface EstateKinds {
  kinds: KindRegistry;
  /** Identifies the kinds: the built-ins (fixed per build) plus the schema files at these blob ids. */
  kindsKey: string;
  /** Problems in the schema files' documents, in the order found (parse problems not included). */
  diagnostics: Diagnostic[];
}

/**
 * Builds the kinds of a revision from its parsed `schemas/` files, given in path order: checks each
 * document's envelope (`kind: Schema`), then builds the registry, which reports bad definitions.
 */
export function buildEstateKinds(schemaFiles: ParsedEstateFile[]): EstateKinds {
  const diagnostics: Diagnostic[] = [];
  const schemaDocuments: SchemaDocument[] = [];
  for (const { file, parsed } of schemaFiles) {
    for (const document of parsed.documents) {
      const report = reporterFor(diagnostics, file.path, document);
      if (checkEnvelopeBasics(document, report, 'Schema')) {
        schemaDocuments.push({ path: file.path, value: document.value as Record<string, unknown>, report });
      }
    }
  }
  const kinds = buildKindRegistry(schemaDocuments);
  const kindsKey = schemaFiles.map(({ file }) => `${file.path}@${file.blobId}`).join('\n');
  return { kinds, kindsKey, diagnostics };
}

/**
 * Reads `estate.yaml` (`undefined` when the revision has none) against the revision's kinds.
 * Returns the config, if usable, and the file's problems beyond its parse problems; a missing or
 * empty file is reported at `estate.yaml` unless parsing it already failed.
 */
export function readEstateConfig(estateFile: ParsedEstateFile | undefined, kinds: KindRegistry): { config: EstateConfig | undefined; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const [first, ...others] = estateFile?.parsed.documents ?? [];
  for (const document of others) reporterFor(diagnostics, ESTATE_FILE, document)('E_ESTATE_FILE', [], 'estate.yaml must hold a single document');
  if (!first) {
    if (!estateFile?.parsed.diagnostics.length) {
      const message = estateFile
        ? 'estate.yaml is empty; it must declare kind: Estate with spec.environments'
        : 'estate.yaml is missing: this is not an estate repo (run `estate init` to create one)';
      diagnostics.push({ code: 'E_ESTATE_FILE', path: ESTATE_FILE, line: 1, col: 1, message });
    }
    return { config: undefined, diagnostics };
  }
  const config = readEstateDocument(first, kinds, reporterFor(diagnostics, ESTATE_FILE, first));
  return { config, diagnostics };
}

/**
 * Reads the files of an estate through the parse cache: parses those missing from it (results by
 * path; a file over the size limit is refused unread). `parsedCount` is the number parsed now.
 */
export async function parseEstateFiles(
  files: EstateFileRef[],
  readFiles: ReadFiles,
  limits: ParseLimits,
  options: Pick<LoadEstateOptions, 'cache' | 'onProgress'> = {},
): Promise<Map<string, ParsedYamlFile> & { parsedCount: number }> {
  const results = Object.assign(new Map<string, ParsedYamlFile>(), { parsedCount: 0 });
  const missing: EstateFileRef[] = [];
  for (const file of files) {
    const cached = options.cache?.get(parseCacheKey(file));
    if (cached) results.set(file.path, withPath(cached, file.path));
    else if (file.size !== undefined && file.size > limits.maxFileBytes) results.set(file.path, tooLarge(file.path, file.size, limits));
    else missing.push(file);
  }
  // Reading runs ahead of parsing by one batch, and parsing yields to the event loop now and then,
  // so a reader in another process (git cat-file) works while this one parses.
  const batch = 2000;
  const read = (start: number): Promise<Uint8Array[]> | undefined => {
    if (start >= missing.length) return undefined;
    const reading = readFiles(missing.slice(start, start + batch));
    reading.catch(() => undefined); // awaited below; this only marks an early failure as handled
    return reading;
  };
  let next = read(0);
  for (let start = 0; next; start += batch) {
    const contents = await next;
    next = read(start + batch);
    for (let i = 0; i < contents.length; i++) {
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToEventLoop();
      const file = missing[start + i]!;
      const bytes = contents[i]!;
      const result = classifyEstatePath(file.path) === 'asset-other' ? checkOtherAssetFile(file.path, bytes) : parseYamlFile(file.path, bytes, limits);
      options.cache?.set(parseCacheKey(file), result);
      results.set(file.path, result);
    }
    results.parsedCount += contents.length;
    options.onProgress?.(files.length - missing.length + results.parsedCount, files.length);
  }
  return results;
}

const YIELD_EVERY = 25;

/** Lets pending I/O callbacks run (a macrotask, unlike a resolved promise). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
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
export function parseCacheKey(file: EstateFileRef): string {
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
    report('E_ENVELOPE', [], `${article(expectedKind)} ${expectedKind} document must be a mapping with apiVersion, kind, metadata and spec`);
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
  for (const key of Object.keys(value)) {
    if (!ENVELOPE_KEYS.has(key)) {
      report('E_ENVELOPE', [key], `unknown top-level field '${key}'; ${article(expectedKind)} ${expectedKind} document has apiVersion, kind, metadata and spec`, 'key');
    }
  }
  return true;
}

function article(word: string): string {
  return /^[AEIOU]/.test(word) ? 'an' : 'a';
}

/** Reads the Estate document of `estate.yaml`; problems go to `report`. */
function readEstateDocument(document: YamlDocument, kinds: KindRegistry, report: Reporter): EstateConfig | undefined {
  if (!checkEnvelopeBasics(document, report, 'Estate')) return undefined;
  const value = document.value as Record<string, unknown>;
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
          ? {
              name: env['name'],
              protected: env['protected'] === true,
              ...(typeof env['description'] === 'string' ? { description: env['description'] } : {}),
              ...(Array.isArray(env['recipients']) ? { recipients: env['recipients'].map(String) } : {}),
            }
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
    // Entries the schema refused are left out; their problems are reported above.
    webhooks: (Array.isArray(spec['webhooks']) ? spec['webhooks'] : []).flatMap((hook) =>
      isObject(hook) && typeof hook['name'] === 'string' && typeof hook['url'] === 'string'
        ? [
            {
              name: hook['name'],
              url: hook['url'],
              ...(Array.isArray(hook['events']) ? { events: hook['events'].map(String) } : {}),
              ...(typeof hook['secretEnv'] === 'string' ? { secretEnv: hook['secretEnv'] } : {}),
              ...(typeof hook['format'] === 'string' ? { format: hook['format'] } : {}),
            },
          ]
        : [],
    ),
  };
}
