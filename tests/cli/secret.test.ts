import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, copyDemo, estate, makeTempDir, removeTempDirs, testEnv, type RunResult } from './helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

const SECRETS = 'config/checkout/prod.secrets.yaml';
const VALUE = 'pa55-wörd with spaces $HOME "quotes"';

/** Runs `estate <args>` with `input` on stdin (a pipe, so never a terminal). */
function estateWithInput(args: string[], cwd: string, input: string, env: Record<string, string> = {}): RunResult {
  const started = performance.now();
  const child = spawnSync(process.execPath, [BIN, ...args], { cwd, env: testEnv(env), input, encoding: 'utf8' });
  if (child.error) throw child.error;
  expect(child.stderr).not.toMatch(/^ {4}at /m);
  return { status: child.status, stdout: child.stdout, stderr: child.stderr, ms: performance.now() - started };
}

/** Makes an identity file with `estate secret keygen` and returns its path and public recipient. */
function keygen(dir: string, name: string): { file: string; recipient: string } {
  const file = join(dir, name);
  const result = estate(['secret', 'keygen', '--out', file], { cwd: dir });
  expect(result.status, result.stderr).toBe(0);
  return { file, recipient: result.stdout.trim() };
}

/** Gives prod of the demo estate its own recipients in estate.yaml. */
function setProdRecipients(repo: string, recipients: string[]): void {
  const path = join(repo, 'estate.yaml');
  const text = readFileSync(path, 'utf8').replace(/environments: .*\n/, `environments: [dev, staging, {name: prod, recipients: [${recipients.join(', ')}]}]\n`);
  writeFileSync(path, text);
}

describe('estate secret', () => {
  let keys: string;
  let k1: { file: string; recipient: string };
  let k2: { file: string; recipient: string };

  beforeAll(() => {
    keys = makeTempDir('estate-cli-keys-');
    k1 = keygen(keys, 'k1.txt');
    k2 = keygen(keys, 'k2.txt');
  });

  /** The demo estate with prod encrypted to k1 and DB_PASSWORD set to VALUE. */
  function repoWithSecret(): string {
    const repo = copyDemo();
    setProdRecipients(repo, [k1.recipient]);
    const set = estateWithInput(['secret', 'set', 'checkout', 'prod', 'DB_PASSWORD'], repo, `${VALUE}\n`);
    expect(set.status, set.stderr).toBe(0);
    return repo;
  }

  it('keygen writes a 0600 identity file, prints the recipient, and never overwrites', () => {
    expect(k1.recipient).toMatch(/^age1[02-9ac-hj-np-z]{58}$/);
    expect(statSync(k1.file).mode & 0o777).toBe(0o600);
    const text = readFileSync(k1.file, 'utf8');
    expect(text).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+$/m);
    expect(text).toContain(`# public key: ${k1.recipient}`);
    const again = estate(['secret', 'keygen', '--out', k1.file], { cwd: keys });
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('error[E_EXISTS]');
    expect(readFileSync(k1.file, 'utf8')).toBe(text);
  });

  it('set reads the value from stdin and get returns its exact text; the value appears nowhere else', () => {
    const repo = copyDemo();
    setProdRecipients(repo, [k1.recipient]);
    const set = estateWithInput(['secret', 'set', 'checkout', 'prod', 'DB_PASSWORD'], repo, `${VALUE}\n`);
    expect(set.status, set.stderr).toBe(0);
    expect(set.stdout).toContain('DB_PASSWORD');
    expect(set.stdout).toContain(SECRETS);
    for (const output of [set.stdout, set.stderr]) expect(output).not.toContain(VALUE);
    const file = readFileSync(join(repo, SECRETS), 'utf8');
    expect(file).not.toContain(VALUE);
    expect(file).not.toContain(Buffer.from(VALUE).toString('base64'));
    expect(file).toContain(k1.recipient);

    const get = estate(['secret', 'get', 'checkout', 'prod', 'DB_PASSWORD', '--identity', k1.file], { cwd: repo });
    expect(get.status, get.stderr).toBe(0);
    expect(get.stdout).toBe(`${VALUE}\n`);

    // Only one trailing newline is removed; the identity may also come from the environment.
    const second = estateWithInput(['secret', 'set', 'checkout', 'prod', 'TOKEN'], repo, 'line1\nline2\n\n', { ESTATE_AGE_IDENTITY_FILE: k1.file });
    expect(second.status, second.stderr).toBe(0);
    const inline = readFileSync(k1.file, 'utf8').split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-1')) as string;
    const token = estate(['secret', 'get', 'checkout', 'prod', 'TOKEN'], { cwd: repo, env: { ESTATE_AGE_IDENTITY: inline } });
    expect(token.stdout).toBe('line1\nline2\n\n');

    const names = estate(['secret', 'get', 'checkout', 'prod', '--identity', k1.file], { cwd: repo });
    expect(names.stdout).toBe('DB_PASSWORD\nTOKEN\n');
    const all = estate(['secret', 'get', 'checkout', 'prod', '--all', '--identity', k1.file], { cwd: repo });
    expect(all.stdout).toBe(`DB_PASSWORD='${VALUE}'\nTOKEN='line1\nline2\n'\n`);

    const missing = estate(['secret', 'get', 'checkout', 'prod', 'NOPE', '--identity', k1.file], { cwd: repo });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('error[E_SECRET_NOT_FOUND]');
  });

  it('estate validate still passes after set', () => {
    const repo = repoWithSecret();
    const result = estate(['validate'], { cwd: repo });
    expect(result.status, result.stdout).toBe(0);
    expect(result.stdout).toContain('valid');
  });

  it('refuses a value on the command line without echoing it', () => {
    const repo = repoWithSecret();
    const before = readFileSync(join(repo, SECRETS), 'utf8');
    for (const args of [
      ['secret', 'set', 'checkout', 'prod', 'API_KEY', 'argv-secret-1'],
      ['secret', 'set', 'checkout', 'prod', 'API_KEY=argv-secret-1'],
    ]) {
      const result = estateWithInput([...args, '--identity', k1.file], repo, 'from-stdin\n');
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('error[E_USAGE]');
      expect(result.stderr).toContain('never the value');
      expect(result.stderr + result.stdout).not.toContain('argv-secret-1');
    }
    expect(readFileSync(join(repo, SECRETS), 'utf8')).toBe(before);
  });

  it('needs an identity to change or read an existing file (E_SECRET_NO_IDENTITY)', () => {
    const repo = repoWithSecret();
    const set = estateWithInput(['secret', 'set', 'checkout', 'prod', 'OTHER'], repo, 'x\n');
    expect(set.status).toBe(2);
    expect(set.stderr).toContain('error[E_SECRET_NO_IDENTITY]');
    const get = estate(['secret', 'get', 'checkout', 'prod', 'DB_PASSWORD'], { cwd: repo });
    expect(get.status).toBe(2);
    expect(get.stderr).toContain('error[E_SECRET_NO_IDENTITY]');
    const bad = estate(['secret', 'get', 'checkout', 'prod', 'DB_PASSWORD'], { cwd: repo, env: { ESTATE_AGE_IDENTITY: 'not-a-key' } });
    expect(bad.stderr).toContain('error[E_SECRET_IDENTITY]');
    expect(bad.stderr).not.toContain('not-a-key');
  });

  it('refuses a tampered file with E_SECRET_MAC: one ciphertext character, or the recipients', () => {
    const repo = repoWithSecret();
    const path = join(repo, SECRETS);
    const original = readFileSync(path, 'utf8');
    const match = /DB_PASSWORD: "ENC\[age,([A-Za-z0-9+/]+)/.exec(original) as RegExpExecArray;
    const at = match.index + match[0].length - 10;
    const flipped = original.slice(0, at) + (original[at] === 'A' ? 'B' : 'A') + original.slice(at + 1);
    const swapped = original.replace(`- ${k1.recipient}`, `- ${k2.recipient}`);
    expect(swapped).not.toBe(original);
    for (const tampered of [flipped, swapped]) {
      writeFileSync(path, tampered);
      const get = estate(['secret', 'get', 'checkout', 'prod', 'DB_PASSWORD', '--identity', k1.file], { cwd: repo });
      expect(get.status).toBe(2);
      expect(get.stderr).toContain('error[E_SECRET_MAC]');
      expect(get.stdout + get.stderr).not.toContain(VALUE);
    }
  });

  it('rotate re-encrypts to the new recipients: the new identity reads, the removed one cannot', () => {
    const repo = repoWithSecret();
    setProdRecipients(repo, [k2.recipient]);
    // Recipients changed but the file was not rotated: set refuses.
    const stale = estateWithInput(['secret', 'set', 'checkout', 'prod', 'OTHER', '--identity', k1.file], repo, 'x\n');
    expect(stale.stderr).toContain('error[E_SECRET_MISMATCH]');

    const rotate = estate(['secret', 'rotate', 'checkout', 'prod', '--identity', k1.file], { cwd: repo });
    expect(rotate.status, rotate.stderr).toBe(0);
    expect(rotate.stdout).toContain(`rotated ${SECRETS}`);
    const file = readFileSync(join(repo, SECRETS), 'utf8');
    expect(file).toContain(k2.recipient);
    expect(file).not.toContain(k1.recipient);

    const byNew = estate(['secret', 'get', 'checkout', 'prod', 'DB_PASSWORD', '--identity', k2.file], { cwd: repo });
    expect(byNew.status, byNew.stderr).toBe(0);
    expect(byNew.stdout).toBe(`${VALUE}\n`);
    const byRemoved = estate(['secret', 'get', 'checkout', 'prod', 'DB_PASSWORD', '--identity', k1.file], { cwd: repo });
    expect(byRemoved.status).toBe(2);
    expect(byRemoved.stderr).toContain('error[E_SECRET_DECRYPT]');

    // The bulk forms skip a file already encrypted to its environment's recipients.
    const all = estate(['secret', 'rotate', '--all', '--identity', k2.file], { cwd: repo });
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toBe(`up to date ${SECRETS}\n`);
    expect(readFileSync(join(repo, SECRETS), 'utf8')).toBe(file);
    const forced = estate(['secret', 'rotate', '--env', 'prod', '--force', '--identity', k2.file], { cwd: repo });
    expect(forced.stdout).toBe(`rotated ${SECRETS} (encrypted to 1 recipient)\n`);
    expect(readFileSync(join(repo, SECRETS), 'utf8')).not.toBe(file);
    expect(estate(['validate'], { cwd: repo }).status).toBe(0);
  });

  it('refuses an undeclared environment, a bad key name and an empty value', () => {
    const repo = copyDemo();
    setProdRecipients(repo, [k1.recipient]);
    const env = estateWithInput(['secret', 'set', 'checkout', 'qa', 'KEY'], repo, 'x\n');
    expect(env.stderr).toContain('error[E_SECRET_TARGET]');
    const key = estateWithInput(['secret', 'set', 'checkout', 'prod', '9KEY'], repo, 'x\n');
    expect(key.stderr).toContain('error[E_SECRET_KEY]');
    const empty = estateWithInput(['secret', 'set', 'checkout', 'prod', 'KEY'], repo, '');
    expect(empty.stderr).toContain('error[E_SECRET_VALUE]');
    const noRecipients = estateWithInput(['secret', 'set', 'checkout', 'dev', 'KEY'], repo, 'x\n');
    expect(noRecipients.stderr).toContain('error[E_SECRET_RECIPIENT]');
  });
});
