import { closeSync, constants, fstatSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  classifyEstatePath,
  DEFAULT_PARSE_LIMITS,
  loadEstate,
  MemoryParseCache,
  type Estate,
  type EstateFileRef,
  type LoadEstateOptions,
  type ParseCache,
} from '@estate/core';
import { GitCliRepo } from './GitCliRepo.js';
import { GitError } from './GitError.js';
import { hashBlob } from './hashBlob.js';

/** The paths of a repo that make up an estate (see docs/repo-format.md). */
export const ESTATE_PREFIXES = ['estate.yaml', 'schemas/', 'assets/'];

/** Loads the estate of one commit from git objects (bare repos too); no work tree is read. */
export async function loadCommitEstate(repo: GitCliRepo, commit: string, options: LoadEstateOptions = {}): Promise<Estate> {
  const entries = await repo.listTree(commit, ESTATE_PREFIXES);
  const files: EstateFileRef[] = entries.map((e) => ({ path: e.path, blobId: e.oid, ...(e.size !== undefined ? { size: e.size } : {}) }));
  return loadEstate(files, (wanted) => repo.readBlobs(wanted.map((f) => f.blobId)), options);
}

/**
 * Loads the estates of successive commits (an indexer following `main`, a re-validation after a
 * push), reusing what did not change: after the first load only the paths `git diff-tree` reports
 * are looked up, and unchanged blobs come parsed and checked from the cache.
 */
export class IncrementalEstateLoader {
  #last: { commit: string; files: Map<string, EstateFileRef> } | undefined;
  readonly #options: LoadEstateOptions & { cache: ParseCache };

  constructor(
    readonly repo: GitCliRepo,
    options: LoadEstateOptions = {},
  ) {
    this.#options = { ...options, cache: options.cache ?? new MemoryParseCache() };
  }

  /** Loads the estate at `commit`. */
  async load(commit: string): Promise<Estate> {
    let files: Map<string, EstateFileRef>;
    if (this.#last) {
      files = new Map(this.#last.files);
      for (const change of await this.repo.diffTrees(this.#last.commit, commit, ESTATE_PREFIXES)) {
        if (change.newOid) files.set(change.path, { path: change.path, blobId: change.newOid });
        else files.delete(change.path);
      }
    } else {
      const entries = await this.repo.listTree(commit, ESTATE_PREFIXES);
      files = new Map(entries.map((e) => [e.path, { path: e.path, blobId: e.oid, ...(e.size !== undefined ? { size: e.size } : {}) }]));
    }
    const estate = await loadEstate([...files.values()], (wanted) => this.repo.readBlobs(wanted.map((f) => f.blobId)), this.#options);
    this.#last = { commit, files };
    return estate;
  }
}

/**
 * Loads the estate of a directory as it is on disk, uncommitted edits included. In a git work
 * tree the files are those git would track (ignored files are skipped); elsewhere every file.
 */
export async function loadWorkTreeEstate(dir: string, options: LoadEstateOptions = {}): Promise<Estate> {
  let repo: GitCliRepo | undefined;
  try {
    repo = await GitCliRepo.open(dir);
  } catch (error) {
    if (!(error instanceof GitError && error.code === 'E_NOT_A_REPO')) throw error;
  }
  try {
    if (repo?.bare) {
      throw new GitError('E_BARE_REPO', `${dir} is a bare repository: it has no work tree; pass --rev to read a commit`, { dir });
    }
    const root = repo?.workTree ?? dir;
    const paths = repo ? await repo.listWorkTreeFiles(ESTATE_PREFIXES) : await walkFiles(dir);
    const maxBytes = options.limits?.maxFileBytes ?? DEFAULT_PARSE_LIMITS.maxFileBytes;
    // Small files read synchronously are faster than thousands of queued async reads, and never
    // run out of file descriptors. Oversized files are not read at all: core reports them by size.
    const contents = new Map<string, Uint8Array>();
    const files: EstateFileRef[] = [];
    const absent: string[] = [];
    for (const path of paths) {
      if (classifyEstatePath(path) === undefined) continue;
      const bytes = readWorkTreeFile(join(root, path), maxBytes);
      if (bytes === undefined) absent.push(path);
      else if (typeof bytes === 'number') files.push({ path, blobId: `oversized:${bytes}:${path}`, size: bytes });
      else {
        contents.set(path, bytes);
        files.push({ path, blobId: hashBlob(bytes), size: bytes.length });
      }
    }
    // Tracked files that are not on disk (a sparse checkout leaves them out) count as the index has them.
    if (repo && absent.length) {
      const index = await repo.listIndexBlobs(ESTATE_PREFIXES);
      const found = absent.filter((path) => index.has(path));
      const blobs = await repo.readBlobs(found.map((path) => index.get(path)!));
      found.forEach((path, i) => {
        contents.set(path, blobs[i]!);
        files.push({ path, blobId: index.get(path)! });
      });
    }
    return await loadEstate(files, async (wanted) => wanted.map((f) => contents.get(f.path)!), options);
  } finally {
    await repo?.close();
  }
}

/**
 * Reads a work-tree file with one open: the size comes from the open file (over `maxBytes`, the
 * size is returned instead of the content; a missing file gives undefined), and a symbolic link is
 * read as git stores it, as the text of its target, never followed out of the repo (O_NOFOLLOW
 * makes opening one fail with ELOOP).
 */
function readWorkTreeFile(path: string, maxBytes: number): Buffer | number | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return Buffer.from(readlinkSync(path));
    if (code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    return size > maxBytes ? size : readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function walkFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .filter((p) => !p.split('/').some((part) => part.startsWith('.')));
}
