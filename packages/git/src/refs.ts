import { setTimeout as sleep } from 'node:timers/promises';
import type { GitCliRepo } from './GitCliRepo.js';
import { GitError } from './GitError.js';
import { runGit } from './runGit.js';

/** A full object id: SHA-1 (40 hex digits) or SHA-256 (64). */
const FULL_OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/**
 * How often a ref update that lost a lock race is retried while the ref is still where the caller
 * expects it. Git already waits up to core.filesRefLockTimeout (100 ms) for each lock; the retries
 * cover a lock holder that then failed its own compare-and-swap and left the ref unchanged.
 */
const LOCK_RETRIES = 10;

/**
 * Compare-and-swap: moves `ref` to `newSha` only if it is at `expectedOld` (null = must not exist),
 * with `git update-ref <ref> <new> <old>` (git-update-ref(1)), which takes the ref's lock file,
 * compares and writes under it, so of several concurrent callers with the same `expectedOld`
 * exactly one wins.
 *
 * Throws GitError E_REF_CONFLICT (data `ref`, `expected`, `actual`; `actual` undefined when the ref
 * does not exist) if the ref is elsewhere; E_GIT for a ref name outside `refs/` or not allowed by
 * git-check-ref-format(1), for shas that are not full object ids, for an object the repository does
 * not have, and for a lock that stays taken (a crashed git can leave `<ref>.lock` behind).
 */
export async function updateRef(repo: GitCliRepo, ref: string, newSha: string, expectedOld: string | null): Promise<void> {
  checkRefName(ref);
  checkOid(ref, 'newSha', newSha);
  if (expectedOld !== null) checkOid(ref, 'expectedOld', expectedOld);
  // An empty old value means "must not exist" (git-update-ref(1)).
  await compareAndSwap(repo, ref, ['update-ref', ref, newSha, expectedOld ?? ''], expectedOld);
}

/**
 * Deletes `ref` only if it is at `expectedOld` (`git update-ref -d <ref> <old>`), loose or packed.
 * Throws GitError E_REF_CONFLICT if it is elsewhere or does not exist, E_GIT as {@link updateRef}.
 */
export async function deleteRef(repo: GitCliRepo, ref: string, expectedOld: string): Promise<void> {
  checkRefName(ref);
  checkOid(ref, 'expectedOld', expectedOld);
  await compareAndSwap(repo, ref, ['update-ref', '-d', ref, expectedOld], expectedOld);
}

/**
 * Runs the guarded update. When git fails, the ref is read again: somewhere other than expected is
 * a conflict; still where expected after losing a lock race means the lock holder gave up, so the
 * update is tried again; any other failure is git's error.
 */
async function compareAndSwap(repo: GitCliRepo, ref: string, args: string[], expected: string | null): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await runGit(args, { cwd: repo.workTree ?? repo.gitDir });
      return;
    } catch (err) {
      const actual = await readRef(repo, ref);
      if (actual !== (expected ?? undefined)) {
        throw new GitError(
          'E_REF_CONFLICT',
          `ref '${ref}' is at ${actual ?? 'nothing'}, expected ${expected ?? 'no ref'}`,
          { ref, expected, actual },
          { cause: err },
        );
      }
      if (attempt >= LOCK_RETRIES || !isLockFailure(err)) throw err;
      await sleep(5 * (attempt + 1));
    }
  }
}

/** The object id `ref` points at (symbolic refs followed), or undefined if it does not exist. */
async function readRef(repo: GitCliRepo, ref: string): Promise<string | undefined> {
  try {
    return (await runGit(['rev-parse', '--verify', '--quiet', ref], { cwd: repo.workTree ?? repo.gitDir })).toString('utf8').trim();
  } catch (err) {
    // With --verify --quiet, "no such ref" is exit status 1 and nothing else.
    if (err instanceof GitError && err.data['exitCode'] === 1) return undefined;
    throw err;
  }
}

/** Git could not create `<ref>.lock` (or `packed-refs.lock`) because another process holds it. */
function isLockFailure(err: unknown): boolean {
  const stderr = err instanceof GitError ? err.data['stderr'] : undefined;
  return typeof stderr === 'string' && /\.lock'?: File exists/.test(stderr);
}

/**
 * The rules of git-check-ref-format(1) for a full ref name, checked here so that a bad name is
 * reported as such rather than as a ref "not at the expected sha".
 */
function checkRefName(ref: string): void {
  const bad =
    !ref.startsWith('refs/') ||
    ref.endsWith('/') ||
    ref.endsWith('.') ||
    ref.includes('..') ||
    ref.includes('@{') ||
    [...ref].some((ch) => ch <= ' ' || ch === '\x7f' || '~^:?*[\\'.includes(ch)) ||
    ref.split('/').some((part) => part === '' || part.startsWith('.') || part.endsWith('.lock'));
  if (bad) throw new GitError('E_GIT', `ref '${ref}' is not a valid full ref name (refs/..., see git-check-ref-format)`, { ref });
}

function checkOid(ref: string, name: string, value: string): void {
  if (!FULL_OID.test(value)) throw new GitError('E_GIT', `${name} '${value}' for ref '${ref}' is not a full object id`, { ref, [name]: value });
}
