/**
 * Glob matching for policy criteria: file path globs and JSON-pointer globs. Compiled patterns are
 * kept in small bounded caches, since the same few patterns are matched against every change.
 */

const MAX_CACHED = 2000;
const pathCache = new Map<string, RegExp>();
const pointerCache = new Map<string, string[]>();

/**
 * Why a file path glob is not usable, or `undefined` when it is. A glob is a relative path with
 * `/` separators; `**` must be a whole segment.
 */
export function pathGlobProblem(glob: string): string | undefined {
  if (glob === '') return 'a path glob must not be empty';
  if (glob.startsWith('/')) return `path glob '${glob}' must be relative to the repo root (no leading '/')`;
  if (glob.split('/').some((segment) => segment.includes('**') && segment !== '**')) {
    return `path glob '${glob}' uses '**' inside a segment; '**' must stand alone between slashes (e.g. 'assets/**/db-*.yaml')`;
  }
  if (glob.split('/').some((segment) => segment === '')) return `path glob '${glob}' has an empty segment ('//' or a trailing '/')`;
  return undefined;
}

/**
 * True when `path` matches the file path glob: `*` is any run of characters within one segment,
 * `?` one character other than `/`, and a `**` segment any number of segments (`a/**` matches
 * everything below `a`; `**\/x.yaml` matches `x.yaml` in any folder, the root included).
 */
export function matchesPathGlob(glob: string, path: string): boolean {
  let regex = pathCache.get(glob);
  if (!regex) {
    regex = compilePathGlob(glob);
    if (pathCache.size >= MAX_CACHED) pathCache.clear();
    pathCache.set(glob, regex);
  }
  return regex.test(path);
}

function compilePathGlob(glob: string): RegExp {
  const segments = glob.split('/');
  let source = '';
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '**') {
      // Leading or middle `**/`: zero or more folders. Trailing `/**`: one or more segments.
      source += last ? (i === 0 ? '.*' : '.+') : '(?:[^/]+/)*';
      return;
    }
    for (const char of segment) {
      source += char === '*' ? '[^/]*' : char === '?' ? '[^/]' : char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    if (!last) source += '/';
  });
  return new RegExp(`^${source}$`, 's');
}

/**
 * Why a JSON-pointer glob is not usable, or `undefined`. A pointer glob is a JSON pointer (RFC 6901)
 * whose segments may be `*` or `**`.
 */
export function pointerGlobProblem(glob: string): string | undefined {
  if (!glob.startsWith('/')) return `field pattern '${glob}' must be a JSON pointer starting with '/', e.g. '/spec/ip' or '/metadata/labels/*'`;
  if (/~(?![01])/.test(glob)) return `field pattern '${glob}' has a '~' not followed by 0 or 1 (RFC 6901 escapes '~' as '~0' and '/' as '~1')`;
  return undefined;
}

/**
 * True when the JSON pointer `pointer` matches the pointer glob: a `*` segment matches any one
 * segment, a `**` segment any number of segments (none included), other segments only themselves.
 * `/spec/**` therefore matches `/spec` and everything below it; `/**` matches every pointer,
 * the whole document (`""`) included.
 */
export function matchesPointerGlob(glob: string, pointer: string): boolean {
  let pattern = pointerCache.get(glob);
  if (!pattern) {
    pattern = glob.slice(1).split('/');
    if (pointerCache.size >= MAX_CACHED) pointerCache.clear();
    pointerCache.set(glob, pattern);
  }
  const segments = pointer === '' ? [] : pointer.slice(1).split('/');
  return matchSegments(pattern, 0, segments, 0);
}

function matchSegments(pattern: string[], p: number, segments: string[], s: number): boolean {
  while (p < pattern.length) {
    const part = pattern[p]!;
    if (part === '**') {
      // Consecutive `**` behave as one; try every split point.
      while (pattern[p + 1] === '**') p++;
      if (p === pattern.length - 1) return true;
      for (let k = s; k <= segments.length; k++) if (matchSegments(pattern, p + 1, segments, k)) return true;
      return false;
    }
    if (s >= segments.length) return false;
    if (part !== '*' && part !== segments[s]) return false;
    p++;
    s++;
  }
  return s === segments.length;
}
