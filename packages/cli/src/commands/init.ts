import { cpSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EstateError } from '@estate/core';
import { commitFiles, initRepo, loadCommitEstate, runGit, type GitIdentity } from '@estate/git';
import type { CliContext } from '../context.js';
import { createStyles } from '../io.js';

/** The example estate shipped with the CLI. */
export const DEMO_TEMPLATE = fileURLToPath(new URL('../../templates/demo/', import.meta.url));

/**
 * `estate init [DIR]`: a new git repo on branch `main` holding the example estate, committed, and
 * validated from that commit. Refuses a directory that already has files in it.
 */
export async function initCommand(ctx: CliContext, dir: string | undefined): Promise<number> {
  const target = ctx.repoDir(dir);
  const stat = statSync(target, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory()) {
    throw new EstateError('E_EXISTS', `${target} exists and is not a directory; estate init needs a new or empty directory`, { dir: target });
  }
  if (stat && readdirSync(target).length > 0) {
    throw new EstateError('E_EXISTS', `${target} is not empty; estate init needs a new or empty directory`, { dir: target });
  }
  const repo = await initRepo(target);
  try {
    cpSync(DEMO_TEMPLATE, target, { recursive: true });
    const files: Record<string, Buffer> = {};
    for (const entry of readdirSync(target, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      const rel = relative(target, path).split(sep).join('/');
      if (!rel.startsWith('.git/')) files[rel] = readFileSync(path);
    }
    const identity = await gitIdentity(target);
    const sha = await commitFiles(repo, {
      ref: 'refs/heads/main',
      files,
      message: 'Initial estate (estate init)',
      expectedOld: null,
      ...(identity ? { author: identity, committer: identity } : {}),
    });
    // The commit was written without the index; make `git status` agree with the work tree.
    await runGit(['read-tree', 'HEAD'], { cwd: target });
    const estate = await loadCommitEstate(repo, sha, { cache: ctx.cache });
    const s = createStyles(ctx.io);
    const kinds = Object.entries(estate.stats.byKind).map(([kind, n]) => `${n} ${kind}`).join(', ');
    ctx.io.stdout(`Initialized an estate in ${target} (commit ${sha.slice(0, 12)} on main)\n`);
    ctx.io.stdout(`  ${estate.assets.size} assets: ${kinds}; ${estate.relations.length} relations\n`);
    ctx.io.stdout(estate.diagnostics.length === 0 ? `  ${s.green('✓')} valid\n` : `  ${s.red('✗')} ${estate.diagnostics.length} validation errors\n`);
    const shown = relative(ctx.io.cwd, target);
    ctx.io.stdout(`Next:\n  cd ${shown.startsWith('..') ? target : shown || '.'}\n  estate list --kind Host\n  estate relations host/db-01 --direction in --depth 3\n  estate new host web-03\n`);
    return estate.diagnostics.length === 0 ? 0 : 1;
  } finally {
    await repo.close();
  }
}

/**
 * The user's identity as git itself would use it (GIT_AUTHOR_* variables, then user.name and
 * user.email); when git knows none, commits use Estate's own.
 */
async function gitIdentity(cwd: string): Promise<GitIdentity | undefined> {
  try {
    const ident = (await runGit(['var', 'GIT_AUTHOR_IDENT'], { cwd })).toString().trim();
    const match = /^(.*) <([^>]*)> \d+ [+-]\d{4}$/.exec(ident);
    return match ? { name: match[1]!, email: match[2]! } : undefined;
  } catch {
    return undefined;
  }
}
