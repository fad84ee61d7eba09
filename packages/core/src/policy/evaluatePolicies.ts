import { matchesPathGlob } from './globs.js';
import { itemPaths, matchesChange } from './changeMatch.js';
import { POLICY_PREFIX } from './loadPolicies.js';
import type { ApprovalRequirement, ApprovalRule, Approver, ChangedItem, ChangeFacts, PolicyDecision, RequirementTally, RiskLevel, UserRole } from './types.js';

const RISK_RANK: Record<RiskLevel, number> = { low: 0, medium: 1, high: 2 };
const ROLE_RANK: Record<UserRole, number> = { viewer: 0, editor: 1, approver: 2, admin: 3 };

/** Applies when no rule matches a change: one approval by an approver. */
export const DEFAULT_REQUIREMENT: Readonly<ApprovalRequirement> = {
  id: 'builtin/default',
  risk: 'medium',
  count: 1,
  approvers: { role: 'approver', groups: [] },
  autoMerge: false,
  reason: 'no policy rule matched; every change needs one approval',
};

/** Added when a change touches `policies/` and no matching rule's `paths` covers that file. */
export const POLICY_CHANGE_REQUIREMENT: Readonly<ApprovalRequirement> = {
  id: 'builtin/policy-change',
  risk: 'high',
  count: 1,
  approvers: { role: 'admin', groups: [] },
  autoMerge: false,
  reason: "changes to policies/ need an admin's approval",
};

/** True when rule `a` is stricter than `b`: higher risk, then more approvals, then admin over approver. */
function isStricter(a: ApprovalRule, b: ApprovalRule): boolean {
  if (a.risk !== b.risk) return RISK_RANK[a.risk] > RISK_RANK[b.risk];
  if (a.approvals !== b.approvals) return a.approvals > b.approvals;
  return a.approvers.role === 'admin' && b.approvers.role !== 'admin';
}

/**
 * Decides the approvals a change needs. Of the user rules that match, the strictest gives the
 * requirement (higher risk, then more approvals, then role admin over approver; on a tie the first
 * in file and rule order); when none matches, or some changed item is matched by no rule,
 * `builtin/default` applies (too). A change to a file under
 * `policies/` also needs `builtin/policy-change` (an admin), unless a matching rule's `paths`
 * criterion names that file. Pure: the same rules and change always give the same decision.
 */
export function evaluatePolicies(rules: ApprovalRule[], change: ChangeFacts): PolicyDecision {
  const matched = rules.filter((rule) => matchesChange(rule.match, change));
  let winner: ApprovalRule | undefined;
  for (const rule of matched) if (!winner || isStricter(rule, winner)) winner = rule;

  const requirements: ApprovalRequirement[] = [];
  if (winner) {
    const others = matched.length - 1;
    requirements.push({
      id: ruleId(winner),
      risk: winner.risk,
      count: winner.approvals,
      approvers: { role: winner.approvers.role, groups: [...winner.approvers.groups] },
      autoMerge: winner.autoMerge,
      reason:
        `rule '${winner.name}' of policy '${winner.policy}' (${winner.path}) matched` +
        (others > 0 ? `, the strictest of ${matched.length} matching rules` : '') +
        `: risk ${winner.risk}, ${describeApprovals(winner.approvals, winner.approvers.role, winner.approvers.groups)}`,
    });
  }
  // A rule matches a change when one of its items matches, so a lenient rule (a bot's label edits)
  // must not carry edits no rule selects (the same bot's edit of an address, in the same asset or
  // another): each changed field of each asset, and each other item, must be selected by a rule,
  // else the default requirement applies too.
  const unmatched = change.items
    .flatMap(byField)
    .filter((item) => !matched.some((rule) => matchesChange(rule.match, { items: [item], author: change.author })));
  if (!winner || unmatched.length > 0) {
    const requirement = copyRequirement(DEFAULT_REQUIREMENT);
    if (winner) requirement.reason = `no policy rule matched ${unmatched.length} changed item(s) (${unmatched[0]!.asset?.id ?? unmatched[0]!.path}…); every change needs one approval`;
    requirements.push(requirement);
  }

  const policyPaths = change.items.flatMap(itemPaths).filter((path) => path.startsWith(POLICY_PREFIX));
  const uncovered = policyPaths.filter((path) => !matched.some((rule) => rule.match.paths?.some((glob) => matchesPathGlob(glob, path))));
  if (uncovered.length > 0) requirements.push(copyRequirement(POLICY_CHANGE_REQUIREMENT));

  const risk = requirements.reduce<RiskLevel>((max, r) => (RISK_RANK[r.risk] > RISK_RANK[max] ? r.risk : max), 'low');
  return {
    requirements,
    risk,
    autoMerge: requirements.every((r) => r.autoMerge && r.count === 0),
    matchedRules: matched.map(ruleId),
  };
}

/** A changed asset split into one item per changed field (an added or deleted one stays whole). */
function byField(item: ChangedItem): ChangedItem[] {
  const asset = item.asset;
  if (!asset?.before || !asset.after || asset.fields.length <= 1) return [item];
  return asset.fields.map((field) => ({ ...item, asset: { ...asset, fields: [field] } }));
}

function ruleId(rule: ApprovalRule): string {
  return `${rule.policy}/${rule.name}`;
}

function copyRequirement(requirement: Readonly<ApprovalRequirement>): ApprovalRequirement {
  return { ...requirement, approvers: { role: requirement.approvers.role, groups: [...requirement.approvers.groups] } };
}

function describeApprovals(count: number, role: string, groups: string[]): string {
  if (count === 0) return 'no approval needed';
  const who = `${role}${role === 'admin' ? '' : ' or admin'}${groups.length ? ` in ${groups.join(' or ')}` : ''}`;
  return `${count} approval${count === 1 ? '' : 's'} by ${who}`;
}

/**
 * Counts approvals per requirement. An approval counts for a requirement when the approver's role
 * is at least the required one (viewer < editor < approver < admin) and, if the requirement names
 * groups, the approver is in any of them. Users in `excluded` (the author and contributors: nobody
 * approves their own change) never count, and each user counts once per requirement however often
 * they approved. One approval may count for several requirements.
 */
export function tallyApprovals(requirements: ApprovalRequirement[], approvals: Approver[], excluded: string[]): { tallies: RequirementTally[]; satisfied: boolean } {
  const barred = new Set(excluded);
  const tallies = requirements.map((requirement): RequirementTally => {
    const given: string[] = [];
    for (const approval of approvals) {
      if (barred.has(approval.user) || given.includes(approval.user)) continue;
      if ((ROLE_RANK[approval.role] ?? -1) < ROLE_RANK[requirement.approvers.role]) continue;
      const groups = requirement.approvers.groups;
      if (groups.length > 0 && !approval.groups.some((g) => groups.includes(g))) continue;
      given.push(approval.user);
    }
    return { requirement, given, missing: Math.max(0, requirement.count - given.length) };
  });
  return { tallies, satisfied: tallies.every((t) => t.missing === 0) };
}
