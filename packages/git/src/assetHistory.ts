import { deepEqual, diffValues, MemoryParseCache, parseAssetRef, parseYamlFile, type FieldChange, type ParseCache } from '@estate/core';
import type { CommitInfo, GitCliRepo, PathLogEntry } from './GitCliRepo.js';
import { ESTATE_PREFIXES } from './estateReader.js';

/** One commit that changed an asset. */
export interface AssetHistoryEntry {
  commit: CommitInfo;
  change: 'added' | 'changed' | 'moved';
  /** The file holding the asset after the commit. */
  path: string;
  /** The file before, when the commit moved the asset. */
  fromPath?: string;
  fields: FieldChange[];
}

/** Options of {@link assetHistory}. */
export interface AssetHistoryOptions {
  /** Where to start walking back from; default HEAD. */
  rev?: string;
  cache?: ParseCache;
  /** Stop after this many entries. */
  limit?: number;
}

/** Commits whose blobs are read in one pipelined request. */
const HISTORY_BATCH = 64;

interface Located {
  path: string;
  value: unknown;
}

/**
 * Every commit that changed an asset, newest first, following it across files: git's path-limited
 * log finds the commits touching the asset's file, and where the asset appeared in that file the
 * commit's other changed files tell where it came from. Only blobs on that trail are parsed.
 */
export async function assetHistory(repo: GitCliRepo, id: string, options: AssetHistoryOptions = {}): Promise<AssetHistoryEntry[]> {
  const start = await repo.resolveCommit(options.rev ?? 'HEAD');
  const limit = options.limit ?? Infinity;
  const cache = options.cache ?? new MemoryParseCache();
  const readAsset = async (path: string, oid: string | undefined): Promise<unknown> => {
    if (!oid) return undefined;
    let parsed = cache.get(oid);
    if (!parsed) {
      parsed = parseYamlFile(path, await repo.readBlob(oid));
      cache.set(oid, parsed);
    }
    return parsed.documents.find((d) => documentId(d.value) === id)?.value;
  };
  // One pipelined read for all the blobs on a stretch of the trail, rather than one round trip each.
  const prefetch = async (path: string, oids: Array<string | undefined>): Promise<void> => {
    const missing = [...new Set(oids.filter((oid): oid is string => oid !== undefined && !cache.get(oid)))];
    const blobs = await repo.readBlobs(missing);
    missing.forEach((oid, i) => cache.set(oid, parseYamlFile(path, blobs[i]!)));
  };

  let current = await findAsset(repo, start, id, readAsset);
  const entries: AssetHistoryEntry[] = [];
  let from = start;
  // A commit that put the asset back into a file an earlier commit had broken (a YAML syntax
  // error hides every document): what it changed is only known at the next readable version.
  let afterBroken: { commit: CommitInfo; path: string; value: unknown } | undefined;
  const isBroken = (oid: string | undefined): boolean => oid !== undefined && (cache.get(oid)?.diagnostics.length ?? 0) > 0;
  // Walks one stretch of the trail (commits touching `current.path`); says where the asset came
  // from when it was moved into that file, or that the trail ends here.
  const walk = async (log: PathLogEntry[], path: string): Promise<{ end: boolean; next?: { commit: string; located: Located } }> => {
    await prefetch(path, log.flatMap(({ changes }) => changes.flatMap((c) => [c.oldOid, c.newOid])));
    for (const { commit, changes } of log) {
      const change = changes.find((c) => c.path === path);
      if (!change) continue;
      const after = await readAsset(change.path, change.newOid);
      if (after === undefined) continue;
      if (afterBroken) {
        const fixed = afterBroken;
        afterBroken = undefined;
        if (!deepEqual(after, fixed.value)) entries.push({ commit: fixed.commit, change: 'changed', path: fixed.path, fields: diffValues(after, fixed.value) });
        if (entries.length >= limit) return { end: true };
      }
      const before = await readAsset(change.path, change.oldOid);
      if (before !== undefined) {
        if (!deepEqual(before, after)) entries.push({ commit, change: 'changed', path: change.path, fields: diffValues(before, after) });
        if (entries.length >= limit) return { end: true };
        continue;
      }
      const parent = commit.parents[0];
      const origin = parent ? await findMovedFrom(repo, parent, commit.sha, change.path, readAsset) : undefined;
      if (!origin && isBroken(change.oldOid)) {
        afterBroken = { commit, path: change.path, value: after };
        continue;
      }
      if (!origin) {
        entries.push({ commit, change: 'added', path: change.path, fields: [] });
        return { end: true };
      }
      entries.push({ commit, change: 'moved', path: change.path, fromPath: origin.path, fields: diffValues(origin.value, after) });
      return { end: true, next: { commit: parent!, located: origin } };
    }
    return { end: false };
  };

  while (current && entries.length < limit) {
    // The log is streamed and left as soon as the stretch ends: older history is not walked twice.
    let outcome: Awaited<ReturnType<typeof walk>> = { end: false };
    const batch: PathLogEntry[] = [];
    for await (const entry of repo.iterateLogPaths(from, [current.path], { untilCreated: true })) {
      batch.push(entry);
      if (batch.length < HISTORY_BATCH) continue;
      outcome = await walk(batch.splice(0), current.path);
      if (outcome.end) break;
    }
    if (!outcome.end) outcome = await walk(batch, current.path);
    if (afterBroken) {
      // No readable version before the broken one: the asset was added where it was repaired.
      entries.push({ commit: afterBroken.commit, change: 'added', path: afterBroken.path, fields: [] });
      afterBroken = undefined;
    }
    if (!outcome.next) break;
    from = outcome.next.commit;
    current = outcome.next.located;
  }
  return entries.slice(0, limit);
}

/** The id of a document, when it has the envelope. */
function documentId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const doc = value as { kind?: unknown; metadata?: { name?: unknown } };
  return typeof doc.kind === 'string' && typeof doc.metadata?.name === 'string' ? `${doc.kind.toLowerCase()}/${doc.metadata.name}` : undefined;
}

/**
 * Finds the file holding an asset at a commit. Files named after the asset are tried first (the
 * common layout), then every asset file.
 */
async function findAsset(
  repo: GitCliRepo,
  commit: string,
  id: string,
  readAsset: (path: string, oid: string) => Promise<unknown>,
): Promise<Located | undefined> {
  const name = parseAssetRef(id)?.name;
  const entries = (await repo.listTree(commit, ESTATE_PREFIXES)).filter((e) => e.path.startsWith('assets/'));
  const base = (path: string): string => path.slice(path.lastIndexOf('/') + 1).replace(/\.ya?ml$/, '');
  const likely = entries.filter((e) => name !== undefined && base(e.path) === name);
  for (const entry of [...likely, ...entries.filter((e) => !likely.includes(e))]) {
    const value = await readAsset(entry.path, entry.oid);
    if (value !== undefined) return { path: entry.path, value };
  }
  return undefined;
}

/** Where an asset that appeared in `path` at `commit` lived at `parent`, if in another file. */
async function findMovedFrom(
  repo: GitCliRepo,
  parent: string,
  commit: string,
  path: string,
  readAsset: (path: string, oid: string | undefined) => Promise<unknown>,
): Promise<Located | undefined> {
  const changes = await repo.diffTrees(parent, commit, ['assets/']);
  for (const change of changes) {
    if (change.path === path || !change.oldOid) continue;
    const value = await readAsset(change.path, change.oldOid);
    if (value !== undefined) return { path: change.path, value };
  }
  return undefined;
}
