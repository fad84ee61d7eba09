import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GitCliRepo } from './GitCliRepo.js';
import { GitError } from './GitError.js';
import { runGit } from './runGit.js';

/** Who wrote or committed a change. */
export interface GitIdentity {
  name: string;
  email: string;
  /** Any date git accepts (git-commit(1), DATE FORMATS), e.g. ISO 8601; defaults to now. */
  date?: string;
}

/** Options of {@link commitFiles}. */
export interface CommitFilesOptions {
  /** Full name of the ref to update, e.g. `refs/heads/main`; undefined leaves the commit dangling (no ref moves). */
  ref?: string;
  /** Revision the new commit builds on; undefined makes a root commit with only `files`. */
  parent?: string;
  /** Path (repo-relative, `/`-separated) → new content, or null to delete the file. */
  files: Record<string, string | Uint8Array | null>;
  message: string;
  /** Defaults to `Estate <estate@localhost>`. */
  author?: GitIdentity;
  /** Defaults to `Estate <estate@localhost>` (not to the author: the service commits for people). */
  committer?: GitIdentity;
  /**
   * Compare-and-swap guard for the ref update: the full commit sha the ref must still point at,
   * or null if the ref must not exist yet. Undefined updates the ref unconditionally.
   */
  expectedOld?: string | null;
}

const DEFAULT_IDENTITY: GitIdentity = { name: 'Estate', email: 'estate@localhost' };
/** `--index-info` removes a path given mode 0 (git-update-index(1)); the id is ignored. */
const ZERO_OID = '0'.repeat(40);
const FULL_OID = /^[0-9a-f]{40}$/;

/**
 * Creates a commit from `parent` plus `files` without touching any work tree or the repository's
 * index, then moves `ref` to it (when given) (as a server must; a checked-out branch's work tree is not
 * updated). Writes blobs with `git hash-object -w`, builds the tree in a temporary index
 * (GIT_INDEX_FILE, `git read-tree`, `git update-index --index-info`, `git write-tree`), commits
 * with `git commit-tree` and updates the ref with `git update-ref <ref> <new> [<old>]`, which
 * checks `expectedOld` atomically. Returns the new commit's sha.
 *
 * Throws GitError E_REF_CONFLICT if the ref is not at `expectedOld`, E_REV_NOT_FOUND for an
 * unknown parent, E_INVALID_PATH for a path git cannot store, E_GIT for a ref name outside
 * `refs/` or an `expectedOld` that is not a full sha.
 */
export async function commitFiles(repo: GitCliRepo, options: CommitFilesOptions): Promise<string> {
  const { ref, expectedOld } = options;
  if (ref !== undefined && !ref.startsWith('refs/')) {
    throw new GitError('E_GIT', `ref '${ref}' is not a full ref name starting with 'refs/'`, { ref });
  }
  if (typeof expectedOld === 'string' && !FULL_OID.test(expectedOld)) {
    throw new GitError('E_GIT', `expectedOld '${expectedOld}' is not a full commit sha`, { ref, expectedOld });
  }
  for (const path of Object.keys(options.files)) checkPath(path);
  // A full sha needs no git process to resolve; read-tree below fails on one that names no commit.
  const parent = options.parent === undefined || FULL_OID.test(options.parent) ? options.parent : await repo.resolveCommit(options.parent);
  const author = options.author ?? DEFAULT_IDENTITY;
  const committer = options.committer ?? DEFAULT_IDENTITY;
  const tmp = await mkdtemp(join(tmpdir(), 'estate-commit-'));
  try {
    const env = {
      GIT_INDEX_FILE: join(tmp, 'index'),
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: committer.name,
      GIT_COMMITTER_EMAIL: committer.email,
      ...(author.date !== undefined && { GIT_AUTHOR_DATE: author.date }),
      ...(committer.date !== undefined && { GIT_COMMITTER_DATE: committer.date }),
    };
    const git = async (args: string[], input?: string): Promise<string> =>
      (await runGit(args, { cwd: repo.workTree ?? repo.gitDir, env, input })).toString('utf8').trimEnd();

    if (parent !== undefined) {
      await git(['read-tree', `${parent}^{commit}`]).catch(async (error: unknown) => {
        await repo.resolveCommit(parent); // E_REV_NOT_FOUND for an unknown commit
        throw error;
      });
    }
    const oids = await writeBlobs(git, tmp, options.files);
    const indexInfo = Object.entries(options.files).map(([path, content]) =>
      content === null ? `0 ${ZERO_OID}\t${path}\0` : `100644 ${oids.shift() ?? ''}\t${path}\0`,
    );
    // --replace lets a file take the place of a directory and vice versa.
    await git(['update-index', '--add', '--replace', '-z', '--index-info'], indexInfo.join(''));
    const tree = await git(['write-tree']);
    const message = options.message.endsWith('\n') ? options.message : `${options.message}\n`;
    const commit = await git(['commit-tree', tree, ...(parent === undefined ? [] : ['-p', parent])], message);
    if (ref === undefined) return commit;
    try {
      await git(['update-ref', ref, commit, ...(expectedOld === undefined ? [] : [expectedOld ?? ''])]);
    } catch (err) {
      const actual = await repo.tryResolveCommit(ref);
      if (expectedOld !== undefined && actual !== (expectedOld ?? undefined)) {
        throw new GitError(
          'E_REF_CONFLICT',
          `ref '${ref}' is at ${actual ?? 'nothing'}, expected ${expectedOld ?? 'no ref'}`,
          { ref, expected: expectedOld, actual },
          { cause: err },
        );
      }
      throw err;
    }
    return commit;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Rejects paths git's verify_path() refuses: `git update-index --index-info` would only warn
 * "Ignoring path" and leave the file out of the commit. Components may not be empty, `.`, `..` or
 * `.git` (in any case), and NUL would end the `-z` record early.
 */
function checkPath(path: string): void {
  const bad = path.split('/').find((part) => part === '' || part === '.' || part === '..' || part.toLowerCase() === '.git');
  if (bad === undefined && !path.includes('\0')) return;
  throw new GitError(
    'E_INVALID_PATH',
    `invalid path ${JSON.stringify(path)}: use repo-relative paths of non-empty components other than '.', '..' and '.git'`,
    { path },
  );
}

/**
 * Stores the non-null contents as blobs with one `git hash-object -w --stdin-paths` (one process
 * however many files), returning their ids in order. `--no-filters` stores the bytes as given,
 * whatever .gitattributes says.
 */
async function writeBlobs(
  git: (args: string[], input?: string) => Promise<string>,
  tmp: string,
  files: CommitFilesOptions['files'],
): Promise<string[]> {
  const contents = Object.values(files).filter((content) => content !== null);
  if (contents.length === 0) return [];
  const paths = contents.map((_, i) => join(tmp, `blob-${i}`));
  await Promise.all(contents.map((content, i) => writeFile(paths[i] ?? '', content)));
  const out = await git(['hash-object', '-w', '--no-filters', '--stdin-paths'], `${paths.join('\n')}\n`);
  return out.split('\n');
}
