import { describe, expect, it } from 'vitest';
import { matchesPathGlob, matchesPointerGlob, pathGlobProblem, pointerGlobProblem } from './globs.js';

describe('matchesPathGlob', () => {
  it.each([
    ['assets/prod/**', 'assets/prod/web.yaml', true],
    ['assets/prod/**', 'assets/prod/hosts/deep/web.yaml', true],
    ['assets/prod/**', 'assets/prod', false],
    ['assets/prod/**', 'assets/production/web.yaml', false],
    ['policies/*.yaml', 'policies/default.yaml', true],
    ['policies/*.yaml', 'policies/team/default.yaml', false],
    ['policies/*.yaml', 'policies/default.yml', false],
    ['**/db-*.yaml', 'db-01.yaml', true],
    ['**/db-*.yaml', 'assets/hosts/prod/db-01.yaml', true],
    ['**/db-*.yaml', 'assets/hosts/prod/web-01.yaml', false],
    ['assets/**/web.yaml', 'assets/web.yaml', true],
    ['assets/**/web.yaml', 'assets/a/b/web.yaml', true],
    ['assets/**/web.yaml', 'assetsx/web.yaml', false],
    ['host-0?.yaml', 'host-01.yaml', true],
    ['host-0?.yaml', 'host-1.yaml', false],
    ['a?b', 'a/b', false],
    ['*', 'estate.yaml', true],
    ['*', 'assets/x.yaml', false],
    ['**', 'assets/x.yaml', true],
    ['config/(app)/+.yaml', 'config/(app)/+.yaml', true],
    ['config/(app)/+.yaml', 'config/app/x.yaml', false],
    ['a.yaml', 'aXyaml', false],
  ])('%s against %s is %s', (glob, path, expected) => {
    expect(pathGlobProblem(glob)).toBeUndefined();
    expect(matchesPathGlob(glob, path)).toBe(expected);
  });

  it.each([
    ['', 'a path glob must not be empty'],
    ['/assets/**', "path glob '/assets/**' must be relative to the repo root (no leading '/')"],
    ['assets/**.yaml', "path glob 'assets/**.yaml' uses '**' inside a segment; '**' must stand alone between slashes (e.g. 'assets/**/db-*.yaml')"],
    ['assets//x', "path glob 'assets//x' has an empty segment ('//' or a trailing '/')"],
    ['assets/', "path glob 'assets/' has an empty segment ('//' or a trailing '/')"],
  ])('refuses %j', (glob, message) => {
    expect(pathGlobProblem(glob)).toBe(message);
  });
});

describe('matchesPointerGlob', () => {
  it.each([
    ['/spec/ip', '/spec/ip', true],
    ['/spec/ip', '/spec/ips', false],
    ['/spec/ip', '/spec/ip/0', false],
    ['/metadata/labels/*', '/metadata/labels/env', true],
    ['/metadata/labels/*', '/metadata/labels', false],
    ['/metadata/labels/*', '/metadata/labels/a/b', false],
    ['/metadata/labels/*', '/metadata/labels/app.kubernetes.io~1name', true],
    ['/spec/**', '/spec', true],
    ['/spec/**', '/spec/ports/0/number', true],
    ['/spec/**', '/metadata/name', false],
    ['/spec/**/number', '/spec/number', true],
    ['/spec/**/number', '/spec/ports/0/number', true],
    ['/spec/**/number', '/spec/ports/0/name', false],
    ['/**', '', true],
    ['/**', '/spec/ip', true],
    ['/spec/**', '', false],
    ['/*/ip', '/spec/ip', true],
    ['/metadata/labels/app.kubernetes.io~1name', '/metadata/labels/app.kubernetes.io~1name', true],
  ])('%s against %j is %s', (glob, pointer, expected) => {
    expect(pointerGlobProblem(glob)).toBeUndefined();
    expect(matchesPointerGlob(glob, pointer)).toBe(expected);
  });

  it('refuses patterns that are not JSON pointers', () => {
    expect(pointerGlobProblem('spec/ip')).toBe("field pattern 'spec/ip' must be a JSON pointer starting with '/', e.g. '/spec/ip' or '/metadata/labels/*'");
    expect(pointerGlobProblem('/a~b')).toBe("field pattern '/a~b' has a '~' not followed by 0 or 1 (RFC 6901 escapes '~' as '~0' and '/' as '~1')");
  });
});
