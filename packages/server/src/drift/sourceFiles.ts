import type { GitCliRepo } from '@estate/git';

/** A `source:` file larger than this is neither served to agents nor compared by drift. */
export const MAX_SOURCE_FILE_BYTES = 1024 * 1024;

/** Why a `source:` has no content: `E_SOURCE_URL`, `E_SOURCE_PATH`, `E_SOURCE_NOT_FOUND` or `E_SOURCE_TOO_BIG`. */
export interface SourceProblem {
  code: string;
  message: string;
}

/** A `source:` at a commit: its blob, or why it cannot be used. */
export type SourceBlob = { oid: string; size: number } | { problem: SourceProblem };

/** A `source:` at a commit: its bytes, or why it cannot be used. */
export type SourceContent = { bytes: Buffer } | { problem: SourceProblem };

/** How many paths one `git ls-tree` is given. */
const PATHS_PER_LISTING = 256;

/**
 * Resolves `source:` values of managed files to their blobs at a commit, each safely: a
 * repo-relative path (no URL, no leading `/`, no `.` or `..` segments, no backslash) naming a
 * regular file (not a link) of at most {@link MAX_SOURCE_FILE_BYTES}. One entry per distinct source.
 */
export async function locateSources(repo: Pick<GitCliRepo, 'listTree'>, commit: string, sources: Iterable<string>): Promise<Map<string, SourceBlob>> {
  const out = new Map<string, SourceBlob>();
  const paths: string[] = [];
  for (const source of new Set(sources)) {
    const problem = pathProblem(source);
    if (problem) out.set(source, { problem });
    else paths.push(source);
  }
  for (let i = 0; i < paths.length; i += PATHS_PER_LISTING) {
    const chunk = paths.slice(i, i + PATHS_PER_LISTING);
    const entries = new Map((await repo.listTree(commit, chunk, { sizes: true })).map((entry) => [entry.path, entry]));
    for (const source of chunk) {
      const entry = entries.get(source);
      if (!entry) out.set(source, { problem: { code: 'E_SOURCE_NOT_FOUND', message: `source '${source}' is not a file at ${commit.slice(0, 12)}` } });
      else if (entry.mode !== '100644' && entry.mode !== '100755') out.set(source, { problem: { code: 'E_SOURCE_PATH', message: `source '${source}' is not a regular file (git mode ${entry.mode})` } });
      else if ((entry.size ?? 0) > MAX_SOURCE_FILE_BYTES) out.set(source, { problem: { code: 'E_SOURCE_TOO_BIG', message: `source '${source}' is larger than ${MAX_SOURCE_FILE_BYTES} bytes` } });
      else out.set(source, { oid: entry.oid, size: entry.size ?? 0 });
    }
  }
  return out;
}

/** {@link locateSources}, then the bytes of the blobs found (read in one round trip). */
export async function readSources(repo: Pick<GitCliRepo, 'listTree' | 'readBlobs'>, commit: string, sources: Iterable<string>): Promise<Map<string, SourceContent>> {
  const located = await locateSources(repo, commit, sources);
  const found = [...located].filter((entry): entry is [string, { oid: string; size: number }] => 'oid' in entry[1]);
  const blobs = await repo.readBlobs(found.map(([, blob]) => blob.oid));
  const out = new Map<string, SourceContent>();
  for (const [source, blob] of located) if ('problem' in blob) out.set(source, blob);
  found.forEach(([source], i) => out.set(source, { bytes: blobs[i]! }));
  return out;
}

/** `files/nginx.conf`: segments that are neither empty, `.` nor `..`; no backslash or NUL. */
export function isRepoRelativePath(source: string): boolean {
  if (source === '' || source.startsWith('/') || /[\\\0]/.test(source)) return false;
  return source.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

function pathProblem(source: string): SourceProblem | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(source)) return { code: 'E_SOURCE_URL', message: 'a source given as a URL is not served to agents; declare a repo-relative path' };
  if (!isRepoRelativePath(source)) return { code: 'E_SOURCE_PATH', message: `source '${source}' is not a plain repo-relative path (no leading /, no . or .. segments, no backslashes)` };
  return undefined;
}
