import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CatFileProcess, type CatFileObject } from './CatFileProcess.js';
import { GitError } from './GitError.js';
import { diffTreeObjects, parseCommitObject, parseTreeObject, type CommitObject } from './gitObjects.js';
import { runGit, streamGit } from './runGit.js';

/** One blob of a recursive tree listing. */
export interface TreeEntry {
  /** Repo-relative path with `/` separators. */
  path: string;
  /** Blob id. */
  oid: string;
  /** Git file mode: `100644`, `100755` or `120000` (symlink). */
  mode: string;
  /** Blob size in bytes, when asked for. */
  size?: number;
}

/** Commit metadata, as `git log` formats it. */
export interface CommitInfo {
  sha: string;
  /** Parent shas; empty for a root commit, two or more for a merge. */
  parents: string[];
  authorName: string;
  authorEmail: string;
  /** Strict ISO 8601 with the author's UTC offset (`%aI`), e.g. `2024-05-01T12:00:00+02:00`. */
  authorDate: string;
  committerName: string;
  committerEmail: string;
  /** Strict ISO 8601 with the committer's UTC offset (`%cI`). */
  committerDate: string;
  /** First paragraph of the message, lines joined by spaces (`%s`). */
  subject: string;
  /** The rest of the message, without trailing newlines (`%b`). */
  body: string;
}

/**
 * A path changed between two trees (`git diff-tree --raw`, no rename detection). Submodule
 * entries count as absent, as in {@link TreeEntry} listings: a file replaced by a submodule is `D`.
 */
export interface TreeChange {
  /** Added, modified (content or mode), deleted, or type changed (e.g. file ↔ symlink). */
  status: 'A' | 'M' | 'D' | 'T';
  /** Repo-relative path with `/` separators. */
  path: string;
  /** Blob id before; absent when added. */
  oldOid?: string;
  /** Blob id after; absent when deleted. */
  newOid?: string;
}

/** One commit of a path-limited log, with the blob ids of those paths before and after it. */
export interface PathLogEntry {
  commit: CommitInfo;
  /** Changes to the requested paths, compared with the commit's first parent. */
  changes: TreeChange[];
}

/** A full object id (SHA-1 or SHA-256). */
const FULL_OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** The id of the empty tree in SHA-1 repositories (`git hash-object -t tree /dev/null`). */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
/** Mode of a submodule entry, which points at a commit of another repository, not a blob. */
const GITLINK = '160000';
/** Mode `git diff --raw` shows for the missing side of an added or deleted path. */
const ABSENT = '000000';
/** One field per {@link CommitInfo} property, NUL-separated (commit messages cannot hold NUL). */
const COMMIT_FORMAT = ['%H', '%P', '%an', '%ae', '%aI', '%cn', '%ce', '%cI', '%s', '%b'].join('%x00');
const COMMIT_FIELDS = 10;

/**
 * A repository on disk, accessed through the `git` binary. Blob reads go through one long-lived
 * `git cat-file --batch` process; everything else runs one git command per call.
 */
export class GitCliRepo {
  /** The directory the repository was opened from, made absolute. */
  readonly dir: string;
  /** Absolute path of the git dir (`.git` of a work tree, or the bare repository itself). */
  readonly gitDir: string;
  /** True when there is no work tree: a bare repository, or a git dir opened directly. */
  readonly bare: boolean;
  /** Absolute top level of the work tree; undefined when {@link GitCliRepo.bare}. */
  readonly workTree: string | undefined;
  /** Where git commands run; git finds the repository from here. */
  readonly #cwd: string;
  readonly #catFile: CatFileProcess;

  private constructor(dir: string, gitDir: string, workTree: string | undefined) {
    this.dir = dir;
    this.gitDir = gitDir;
    this.bare = workTree === undefined;
    this.workTree = workTree;
    this.#cwd = workTree ?? gitDir;
    this.#catFile = new CatFileProcess(this.#cwd);
  }

  /**
   * Opens the repository containing `dir` (a work tree, a directory inside one, or a bare
   * repository). Throws GitError E_NOT_A_REPO if there is none.
   */
  static async open(dir: string): Promise<GitCliRepo> {
    const absolute = resolve(dir);
    let lines: string[];
    try {
      const out = await runGit(['rev-parse', '--absolute-git-dir', '--is-inside-work-tree'], { cwd: absolute });
      lines = out.toString('utf8').split('\n');
    } catch (err) {
      throw new GitError('E_NOT_A_REPO', `'${absolute}' is not a git repository`, { dir: absolute }, { cause: err });
    }
    const [gitDir = '', insideWorkTree] = lines;
    if (insideWorkTree !== 'true') return new GitCliRepo(absolute, gitDir, undefined);
    const top = await runGit(['rev-parse', '--show-toplevel'], { cwd: absolute });
    return new GitCliRepo(absolute, gitDir, top.toString('utf8').trimEnd());
  }

  /**
   * Resolves a revision (branch, tag, sha prefix, `HEAD~3`, ...) to a full commit sha. Throws
   * GitError E_REV_NOT_FOUND if it names no commit, including revisions starting with `-`, which
   * git would take for options.
   */
  async resolveCommit(rev: string): Promise<string> {
    const sha = await this.tryResolveCommit(rev);
    if (sha === undefined) throw this.#revNotFound(rev);
    return sha;
  }

  /**
   * The sha a full ref name (`refs/heads/main`) points at, read from the ref files without starting
   * git: the loose ref, else its line in `packed-refs` (gitrepository-layout(5)); undefined when
   * neither has it. A symbolic or unusual ref is left to {@link GitCliRepo.tryResolveCommit}. For
   * the hot paths of a server (git's ref updates are atomic renames, so a read sees the old or the
   * new value); a repository whose refs live elsewhere (a linked work tree) should use git.
   */
  async tryReadRef(ref: string): Promise<string | undefined> {
    if (!/^refs\/[A-Za-z0-9._/-]+$/.test(ref) || ref.includes('..')) return this.tryResolveCommit(ref);
    try {
      const text = (await readFile(join(this.gitDir, ref), 'utf8')).trim();
      return FULL_OID.test(text) ? text : this.tryResolveCommit(ref);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return this.tryResolveCommit(ref);
    }
    const packed = await readFile(join(this.gitDir, 'packed-refs'), 'utf8').catch(() => '');
    for (const line of packed.split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0 && line.slice(space + 1).trimEnd() === ref && FULL_OID.test(line.slice(0, space))) return line.slice(0, space);
    }
    return undefined;
  }

  /** Like {@link GitCliRepo.resolveCommit}, but resolves to undefined for an unknown or unborn revision. */
  async tryResolveCommit(rev: string): Promise<string | undefined> {
    if (!isRevision(rev)) return undefined;
    try {
      const out = await this.#git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
      return out.toString('utf8').trimEnd();
    } catch (err) {
      // With --verify --quiet, "no such commit" is exit status 1 and nothing else.
      if (err instanceof GitError && err.data['exitCode'] === 1) return undefined;
      throw err;
    }
  }

  /**
   * Lists the blobs of a commit's tree recursively, in git's order, optionally only under
   * `prefixes` (whole path components: `'schemas'` or `'schemas/'` match `schemas/a.json`, `'sch'`
   * does not; an empty list matches nothing). Submodules are skipped. Uses
   * `git ls-tree -r -z --full-tree`; with `sizes`, `--long`, which looks up every blob's header
   * and makes a listing of 100k files about seven times slower.
   */
  async listTree(commit: string, prefixes?: readonly string[], options: { sizes?: boolean } = {}): Promise<TreeEntry[]> {
    if (prefixes?.length === 0) return [];
    const long = options.sizes ? ['--long'] : [];
    const out = await this.#gitWithRevs([commit], ['ls-tree', '-r', '-z', ...long, '--full-tree', commit, '--', ...(prefixes ?? [])]);
    const entries: TreeEntry[] = [];
    for (const record of splitNul(out)) {
      // `<mode> SP <type> SP <oid> [SP+ <size>] TAB <path>` (the size is padded)
      const tab = record.indexOf('\t');
      const [mode = '', type, oid = '', size] = record.slice(0, tab).split(/ +/);
      if (type !== 'blob') continue;
      entries.push({ path: record.slice(tab + 1), oid, mode, ...(size !== undefined ? { size: Number(size) } : {}) });
    }
    return entries;
  }

  /**
   * Reads one blob's bytes through the shared `git cat-file --batch` process. Throws GitError
   * E_OBJECT_NOT_FOUND if there is no blob with that id.
   */
  async readBlob(oid: string): Promise<Buffer> {
    const [object] = await this.#catFile.read([oid]);
    return this.#toBlob(oid, object);
  }

  /**
   * Reads many blobs in one pipelined round trip through the shared `git cat-file --batch`
   * process, in the order given. Throws GitError E_OBJECT_NOT_FOUND naming the first id that is
   * not a blob.
   */
  async readBlobs(oids: readonly string[]): Promise<Buffer[]> {
    const objects = await this.#catFile.read(oids);
    return objects.map((object, i) => this.#toBlob(oids[i] ?? '', object));
  }

  /**
   * The sizes of blobs in bytes, in the order given, from one `git cat-file --batch-check` (their
   * contents are not read); undefined for an id that names no blob.
   */
  async blobSizes(oids: readonly string[]): Promise<Array<number | undefined>> {
    if (oids.length === 0) return [];
    const invalid = oids.find((oid) => !FULL_OID.test(oid));
    if (invalid !== undefined) throw new GitError('E_OBJECT_NOT_FOUND', `not an object id: ${invalid}`, { oid: invalid });
    const out = (await runGit(['cat-file', '--batch-check=%(objecttype) %(objectsize)'], { cwd: this.#cwd, input: oids.join('\n') + '\n' })).toString('utf8').split('\n');
    return oids.map((_, i) => {
      const [type, size] = (out[i] ?? '').split(' ');
      return type === 'blob' ? Number(size) : undefined;
    });
  }

  /**
   * The parents of a commit, read through the shared `git cat-file --batch` process (no git
   * process is started: for hot paths); undefined when `sha` names no commit.
   */
  async readParents(sha: string): Promise<string[] | undefined> {
    const [object] = await this.#catFile.read([sha]);
    if (object?.type !== 'commit') return undefined;
    const header = object.content.toString('utf8', 0, Math.min(object.content.length, 4096)).split('\n\n', 1)[0]!;
    return header
      .split('\n')
      .filter((line) => line.startsWith('parent '))
      .map((line) => line.slice('parent '.length).trim());
  }

  /**
   * A commit and its changes against its first parent (what {@link GitCliRepo.iterateFirstParentChain}
   * yields for it), read through the shared `git cat-file --batch` process: no git process is
   * started, which keeps indexing one new commit fast. Throws GitError E_REV_NOT_FOUND if `sha`
   * names no commit.
   */
  async readCommitEntry(sha: string): Promise<PathLogEntry> {
    const { tree, ...commit } = await this.#readCommitObject(sha);
    const parentTree = commit.parents[0] === undefined ? undefined : (await this.#readCommitObject(commit.parents[0])).tree;
    const changes = await diffTreeObjects(parentTree, tree, async (oid) => {
      const [object] = await this.#catFile.read([oid]);
      if (object?.type !== 'tree') throw new GitError('E_OBJECT_NOT_FOUND', `tree '${oid}' not found in '${this.dir}'`, { oid });
      return parseTreeObject(oid, object.content, oid.length / 2);
    });
    return { commit, changes };
  }

  async #readCommitObject(sha: string): Promise<CommitObject> {
    const [object] = await this.#catFile.read([sha]);
    if (object?.type !== 'commit') throw this.#revNotFound(sha);
    return parseCommitObject(sha, object.content);
  }

  /** Reads a commit's metadata. Throws GitError E_REV_NOT_FOUND if `sha` names no commit. */
  async readCommit(sha: string): Promise<CommitInfo> {
    const [commit] = await this.log(sha, { limit: 1 });
    if (!commit) throw this.#revNotFound(sha);
    return commit;
  }

  /**
   * Lists the paths that differ between two commits' trees, optionally only under `prefixes` (as
   * in {@link GitCliRepo.listTree}). With `from` undefined, compares with the empty tree, so every
   * path is added. Uses `git diff-tree -r -z --raw --no-renames --no-abbrev`.
   */
  async diffTrees(from: string | undefined, to: string, prefixes?: readonly string[]): Promise<TreeChange[]> {
    if (prefixes?.length === 0) return [];
    const out = await this.#gitWithRevs(
      from === undefined ? [to] : [from, to],
      ['diff-tree', '-r', '-z', '--raw', '--no-renames', '--no-abbrev', from ?? EMPTY_TREE, to, '--', ...(prefixes ?? [])],
    );
    return parseRawChanges(splitNul(out), 0).changes;
  }

  /**
   * Lists the commits reachable from `rev` that changed any of `paths` (path prefixes as in
   * {@link GitCliRepo.listTree}), newest first, each with its changes to those paths.
   *
   * History is git's default simplification (git-log(1), History Simplification): a merge whose
   * tree matches one of its parents at these paths is left out and only that parent is followed,
   * so a change made on a branch is reported once, by the commit that made it. A merge that
   * matches none of its parents (a conflict resolution, or both sides changed the paths) is listed
   * with its changes against its first parent. Renames are not detected: a move is a delete plus an
   * add.
   */
  async logPaths(rev: string, paths: readonly string[], options: { limit?: number } = {}): Promise<PathLogEntry[]> {
    const entries: PathLogEntry[] = [];
    for await (const entry of this.iterateLogPaths(rev, paths, options)) entries.push(entry);
    return entries;
  }

  /**
   * {@link GitCliRepo.logPaths} as a stream: commits are yielded as git finds them, and leaving
   * the loop stops git, so a search that ends early does not pay for the rest of the history.
   * `untilCreated` ends the walk where the paths were created (`--remove-empty`): an earlier file
   * of the same name, deleted before that, is not reported. `firstParent` walks only the
   * first-parent chain of `rev` (the commits an indexer of `rev` has), a merge with its changes
   * against its first parent: a change made on a merged branch is reported by the merge.
   */
  async *iterateLogPaths(rev: string, paths: readonly string[], options: { limit?: number; untilCreated?: boolean; firstParent?: boolean } = {}): AsyncGenerator<PathLogEntry> {
    if (paths.length === 0) return;
    if (!isRevision(rev)) throw this.#revNotFound(rev);
    const args = [
      ...logArgs(options),
      '--raw',
      '--no-abbrev',
      '--no-renames',
      // `log.follow = true` in the user's config would turn on --follow for a single path, which
      // detects renames (and copies) despite --no-renames and drops the commits before them.
      '--no-follow',
      '--root',
      // Otherwise not first-parent: git would then stop leaving out merges that took one side, and
      // the side's change would be reported twice. Merges are diffed below instead.
      ...(options.firstParent ? ['--first-parent', '--diff-merges=first-parent'] : ['--diff-merges=off']),
      // Stop at the commit that created the paths instead of walking on to the root.
      ...(options.untilCreated ? ['--remove-empty'] : []),
      rev,
      '--',
      ...paths,
    ];
    const parser = new LogStreamParser();
    const ready = async function* (this: GitCliRepo, entries: PathLogEntry[]): AsyncGenerator<PathLogEntry> {
      for (const entry of entries) {
        const [first, second] = entry.commit.parents;
        if (!options.firstParent && first !== undefined && second !== undefined) entry.changes = await this.diffTrees(first, entry.commit.sha, paths);
        yield entry;
      }
    };
    try {
      for await (const chunk of streamGit(args, { cwd: this.#cwd })) yield* ready.call(this, parser.push(chunk));
      yield* ready.call(this, parser.end());
    } catch (err) {
      if ((await this.tryResolveCommit(rev)) === undefined) throw this.#revNotFound(rev, err);
      throw err;
    }
  }

  /**
   * The first-parent chain of `to` back to (not including) `from`, oldest first, each commit with
   * its changes against its first parent (all paths; a root commit against the empty tree). This is
   * how an indexer replays `main`: one git process for the whole range, streamed.
   */
  async *iterateFirstParentChain(to: string, from?: string): AsyncGenerator<PathLogEntry> {
    const revs = from === undefined ? [to] : [to, from];
    const invalid = revs.find((rev) => !isRevision(rev));
    if (invalid !== undefined) throw this.#revNotFound(invalid);
    const args = [
      ...logArgs({}),
      '--first-parent',
      '--reverse',
      '--raw',
      '--no-abbrev',
      '--no-renames',
      '--root',
      '--diff-merges=first-parent',
      to,
      ...(from === undefined ? [] : [`^${from}`]),
      '--',
    ];
    const parser = new LogStreamParser();
    try {
      for await (const chunk of streamGit(args, { cwd: this.#cwd })) yield* parser.push(chunk);
      yield* parser.end();
    } catch (err) {
      for (const rev of revs) if ((await this.tryResolveCommit(rev)) === undefined) throw this.#revNotFound(rev, err);
      throw err;
    }
  }

  /** Number of commits {@link GitCliRepo.iterateFirstParentChain} yields for the same range. */
  async countFirstParent(to: string, from?: string): Promise<number> {
    const out = await this.#gitWithRevs(from === undefined ? [to] : [to, from], ['rev-list', '--count', '--first-parent', to, ...(from === undefined ? [] : [`^${from}`]), '--']);
    return Number(out.toString('utf8').trim());
  }

  /** The commits of `rev`'s first-parent chain, newest first (`git rev-list --first-parent`). */
  async firstParentShas(rev: string): Promise<string[]> {
    const out = await this.#gitWithRevs([rev], ['rev-list', '--first-parent', rev, '--']);
    return out.toString('utf8').split('\n').filter((line) => line !== '');
  }

  /** True when `ancestor` is `commit` or one of its ancestors (`git merge-base --is-ancestor`). */
  async isAncestor(ancestor: string, commit: string): Promise<boolean> {
    try {
      await this.#gitWithRevs([ancestor, commit], ['merge-base', '--is-ancestor', ancestor, commit]);
      return true;
    } catch (err) {
      if (err instanceof GitError && err.code === 'E_REV_NOT_FOUND') throw err;
      if ((err as { data?: { exitCode?: number } }).data?.exitCode === 1) return false;
      throw err;
    }
  }

  /** Lists the commits reachable from `rev`, newest first, optionally skipping some and limited. */
  async log(rev: string, options: { limit?: number; skip?: number } = {}): Promise<CommitInfo[]> {
    const tokens = splitNul(await this.#gitWithRevs([rev], [...logArgs(options), rev, '--']));
    const commits: CommitInfo[] = [];
    for (let i = 0; i < tokens.length; i += COMMIT_FIELDS) commits.push(parseCommit(tokens, i));
    return commits;
  }

  /**
   * Lists, sorted, the files of the work tree that git would track, optionally only under
   * `prefixes` (as in {@link GitCliRepo.listTree}): tracked files still present plus untracked
   * files that are not ignored (`git ls-files --cached --others --exclude-standard`, minus
   * `--deleted`). Submodules and nested repositories are skipped. Throws GitError E_BARE_REPO
   * without a work tree.
   */
  async listWorkTreeFiles(prefixes?: readonly string[]): Promise<string[]> {
    if (this.bare) throw new GitError('E_BARE_REPO', `repository '${this.dir}' has no work tree`, { dir: this.dir });
    if (prefixes?.length === 0) return [];
    const pathspec = ['--', ...(prefixes ?? [])];
    const [staged, others, deleted] = await Promise.all([
      this.#git(['ls-files', '-z', '--stage', ...pathspec]),
      this.#git(['ls-files', '-z', '--others', '--exclude-standard', ...pathspec]),
      this.#git(['ls-files', '-z', '--deleted', ...pathspec]),
    ]);
    const files = new Set<string>();
    for (const record of splitNul(staged)) {
      // `<mode> SP <oid> SP <stage> TAB <path>`; a conflicted path has one record per stage.
      if (!record.startsWith(GITLINK)) files.add(record.slice(record.indexOf('\t') + 1));
    }
    for (const path of splitNul(others)) {
      // A path ending in `/` is an untracked nested repository, which git would add as a submodule.
      if (!path.endsWith('/')) files.add(path);
    }
    for (const path of splitNul(deleted)) files.delete(path);
    return [...files].sort();
  }

  /**
   * Blob ids the index holds for paths under `prefixes` (as in {@link GitCliRepo.listTree}),
   * stage 0 only: what git would commit, including files a sparse checkout keeps off the disk.
   */
  async listIndexBlobs(prefixes?: readonly string[]): Promise<Map<string, string>> {
    if (this.bare) throw new GitError('E_BARE_REPO', `repository '${this.dir}' has no index`, { dir: this.dir });
    const blobs = new Map<string, string>();
    if (prefixes?.length === 0) return blobs;
    for (const record of splitNul(await this.#git(['ls-files', '-z', '--stage', '--', ...(prefixes ?? [])]))) {
      // `<mode> SP <oid> SP <stage> TAB <path>`
      const tab = record.indexOf('\t');
      const [mode, oid = '', stage] = record.slice(0, tab).split(' ');
      if (mode !== GITLINK && stage === '0') blobs.set(record.slice(tab + 1), oid);
    }
    return blobs;
  }

  /** Ends the `git cat-file` process; a later read starts a new one. Idempotent. */
  async close(): Promise<void> {
    await this.#catFile.close();
  }

  #git(args: readonly string[]): Promise<Buffer> {
    return runGit(args, { cwd: this.#cwd });
  }

  /**
   * Runs a command naming revisions. If it fails, a revision that names no commit is the likelier
   * culprit than git, so that is reported as E_REV_NOT_FOUND; the check costs nothing on success.
   */
  async #gitWithRevs(revs: readonly string[], args: readonly string[]): Promise<Buffer> {
    const invalid = revs.find((rev) => !isRevision(rev));
    if (invalid !== undefined) throw this.#revNotFound(invalid);
    try {
      return await this.#git(args);
    } catch (err) {
      for (const rev of revs) {
        if ((await this.tryResolveCommit(rev)) === undefined) throw this.#revNotFound(rev, err);
      }
      throw err;
    }
  }

  #revNotFound(rev: string, cause?: unknown): GitError {
    return new GitError('E_REV_NOT_FOUND', `revision '${rev}' not found in '${this.dir}'`, { rev }, { cause });
  }

  #toBlob(oid: string, object: CatFileObject | undefined): Buffer {
    if (object?.type === 'blob') return object.content;
    const problem = object ? `is a ${object.type}, not a blob` : 'not found';
    throw new GitError('E_OBJECT_NOT_FOUND', `blob '${oid}' ${problem} in '${this.dir}'`, { oid });
  }
}

/** A revision git will not mistake for an option. */
function isRevision(rev: string): boolean {
  return rev !== '' && !rev.startsWith('-');
}

/** `git log` printing commits as COMMIT_FIELDS NUL-terminated fields (`-z` with a tformat). */
function logArgs(options: { limit?: number; skip?: number }): string[] {
  return [
    'log',
    '-z',
    '--no-show-signature',
    `--format=${COMMIT_FORMAT}`,
    ...(options.limit === undefined ? [] : [`--max-count=${options.limit}`]),
    ...(options.skip === undefined ? [] : [`--skip=${options.skip}`]),
  ];
}

/**
 * Turns the chunks of a streamed `git log -z --raw` into entries as their commits complete. A
 * commit with many changes (a root commit of 100k files) arrives over many chunks; it is parsed
 * again only once its tokens have doubled, so the work stays linear in the output.
 */
class LogStreamParser {
  #tokens: string[] = [];
  #rest: Buffer = Buffer.alloc(0);
  #retryAt = 0;

  /** Takes the next chunk; returns the entries it completed. */
  push(chunk: Buffer): PathLogEntry[] {
    const data = this.#rest.length ? Buffer.concat([this.#rest, chunk]) : chunk;
    const end = data.lastIndexOf(0);
    this.#rest = data.subarray(end + 1);
    if (end === -1) return [];
    for (const token of splitNul(data.subarray(0, end + 1))) this.#tokens.push(token);
    return this.#tokens.length < this.#retryAt ? [] : this.#take(false);
  }

  /** The entries left when the output has ended. */
  end(): PathLogEntry[] {
    return this.#take(true);
  }

  #take(final: boolean): PathLogEntry[] {
    const { entries, consumed } = takeLogEntries(this.#tokens, final);
    this.#tokens = this.#tokens.slice(consumed);
    this.#retryAt = this.#tokens.length * 2;
    return entries;
  }
}

/**
 * Parses the complete commits at the start of `git log -z --raw` tokens: per commit the
 * COMMIT_FIELDS, then (when it changed something) `--raw` records. A commit is complete once the
 * next one has started, or when the output has ended (`final`).
 */
function takeLogEntries(tokens: readonly string[], final: boolean): { entries: PathLogEntry[]; consumed: number } {
  const entries: PathLogEntry[] = [];
  let consumed = 0;
  while (consumed + COMMIT_FIELDS <= tokens.length) {
    const { changes, next } = parseRawChanges(tokens, consumed + COMMIT_FIELDS);
    if (next >= tokens.length && !final) break;
    entries.push({ commit: parseCommit(tokens, consumed), changes });
    consumed = next;
  }
  return { entries, consumed };
}

/** Splits `-z` output into its NUL-terminated records. */
function splitNul(out: Buffer): string[] {
  const records = out.toString('utf8').split('\0');
  records.pop(); // after the last terminator
  return records;
}

function parseCommit(tokens: readonly string[], start: number): CommitInfo {
  const field = (i: number): string => {
    const value = tokens[start + i];
    if (value === undefined) throw new GitError('E_GIT', 'truncated git log output', { tokens: tokens.length });
    return value;
  };
  return {
    sha: field(0),
    parents: field(1) === '' ? [] : field(1).split(' '),
    authorName: field(2),
    authorEmail: field(3),
    authorDate: field(4),
    committerName: field(5),
    committerEmail: field(6),
    committerDate: field(7),
    subject: field(8),
    body: field(9).replace(/\n+$/, ''),
  };
}

/**
 * Parses `--raw -z` records from `tokens[start]` on: `:<old mode> <new mode> <old oid> <new oid>
 * <status>`, then the path (git-diff(1), Raw output format). In `git log` output the first record
 * of a commit is preceded by a newline. Returns the changes and the index after them.
 */
function parseRawChanges(tokens: readonly string[], start: number): { changes: TreeChange[]; next: number } {
  const changes: TreeChange[] = [];
  let i = start;
  for (let meta = tokens[i]; meta !== undefined && /^\n?:/.test(meta); meta = tokens[i]) {
    const path = tokens[i + 1] ?? '';
    i += 2;
    const [oldMode, newMode, oldOid, newOid, status] = meta.slice(meta.indexOf(':') + 1).split(' ');
    // Submodules are not blobs: treat them as absent, as listTree does.
    const hadBlob = oldMode !== ABSENT && oldMode !== GITLINK;
    const hasBlob = newMode !== ABSENT && newMode !== GITLINK;
    if (!hadBlob && !hasBlob) continue;
    changes.push({
      status: !hadBlob ? 'A' : !hasBlob ? 'D' : (status as 'M' | 'T'),
      path,
      ...(hadBlob && { oldOid }),
      ...(hasBlob && { newOid }),
    });
  }
  return { changes, next: i };
}
