import { InputError } from './errors.js';

/** One requirement of a label selector. */
export type LabelRequirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

/** A parsed label selector: every requirement must hold. */
export type LabelSelector = LabelRequirement[];

const KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/**
 * Parses a kubectl-style label selector: `env=prod,role in (web,api),tier!=3,canary,!legacy`
 * (`=`/`==` equal, `!=` not equal — also true when the label is absent — `in`/`notin` sets,
 * a bare key for existence, `!key` for absence). Throws InputError `E_SELECTOR` with the position.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const requirements: LabelSelector = [];
  for (const part of splitTopLevel(text)) {
    const item = part.trim();
    if (item === '') throw selectorError(text, 'empty requirement');
    const set = /^([^\s!=(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(item);
    let requirement: LabelRequirement;
    if (set) {
      const values = set[3]!.split(',').map((v) => v.trim());
      if (values.includes('')) throw selectorError(text, `'${set[1]}' ${set[2]} needs a list of values, e.g. ${set[1]} ${set[2]} (a,b)`);
      values.forEach((v) => checkValue(text, v));
      requirement = { key: set[1]!, op: set[2] as 'in' | 'notin', values };
    } else {
      const eq = /^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s=(),]*)$/.exec(item);
      if (eq) {
        checkValue(text, eq[3]!);
        requirement = { key: eq[1]!, op: eq[2] === '!=' ? 'notin' : 'in', values: [eq[3]!] };
      } else if (/^!\s*[^\s!=(),]+$/.test(item)) {
        requirement = { key: item.slice(1).trim(), op: 'notexists' };
      } else if (/^[^\s!=(),]+$/.test(item)) {
        requirement = { key: item, op: 'exists' };
      } else {
        throw selectorError(text, `cannot parse '${item}'`);
      }
    }
    if (!KEY.test(requirement.key)) throw selectorError(text, `invalid label key '${requirement.key}'`);
    requirements.push(requirement);
  }
  return requirements;
}

/** True when the labels satisfy every requirement. */
export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  return selector.every((r) => {
    const has = labels !== undefined && Object.hasOwn(labels, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'in':
        return has && r.values.includes(labels[r.key]!);
      case 'notin':
        return !has || !r.values.includes(labels[r.key]!);
    }
  });
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function checkValue(text: string, value: string): void {
  if (!VALUE.test(value)) throw selectorError(text, `invalid label value '${value}'`);
}

function selectorError(selector: string, reason: string): InputError {
  return new InputError('E_SELECTOR', `invalid label selector '${selector}': ${reason}`, { selector });
}
