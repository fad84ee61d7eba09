import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commitTree } from './commitTree.js';
import type { GitCliRepo } from './GitCliRepo.js';
import { deleteRef, updateRef } from './refs.js';
import { useTempRepos } from './testing/tempRepos.js';

const { newRepo } = useTempRepos('estate-refs');

const REF = 'refs/heads/cr/1';

function git(repo: GitCliRepo, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo.gitDir, encoding: 'utf8' });
}

/** `count` distinct root commits of the empty tree, not referenced by any ref. */
async function commits(repo: GitCliRepo, count: number): Promise<string[]> {
  const tree = git(repo, 'mktree').trim();
  return Promise.all(Array.from({ length: count }, (_, i) => commitTree(repo, { tree, parents: [], message: `c${i}` })));
}

describe('updateRef', () => {
  it('creates, moves and refuses stale updates', async () => {
    const repo = await newRepo({ bare: true });
    const [a = '', b = '', c = ''] = await commits(repo, 3);

    await updateRef(repo, REF, a, null);
    expect(await repo.resolveCommit(REF)).toBe(a);
    await expect(updateRef(repo, REF, b, null)).rejects.toMatchObject({
      code: 'E_REF_CONFLICT',
      message: `ref '${REF}' is at ${a}, expected no ref`,
      data: { ref: REF, expected: null, actual: a },
    });

    await updateRef(repo, REF, b, a);
    expect(await repo.resolveCommit(REF)).toBe(b);
    await expect(updateRef(repo, REF, c, a)).rejects.toMatchObject({
      code: 'E_REF_CONFLICT',
      message: `ref '${REF}' is at ${b}, expected ${a}`,
      data: { ref: REF, expected: a, actual: b },
    });
    await expect(updateRef(repo, 'refs/heads/missing', c, a)).rejects.toMatchObject({
      code: 'E_REF_CONFLICT',
      message: `ref 'refs/heads/missing' is at nothing, expected ${a}`,
      data: { ref: 'refs/heads/missing', expected: a, actual: undefined },
    });
    expect(await repo.resolveCommit(REF)).toBe(b);
  });

  it('compares against a packed ref', async () => {
    const repo = await newRepo({ bare: true });
    const [a = '', b = '', c = ''] = await commits(repo, 3);
    await updateRef(repo, REF, a, null);
    git(repo, 'pack-refs', '--all');
    await expect(updateRef(repo, REF, c, b)).rejects.toMatchObject({ code: 'E_REF_CONFLICT', data: { actual: a } });
    await updateRef(repo, REF, b, a);
    expect(await repo.resolveCommit(REF)).toBe(b);
  });

  it('lets exactly one of 20 concurrent updates from the same old value win', async () => {
    const repo = await newRepo({ bare: true });
    const [base = '', ...candidates] = await commits(repo, 21);
    await updateRef(repo, REF, base, null);

    const results = await Promise.allSettled(candidates.map((sha) => updateRef(repo, REF, sha, base)));

    const winners = candidates.filter((_, i) => results[i]?.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    const winner = winners[0] ?? '';
    expect(await repo.resolveCommit(REF)).toBe(winner);
    for (const result of results.filter((r) => r.status === 'rejected')) {
      expect(result.reason).toMatchObject({
        code: 'E_REF_CONFLICT',
        message: `ref '${REF}' is at ${winner}, expected ${base}`,
        data: { ref: REF, expected: base, actual: winner },
      });
    }
  });

  it('lets exactly one of 20 concurrent creations win', async () => {
    const repo = await newRepo({ bare: true });
    const candidates = await commits(repo, 20);

    const results = await Promise.allSettled(candidates.map((sha) => updateRef(repo, REF, sha, null)));

    const winners = candidates.filter((_, i) => results[i]?.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    expect(await repo.resolveCommit(REF)).toBe(winners[0]);
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'won'));
    expect(codes.filter((code) => code === 'E_REF_CONFLICT')).toHaveLength(19);
  });

  it('rejects bad ref names, ids and missing objects', async () => {
    const repo = await newRepo({ bare: true });
    const [a = ''] = await commits(repo, 1);
    for (const ref of ['main', 'refs/heads/a..b', 'refs/heads/x.lock', 'refs/heads/a b', 'refs/heads/', 'refs/heads/.x', 'refs/heads/a@{1}']) {
      await expect(updateRef(repo, ref, a, null), ref).rejects.toMatchObject({
        code: 'E_GIT',
        message: `ref '${ref}' is not a valid full ref name (refs/..., see git-check-ref-format)`,
      });
    }
    await expect(updateRef(repo, REF, 'main', null)).rejects.toMatchObject({
      code: 'E_GIT',
      message: `newSha 'main' for ref '${REF}' is not a full object id`,
    });
    await expect(updateRef(repo, REF, a, a.slice(0, 12))).rejects.toMatchObject({
      code: 'E_GIT',
      message: `expectedOld '${a.slice(0, 12)}' for ref '${REF}' is not a full object id`,
    });
    const missing = '1234567890123456789012345678901234567890';
    await expect(updateRef(repo, REF, missing, null)).rejects.toMatchObject({
      code: 'E_GIT',
      message: expect.stringContaining(`nonexistent object ${missing}`) as string,
    });
    expect(await repo.tryResolveCommit(REF)).toBeUndefined();
  });

  it('reports a lock left behind by a crashed git once retries are spent', async () => {
    const repo = await newRepo({ bare: true });
    const [a = '', b = ''] = await commits(repo, 2);
    await updateRef(repo, REF, a, null);
    execFileSync('sh', ['-c', `: > '${repo.gitDir}/${REF}.lock'`]);
    await expect(updateRef(repo, REF, b, a)).rejects.toMatchObject({
      code: 'E_GIT',
      message: expect.stringContaining(`${REF}.lock': File exists`) as string,
    });
    expect(await repo.resolveCommit(REF)).toBe(a);
  });
});

describe('deleteRef', () => {
  it('deletes only at the expected sha, loose or packed', async () => {
    const repo = await newRepo({ bare: true });
    const [a = '', b = ''] = await commits(repo, 2);
    await updateRef(repo, REF, a, null);
    await expect(deleteRef(repo, REF, b)).rejects.toMatchObject({
      code: 'E_REF_CONFLICT',
      message: `ref '${REF}' is at ${a}, expected ${b}`,
      data: { ref: REF, expected: b, actual: a },
    });
    await deleteRef(repo, REF, a);
    expect(await repo.tryResolveCommit(REF)).toBeUndefined();
    await expect(deleteRef(repo, REF, a)).rejects.toMatchObject({
      code: 'E_REF_CONFLICT',
      message: `ref '${REF}' is at nothing, expected ${a}`,
    });

    await updateRef(repo, REF, b, null);
    git(repo, 'pack-refs', '--all');
    await deleteRef(repo, REF, b);
    expect(await repo.tryResolveCommit(REF)).toBeUndefined();
    expect(git(repo, 'for-each-ref', 'refs/heads/cr')).toBe('');
  });

  it('lets exactly one of 20 concurrent deletions win', async () => {
    const repo = await newRepo({ bare: true });
    const [a = ''] = await commits(repo, 1);
    await updateRef(repo, REF, a, null);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => deleteRef(repo, REF, a)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const result of results.filter((r) => r.status === 'rejected')) {
      expect(result.reason).toMatchObject({ code: 'E_REF_CONFLICT', data: { ref: REF, expected: a, actual: undefined } });
    }
    expect(await repo.tryResolveCommit(REF)).toBeUndefined();
  });
});
