import { hasErrorCode } from '@estate/core';
import { deleteRef, runGit, type GitCliRepo } from '@estate/git';
import { humanRole } from '../auth/tokens.js';
import type { PushContext, PushHandler, RefUpdate } from '../gitHttp/types.js';
import type { Actor, ChangeService, ChangeView } from './ChangeService.js';
import type { SqliteChangeStore } from './SqliteChangeStore.js';

const MAIN = 'refs/heads/main';
const FOR_MAIN = 'refs/for/main';
const CR_BRANCH = /^refs\/heads\/(cr\/[A-Za-z0-9._/-]{1,100})$/;
const EMERGENCY_OPTION = /^emergency=(.*)$/s;

/**
 * Turns git pushes into change requests (docs/git-push.md): `refs/for/main` opens one on a new
 * `cr/<id>` branch, a `cr/*` branch opens or updates one, and `main` is refused, but for an admin's
 * emergency push (`git push -o emergency="<reason>"`, fast-forward only), which is recorded as a
 * merged emergency change with its post-merge review. A push is refused as a whole if any of its
 * ref updates is, and every refusal goes to the audit trail.
 */
export function changePushHandler(deps: { repo: GitCliRepo; changes: ChangeService; records: SqliteChangeStore; publicUrl: () => string }): PushHandler {
  const { repo, changes, records } = deps;
  const actorOf = (ctx: PushContext): Actor => ({ user: ctx.pusher.name, role: humanRole(ctx.pusher), groups: ctx.pusher.groups });
  const link = (change: ChangeView): string => `${deps.publicUrl()}/api/v1/changes/${change.id}`;

  const refusal = async (update: RefUpdate, ctx: PushContext): Promise<string | undefined> => {
    if (update.ref === MAIN) {
      const reason = emergencyReason(ctx.pushOptions);
      if (reason === undefined) {
        return 'main only changes through a change request. Open one with:\n  git push origin HEAD:refs/for/main\n(an admin can push an emergency fix with: git push -o emergency="<reason>" origin HEAD:main)';
      }
      if (ctx.pusher.role !== 'admin') return `an emergency push needs the role 'admin'; ${ctx.pusher.name} has '${ctx.pusher.role}'. Open a change request: git push origin HEAD:refs/for/main`;
      if (reason.trim() === '') return 'an emergency push needs a reason: git push -o emergency="<why this cannot wait>" origin HEAD:main';
      if (update.newSha === undefined) return 'main cannot be deleted';
      if (update.oldSha !== undefined && !(await isAncestor(repo, update.oldSha, update.newSha, ctx.quarantineEnv))) {
        return 'an emergency push must fast-forward main: fetch, rebase onto origin/main and push again';
      }
      return undefined;
    }
    if (update.ref === FOR_MAIN) return update.newSha === undefined ? 'nothing to delete at refs/for/main' : undefined;
    const branch = CR_BRANCH.exec(update.ref)?.[1];
    if (branch !== undefined) {
      if (update.newSha === undefined) return `change request branches are not deleted by a push; close the change request instead (estate change close)`;
      const existing = records.byBranch(branch);
      if (existing && existing.state !== 'open' && existing.state !== 'approved') return `change request ${existing.id} (${branch}) is ${existing.state}; push to refs/for/main to open a new one`;
      return undefined;
    }
    return `${update.ref} does not accept pushes: push to refs/for/main (opens a change request) or to a cr/* branch`;
  };

  return {
    async checkPush(updates, ctx) {
      const refused: string[] = [];
      for (const update of updates) {
        const reason = await refusal(update, ctx);
        if (reason !== undefined) refused.push(updates.length > 1 ? `${update.ref}: ${reason}` : reason);
      }
      if (refused.length === 0) return { messages: [] };
      const message = refused.join('\n');
      changes.recordRefusedPush(actorOf(ctx), updates.map((u) => u.ref), message);
      return { refuse: message, messages: [] };
    },

    async afterPush(updates, ctx) {
      const actor = actorOf(ctx);
      const messages: string[] = [];
      for (const update of updates) {
        if (update.newSha === undefined) continue;
        if (update.ref === MAIN) {
          const change = await changes.recordEmergencyPush(actor, emergencyReason(ctx.pushOptions) ?? '', update.oldSha, update.newSha);
          messages.push(`EMERGENCY change ${change.id} recorded: ${link(change)}`, `an approver must acknowledge its review by ${change.review?.dueAt ?? 'within 24 h'}`);
          continue;
        }
        const branch = update.ref === FOR_MAIN ? undefined : CR_BRANCH.exec(update.ref)?.[1];
        const existed = branch !== undefined && records.byBranch(branch) !== undefined;
        const change = await changes.fromPush(actor, branch, update.newSha);
        if (update.ref === FOR_MAIN) {
          await deleteRef(repo, FOR_MAIN, update.newSha).catch((error: unknown) => {
            if (!hasErrorCode(error, 'E_REF_CONFLICT')) throw error;
          });
        }
        messages.push(`change request ${change.id} ${existed ? `updated (revision ${change.revision})` : 'opened'}: ${link(change)}`, `  branch ${change.branch}; checks ${change.checks?.status ?? 'pending'}`);
        for (const blocker of change.blockers) messages.push(`  - ${blocker.message}`);
      }
      return { messages };
    },
  };
}

/** The reason of the last `-o emergency=<reason>` push option, if any. */
function emergencyReason(options: string[]): string | undefined {
  let reason: string | undefined;
  for (const option of options) {
    const match = EMERGENCY_OPTION.exec(option);
    if (match) reason = match[1];
  }
  return reason;
}

/** `git merge-base --is-ancestor`, seeing the quarantined objects of a push in progress. */
async function isAncestor(repo: GitCliRepo, ancestor: string, commit: string, env: Record<string, string>): Promise<boolean> {
  try {
    await runGit(['merge-base', '--is-ancestor', ancestor, commit], { cwd: repo.gitDir, env });
    return true;
  } catch {
    return false;
  }
}
