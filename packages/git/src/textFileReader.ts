import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { GitCliRepo } from './GitCliRepo.js';
import { GitError } from './GitError.js';

/** A repo-relative path and its text. */
export interface TextFile {
  path: string;
  text: string;
}

/** The text files under `prefix` (e.g. `policies/`) of one commit that `accept` takes, from git objects. */
export async function readCommitTextFiles(repo: GitCliRepo, commit: string, prefix: string, accept: (path: string) => boolean): Promise<TextFile[]> {
  const entries = (await repo.listTree(commit, [prefix])).filter((entry) => accept(entry.path));
  const blobs = await repo.readBlobs(entries.map((entry) => entry.oid));
  return entries.map((entry, i) => ({ path: entry.path, text: blobs[i]!.toString('utf8') }));
}

/**
 * The text files under `prefix` of a directory as they are on disk that `accept` takes: in a git
 * work tree the files git would track, elsewhere every file.
 */
export async function readWorkTreeTextFiles(dir: string, prefix: string, accept: (path: string) => boolean): Promise<TextFile[]> {
  let repo: GitCliRepo | undefined;
  try {
    repo = await GitCliRepo.open(dir);
  } catch (error) {
    if (!(error instanceof GitError && error.code === 'E_NOT_A_REPO')) throw error;
  }
  try {
    const root = repo?.workTree ?? dir;
    const paths = repo ? await repo.listWorkTreeFiles([prefix]) : await walkFiles(dir, prefix);
    return paths.filter(accept).flatMap((path) => {
      try {
        return [{ path, text: readFileSync(join(root, path), 'utf8') }];
      } catch {
        return []; // listed by the index but not on disk (sparse checkout): nothing to read
      }
    });
  } finally {
    await repo?.close();
  }
}

async function walkFiles(dir: string, prefix: string): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
}
