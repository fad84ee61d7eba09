import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  commit,
  copyDemo,
  ESTATE_YAML,
  estate,
  estateAll,
  git,
  hostYaml,
  makeRepo,
  makeTempDir,
  parseJson,
  removeTempDirs,
  writeFiles,
  type Files,
  type RunResult,
} from './helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

interface JsonReport {
  valid: boolean;
  errors: Array<{ code: string; path: string; line: number; col: number; message: string; asset: string | null }>;
  stats: { files: number; documents: number; assets: number; parsed: number; byKind: Record<string, number>; errors: number; source: string; durationMs: number };
}

/** An estate with one problem of each kind, spread over several files (positions are asserted). */
const BROKEN: Files = {
  'estate.yaml': ESTATE_YAML,
  'assets/hosts/web.yaml': `apiVersion: estate/v1
kind: Host
metadata:
  name: web-01
spec:
  hostname: web-01.example.com
  ip: 10.0.0.1
  cpus: many
  network: network/missing
---
apiVersion: estate/v1
kind: Host
metadata:
  name: Web_02
spec:
  hostname: web-01.example.com
`,
  'assets/services/api.yaml': `apiVersion: estate/v1
kind: Service
metadata:
  name: api
spec:
  runsOn: [service/api]
`,
  'assets/services/dup.yaml': `apiVersion: estate/v1
kind: Service
metadata:
  name: dup
spec:
  tier: 1
  repo: https://git.example.com/dup.git
  tier: 2
`,
  'assets/broken.yaml': `apiVersion: estate/v1
kind: Host
metadata: {name: [unclosed
`,
  'assets/misc.yaml': `apiVersion: estate/v1
kind: Gadget
metadata:
  name: g1
spec: {}
---
kind: Host
metadata:
  name: h9
spec:
  hostname: h9.example.com
---
apiVersion: estate/v1
kind: Host
metadata:
  name: web-01
spec:
  hostname: other.example.com
`,
};

const BROKEN_POSITIONS = [
  'assets/broken.yaml:4:1: error[E_YAML_SYNTAX]',
  'assets/hosts/web.yaml:8:9: error[E_SCHEMA]',
  'assets/hosts/web.yaml:9:12: error[E_DANGLING_REF]',
  'assets/hosts/web.yaml:14:9: error[E_NAME]',
  'assets/hosts/web.yaml:16:13: error[E_UNIQUE]',
  'assets/misc.yaml:2:7: error[E_UNKNOWN_KIND]',
  'assets/misc.yaml:7:1: error[E_ENVELOPE]',
  'assets/misc.yaml:16:9: error[E_DUPLICATE_ASSET]',
  'assets/services/api.yaml:6:12: error[E_REF_KIND]',
  'assets/services/dup.yaml:8:3: error[E_YAML_DUPLICATE_KEY]',
];

/** A valid two-host estate. */
const SMALL: Files = {
  'estate.yaml': ESTATE_YAML,
  'assets/hosts/a.yaml': hostYaml('a', '10.0.0.1'),
  'assets/hosts/b.yaml': hostYaml('b', '10.0.0.2'),
};

/** HEAD~1 valid; HEAD breaks host/b; returns the repo. */
function repoWithBrokenHead(): string {
  const dir = makeRepo(SMALL, 'two hosts');
  commit(dir, 'b: cpus as a word', { 'assets/hosts/b.yaml': hostYaml('b', '10.0.0.2', '  cpus: two\n') });
  return dir;
}

describe('estate validate', () => {
  it('exits 0 on the demo estate and says what it checked', () => {
    const result = estate(['validate'], { cwd: copyDemo() });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^✓ valid: \d+ assets of 7 kinds in \d+ files, \d+ ms\n$/);
  });

  it('reports every problem of every file as path:line:col: error[E_CODE]: message, and exits 1', () => {
    const dir = makeRepo(BROKEN);
    const result = estate(['validate'], { cwd: dir });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('');
    const lines = result.stdout.trimEnd().split('\n');
    const summary = lines.pop();
    expect(lines.map((l) => l.slice(0, l.indexOf(']') + 1))).toEqual(BROKEN_POSITIONS);
    expect(lines).toContain('assets/hosts/web.yaml:8:9: error[E_SCHEMA]: spec.cpus must be integer (got "many")');
    expect(lines).toContain(
      "assets/hosts/web.yaml:9:12: error[E_DANGLING_REF]: asset 'network/missing' referenced by host/web-01 (spec.network) does not exist",
    );
    expect(lines).toContain("assets/misc.yaml:16:9: error[E_DUPLICATE_ASSET]: asset 'host/web-01' is already defined at assets/hosts/web.yaml:4:9");
    expect(lines.find((l) => l.includes('E_UNIQUE'))).toContain('(assets/hosts/web.yaml:6:13)');
    expect(lines.find((l) => l.includes('E_UNKNOWN_KIND'))).toContain("'Gadget'");
    expect(lines.find((l) => l.includes('E_REF_KIND'))).toContain('service/api');
    expect(lines.find((l) => l.includes('E_YAML_DUPLICATE_KEY'))).toContain("'tier'");
    expect(summary).toMatch(/^✗ invalid: 10 errors in 5 files \(/);
  });

  it('prints JSON with --format json', () => {
    const dir = makeRepo(BROKEN);
    const result = estate(['validate', '--format', 'json'], { cwd: dir });
    expect(result.status).toBe(1);
    const report = parseJson<JsonReport>(result.stdout);
    expect(report.valid).toBe(false);
    expect(report.errors.map((e) => `${e.path}:${e.line}:${e.col}: error[${e.code}]`)).toEqual(BROKEN_POSITIONS);
    for (const error of report.errors) {
      expect(Object.keys(error)).toEqual(['code', 'path', 'line', 'col', 'message', 'asset']);
      expect(error.message).not.toBe('');
    }
    expect(report.errors.find((e) => e.code === 'E_DANGLING_REF')).toMatchObject({ asset: 'host/web-01', line: 9, col: 12 });
    expect(report.errors.find((e) => e.code === 'E_YAML_SYNTAX')).toMatchObject({ asset: null, path: 'assets/broken.yaml' });
    expect(report.stats).toMatchObject({ errors: 10, source: 'worktree', byKind: { Host: 3, Service: 2 } });
    expect(report.stats.files).toBe(6);
    expect(typeof report.stats.durationMs).toBe('number');
  });

  it('prints GitHub Actions annotations with --format github', () => {
    const dir = makeRepo(BROKEN);
    const result = estate(['validate', '--format', 'github'], { cwd: dir });
    expect(result.status).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines).toContain('::error file=assets/hosts/web.yaml,line=8,col=9,title=E_SCHEMA::spec.cpus must be integer (got "many")');
    // Property values escape ':' and ',' (the runner's rules); the message keeps them.
    expect(lines.find((l) => l.includes('E_DUPLICATE_ASSET'))).toBe(
      "::error file=assets/misc.yaml,line=16,col=9,title=E_DUPLICATE_ASSET::asset 'host/web-01' is already defined at assets/hosts/web.yaml:4:9",
    );
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^::error file=[^,]+,line=\d+,col=\d+,title=E_[A-Z_]+::.+/);
    expect(lines.at(-1)).toMatch(/^invalid: 10 errors in 5 files/);
  });

  it('checks the policies too, in the work tree and at a commit', () => {
    const dir = copyDemo();
    writeFiles(dir, { 'policies/broken.yaml': 'apiVersion: estate/v1\nkind: ApprovalPolicy\nmetadata: {name: broken}\nspec:\n  rules:\n    - name: r\n      match: {}\n      risk: extreme\n      approvals: 1\n' });
    const worktree = estate(['validate'], { cwd: dir });
    expect(worktree.status).toBe(1);
    expect(worktree.stdout).toMatch(/^policies\/broken\.yaml:8:13: error\[E_POLICY\]: /m);
    commit(dir, 'a broken policy');
    const atHead = estate(['validate', '--rev', 'HEAD', '--format', 'json'], { cwd: dir });
    expect(atHead.status).toBe(1);
    expect(parseJson<JsonReport>(atHead.stdout).errors.map((e) => [e.path, e.code])).toEqual([['policies/broken.yaml', 'E_POLICY']]);
  });

  it('checks application config: layout, each app\'s schema in every environment, an Application for each app', () => {
    const dir = copyDemo();
    writeFiles(dir, {
      'config/checkout/schema.yaml': 'type: object\nproperties:\n  http:\n    type: object\n    properties:\n      port: {type: integer, maximum: 65535}\n',
      'config/checkout/prod.yaml': 'http:\n  port: 99999\n',
      'config/checkout/qa.yaml': 'http: {}\n',
      'config/orphan/base.yaml': 'a: 1\n',
    });
    const result = estate(['validate', '--format', 'json'], { cwd: dir });
    expect(result.status).toBe(1);
    const errors = parseJson<JsonReport>(result.stdout).errors.map((e) => [e.path, e.line, e.code]);
    expect(errors).toEqual([
      ['config/checkout/prod.yaml', 2, 'E_CONFIG_SCHEMA'],
      ['config/checkout/qa.yaml', 1, 'E_CONFIG_LAYOUT'],
      ['config/orphan/base.yaml', 1, 'E_CONFIG_LAYOUT'],
    ]);
    expect(result.stdout).toContain("declare it and its owner with an Application asset named 'orphan'");
  });

  it('exits 2 for an unknown format', () => {
    const result = estate(['validate', '--format', 'xml'], { cwd: copyDemo() });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("argument 'xml' is invalid");
  });

  it('validates the work tree with uncommitted edits by default, and a commit with --rev', async () => {
    const dir = repoWithBrokenHead();
    // Uncommitted: delete the broken file, add an untracked broken one.
    rmSync(join(dir, 'assets/hosts/b.yaml'));
    writeFiles(dir, { 'assets/hosts/c.yaml': hostYaml('c', 'not-an-ip') });
    const [worktree, head, previous] = (await estateAll([
      [['validate'], { cwd: dir }],
      [['validate', '--rev', 'HEAD', '--format', 'json'], { cwd: dir }],
      [['validate', '--rev', 'HEAD~1'], { cwd: dir }],
    ])) as [RunResult, RunResult, RunResult];

    expect(worktree.status).toBe(1);
    expect(worktree.stdout).toMatch(/^assets\/hosts\/c\.yaml:8:7: error\[E_SCHEMA\]: spec\.ip /);
    expect(worktree.stdout).not.toContain('b.yaml');

    expect(head.status).toBe(1);
    const report = parseJson<JsonReport>(head.stdout);
    expect(report.errors.map((e) => [e.path, e.line, e.col, e.code])).toEqual([['assets/hosts/b.yaml', 9, 9, 'E_SCHEMA']]);
    expect(report.stats.source).toBe(git(dir, 'rev-parse', 'HEAD'));

    expect(previous.status).toBe(0);
    expect(previous.stdout).toMatch(/^✓ valid: 2 assets of 1 kind/);
  });

  it('checks the whole repo from a subdirectory; paths with spaces and non-ASCII; symlinks not followed', async () => {
    const outside = makeTempDir();
    writeFiles(outside, { 'host.yaml': hostYaml('outside', '10.9.9.9') });
    const dir = makeRepo({ ...SMALL, 'assets/hosts/my dir/café.yaml': hostYaml('cafe', '10.0.0.3', '  cpus: zero\n') });
    symlinkSync(join(outside, 'host.yaml'), join(dir, 'assets/link.yaml'));
    commit(dir, 'a link');
    const results = await estateAll([[], ['--rev', 'HEAD']].map((rev) => [['validate', '--format', 'json', ...rev], { cwd: join(dir, 'assets/hosts') }]));
    for (const result of results) {
      expect(result.status).toBe(1);
      const report = parseJson<JsonReport>(result.stdout);
      // Git stores a link as the text of its target: not an asset, and never read through.
      expect(report.errors.map((e) => `${e.path}:${e.line}:${e.col}:${e.code}`)).toEqual([
        'assets/hosts/my dir/café.yaml:9:9:E_SCHEMA',
        'assets/link.yaml:1:1:E_ENVELOPE',
      ]);
      expect(report.stats.assets).toBe(3);
    }
  });

  it('reads a directory that is not a git repository from disk', () => {
    const dir = makeTempDir();
    writeFiles(dir, SMALL);
    const valid = estate(['validate', '--repo', dir, '--format', 'json'], { cwd: makeTempDir() });
    expect(valid.status).toBe(0);
    expect(parseJson<JsonReport>(valid.stdout).stats).toMatchObject({ assets: 2, source: 'worktree' });

    // A commit needs git.
    const rev = estate(['validate', '--repo', dir, '--rev', 'HEAD'], { cwd: makeTempDir() });
    expect(rev.status).toBe(2);
    expect(rev.stderr).toBe(`error[E_NOT_A_REPO]: '${dir}' is not a git repository\n`);

    writeFiles(dir, { 'assets/hosts/b.yaml': hostYaml('b', '10.0.0.1') });
    const invalid = estate(['validate', '--repo', dir], { cwd: makeTempDir() });
    expect(invalid.status).toBe(1);
    expect(invalid.stdout).toMatch(/^assets\/hosts\/b\.yaml:8:7: error\[E_UNIQUE\]: spec\.ip "10\.0\.0\.1" of host\/b is already used by host\/a/);
  });

  it('reports E_ESTATE_FILE when estate.yaml is missing', () => {
    const dir = makeTempDir();
    writeFiles(dir, { 'assets/hosts/a.yaml': hostYaml('a', '10.0.0.1') });
    const result = estate(['validate', '--repo', dir], { cwd: makeTempDir() });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^estate\.yaml:1:1: error\[E_ESTATE_FILE\]: estate\.yaml is missing/);
  });

  it('exits 2 with a stable code when --repo does not exist', () => {
    const result = estate(['validate', '--repo', join(makeTempDir(), 'nope')], { cwd: makeTempDir() });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error\[E_USAGE\]: '.*nope' is not a directory/);
  });

  it('exits 2 with E_REV_NOT_FOUND for an unknown revision', () => {
    const dir = makeRepo(SMALL);
    const result = estate(['validate', '--rev', 'no-such-branch'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`error[E_REV_NOT_FOUND]: revision 'no-such-branch' not found in '${dir}'\n`);
  });

  it('never passes a revision starting with - to git as an option', async () => {
    const dir = makeRepo(SMALL);
    // As an option of git log or rev-parse, --output would write a file.
    const out = join(makeTempDir(), 'out');
    const commands = [['validate'], ['history', 'host/a'], ['get', 'host/a'], ['list'], ['relations', 'host/a']].map((args) => [...args, `--rev=--output=${out}`]);
    const [short, diff, ...results] = await estateAll(
      [['validate', '--rev=-x'], ['diff', '--', `--output=${out}`], ...commands].map((args): [string[], { cwd: string }] => [args, { cwd: dir }]),
    );
    expect(short!.status).toBe(2);
    expect(short!.stderr).toBe(`error[E_REV_NOT_FOUND]: revision '-x' not found in '${dir}'\n`);
    expect(diff!.status).toBe(2);
    expect(diff!.stderr).toBe(`error[E_REV_NOT_FOUND]: revision '--output=${out}' not found in '${dir}'\n`);
    results.forEach((result, i) => {
      expect(result.status, commands[i]!.join(' ')).toBe(2);
      expect(result.stderr).toBe(`error[E_REV_NOT_FOUND]: revision '--output=${out}' not found in '${dir}'\n`);
    });
    expect(existsSync(out)).toBe(false);
  });

  it('reads HEAD of a bare repository, or the revision given', () => {
    const source = repoWithBrokenHead();
    const bare = join(makeTempDir(), 'estate.git');
    git(source, 'clone', '--quiet', '--bare', source, bare);

    const head = estate(['validate', '--repo', bare, '--format', 'json'], { cwd: makeTempDir() });
    expect(head.status).toBe(1);
    const report = parseJson<JsonReport>(head.stdout);
    expect(report.stats.source).toBe(git(source, 'rev-parse', 'HEAD'));
    expect(report.errors.map((e) => `${e.path}:${e.line}:${e.col}:${e.code}`)).toEqual(['assets/hosts/b.yaml:9:9:E_SCHEMA']);

    const previous = estate(['validate', '--rev', 'HEAD~1'], { cwd: bare });
    expect(previous.status).toBe(0);
  });

  it('skips files that .gitignore ignores under assets/', () => {
    const dir = makeRepo({ ...SMALL, '.gitignore': '*.local.yaml\nscratch/\n' });
    writeFiles(dir, {
      'assets/hosts/mine.local.yaml': 'kind: [not yaml\n',
      'assets/scratch/tmp.yaml': hostYaml('a', '10.0.0.1'),
    });
    const result = estate(['validate'], { cwd: dir });
    expect(result.stdout).toMatch(/^✓ valid: 2 assets of 1 kind in 3 files/);
    expect(result.status).toBe(0);
  });

  it('reads the index version of tracked files a sparse checkout keeps off the disk', () => {
    const dir = copyDemo();
    git(dir, 'update-index', '--skip-worktree', 'assets/hosts/prod/db-01.yaml');
    rmSync(join(dir, 'assets/hosts/prod/db-01.yaml'));
    const result = estate(['validate'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^✓ valid: 29 assets/);
    expect(result.status).toBe(0);
  });

  it('refuses hostile files with E_YAML_UNSAFE, E_TOO_LARGE and E_ENCODING, and still checks the rest', async () => {
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= 12; i++) levels.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const dir = makeRepo({
      ...SMALL,
      'assets/bomb.yaml': levels.join('\n') + '\n',
      'assets/huge.yaml': `# ${'x'.repeat(5 * 1024 * 1024)}\n`,
      'assets/deep.yaml': `a: ${'['.repeat(100)}${']'.repeat(100)}\n`,
      'assets/proto.yaml': hostYaml('p', '10.0.0.9').replace('  labels:', '  __proto__: {polluted: true}\n  labels:'),
      'assets/binary.yaml': Buffer.from([0x00, 0x01, 0xff, 0xfe]),
      'assets/latin1.yaml': Buffer.from('description: caf\xe9\n', 'latin1'),
      'assets/hosts/c.yaml': hostYaml('c', '10.0.0.2'),
    });
    // The work tree, and the same files read from git objects.
    const results = await estateAll([[], ['--rev', 'HEAD']].map((rev) => [['validate', '--format', 'json', ...rev], { cwd: dir }]));
    for (const result of results) {
      expect(result.status).toBe(1);
      const report = parseJson<JsonReport>(result.stdout);
      const byPath = Object.fromEntries(report.errors.map((e) => [e.path, e.code]));
      expect(byPath).toEqual({
        'assets/binary.yaml': 'E_ENCODING',
        'assets/bomb.yaml': 'E_YAML_UNSAFE',
        'assets/deep.yaml': 'E_YAML_UNSAFE',
        'assets/huge.yaml': 'E_TOO_LARGE',
        'assets/latin1.yaml': 'E_ENCODING',
        'assets/proto.yaml': 'E_YAML_UNSAFE',
        // The good files are still checked: c reuses b's address.
        'assets/hosts/c.yaml': 'E_UNIQUE',
      });
      expect(report.errors.find((e) => e.path === 'assets/huge.yaml')).toMatchObject({ line: 1, col: 1 });
      expect(report.errors.find((e) => e.path === 'assets/proto.yaml')).toMatchObject({ line: 5, col: 3 });
    }
  });
});
