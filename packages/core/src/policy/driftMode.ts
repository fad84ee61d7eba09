import { matchesSelector, parseLabelSelector } from '../labelSelector.js';
import { DRIFT_MODES } from './loadPolicies.js';
import type { DriftMode, DriftModeRule } from './types.js';

/** The mode an asset's drift is handled in, and the rule that decided it (none: the default, observe). */
export interface DriftModeDecision {
  mode: DriftMode;
  rule?: DriftModeRule;
}

/**
 * The drift mode of an asset of `kind` with `labels`: of the `DriftMode` rules that cover it, the
 * strictest (enforce > shadow > observe), and of equally strict ones the first in file, document and
 * rule order; `observe` without a rule when none covers it. A rule covers an asset when every given
 * criterion holds: `envs` lists its `env` label, `kinds` its kind, `selector` matches its labels.
 */
export function driftModeFor(rules: readonly DriftModeRule[], asset: { kind: string; labels?: Readonly<Record<string, string>> }): DriftModeDecision {
  let chosen: DriftModeRule | undefined;
  for (const rule of rules) {
    if (!covers(rule, asset)) continue;
    if (!chosen || DRIFT_MODES.indexOf(rule.mode) > DRIFT_MODES.indexOf(chosen.mode)) chosen = rule;
  }
  return chosen ? { mode: chosen.mode, rule: chosen } : { mode: 'observe' };
}

function covers(rule: DriftModeRule, asset: { kind: string; labels?: Readonly<Record<string, string>> }): boolean {
  const { envs, kinds, selector } = rule.match;
  const env = asset.labels?.['env'];
  return (
    (envs === undefined || (env !== undefined && envs.includes(env))) &&
    (kinds === undefined || kinds.includes(asset.kind)) &&
    (selector === undefined || matchesSelector(parseLabelSelector(selector), asset.labels))
  );
}
