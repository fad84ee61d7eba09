import type { Diagnostic } from '../diagnostics.js';

/** How risky a change is; decides how many approvals it needs. Ordered low < medium < high. */
export type RiskLevel = 'low' | 'medium' | 'high';

/** The roles a token's user may hold, weakest first. */
export type UserRole = 'viewer' | 'editor' | 'approver' | 'admin';

/** Who may approve: at least this role, and, when `groups` is not empty, a member of any of them. */
export interface ApproverSpec {
  role: 'approver' | 'admin';
  groups: string[];
}

/**
 * What a rule selects (`match:` of a rule). Every given criterion must hold; each lists
 * alternatives, any of which may hold. `authors`/`authorGroups` test the change's author; the others
 * test its changed items (see {@link ChangedItem}). An empty match selects every change.
 */
export interface ChangeMatch {
  /** Asset kinds, as written in documents (`Host`). */
  kinds?: string[];
  /** A label selector (`env=prod,tier in (a,b)`) tested on the asset's labels before and after. */
  selector?: string;
  /** Owners (`metadata.owner`) before or after. */
  owners?: string[];
  /** Globs over changed file paths: `*` within a segment, `**` any depth, `?` one character. */
  paths?: string[];
  /** Globs over changed field JSON pointers: `*` one segment, `**` any number of segments. */
  fields?: string[];
  /** User names of the change's author. */
  authors?: string[];
  /** Groups of the change's author. */
  authorGroups?: string[];
  /** User names the rule never applies to (e.g. the catch-all rule leaves bots to their own rule). */
  exceptAuthors?: string[];
  /** Groups whose members the rule never applies to. */
  exceptAuthorGroups?: string[];
}

/** One rule of an `ApprovalPolicy` document, as loaded. */
export interface ApprovalRule {
  /** `metadata.name` of the policy. */
  policy: string;
  /** The rule's name, unique within its policy. */
  name: string;
  /** The policy file. */
  path: string;
  risk: RiskLevel;
  /** Approvals needed, 0..20. */
  approvals: number;
  approvers: ApproverSpec;
  /** Merge without a human once checks pass; only on low-risk rules that need no approval. */
  autoMerge: boolean;
  match: ChangeMatch;
}

/** Which changes a freeze window holds; any listed entry may match. */
export interface FreezeScope {
  /**
   * Environments: assets labelled `env=<e>` (before or after the change), and the config files
   * `config/<app>/<e>.yaml`, `config/<app>/<e>.secrets.yaml` and `config/<app>/<e>/**`.
   */
  environments?: string[];
  /** A label selector tested on assets' labels before and after. */
  selector?: string;
  /** Globs over changed file paths. */
  paths?: string[];
}

/**
 * A `FreezeWindow` document, as loaded: either a fixed range (`start`, `end`) or a recurring window
 * (`schedule`, `durationMs`, `timeZone`).
 */
export interface FreezeWindow {
  /** `metadata.name`. */
  name: string;
  /** The policy file. */
  path: string;
  /** Why changes are frozen; shown in E_FROZEN. */
  reason: string;
  /** Omitted: the window holds every change. */
  scope?: FreezeScope;
  /** Fixed range start, as an ISO 8601 UTC timestamp (`2026-12-19T23:00:00.000Z`); inclusive. */
  start?: string;
  /** Fixed range end, as an ISO 8601 UTC timestamp; exclusive. */
  end?: string;
  /** Recurring: a 5-field cron expression giving the times the window opens. */
  schedule?: string;
  /** Recurring: how long the window stays open each time, in milliseconds. */
  durationMs?: number;
  /** IANA time zone the schedule is read in; `UTC` by default. */
  timeZone: string;
}

/**
 * One rule of a `DriftIgnore` document, as loaded: drift of the matching fields of the matching
 * assets is not recorded. `kind` and `selector` omitted match every asset.
 */
export interface DriftIgnoreRule {
  /** `metadata.name` of the DriftIgnore document. */
  policy: string;
  /** The policy file. */
  path: string;
  /** An asset kind (`Host`). */
  kind?: string;
  /** A label selector tested on the asset's labels. */
  selector?: string;
  /** JSON-pointer globs over the drift fields (`/spec/packages/*`, `/spec/files/**`). */
  fields: string[];
  /** Why the drift is ignored; required. */
  reason: string;
}

/** What the drift engine does with drift of an asset: record it, propose adopting it, or restore Git's version. */
export type DriftMode = 'observe' | 'shadow' | 'enforce';

/** Which assets a `DriftMode` rule covers; every given criterion must hold, `{}` covers every asset. */
export interface DriftModeMatch {
  /** Environments: assets labelled `env=<e>`. */
  envs?: string[];
  /** Asset kinds (`Host`). */
  kinds?: string[];
  /** A label selector tested on the asset's labels. */
  selector?: string;
}

/** One rule of a `DriftMode` document, as loaded. */
export interface DriftModeRule {
  /** `metadata.name` of the DriftMode document. */
  policy: string;
  /** The policy file. */
  path: string;
  /** The rule's position in its document's `spec.rules`, from 0. */
  index: number;
  mode: DriftMode;
  match: DriftModeMatch;
  /** Why the assets get this mode. */
  reason?: string;
}

/** Everything loaded from `policies/`: the usable rules and windows, and what was wrong. */
export interface PolicySet {
  /** Rules in file path order, then document and rule order. */
  rules: ApprovalRule[];
  freezes: FreezeWindow[];
  /** Drift ignore rules, in file path order, then document and rule order. */
  driftIgnores: DriftIgnoreRule[];
  /** Drift mode rules, in file path order, then document and rule order. */
  driftModes: DriftModeRule[];
  /** Problems found; the documents they belong to are left out of `rules` and `freezes`. */
  diagnostics: Diagnostic[];
}

/** Labels and owner of an asset on one side of a change. */
export interface AssetSide {
  labels: Record<string, string>;
  owner?: string;
}

/**
 * One changed file of a change, as derived from the semantic diff. A changed asset carries its
 * kind, its labels and owner before and after (`before` missing: added; `after` missing: deleted)
 * and the JSON pointers of the fields that changed (`[]` when the asset was added or deleted as a
 * whole). A changed file that is not an asset has only paths.
 */
export interface ChangedItem {
  /** File path after the change (for a deletion, the deleted path). */
  path: string;
  /** The path before a move. */
  oldPath?: string;
  asset?: {
    id: string;
    kind: string;
    before?: AssetSide;
    after?: AssetSide;
    fields: string[];
  };
}

/** What policies are evaluated on: the changed items and who authored the change. */
export interface ChangeFacts {
  items: ChangedItem[];
  author: { user: string; groups: string[] };
}

/** One set of approvals a change needs. */
export interface ApprovalRequirement {
  /** `<policy>/<rule>` for a user rule, `builtin/default` or `builtin/policy-change`. */
  id: string;
  risk: RiskLevel;
  /** Approvals needed (0 for none). */
  count: number;
  approvers: ApproverSpec;
  autoMerge: boolean;
  /** Why this is required, for people. */
  reason: string;
}

/** The outcome of evaluating the approval rules on a change. */
export interface PolicyDecision {
  requirements: ApprovalRequirement[];
  /** The highest risk among the requirements. */
  risk: RiskLevel;
  /** True when every requirement allows auto-merge and needs no approval. */
  autoMerge: boolean;
  /** `<policy>/<rule>` of every user rule that matched, in rule order. */
  matchedRules: string[];
}

/** A user who approved a change, with what their token grants. */
export interface Approver {
  user: string;
  role: UserRole;
  groups: string[];
}

/** How far one requirement is from being met. */
export interface RequirementTally {
  requirement: ApprovalRequirement;
  /** Users whose approval counts for this requirement, in the order given. */
  given: string[];
  /** Approvals still needed (0 when met). */
  missing: number;
}

/** A freeze window in force for a change: the occurrence that holds it. */
export interface ActiveFreeze {
  window: FreezeWindow;
  /** ISO 8601 UTC time the window opened. */
  startedAt: string;
  /** ISO 8601 UTC time the window closes (back-to-back occurrences of a schedule are joined). */
  endsAt: string;
}
