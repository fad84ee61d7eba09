import {
  activeFreezes,
  diffEstates,
  evaluatePolicies,
  isPolicyPath,
  POLICY_CHANGE_REQUIREMENT,
  type Asset,
  type ChangeFacts,
  type ChangedItem,
  type Diagnostic,
  type Estate,
  type EstateDiff,
} from '@estate/core';
import { mergeTrees, type GitCliRepo } from '@estate/git';
import type { RevisionReader } from './RevisionReader.js';
import type { ChangeChecks, CheckResult } from './types.js';

/** Diagnostics kept in a check result; the count says how many there were. */
const MAX_DIAGNOSTICS = 200;

/** What the checks of one revision need. */
export interface CheckInput {
  base: string;
  head: string;
  main: string;
  author: { user: string; groups: string[] };
  now: Date;
}

/** Checks, and what a merge needs from them. */
export interface CheckOutcome {
  checks: ChangeChecks;
  /** The tree of main with the change merged; undefined on conflicts. */
  mergedTree: string | undefined;
  facts: ChangeFacts;
}

/**
 * Runs a change request's checks against main: a three-way merge (conflicts), validation of the
 * whole merged estate (problems main does not already have fail the check), the semantic diff
 * against its base and against main, the approval policy of main (a change cannot loosen the
 * policy that judges it: new policies apply once merged), and the freeze windows in force now.
 */
export async function runChecks(repo: GitCliRepo, reader: RevisionReader, input: CheckInput): Promise<CheckOutcome> {
  const { base, head, main } = input;
  // Everything is read by tree: the merged tree of a CR based on main's head is its own tree.
  const [merge, [baseTree, headTree, mainTree]] = await Promise.all([mergeTrees(repo, main, head), reader.treesOf([base, head, main])]);
  const mergedTree = merge.tree;
  const [baseEstate, headEstate, mainEstate, mergedEstate, mainPolicies, mergedPolicies] = await Promise.all([
    reader.estate(baseTree!),
    reader.estate(headTree!),
    reader.estate(mainTree!),
    mergedTree === undefined ? undefined : reader.estate(mergedTree),
    reader.policies(mainTree!),
    mergedTree === undefined ? undefined : reader.policies(mergedTree),
  ]);
  const diffBase = diffEstates(baseEstate.assets, headEstate.assets);
  const diffMain = mergedEstate ? diffEstates(mainEstate.assets, mergedEstate.assets) : diffBase;
  const changes = mergedTree ? await repo.diffTrees(mainTree, mergedTree) : await repo.diffTrees(baseTree, headTree!);
  const paths = changes.map((c) => c.path);
  const facts: ChangeFacts = {
    items: changedItems(diffMain, paths, mergedEstate ? mainEstate : baseEstate, mergedEstate ?? headEstate),
    author: input.author,
  };

  const results: CheckResult[] = [];
  results.push(
    merge.conflicts.length > 0
      ? { name: 'conflicts', status: 'failed', message: `${merge.conflicts.length} file(s) conflict with main: ${merge.conflicts.map((c) => c.path).join(', ')}` }
      : { name: 'conflicts', status: 'passed', message: 'merges cleanly onto main' },
  );

  let diagnostics: Diagnostic[] = [];
  let preexistingErrors = 0;
  if (mergedEstate) {
    const [mainConfig, mergedConfig] = await Promise.all([reader.configProblems(mainTree!, mainEstate), reader.configProblems(mergedTree!, mergedEstate)]);
    const known = new Set([...mainEstate.diagnostics, ...mainPolicies.diagnostics, ...mainConfig].map(diagnosticKey));
    const all = [...mergedEstate.diagnostics, ...(mergedPolicies?.diagnostics ?? []), ...mergedConfig];
    diagnostics = all.filter((d) => !known.has(diagnosticKey(d)));
    preexistingErrors = all.length - diagnostics.length;
    results.push(
      diagnostics.length > 0
        ? { name: 'validation', status: 'failed', message: `the merged estate has ${diagnostics.length} new problem(s); first: ${formatShort(diagnostics[0]!)}` }
        : {
            name: 'validation',
            status: 'passed',
            message: `the merged estate is valid${preexistingErrors ? ` but for ${preexistingErrors} problem(s) main already has` : ''} (${mergedEstate.assets.size} assets)`,
          },
    );
  } else {
    results.push({ name: 'validation', status: 'failed', message: 'not run: resolve the conflicts first' });
  }

  const policy = evaluatePolicies(mainPolicies.rules, facts);
  if (mainPolicies.diagnostics.length > 0) {
    // A broken policy document is left out, which could lower what changes need: until it is
    // fixed, every change also needs an admin.
    const first = mainPolicies.diagnostics[0]!;
    policy.requirements.push({
      ...POLICY_CHANGE_REQUIREMENT,
      approvers: { role: 'admin', groups: [] },
      id: 'builtin/policies-broken',
      reason: `main's policies have ${mainPolicies.diagnostics.length} problem(s) (first: ${formatShort(first)}); until they are fixed every change needs an admin's approval`,
    });
    policy.risk = 'high';
    policy.autoMerge = false;
  }
  results.push({
    name: 'policy',
    status: 'passed',
    message: `risk ${policy.risk}; needs ${policy.requirements.map((r) => `${r.count} approval(s) by ${describeApprovers(r.approvers)} (${r.id})`).join(' and ')}${policy.autoMerge ? '; merges automatically' : ''}`,
  });

  const freezes = activeFreezes(mainPolicies.freezes, input.now, facts);
  results.push(
    freezes.length > 0
      ? { name: 'freeze', status: 'warning', message: `frozen by ${freezes.map((f) => `'${f.window.name}' until ${f.endsAt} (${f.window.reason})`).join(', ')}` }
      : { name: 'freeze', status: 'passed', message: 'no freeze window holds this change now' },
  );

  return {
    checks: {
      status: results.some((r) => r.status === 'failed') ? 'failed' : 'passed',
      ranAt: input.now.toISOString(),
      head,
      main,
      results,
      conflicts: merge.conflicts,
      diagnostics: diagnostics.slice(0, MAX_DIAGNOSTICS),
      preexistingErrors,
      diff: { base: diffBase, main: diffMain },
      paths,
      policy,
      freezes,
      ...(mergedTree !== undefined ? { mergedTree } : {}),
      items: facts.items,
    },
    mergedTree,
    facts,
  };
}

/** Who a requirement accepts, in words. */
export function describeApprovers(approvers: { role: string; groups: string[] }): string {
  const role = approvers.role === 'admin' ? 'an admin' : 'an approver';
  return approvers.groups.length > 0 ? `${role} in ${approvers.groups.join(' or ')}` : role;
}

/** The changed items policies and freezes judge: each changed asset, then each other changed file. */
function changedItems(diff: EstateDiff, paths: string[], before: Estate, after: Estate): ChangedItem[] {
  const items: ChangedItem[] = [];
  const covered = new Set<string>();
  const side = (asset: Asset | undefined): { labels: Record<string, string>; owner?: string } | undefined =>
    asset && { labels: asset.metadata.labels ?? {}, ...(asset.metadata.owner !== undefined ? { owner: asset.metadata.owner } : {}) };
  for (const change of diff.assets) {
    const was = before.assets.get(change.id);
    const is = after.assets.get(change.id);
    const beforeSide = side(was);
    const afterSide = side(is);
    items.push({
      path: change.path,
      ...(change.fromPath !== undefined ? { oldPath: change.fromPath } : {}),
      asset: {
        id: change.id,
        kind: change.kind,
        ...(beforeSide ? { before: beforeSide } : {}),
        ...(afterSide ? { after: afterSide } : {}),
        fields: change.fields.map((f) => f.pointer),
      },
    });
    covered.add(change.path);
    if (change.fromPath !== undefined) covered.add(change.fromPath);
  }
  for (const path of paths) if (!covered.has(path) || isPolicyPath(path)) items.push({ path });
  return items;
}

/** A diagnostic without its position: an unrelated edit above a problem moves it but does not make it new. */
function diagnosticKey(d: Diagnostic): string {
  return `${d.path}\0${d.code}\0${d.asset ?? ''}\0${d.message}`;
}

function formatShort(d: Diagnostic): string {
  return `${d.path}:${d.line}:${d.col}: ${d.code}: ${d.message}`;
}
