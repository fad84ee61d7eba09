/**
 * Package versions as Debian orders them (epoch, upstream version, revision; `~` sorts before
 * everything, letters before other characters) and the version specs a Host declares.
 */

/** Orders two versions the way dpkg does: negative when `a` is older, 0 when equal, positive when newer. */
export function compareVersions(a: string, b: string): number {
  const pa = splitVersion(a);
  const pb = splitVersion(b);
  return pa.epoch - pb.epoch || comparePart(pa.upstream, pb.upstream) || comparePart(pa.revision, pb.revision);
}

function splitVersion(version: string): { epoch: number; upstream: string; revision: string } {
  const m = /^(\d+):(.*)$/.exec(version);
  const epoch = m ? Number(m[1]) : 0;
  const rest = m ? m[2]! : version;
  const dash = rest.lastIndexOf('-');
  return dash > 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

/** Weight of one character in the non-digit runs: `~` lowest, then the end of the run, letters, the rest. */
function charOrder(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // A run of non-digits, compared character by character.
    while ((i < a.length && !isDigit(a[i]!)) || (j < b.length && !isDigit(b[j]!))) {
      const ca = i < a.length && !isDigit(a[i]!) ? a[i] : undefined;
      const cb = j < b.length && !isDigit(b[j]!) ? b[j] : undefined;
      const diff = charOrder(ca) - charOrder(cb);
      if (diff !== 0) return diff;
      if (ca !== undefined) i++;
      if (cb !== undefined) j++;
    }
    // Then a run of digits, compared as numbers.
    let na = '';
    let nb = '';
    while (i < a.length && isDigit(a[i]!)) na += a[i++];
    while (j < b.length && isDigit(b[j]!)) nb += b[j++];
    const diff = compareDigits(na, nb);
    if (diff !== 0) return diff;
  }
  return 0;
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  return x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
}

type Condition = (version: string) => boolean;

const OPERATOR = /^(>=|<=|>|<|=|~)([0-9A-Za-z]\S*)$/;

/**
 * Compiles a declared version spec: several space-separated conditions that must all hold, each
 * `*` or `latest` (any installed version), `>=v`, `>v`, `<=v`, `<v`, `=v` or `v` (equal in dpkg's
 * order), `~v` (at least v, below the next release of v's second-to-last component: `~1.2` is
 * `>=1.2 <2`, `~1.2.3` is `>=1.2.3 <1.3`), or a wildcard with `*` (`1.24.*`: text match).
 * Returns why the spec is not usable as a string.
 */
export function compileVersionSpec(spec: string): Condition | string {
  const parts = spec.trim().split(/\s+/);
  const conditions: Condition[] = [];
  for (const part of parts) {
    if (part === '*' || part === 'latest') continue;
    const m = OPERATOR.exec(part);
    if (m) {
      const [, op, v] = m as unknown as [string, string, string];
      if (op === '~') {
        const numbers = v.split('.');
        if (numbers.length < 2 || !numbers.every((n) => /^\d+$/.test(n))) return `'~${v}' needs a version of at least two numeric components, e.g. ~1.2`;
        const bump = numbers.slice(0, -1);
        bump[bump.length - 1] = String(Number(bump[bump.length - 1]) + 1);
        const upper = bump.join('.');
        conditions.push((x) => compareVersions(x, v) >= 0 && compareVersions(x, upper) < 0);
      } else {
        conditions.push(versionCondition(op, v));
      }
    } else if (part.includes('*')) {
      const pattern = new RegExp(`^${part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
      conditions.push((x) => pattern.test(x));
    } else if (/^[<>=~]/.test(part)) {
      return `'${part}' is not a version condition; use >=, >, <=, <, =, ~ followed by a version`;
    } else {
      conditions.push(versionCondition('=', part));
    }
  }
  return (version) => conditions.every((condition) => condition(version));
}

function versionCondition(op: string, v: string): Condition {
  switch (op) {
    case '>=':
      return (x) => compareVersions(x, v) >= 0;
    case '>':
      return (x) => compareVersions(x, v) > 0;
    case '<=':
      return (x) => compareVersions(x, v) <= 0;
    case '<':
      return (x) => compareVersions(x, v) < 0;
    default:
      return (x) => compareVersions(x, v) === 0;
  }
}

/** True when `version` satisfies the declared `spec` (see {@link compileVersionSpec}); an unusable spec matches nothing. */
export function satisfiesVersion(spec: string, version: string): boolean {
  const condition = compileVersionSpec(spec);
  return typeof condition !== 'string' && condition(version);
}
