import { spawn } from 'node:child_process';
import type { GitCliRepo } from './GitCliRepo.js';
import { GitError } from './GitError.js';
import { gitEnv } from './runGit.js';

/** One path a merge could not resolve. */
export interface MergeConflict {
  /** Repo-relative path, as git names it: for a rename both names are listed, each on its own. */
  path: string;
  /**
   * The kind of conflict, as git's message names it: `content`, `add/add`, `modify/delete`,
   * `rename/delete`, `rename/rename`, `file/directory`, `binary`, `distinct modes`, ...
   */
  reason: string;
  /** Git's one-line explanation (it names the two sides by the revisions given to the merge). */
  message?: string;
}

/** Outcome of {@link mergeTrees}. */
export interface MergeTreesResult {
  /** The merged tree's id; set only when the merge is clean. */
  tree?: string;
  /** One entry per conflicting path, sorted by path; empty when the merge is clean. */
  conflicts: MergeConflict[];
}

/** Conflict messages start with `CONFLICT (<kind>)`; a few omit the space before the parenthesis. */
const CONFLICT_KIND = /^CONFLICT ?\(([^)]+)\)/;

/**
 * Three-way merge of two commits without a work tree or index (`git merge-tree --write-tree -z`,
 * git-merge-tree(1), git ≥ 2.38), the merge base computed by git (recursive, as `git merge` does).
 * The merged tree and its blobs are written to the object database; nothing else changes.
 *
 * Exit status 1 means conflicts, not failure: they are read from the output, where git lists the
 * conflicted index entries (`<mode> <oid> <stage>\t<path>`) and then, after an empty record, its
 * messages as `<count>`, `<path>`×count, `<type>`, `<message>` (all NUL-terminated with -z).
 * Every path named by a CONFLICT message, and every conflicted entry, becomes one conflict.
 *
 * Throws GitError E_REV_NOT_FOUND when `ours` or `theirs` names no commit, E_NO_MERGE_BASE when
 * they share no history, E_GIT when git fails otherwise.
 */
export async function mergeTrees(repo: GitCliRepo, ours: string, theirs: string): Promise<MergeTreesResult> {
  for (const rev of [ours, theirs]) {
    if (rev === '' || rev.startsWith('-')) throw revNotFound(repo, rev);
  }
  const args = ['merge-tree', '--write-tree', '-z', ours, theirs];
  const result = await runGitStatus(args, repo.workTree ?? repo.gitDir);
  // An unknown revision also exits with 1, but prints nothing to stdout.
  if (result.exitCode === 0 || (result.exitCode === 1 && result.stdout.length > 0)) {
    return parseMergeTree(result.stdout, result.exitCode === 0);
  }
  for (const rev of [ours, theirs]) {
    if ((await repo.tryResolveCommit(rev)) === undefined) throw revNotFound(repo, rev);
  }
  const data = { args, exitCode: result.exitCode, stderr: result.stderr };
  if (result.stderr.includes('unrelated histories')) {
    throw new GitError('E_NO_MERGE_BASE', `cannot merge '${theirs}' into '${ours}' in '${repo.dir}': they share no history`, data);
  }
  const status = result.signal ?? `exit ${String(result.exitCode)}`;
  throw new GitError('E_GIT', `git merge-tree failed (${status}): ${result.stderr || 'no error output'}`, data, { cause: result.error });
}

/** Reads `git merge-tree --write-tree -z` output (git-merge-tree(1), OUTPUT). */
function parseMergeTree(out: Buffer, clean: boolean): MergeTreesResult {
  const records = out.toString('utf8').split('\0');
  records.pop(); // after the last terminator
  const [tree = ''] = records;
  if (clean) return { tree, conflicts: [] };

  let i = 1;
  const staged: string[] = [];
  for (; i < records.length && records[i] !== ''; i++) {
    const record = records[i] ?? '';
    staged.push(record.slice(record.indexOf('\t') + 1));
  }
  i++; // the empty record between the entries and the messages

  const conflicts = new Map<string, MergeConflict>();
  while (i < records.length) {
    const count = Number(records[i]);
    if (!Number.isInteger(count) || count < 0 || i + count + 2 >= records.length) {
      throw new GitError('E_GIT', `unexpected git merge-tree output at record ${i}: ${JSON.stringify(records[i])}`, { record: i });
    }
    const paths = records.slice(i + 1, i + 1 + count);
    const type = records[i + 1 + count] ?? '';
    const message = (records[i + 2 + count] ?? '').trimEnd();
    i += count + 3;
    // Informational messages (`Auto-merging`, renames applied) are not conflicts. The kind is
    // taken from the message first: for an add/add conflict git's type says only "contents".
    const reason = CONFLICT_KIND.exec(message)?.[1] ?? CONFLICT_KIND.exec(type)?.[1];
    if (reason === undefined) continue;
    for (const path of paths) if (!conflicts.has(path)) conflicts.set(path, { path, reason, message });
  }
  // Git leaves no conflicted entry without a message; should one appear, still report it.
  for (const path of staged) if (!conflicts.has(path)) conflicts.set(path, { path, reason: 'unknown' });
  return { conflicts: [...conflicts.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
}

function revNotFound(repo: GitCliRepo, rev: string): GitError {
  return new GitError('E_REV_NOT_FOUND', `revision '${rev}' not found in '${repo.dir}'`, { rev });
}

/**
 * Runs git and resolves with its exit status and whole output whatever the status, for commands
 * whose non-zero status is an answer (runGit rejects on any non-zero status and drops stdout).
 */
function runGitStatus(
  args: readonly string[],
  cwd: string,
): Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string; error?: Error }> {
  return new Promise((resolve) => {
    const child = spawn('git', args, { cwd, env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let error: Error | undefined;
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => (error = err));
    child.on('close', (exitCode, signal) =>
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr).toString('utf8').trim(),
        ...(error !== undefined && { error }),
      }),
    );
  });
}
