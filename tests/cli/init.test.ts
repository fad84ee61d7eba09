import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, estate, git, makeTempDir, parseJson, removeTempDirs, testEnv } from './helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

describe('estate init', () => {
  it('creates a repo on main with one commit and a clean work tree that validates clean', () => {
    const parent = makeTempDir();
    const result = estate(['init', 'my-estate'], { cwd: parent });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const dir = join(parent, 'my-estate');
    const sha = git(dir, 'rev-parse', 'HEAD');
    expect(result.stdout).toContain(`Initialized an estate in ${dir} (commit ${sha.slice(0, 12)} on main)`);
    expect(result.stdout).toMatch(/✓ valid/);
    expect(result.stdout).toContain('cd my-estate');

    // The test's global git config says init.defaultBranch = master: init must not rely on it.
    expect(git(dir, 'symbolic-ref', 'HEAD')).toBe('refs/heads/main');
    expect(git(dir, 'rev-list', '--count', 'HEAD')).toBe('1');
    expect(git(dir, 'log', '-1', '--format=%s')).toBe('Initial estate (estate init)');
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    const tracked = git(dir, 'ls-files').split('\n');
    expect(tracked).toContain('estate.yaml');
    expect(tracked).toContain('schemas/certificate.yaml');
    expect(tracked.filter((p) => p.startsWith('assets/')).length).toBeGreaterThan(10);

    const validate = estate(['validate', '--format', 'json'], { cwd: dir });
    expect(validate.status).toBe(0);
    const report = parseJson<{ valid: boolean; errors: unknown[]; stats: { assets: number; byKind: Record<string, number> } }>(validate.stdout);
    expect(report.valid).toBe(true);
    expect(report.errors).toEqual([]);
    // Teams, hosts, networks, services, databases, applications and the custom kind.
    expect(Object.keys(report.stats.byKind).sort()).toEqual(['Application', 'Certificate', 'Database', 'Host', 'Network', 'Service', 'Team']);

    const atHead = estate(['validate', '--rev', 'HEAD'], { cwd: dir });
    expect(atHead.status).toBe(0);
    expect(atHead.stdout).toMatch(/^✓ valid: \d+ assets of 7 kinds in \d+ files, \d+ ms\n$/);
  });

  it("commits as the user's git identity: the GIT_AUTHOR_* variables, else user.name and user.email", () => {
    const parent = makeTempDir();
    writeFileSync(join(parent, 'gitconfig'), '[user]\n\tname = Casey Root\n\temail = casey@example.com\n');
    const env = testEnv({ GIT_CONFIG_GLOBAL: join(parent, 'gitconfig') });
    const fromEnv = spawnSync(process.execPath, [BIN, 'init', 'a'], { cwd: parent, env, encoding: 'utf8' });
    expect(fromEnv.status).toBe(0);
    expect(git(join(parent, 'a'), 'log', '-1', '--format=%an <%ae>')).toBe('Test Author <author@example.com>');

    for (const name of ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL']) delete env[name];
    const fromConfig = spawnSync(process.execPath, [BIN, 'init', 'b'], { cwd: parent, env, encoding: 'utf8' });
    expect(fromConfig.status).toBe(0);
    expect(git(join(parent, 'b'), 'log', '-1', '--format=%an <%ae> / %cn <%ce>')).toBe('Casey Root <casey@example.com> / Casey Root <casey@example.com>');
  });

  it('initializes the current directory when it is empty', () => {
    const dir = makeTempDir();
    const result = estate(['init'], { cwd: dir });
    expect(result.status).toBe(0);
    expect(existsSync(join(dir, 'estate.yaml'))).toBe(true);
    expect(git(dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
  });

  it('refuses a directory that is not empty, and writes nothing', () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'notes.txt'), 'mine\n');
    const result = estate(['init', dir], { cwd: makeTempDir() });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`error[E_EXISTS]: ${dir} is not empty; estate init needs a new or empty directory\n`);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('refuses a path that is a file', () => {
    const parent = makeTempDir();
    writeFileSync(join(parent, 'file'), 'x\n');
    const result = estate(['init', 'file'], { cwd: parent });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`error[E_EXISTS]: ${join(parent, 'file')} exists and is not a directory; estate init needs a new or empty directory\n`);
  });

  it('reports an operating-system error with the stable code E_IO', () => {
    const parent = makeTempDir();
    writeFileSync(join(parent, 'file'), 'x\n');
    const result = estate(['init', 'file/sub'], { cwd: parent });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error\[E_IO\]: ENOTDIR: not a directory/);
  });

  it('refuses an existing repository', () => {
    const dir = makeTempDir();
    mkdirSync(join(dir, '.git'));
    const result = estate(['init', '.'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error\[E_EXISTS\]: .* is not empty/);
  });
});
