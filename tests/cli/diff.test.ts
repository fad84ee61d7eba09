import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, commit, ESTATE_YAML, estate, git, makeRepo, makeTempDir, parseJson, removeTempDirs, writeFiles } from './helpers.js';

interface DiffJson {
  from: string;
  to: string;
  summary: { added: number; removed: number; changed: number; moved: number };
  assets: Array<{ id: string; kind: string; status: string; path: string; fromPath?: string; fields: Array<{ op: string; pointer: string; old?: unknown; new?: unknown }> }>;
}

const host = (name: string, ip: string, cpus = 4): string => `apiVersion: estate/v1
kind: Host
metadata:
  name: ${name}
  labels: {env: prod, role: web}
spec:
  hostname: ${name}.example.com
  ip: ${ip}
  cpus: ${cpus}
`;

let repo: string;
let c1: string;
let c2: string;

beforeAll(() => {
  assertBuilt();
  repo = makeRepo({
    'estate.yaml': ESTATE_YAML,
    'assets/hosts/a.yaml': host('a', '10.0.0.1'),
    'assets/hosts/b.yaml': host('b', '10.0.0.2'),
    'assets/hosts/c.yaml': host('c', '10.0.0.3'),
    'assets/hosts/gone.yaml': host('gone', '10.0.0.4'),
    'assets/hosts/keep.yaml': host('keep', '10.0.0.5'),
    'assets/hosts/multi.yaml': `${host('m1', '10.0.1.1')}---\n${host('m2', '10.0.1.2')}`,
    'assets/hosts/other.yaml': host('o1', '10.0.2.1'),
  });
  c1 = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'mv', 'assets/hosts/keep.yaml', 'assets/hosts/kept.yaml');
  git(repo, 'mv', 'assets/hosts/c.yaml', 'assets/hosts/c2.yaml');
  c2 = commit(repo, 'second', {
    // Reformatted, keys reordered, comments and quoting changed: the same content.
    'assets/hosts/a.yaml': `# host a, reformatted
kind: Host
apiVersion: "estate/v1"
spec:
  cpus: 4          # four cores
  ip: '10.0.0.1'
  hostname: a.example.com
metadata:
  labels:
    role: web
    env: prod
  name: a
`,
    'assets/hosts/b.yaml': host('b', '10.0.0.2', 8).replace('  cpus: 8\n', '  cpus: 8\n  os: debian-12\n'),
    'assets/hosts/c2.yaml': host('c', '10.0.0.3', 2),
    'assets/hosts/gone.yaml': null,
    // m2 moves from multi.yaml into other.yaml, after o1.
    'assets/hosts/multi.yaml': host('m1', '10.0.1.1'),
    'assets/hosts/other.yaml': `${host('o1', '10.0.2.1')}---\n${host('m2', '10.0.1.2')}`,
    'assets/hosts/new.yaml': host('new', '10.0.0.9'),
  });
});
afterAll(removeTempDirs);

describe('estate diff', () => {
  it('shows added, removed, changed, moved and moved+changed assets by field', () => {
    const result = estate(['diff', 'HEAD~1', 'HEAD'], { cwd: repo });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      [
        '~ host/b  assets/hosts/b.yaml',
        '    ~ spec.cpus: 4 → 8',
        '    + spec.os: "debian-12"',
        '~ host/c  assets/hosts/c.yaml → assets/hosts/c2.yaml',
        '    ~ spec.cpus: 4 → 2',
        '- host/gone  assets/hosts/gone.yaml',
        '> host/keep  assets/hosts/keep.yaml → assets/hosts/kept.yaml',
        '> host/m2  assets/hosts/multi.yaml → assets/hosts/other.yaml',
        '+ host/new  assets/hosts/new.yaml',
        '2 changed, 1 added, 1 removed, 2 moved',
        '',
      ].join('\n'),
    );
  });

  it('prints JSON with pointers and old/new values; formatting and multi-document moves are no content change', () => {
    const result = estate(['diff', c1, c2, '--format', 'json'], { cwd: repo });
    expect(result.status).toBe(0);
    const diff = parseJson<DiffJson>(result.stdout);
    expect(diff.from).toBe(c1);
    expect(diff.to).toBe(c2);
    expect(diff.summary).toEqual({ added: 1, removed: 1, changed: 2, moved: 2 });
    expect(diff.assets).toEqual([
      {
        id: 'host/b',
        kind: 'Host',
        status: 'changed',
        path: 'assets/hosts/b.yaml',
        fields: [
          { op: 'replace', pointer: '/spec/cpus', old: 4, new: 8 },
          { op: 'add', pointer: '/spec/os', new: 'debian-12' },
        ],
      },
      {
        id: 'host/c',
        kind: 'Host',
        status: 'changed',
        path: 'assets/hosts/c2.yaml',
        fromPath: 'assets/hosts/c.yaml',
        fields: [{ op: 'replace', pointer: '/spec/cpus', old: 4, new: 2 }],
      },
      { id: 'host/gone', kind: 'Host', status: 'removed', path: 'assets/hosts/gone.yaml', fields: [] },
      { id: 'host/keep', kind: 'Host', status: 'moved', path: 'assets/hosts/kept.yaml', fromPath: 'assets/hosts/keep.yaml', fields: [] },
      { id: 'host/m2', kind: 'Host', status: 'moved', path: 'assets/hosts/other.yaml', fromPath: 'assets/hosts/multi.yaml', fields: [] },
      { id: 'host/new', kind: 'Host', status: 'added', path: 'assets/hosts/new.yaml', fields: [] },
    ]);
    // host/a was only reformatted; host/m1 stayed in a file whose other document left.
    expect(diff.assets.map((a) => a.id)).not.toContain('host/a');
    expect(diff.assets.map((a) => a.id)).not.toContain('host/m1');
  });

  it('compares with the work tree when <to> is omitted, uncommitted and untracked edits included', () => {
    const dir = join(makeTempDir(), 'repo');
    cpSync(repo, dir, { recursive: true });
    const clean = estate(['diff', 'HEAD'], { cwd: dir });
    expect(clean.status).toBe(0);
    expect(clean.stdout).toBe('no changes\n');

    rmSync(join(dir, 'assets/hosts/new.yaml'));
    writeFiles(dir, {
      'assets/hosts/b.yaml': host('b', '10.0.0.2', 8)
        .replace('  cpus: 8\n', '  cpus: 8\n  os: debian-13\n')
        .replace('role: web}', 'role: web, app.kubernetes.io/name: shop}'),
      'assets/hosts/untracked.yaml': host('untracked', '10.0.0.10'),
    });
    const result = estate(['diff', 'HEAD', '--format', 'json'], { cwd: dir });
    expect(result.status).toBe(0);
    const diff = parseJson<DiffJson>(result.stdout);
    expect(diff).toMatchObject({ from: c2, to: 'worktree', summary: { added: 1, removed: 1, changed: 1, moved: 0 } });
    expect(diff.assets.find((a) => a.id === 'host/b')?.fields).toEqual([
      // RFC 6901: '/' in a key is escaped as ~1.
      { op: 'add', pointer: '/metadata/labels/app.kubernetes.io~1name', new: 'shop' },
      { op: 'replace', pointer: '/spec/os', old: 'debian-12', new: 'debian-13' },
    ]);
    expect(diff.assets.find((a) => a.id === 'host/untracked')?.status).toBe('added');
    expect(diff.assets.find((a) => a.id === 'host/new')?.status).toBe('removed');

    // From the older commit to the work tree: both sets of changes.
    const older = parseJson<DiffJson>(estate(['diff', 'HEAD~1', '--format', 'json'], { cwd: dir }).stdout);
    expect(older.summary).toEqual({ added: 1, removed: 1, changed: 2, moved: 2 });
    expect(older.assets.find((a) => a.id === 'host/b')?.fields.map((f) => f.pointer)).toEqual([
      '/metadata/labels/app.kubernetes.io~1name',
      '/spec/cpus',
      '/spec/os',
    ]);
  });

  it('compares with HEAD when <to> is omitted in a bare repository', () => {
    const bare = join(makeTempDir(), 'estate.git');
    git(repo, 'clone', '--quiet', '--bare', repo, bare);
    const result = estate(['diff', 'HEAD~1', '--repo', bare, '--format', 'json'], { cwd: makeTempDir() });
    expect(result.status).toBe(0);
    expect(parseJson<DiffJson>(result.stdout)).toMatchObject({ from: c1, to: c2, summary: { added: 1, removed: 1, changed: 2, moved: 2 } });
  });

  it('colors its output when FORCE_COLOR asks for it, unless NO_COLOR is set', () => {
    const colored = estate(['diff', 'HEAD~1', 'HEAD'], { cwd: repo, env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(colored.stdout).toContain('\u001b[32m+\u001b[39m \u001b[1mhost/new\u001b[22m');
    const plain = estate(['diff', 'HEAD~1', 'HEAD'], { cwd: repo, env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    expect(plain.stdout).not.toContain('\u001b[');
  });

  it('warns on stderr when a side does not validate, and still diffs', () => {
    const dir = join(makeTempDir(), 'repo');
    cpSync(repo, dir, { recursive: true });
    writeFiles(dir, { 'assets/hosts/b.yaml': host('b', '10.0.0.2', 0) });
    const result = estate(['diff', 'HEAD'], { cwd: dir });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('warning: the work tree has 1 validation error; run estate validate\n');
    expect(result.stdout).toContain('    ~ spec.cpus: 8 → 0');
  });

  it('exits 2 for an unknown revision or format', () => {
    const rev = estate(['diff', 'HEAD~1', 'nope'], { cwd: repo });
    expect(rev.status).toBe(2);
    expect(rev.stderr).toBe(`error[E_REV_NOT_FOUND]: revision 'nope' not found in '${repo}'\n`);
    const format = estate(['diff', 'HEAD~1', '--format', 'yaml'], { cwd: repo });
    expect(format.status).toBe(2);
    expect(format.stderr).toContain("argument 'yaml' is invalid");
  });
});
