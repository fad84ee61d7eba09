import {
  checkAssetDocument,
  reportDanglingReference,
  reportDuplicateAsset,
  reportUniqueConflict,
  type CheckedDocument,
} from './assetChecks.js';
import { compareDiagnostics, type Diagnostic } from './diagnostics.js';
import type { Asset, Estate, EstateConfig, Relation } from './estate.js';
import type { KindRegistry } from './kinds/kindRegistry.js';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from './limits.js';
import {
  buildEstateKinds,
  classifyEstatePath,
  comparePaths,
  ESTATE_FILE,
  parseEstateFiles,
  readEstateConfig,
  type EstateFileRef,
  type EstateKinds,
  type ParseCache,
  type ParsedEstateFile,
  type ReadFiles,
} from './loadEstate.js';
import type { ParsedYamlFile } from './yaml/parseYamlFile.js';

/** One changed path of an estate repo; `file` is undefined when the path was deleted. */
export interface FileChange {
  path: string;
  file?: EstateFileRef;
}

/** What an {@link EstateTracker} update changed. */
export interface EstateDelta {
  /**
   * Ids whose winning asset changed (document value, path, blobId or declared references): the new
   * winner, or null when the id is no longer defined. A file rewritten with another blob lists all
   * its assets, even those whose document reads the same; an unchanged file lists none.
   */
  assets: Map<string, Asset | null>;
  /** Repo paths whose diagnostics changed → their complete new list, sorted with compareDiagnostics ([] = none now). */
  diagnostics: Map<string, Diagnostic[]>;
  /**
   * True when estate.yaml or schemas/ changed (kinds/config may differ; after a schema change every
   * asset was re-checked), and on the first update of a tracker.
   */
  configChanged: boolean;
}

/** Options of {@link EstateTracker}. */
export interface EstateTrackerOptions {
  cache?: ParseCache;
  limits?: ParseLimits;
}

/** One asset document of a tracked file, with the results of its checks. */
interface TrackedDocument {
  path: string;
  /** Position among the file's documents: with `path`, the order in which definitions win. */
  index: number;
  checked: CheckedDocument;
  /** Diagnostics of the checks that span assets, as last computed. */
  cross: Diagnostic[];
}

interface TrackedFile {
  file: EstateFileRef;
  role: 'estate' | 'schema' | 'asset' | 'asset-other';
  parsed: ParsedYamlFile;
  /** The checked documents of an asset file (none for other roles). */
  documents: TrackedDocument[];
}

/** A winning definition as seen before an update, to tell whether the update changed it. */
interface WinnerSnapshot {
  asset: Asset;
  checked: CheckedDocument;
}

/** Everything known about one estate: its files, kinds and config, and the cross-asset indexes. */
class EstateState {
  readonly files = new Map<string, TrackedFile>();
  /** Complete, sorted, non-empty diagnostic lists by path (`estate.yaml` even when it is missing). */
  readonly diagnostics = new Map<string, Diagnostic[]>();
  /** Definitions by id, in path then document order: the first one wins. */
  readonly definers = new Map<string, TrackedDocument[]>();
  /** Documents that declare a reference to an id (whether they win or not), each once. */
  readonly referencers = new Map<string, TrackedDocument[]>();
  /** Documents holding a unique key, in path then document order (whether they win or not). */
  readonly holders = new Map<string, TrackedDocument[]>();
  readonly byKind = new Map<string, number>();
  config: EstateConfig | undefined;
  documents = 0;
  parsed = 0;

  constructor(
    public kinds: EstateKinds,
    /** False until the first update: an empty tracker reports nothing, not even a missing estate.yaml. */
    readonly initialized: boolean,
  ) {}

  winnerOf(id: string): TrackedDocument | undefined {
    return this.definers.get(id)?.[0];
  }

  isWinner(doc: TrackedDocument): boolean {
    const asset = doc.checked.asset;
    return asset !== undefined && this.winnerOf(asset.id) === doc;
  }

  /** The path and blob of each `estate.yaml` and `schemas/` file, to tell whether they changed. */
  configKey(): string {
    const parts: string[] = [];
    for (const [path, tracked] of this.files) if (tracked.role === 'estate' || tracked.role === 'schema') parts.push(`${path}@${tracked.file.blobId}`);
    return parts.sort().join('\n');
  }

  addFile(tracked: TrackedFile): void {
    this.files.set(tracked.file.path, tracked);
    this.documents += tracked.parsed.documents.length;
    for (const doc of tracked.documents) this.register(doc);
  }

  removeFile(tracked: TrackedFile): void {
    this.files.delete(tracked.file.path);
    this.documents -= tracked.parsed.documents.length;
    for (const doc of tracked.documents) this.unregister(doc);
  }

  private register(doc: TrackedDocument): void {
    const asset = doc.checked.asset;
    if (!asset) return;
    insertInOrder(this.definers, asset.id, doc);
    for (const { relation } of doc.checked.references) {
      const list = this.referencers.get(relation.to);
      // A document's references are registered together: a repeated target is its last entry.
      if (!list) this.referencers.set(relation.to, [doc]);
      else if (list[list.length - 1] !== doc) list.push(doc);
    }
    for (const key of uniqueKeysOf(doc)) insertInOrder(this.holders, key, doc);
  }

  private unregister(doc: TrackedDocument): void {
    const asset = doc.checked.asset;
    if (!asset) return;
    removeFromList(this.definers, asset.id, doc);
    for (const { relation } of doc.checked.references) removeFromList(this.referencers, relation.to, doc);
    for (const key of uniqueKeysOf(doc)) removeFromList(this.holders, key, doc);
  }

  /** The cross-asset diagnostics of one document, exactly as checkAcrossAssets reports them. */
  crossDiagnostics(doc: TrackedDocument): Diagnostic[] {
    const asset = doc.checked.asset;
    if (!asset) return NONE;
    const winner = this.winnerOf(asset.id);
    const sink: Diagnostic[] = [];
    if (winner !== doc) {
      reportDuplicateAsset(sink, asset, winner!.checked.asset!);
      return sink;
    }
    for (const reference of doc.checked.references) {
      if (!this.definers.has(reference.relation.to)) reportDanglingReference(sink, asset, reference);
    }
    for (const unique of doc.checked.uniques) {
      // The first winning holder of the key; this document holds it and wins, so there is one.
      const holder = this.holders.get(unique.key)!.find((d) => this.isWinner(d))!;
      const first = holder.checked.uniques.find((u) => u.key === unique.key)!;
      if (holder === doc && first === unique) continue;
      reportUniqueConflict(sink, asset, unique, { asset: holder.checked.asset!, path: first.path });
    }
    return sink.length ? sink : NONE;
  }

  /** The complete diagnostics of an asset file (or a non-YAML file under assets/). */
  fileDiagnostics(tracked: TrackedFile): Diagnostic[] {
    if (!tracked.parsed.diagnostics.length && tracked.documents.every((doc) => !doc.checked.diagnostics.length && !doc.cross.length)) return NONE;
    const all: Diagnostic[] = [...tracked.parsed.diagnostics];
    // The order loadEstate finds them in (parse, per document, across assets), so that the stable
    // sort breaks ties between problems at one place the same way.
    for (const doc of tracked.documents) for (const d of doc.checked.diagnostics) all.push(d);
    for (const doc of tracked.documents) for (const d of doc.cross) all.push(d);
    return all.sort(compareDiagnostics);
  }

  setDiagnostics(path: string, list: Diagnostic[]): void {
    if (list.length) this.diagnostics.set(path, list);
    else this.diagnostics.delete(path);
  }

  countKind(asset: Asset | undefined, by: number): void {
    if (!asset) return;
    const count = (this.byKind.get(asset.kind) ?? 0) + by;
    if (count) this.byKind.set(asset.kind, count);
    else this.byKind.delete(asset.kind);
  }
}

const NONE: Diagnostic[] = [];

/**
 * Validates an estate incrementally, for readers that follow a branch commit by commit (the
 * server's indexer). After {@link EstateTracker.reset} with all files, {@link EstateTracker.apply}
 * takes the changed paths only and re-checks what they can affect: their documents, the other
 * definitions of the ids they define or defined, the documents referencing ids that appeared or
 * disappeared, and the holders of the unique values involved. Its results are always those of
 * `loadEstate` over the same files (same diagnostics in the same order, same winning assets);
 * each update returns what changed. Changing `schemas/` re-checks everything.
 *
 * Updates run one at a time in call order; a failed read leaves the state as it was.
 */
export class EstateTracker {
  readonly #cache: ParseCache | undefined;
  readonly #limits: ParseLimits;
  #state: EstateState;
  #queue: Promise<unknown> = Promise.resolve();
  #sortedDiagnostics: Diagnostic[] | undefined;

  constructor(options: EstateTrackerOptions = {}) {
    this.#cache = options.cache;
    this.#limits = options.limits ?? DEFAULT_PARSE_LIMITS;
    this.#state = new EstateState(buildEstateKinds([]), false);
  }

  /** Replaces the whole state by these files (like loadEstate); the delta is against the previous state (empty tracker at first). */
  reset(files: EstateFileRef[], readFiles: ReadFiles, onProgress?: (done: number, total: number) => void): Promise<EstateDelta> {
    return this.#serialize(() => this.#rebuild(files, readFiles, onProgress));
  }

  /**
   * Applies changed paths only (a change naming a path twice: the last one counts). Paths Estate
   * does not read are ignored. On a tracker never reset, the changes are the whole estate.
   */
  apply(changes: FileChange[], readFiles: ReadFiles): Promise<EstateDelta> {
    return this.#serialize(() => this.#apply(changes, readFiles));
  }

  /** The settings of `estate.yaml`, when it is valid enough to read. */
  get config(): EstateConfig | undefined {
    return this.#state.config;
  }

  /** The kinds of the current revision (the built-in ones before the first update). */
  get kinds(): KindRegistry {
    return this.#state.kinds.kinds;
  }

  /** The winning definition of an id. */
  asset(id: string): Asset | undefined {
    return this.#state.winnerOf(id)?.checked.asset;
  }

  /** The winning definition of every id. */
  *assets(): IterableIterator<Asset> {
    for (const docs of this.#state.definers.values()) yield docs[0]!.checked.asset!;
  }

  /** Declared references of a winning asset that passed per-document checks (dangling ones included: the reader decides). */
  referencesOf(id: string): Relation[] {
    return this.#state.winnerOf(id)?.checked.references.map((r) => r.relation) ?? [];
  }

  /** All diagnostics, sorted (same as loadEstate's). */
  diagnostics(): Diagnostic[] {
    if (!this.#sortedDiagnostics) {
      const state = this.#state;
      const paths = [...state.diagnostics.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      this.#sortedDiagnostics = paths.flatMap((path) => state.diagnostics.get(path)!);
    }
    return [...this.#sortedDiagnostics];
  }

  /** Counts as loadEstate gives them; `parsed` is the number of files parsed by the last update. */
  get stats(): Estate['stats'] {
    const state = this.#state;
    return {
      files: state.files.size,
      documents: state.documents,
      assets: state.definers.size,
      parsed: state.parsed,
      byKind: Object.fromEntries(state.byKind),
    };
  }

  #serialize<T>(update: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(update);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #apply(changes: FileChange[], readFiles: ReadFiles): Promise<EstateDelta> {
    const old = this.#state;
    // The last change of each path Estate reads, unless it leaves the path as it is.
    const wanted = new Map<string, EstateFileRef | undefined>();
    for (const { path, file } of changes) {
      if (classifyEstatePath(path) === undefined) continue;
      wanted.set(path, file && file.path !== path ? { ...file, path } : file);
    }
    for (const [path, file] of wanted) {
      const current = old.files.get(path)?.file;
      if (file ? current?.blobId === file.blobId : !current) wanted.delete(path);
    }
    if (!old.initialized || [...wanted.keys()].some((path) => classifyEstatePath(path) === 'schema')) {
      const files = new Map([...old.files].map(([path, tracked]) => [path, tracked.file]));
      for (const [path, file] of wanted) {
        if (file) files.set(path, file);
        else files.delete(path);
      }
      return this.#rebuild([...files.values()], readFiles);
    }
    if (wanted.size === 0) {
      old.parsed = 0;
      return { assets: new Map(), diagnostics: new Map(), configChanged: false };
    }

    const added = [...wanted.values()].filter((f): f is EstateFileRef => f !== undefined).sort(comparePaths);
    const parsed = await parseEstateFiles(added, readFiles, this.#limits, this.#cacheOption());
    return this.#update(wanted, added, parsed);
  }

  /** Applies changes to asset files and `estate.yaml` (parsed already); synchronous, so it is never seen half done. */
  #update(wanted: Map<string, EstateFileRef | undefined>, added: EstateFileRef[], parsed: Map<string, ParsedYamlFile> & { parsedCount: number }): EstateDelta {
    const state = this.#state;
    const delta: EstateDelta = { assets: new Map(), diagnostics: new Map(), configChanged: wanted.has(ESTATE_FILE) };
    this.#sortedDiagnostics = undefined;
    state.parsed = parsed.parsedCount;

    // The ids defined by the changed files, before and after, and how they stood before.
    const touched = new Set<string>();
    const removed: TrackedDocument[] = [];
    for (const path of wanted.keys()) {
      for (const doc of state.files.get(path)?.documents ?? []) {
        removed.push(doc);
        if (doc.checked.asset) touched.add(doc.checked.asset.id);
      }
    }
    const addedFiles = added.map((file) => this.#track(file, parsed.get(file.path)!, state.kinds));
    for (const tracked of addedFiles) for (const doc of tracked.documents) if (doc.checked.asset) touched.add(doc.checked.asset.id);
    const before = new Map<string, WinnerSnapshot | undefined>();
    for (const id of touched) before.set(id, snapshot(state.winnerOf(id)));

    for (const path of wanted.keys()) {
      const tracked = state.files.get(path);
      if (tracked) state.removeFile(tracked);
    }
    for (const tracked of addedFiles) state.addFile(tracked);

    // The documents whose cross-asset diagnostics may have changed.
    const dirty = new Set<TrackedDocument>();
    const keys = new Set<string>();
    for (const doc of removed) for (const unique of doc.checked.uniques) keys.add(unique.key);
    for (const tracked of addedFiles) for (const doc of tracked.documents) dirty.add(doc);
    for (const id of touched) {
      for (const doc of state.definers.get(id) ?? []) {
        dirty.add(doc);
        for (const unique of doc.checked.uniques) keys.add(unique.key);
      }
      const existed = before.get(id) !== undefined;
      if (existed !== state.definers.has(id)) for (const doc of state.referencers.get(id) ?? []) dirty.add(doc);
    }
    for (const key of keys) for (const doc of state.holders.get(key) ?? []) dirty.add(doc);

    const dirtyPaths = new Set(wanted.keys());
    for (const doc of dirty) {
      const cross = state.crossDiagnostics(doc);
      if (!sameDiagnostics(cross, doc.cross)) dirtyPaths.add(doc.path);
      doc.cross = cross;
    }
    for (const path of dirtyPaths) {
      if (path === ESTATE_FILE) continue;
      const tracked = state.files.get(path);
      this.#setPathDiagnostics(path, tracked ? state.fileDiagnostics(tracked) : NONE, delta);
    }
    if (delta.configChanged) {
      const estateFile = state.files.get(ESTATE_FILE);
      const read = readEstateConfig(estateFile && { file: estateFile.file, parsed: estateFile.parsed }, state.kinds.kinds);
      state.config = read.config;
      this.#setPathDiagnostics(ESTATE_FILE, [...(estateFile?.parsed.diagnostics ?? []), ...read.diagnostics].sort(compareDiagnostics), delta);
    }

    for (const id of touched) {
      const after = state.winnerOf(id);
      const was = before.get(id);
      state.countKind(was?.asset, -1);
      state.countKind(after?.checked.asset, 1);
      if (!sameWinner(was, after)) delta.assets.set(id, after?.checked.asset ?? null);
    }
    return delta;
  }

  #setPathDiagnostics(path: string, list: Diagnostic[], delta: EstateDelta): void {
    const state = this.#state;
    if (sameDiagnostics(list, state.diagnostics.get(path) ?? NONE)) return;
    state.setDiagnostics(path, list);
    delta.diagnostics.set(path, list.length ? list : []);
  }

  /** Builds the state of these files from scratch (reusing what is parsed) and returns the difference. */
  async #rebuild(files: EstateFileRef[], readFiles: ReadFiles, onProgress?: (done: number, total: number) => void): Promise<EstateDelta> {
    const old = this.#state;
    // Estate's files in path order; a path given twice counts once, its last time (a stable sort
    // keeps the two together, in the order given).
    const sorted = files.filter((f) => classifyEstatePath(f.path) !== undefined).sort(comparePaths);
    const relevant = sorted.filter((f, i) => sorted[i + 1]?.path !== f.path);

    const parsedFiles: Array<ParsedYamlFile | undefined> = [];
    const missing: EstateFileRef[] = [];
    for (const file of relevant) {
      const tracked = old.files.get(file.path);
      const reuse = tracked && tracked.file.blobId === file.blobId ? tracked.parsed : undefined;
      parsedFiles.push(reuse);
      if (!reuse) missing.push(file);
    }
    const known = relevant.length - missing.length;
    const progress = onProgress && ((done: number, total: number): void => onProgress(done + known, total + known));
    const parsed = await parseEstateFiles(missing, readFiles, this.#limits, { ...this.#cacheOption(), ...(progress ? { onProgress: progress } : {}) });
    if (progress && missing.length === 0) progress(0, 0);
    relevant.forEach((file, i) => (parsedFiles[i] ??= parsed.get(file.path)!));

    const state = this.#build(relevant, parsedFiles as ParsedYamlFile[], old.kinds);
    state.parsed = parsed.parsedCount;
    this.#state = state;
    this.#sortedDiagnostics = undefined;
    return diffStates(old, state);
  }

  /** The state of these files (in path order, each with its parse result). */
  #build(relevant: EstateFileRef[], parsedFiles: ParsedYamlFile[], previousKinds: EstateKinds): EstateState {
    const schemaFiles: ParsedEstateFile[] = [];
    let estateFile: ParsedEstateFile | undefined;
    relevant.forEach((file, i) => {
      const role = classifyEstatePath(file.path);
      if (role === 'schema') schemaFiles.push({ file, parsed: parsedFiles[i]! });
      else if (role === 'estate') estateFile = { file, parsed: parsedFiles[i]! };
    });
    // The kinds are those of the schema files at these blobs: unchanged ones are not compiled again.
    const kindsKey = schemaFiles.map(({ file }) => `${file.path}@${file.blobId}`).join('\n');
    const kinds = previousKinds.kindsKey === kindsKey ? previousKinds : buildEstateKinds(schemaFiles);
    const state = new EstateState(kinds, true);
    const read = readEstateConfig(estateFile, kinds.kinds);
    state.config = read.config;

    relevant.forEach((file, i) => state.addFile(this.#track(file, parsedFiles[i]!, kinds)));
    for (const tracked of state.files.values()) for (const doc of tracked.documents) doc.cross = state.crossDiagnostics(doc);
    for (const [path, tracked] of state.files) {
      if (tracked.role === 'asset' || tracked.role === 'asset-other') state.setDiagnostics(path, state.fileDiagnostics(tracked));
    }
    const schemaDiagnostics = groupByPath([...schemaFiles.flatMap((f) => f.parsed.diagnostics), ...kinds.diagnostics]);
    for (const [path, list] of schemaDiagnostics) state.setDiagnostics(path, list);
    state.setDiagnostics(ESTATE_FILE, [...(estateFile?.parsed.diagnostics ?? []), ...read.diagnostics].sort(compareDiagnostics));
    for (const docs of state.definers.values()) state.countKind(docs[0]!.checked.asset, 1);
    return state;
  }

  #track(file: EstateFileRef, parsed: ParsedYamlFile, kinds: EstateKinds): TrackedFile {
    const role = classifyEstatePath(file.path)!;
    const documents =
      role === 'asset'
        ? parsed.documents.map((document, index) => ({
            path: file.path,
            index,
            checked: checkAssetDocument(file.path, file.blobId, document, kinds.kinds, kinds.kindsKey),
            cross: NONE,
          }))
        : [];
    return { file, role, parsed, documents };
  }

  #cacheOption(): { cache?: ParseCache } {
    return this.#cache ? { cache: this.#cache } : {};
  }
}

/** Everything that differs between two states, for a full rebuild. */
function diffStates(old: EstateState, next: EstateState): EstateDelta {
  const delta: EstateDelta = { assets: new Map(), diagnostics: new Map(), configChanged: !old.initialized || old.configKey() !== next.configKey() };
  if (!old.initialized) {
    for (const [id, docs] of next.definers) delta.assets.set(id, docs[0]!.checked.asset!);
    for (const [path, list] of next.diagnostics) delta.diagnostics.set(path, list);
    return delta;
  }
  for (const [id, docs] of old.definers) {
    const after = next.winnerOf(id);
    if (!sameWinner(snapshot(docs[0]), after)) delta.assets.set(id, after?.checked.asset ?? null);
  }
  for (const [id, docs] of next.definers) if (!old.definers.has(id)) delta.assets.set(id, docs[0]!.checked.asset!);
  for (const [path, list] of old.diagnostics) {
    const now = next.diagnostics.get(path) ?? NONE;
    if (!sameDiagnostics(list, now)) delta.diagnostics.set(path, now.length ? now : []);
  }
  for (const [path, list] of next.diagnostics) if (!old.diagnostics.has(path)) delta.diagnostics.set(path, list);
  return delta;
}

function snapshot(doc: TrackedDocument | undefined): WinnerSnapshot | undefined {
  return doc && { asset: doc.checked.asset!, checked: doc.checked };
}

/** Whether a winning definition is the same for readers: same file, blob, document and references. */
function sameWinner(before: WinnerSnapshot | undefined, after: TrackedDocument | undefined): boolean {
  if (!before || !after) return before === undefined && after === undefined;
  if (before.checked === after.checked) return true;
  const a = before.asset;
  const b = after.checked.asset!;
  const refsA = before.checked.references;
  const refsB = after.checked.references;
  return (
    a.path === b.path &&
    a.blobId === b.blobId &&
    a.document.index === b.document.index &&
    a.kind === b.kind &&
    refsA.length === refsB.length &&
    refsA.every((r, i) => sameRelation(r.relation, refsB[i]!.relation))
  );
}

function sameRelation(a: Relation, b: Relation): boolean {
  return a.from === b.from && a.to === b.to && a.type === b.type && a.inverse === b.inverse && a.field === b.field;
}

function sameDiagnostics(a: readonly Diagnostic[], b: readonly Diagnostic[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]!;
    return x.code === y.code && x.path === y.path && x.line === y.line && x.col === y.col && x.message === y.message && x.asset === y.asset;
  });
}

/** Groups diagnostics by path, each group sorted (stably: ties keep the order found). */
function groupByPath(diagnostics: Diagnostic[]): Map<string, Diagnostic[]> {
  const groups = new Map<string, Diagnostic[]>();
  for (const d of diagnostics) {
    const group = groups.get(d.path);
    if (group) group.push(d);
    else groups.set(d.path, [d]);
  }
  for (const group of groups.values()) group.sort(compareDiagnostics);
  return groups;
}

function compareDocuments(a: TrackedDocument, b: TrackedDocument): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : a.index - b.index;
}

/** Adds a document to a list kept in path then document order (appending is the common case). */
function insertInOrder<K>(lists: Map<K, TrackedDocument[]>, key: K, doc: TrackedDocument): void {
  const list = lists.get(key);
  if (!list) {
    lists.set(key, [doc]);
    return;
  }
  let at = list.length;
  while (at > 0 && compareDocuments(list[at - 1]!, doc) > 0) at--;
  list.splice(at, 0, doc);
}

function removeFromList<K>(lists: Map<K, TrackedDocument[]>, key: K, doc: TrackedDocument): void {
  const list = lists.get(key);
  if (!list) return;
  const at = list.indexOf(doc);
  if (at !== -1) list.splice(at, 1);
  if (list.length === 0) lists.delete(key);
}

/** The distinct unique keys of a document (most have none or a couple: no Set for those). */
function uniqueKeysOf(doc: TrackedDocument): Iterable<string> {
  const uniques = doc.checked.uniques;
  if (uniques.length > 8) return new Set(uniques.map((u) => u.key));
  const keys: string[] = [];
  for (const { key } of uniques) if (!keys.includes(key)) keys.push(key);
  return keys;
}
