import { matchesSelector, parseLabelSelector } from '../labelSelector.js';
import { matchesPointerGlob } from '../policy/globs.js';
import type { DriftIgnoreRule } from '../policy/types.js';

/**
 * The first ignore rule that hides drift of `field` (a JSON pointer) on an asset of `kind` with
 * `labels`, or `undefined`. A rule matches when its kind (if given) is the asset's, its selector
 * (if given) matches the labels and one of its field globs matches the field.
 */
export function driftIgnoredBy(rules: readonly DriftIgnoreRule[], asset: { kind: string; labels?: Readonly<Record<string, string>> }, field: string): DriftIgnoreRule | undefined {
  return rules.find(
    (rule) =>
      (rule.kind === undefined || rule.kind === asset.kind) &&
      (rule.selector === undefined || matchesSelector(parseLabelSelector(rule.selector), asset.labels)) &&
      rule.fields.some((glob) => matchesPointerGlob(glob, field)),
  );
}
