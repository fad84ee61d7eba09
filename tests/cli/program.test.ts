import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, ESTATE_YAML, estate, hostYaml, makeRepo, makeTempDir, removeTempDirs, ROOT, testEnv } from './helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

describe('estate (the program)', () => {
  it('runs as `npx estate` from the repo root through the workspace link in node_modules/.bin', () => {
    const bin = join(ROOT, 'node_modules/.bin/estate');
    const result = spawnSync(bin, ['--help'], { cwd: ROOT, env: testEnv(), encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: estate \[options\] \[command\]/);
    for (const command of ['validate', 'diff', 'get', 'list', 'relations', 'history', 'init', 'new', 'serve', 'reindex', 'token']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
  });

  it('prints its version', () => {
    const result = estate(['--version'], { cwd: makeTempDir() });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('prints help for a command', () => {
    const result = estate(['validate', '--help'], { cwd: makeTempDir() });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('--format <format>');
    expect(result.stdout).toContain('--rev <rev>');
    expect(result.stdout).toContain('--repo <dir>');
  });

  it('exits 2 for an unknown command, suggesting the closest one', () => {
    const result = estate(['validat'], { cwd: makeTempDir() });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("error: unknown command 'validat'");
    expect(result.stderr).toContain('validate');
  });

  it('exits 2 for an unknown option and for a missing argument', () => {
    const dir = makeTempDir();
    const option = estate(['list', '--bogus'], { cwd: dir });
    expect(option.status).toBe(2);
    expect(option.stderr).toContain("unknown option '--bogus'");
    const argument = estate(['get'], { cwd: dir });
    expect(argument.status).toBe(2);
    expect(argument.stderr).toContain("missing required argument 'id'");
  });

  it('stops quietly when the reader closes the pipe early (`estate list | head -1`)', () => {
    // Far more output than a pipe buffers, so writes go on after head has exited.
    const hosts = Array.from({ length: 2000 }, (_, i) => hostYaml(`h${i}`, `10.1.${Math.floor(i / 250)}.${i % 250}`)).join('---\n');
    const repo = makeRepo({ 'estate.yaml': ESTATE_YAML, 'assets/hosts.yaml': hosts });
    for (const args of ['list', 'list -o json', 'validate --format json']) {
      const result = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" ${args} | head -1; echo "status $?"`], { cwd: repo, env: testEnv(), encoding: 'utf8' });
      expect(result.stderr, args).toBe('');
      expect(result.stdout.split('\n')[1], args).toBe('status 0');
    }
  });
});
