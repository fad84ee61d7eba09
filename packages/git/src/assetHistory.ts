import { deepEqual, diffValues, parseAssetRef, parseYamlFile, type FieldChange, type ParseCache } from '@estate/core';
import type { CommitInfo, GitCliRepo } from './GitCliRepo.js';
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
  const cache = options.cache;
  const readAsset = async (path: string, oid: string | undefined): Promise<unknown> => {
    if (!oid) return undefined;
    let parsed = cache?.get(oid);
    if (!parsed) {
      parsed = parseYamlFile(path, await repo.readBlob(oid));
      cache?.set(oid, parsed);
    }
    return parsed.documents.find((d) => documentId(d.value) === id)?.value;
  };

  let current = await findAsset(repo, start, id, readAsset);
  const entries: AssetHistoryEntry[] = [];
  let from = start;
  while (current && entries.length < limit) {
    const log = await repo.logPaths(from, [current.path]);
    let next: { commit: string; located: Located } | undefined;
    for (const { commit, changes } of log) {
      const change = changes.find((c) => c.path === current!.path);
      if (!change) continue;
      const after = await readAsset(change.path, change.newOid);
      if (after === undefined) continue;
      const before = await readAsset(change.path, change.oldOid);
      if (before !== undefined) {
        if (!deepEqual(before, after)) entries.push({ commit, change: 'changed', path: change.path, fields: diffValues(before, after) });
      } else {
        const parent = commit.parents[0];
        const origin = parent ? await findMovedFrom(repo, parent, commit.sha, change.path, readAsset) : undefined;
        if (origin) {
          entries.push({ commit, change: 'moved', path: change.path, fromPath: origin.path, fields: diffValues(origin.value, after) });
          next = { commit: parent!, located: origin };
        } else {
          entries.push({ commit, change: 'added', path: change.path, fields: [] });
        }
        break;
      }
      if (entries.length >= limit) break;
    }
    if (!next) break;
    from = next.commit;
    current = next.located;
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
