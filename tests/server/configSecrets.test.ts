// The real `estate serve` process serving config secrets: scoped tokens made with the CLI, reads
// with and without the right, a tampered file pushed to main, and a scan of everything the
// server wrote (stdout and stderr) for the secret values.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, commit, copyDemo, estate, git, makeTempDir, removeTempDirs, serveEstate, testEnv } from '../cli/helpers.js';
import { getJson, waitFor } from './helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

const SECRETS = { DB_PASSWORD: 'Zq9-checkout-db-pa55-4471', 'stripe.apiKey': 'sk_live_demo_4f8a2b6c1d' };

function setSecret(repo: string, key: string, value: string, identity: string): void {
  const result = spawnSync(process.execPath, [BIN, 'secret', 'set', 'checkout', 'prod', key, '--identity', identity], { cwd: repo, env: testEnv(), input: `${value}\n`, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
}

describe('config secrets served by estate serve', () => {
  it('decrypts only for tokens allowed them, refuses a tampered file, and never logs a value', async () => {
    const keys = makeTempDir('estate-config-keys-');
    const data = makeTempDir('estate-config-serve-');
    // The server's identity lives in its data dir; a developer holds another.
    const serverKey = estate(['secret', 'keygen', '--out', join(data, 'age-identities.txt')], { cwd: keys });
    const developerKey = estate(['secret', 'keygen', '--out', join(keys, 'dev.txt')], { cwd: keys });
    expect(serverKey.status, serverKey.stderr).toBe(0);
    const repo = copyDemo();
    const estateYaml = join(repo, 'estate.yaml');
    writeFileSync(estateYaml, readFileSync(estateYaml, 'utf8').replace(/environments: .*\n/, `environments: [dev, staging, {name: prod, recipients: [${serverKey.stdout.trim()}, ${developerKey.stdout.trim()}]}]\n`));
    for (const [key, value] of Object.entries(SECRETS)) setSecret(repo, key, value, join(keys, 'dev.txt'));
    commit(repo, 'checkout secrets');

    const server = await serveEstate(['--data', data, '--import', repo, '--port', '0'], { cwd: data });
    const token = (args: string[]): string => {
      const created = estate(['token', 'create', '--data', data, ...args], { cwd: data });
      expect(created.status, created.stderr).toBe(0);
      return created.stdout.trim();
    };
    const app = token(['--name', 'checkout-prod', '--role', 'viewer', '--app', 'checkout', '--secrets', 'checkout/prod']);
    const appPlain = token(['--name', 'checkout-plain', '--role', 'viewer', '--app', 'checkout']);
    const other = token(['--name', 'storefront', '--role', 'viewer', '--app', 'storefront', '--secrets', '*/*']);
    const viewer = token(['--name', 'vic', '--role', 'viewer']);
    expect(estate(['token', 'create', '--data', data, '--role', 'viewer', '--secrets', 'checkout'], { cwd: data }).stderr).toMatch(/E_BAD_PARAM/);
    try {
      const url = `${server.url}/api/v1/config/checkout/prod`;
      const served = await waitFor('the config', async () => {
        const answer = await getJson(url, app);
        return answer.status === 200 ? answer : undefined;
      });
      expect(served.headers.get('estate-config-secrets')).toBe('included');
      expect(served.body.DB_PASSWORD).toBe(SECRETS.DB_PASSWORD);
      expect(served.body.stripe.apiKey).toBe(SECRETS['stripe.apiKey']);

      for (const withheld of [appPlain, viewer]) {
        const answer = await getJson(url, withheld);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('estate-config-secrets')).toBe('withheld');
        expect(JSON.stringify(answer.body)).not.toContain(SECRETS.DB_PASSWORD);
      }
      expect((await getJson(url, other)).status).toBe(403);
      expect((await getJson(`${server.url}/api/v1/assets`, app)).status).toBe(403);
      const versions = await getJson(`${url}/versions`, viewer);
      expect(JSON.stringify(versions.body)).not.toContain(SECRETS.DB_PASSWORD);

      // A tampered file on main (its MAC fails) is refused: the last good version stays.
      const good = served.headers.get('estate-config-version');
      const file = join(repo, 'config/checkout/prod.secrets.yaml');
      const text = readFileSync(file, 'utf8');
      const tampered = text.replace(/(DB_PASSWORD: "ENC\[age,)(.)/, (_all, head: string, first: string) => `${head}${first === 'Y' ? 'Z' : 'Y'}`);
      expect(tampered).not.toBe(text);
      const bad = commit(repo, 'tamper', { 'config/checkout/prod.secrets.yaml': tampered });
      git(repo, 'push', '-q', join(data, 'estate.git'), 'main:main');
      await waitFor('the tampered commit to be indexed', async () => ((await getJson(`${server.url}/api/v1/commits?limit=1`, viewer)).body?.items?.[0]?.sha === bad ? true : undefined));
      const list = await waitFor('the refusal', async () => {
        const answer = await getJson(`${server.url}/api/v1/config`, viewer);
        return answer.body.items.some((i: { problems?: string[] }) => i.problems) ? answer : undefined;
      });
      expect(JSON.stringify(list.body)).toMatch(/checkout/);
      const after = await getJson(url, app);
      expect(after.headers.get('estate-config-version')).toBe(good);
      expect(after.body.DB_PASSWORD).toBe(SECRETS.DB_PASSWORD);
    } finally {
      const { stdout, stderr } = await server.stop();
      const log = stdout + stderr;
      expect(log).toMatch(/age recipient/);
      expect(log).toMatch(/keep its last good version/);
      for (const value of Object.values(SECRETS)) expect(log).not.toContain(value);
    }
  }, 90_000);
});
