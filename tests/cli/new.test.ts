import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, copyDemo, estate, estateAll, git, makeTempDir, parseJson, removeTempDirs, writeFiles } from './helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

interface JsonReport {
  valid: boolean;
  errors: Array<{ code: string; path: string; line: number; col: number; message: string }>;
}

describe('estate new', () => {
  it('writes a skeleton that fails validation until the required fields are filled', () => {
    const dir = copyDemo();
    const result = estate(['new', 'host', 'web-03'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('created assets/hosts/web-03.yaml (host/web-03); fill in the required fields, then run: estate validate\n');
    const path = join(dir, 'assets/hosts/web-03.yaml');
    const text = readFileSync(path, 'utf8');
    expect(text).toMatch(/^apiVersion: estate\/v1\nkind: Host\nmetadata:\n {2}name: web-03\n/);
    expect(text).toContain('  hostname: ""');
    expect(text).toMatch(/^ {2}# ip: /m);
    expect(git(dir, 'status', '--porcelain')).toBe('?? assets/hosts/web-03.yaml');

    const invalid = estate(['validate', '--format', 'json'], { cwd: dir });
    expect(invalid.status).toBe(1);
    const report = parseJson<JsonReport>(invalid.stdout);
    expect(report.errors.map((e) => `${e.path}:${e.line}:${e.col}:${e.code}`)).toEqual(['assets/hosts/web-03.yaml:9:13:E_SCHEMA']);
    expect(report.errors[0]?.message).toContain('spec.hostname');

    writeFiles(dir, { 'assets/hosts/web-03.yaml': text.replace('hostname: ""', 'hostname: web-03.prod.example.com') });
    const valid = estate(['validate'], { cwd: dir });
    expect(valid.stdout).toMatch(/^✓ valid: 30 assets/);
    expect(valid.status).toBe(0);
    expect(estate(['get', 'host/web-03', '-o', 'json'], { cwd: dir }).stdout).toContain('"hostname": "web-03.prod.example.com"');
  });

  it('works for custom kinds from schemas/, and names folders by the plural of the kind', () => {
    const dir = copyDemo();
    const result = estate(['new', 'Certificate', 'api-example-com'], { cwd: dir });
    expect(result.status).toBe(0);
    const path = join(dir, 'assets/certificates/api-example-com.yaml');
    const text = readFileSync(path, 'utf8');
    expect(text).toMatch(/^apiVersion: estate\/v1\nkind: Certificate\n/);
    const invalid = parseJson<JsonReport>(estate(['validate', '--format', 'json'], { cwd: dir }).stdout);
    expect(invalid.valid).toBe(false);
    expect(invalid.errors.every((e) => e.path === 'assets/certificates/api-example-com.yaml' && e.code === 'E_SCHEMA')).toBe(true);
    expect(invalid.errors.map((e) => e.message.split(' ')[0])).toEqual(['spec.commonName', 'spec.issuer', 'spec.notAfter']);
    writeFiles(dir, {
      'assets/certificates/api-example-com.yaml': text
        .replace('commonName: ""', 'commonName: api.example.com')
        .replace('issuer: ""', 'issuer: Example CA')
        .replace('notAfter: ""', 'notAfter: "2030-01-31"'),
    });
    expect(estate(['validate'], { cwd: dir }).status).toBe(0);

    writeFiles(dir, {
      'schemas/switch.yaml': `apiVersion: estate/v1
kind: Schema
metadata:
  name: Switch
spec:
  schema:
    type: object
    additionalProperties: false
    properties:
      ports: {type: integer, minimum: 1, description: Number of ports.}
`,
    });
    writeFiles(dir, {
      'schemas/rack.yaml': `apiVersion: estate/v1
kind: Schema
metadata:
  name: Rack
spec:
  schema:
    type: object
    additionalProperties: false
    required: [location]
    properties:
      location:
        type: object
        additionalProperties: false
        properties:
          room: {type: string, description: Room name.}
`,
    });
    const custom = estate(['new', 'switch', 'sw-01', '--repo', dir], { cwd: makeTempDir() });
    expect(custom.status).toBe(0);
    expect(custom.stdout).toMatch(/^created assets\/switches\/sw-01\.yaml \(switch\/sw-01\)/);
    const rack = estate(['new', 'Rack', 'r-01', '--repo', dir], { cwd: makeTempDir() });
    expect(rack.stdout).toMatch(/^created assets\/racks\/r-01\.yaml /);
    // Nothing in them needs a value (the rack's location has only optional fields): an empty
    // mapping, not a key followed by commented-out fields, which YAML reads as null.
    expect(readFileSync(join(dir, 'assets/switches/sw-01.yaml'), 'utf8')).toMatch(/^spec: \{\}\n {2}# ports: 1 /m);
    expect(readFileSync(join(dir, 'assets/racks/r-01.yaml'), 'utf8')).toMatch(/^spec:\n {2}location: \{\} {4}# required\n {4}# room: /m);
    const everything = estate(['validate'], { cwd: dir });
    expect(everything.stdout).toMatch(/^✓ valid: 32 assets of 9 kinds/);
    expect(everything.status).toBe(0);
  });

  it('prints the skeleton with --stdout and writes nothing', () => {
    const dir = copyDemo();
    const result = estate(['new', 'service', 'billing', '--stdout'], { cwd: dir });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^apiVersion: estate\/v1\nkind: Service\nmetadata:\n {2}name: billing\n/);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });

  it('writes to --file inside assets/', () => {
    const dir = copyDemo();
    const result = estate(['new', 'host', 'edge-01', '--file', 'assets/hosts/edge/edge-01.yaml'], { cwd: dir });
    expect(result.status).toBe(0);
    expect(existsSync(join(dir, 'assets/hosts/edge/edge-01.yaml'))).toBe(true);
  });

  it('refuses a --file that a symbolic link inside assets/ would carry out of the repo', () => {
    const dir = copyDemo();
    const outside = makeTempDir();
    symlinkSync(outside, join(dir, 'assets/elsewhere'));
    const result = estate(['new', 'host', 'edge-02', '--file', 'assets/elsewhere/edge-02.yaml'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('error[E_USAGE]');
    expect(result.stderr).toContain('outside the repository');
    expect(readdirSync(outside)).toEqual([]);
  });

  it('writes at the top of the work tree when run from a subdirectory', () => {
    const dir = copyDemo();
    const result = estate(['new', 'host', 'web-04'], { cwd: join(dir, 'assets/hosts/prod') });
    expect(result.status).toBe(0);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('?? assets/hosts/web-04.yaml');
  });

  it('refuses to write into a bare repository, and prints the skeleton from its HEAD with --stdout', () => {
    const bare = join(makeTempDir(), 'estate.git');
    git(makeTempDir(), 'clone', '--quiet', '--bare', copyDemo(), bare);
    const before = readdirSync(bare).sort();
    const result = estate(['new', 'certificate', 'c-1', '--repo', bare], { cwd: makeTempDir() });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`error[E_BARE_REPO]: '${bare}' is a bare repository: it has no work tree to write files to\n`);
    expect(readdirSync(bare).sort()).toEqual(before);
    const stdout = estate(['new', 'certificate', 'c-1', '--repo', bare, '--stdout'], { cwd: makeTempDir() });
    expect(stdout.status).toBe(0);
    expect(stdout.stdout).toMatch(/^apiVersion: estate\/v1\nkind: Certificate\n/);
  });

  it('refuses an existing id or file, an invalid name, an unknown kind and paths outside assets/, writing nothing', async () => {
    const dir = copyDemo();
    const parent = join(dir, '..');
    const refusals: Array<[string[], string]> = [
      [['host', 'web-01'], "error[E_EXISTS]: asset 'host/web-01' already exists in assets/hosts/prod/web.yaml\n"],
      [['host', 'web-09', '--file', 'assets/hosts/prod/web.yaml'], 'error[E_EXISTS]: assets/hosts/prod/web.yaml already exists; choose another file with --file\n'],
      [['host', 'Web_3'], "error[E_USAGE]: 'Web_3' is not a valid name: use lower-case letters, digits and '-', at most 63 characters (a DNS-1123 label)\n"],
      [['host', `a${'b'.repeat(63)}`], expect.stringMatching(/^error\[E_USAGE\]: 'ab+' is not a valid name/) as unknown as string],
      [['gadget', 'g-1'], expect.stringMatching(/^error\[E_USAGE\]: unknown kind 'gadget'; known kinds: Application, Certificate, /) as unknown as string],
      [['host', 'web-09', '--file', '../x.yaml'], "error[E_USAGE]: --file must be a .yaml path inside assets/ (got '../x.yaml')\n"],
      [['host', 'web-09', '--file', '/etc/x.yaml'], "error[E_USAGE]: --file must be a .yaml path inside assets/ (got '/etc/x.yaml')\n"],
      [['host', 'web-09', '--file', 'assets/../../x.yaml'], "error[E_USAGE]: --file must be a .yaml path inside assets/ (got 'assets/../../x.yaml')\n"],
      [['host', 'web-09', '--file', 'assets/hosts/web-09.txt'], "error[E_USAGE]: --file must be a .yaml path inside assets/ (got 'assets/hosts/web-09.txt')\n"],
    ];
    const results = await estateAll(refusals.map(([args]) => [['new', ...args], { cwd: dir }]));
    results.forEach((result, i) => {
      const [args, stderr] = refusals[i]!;
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toEqual(stderr);
    });
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(existsSync(join(parent, 'x.yaml'))).toBe(false);
    expect(existsSync('/etc/x.yaml')).toBe(false);
  });
});
