// The cache is a file: the test reads and damages it on disk.
// eslint-disable-next-line no-restricted-imports
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileConfigCache } from './configCache.js';
import type { ConfigSnapshot } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'estate-config-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TOKEN = 'est_test-token-0123456789';
const snapshot = (secrets: ConfigSnapshot['secrets'], values: Record<string, unknown>): ConfigSnapshot => ({
  app: 'billing',
  env: 'prod',
  version: 'a'.repeat(40),
  seq: 3,
  values,
  secrets,
  release: 'stable',
  source: 'server',
});

describe('FileConfigCache', () => {
  it('keeps a snapshot without secrets readable, mode 0600, and reads it back as source cache', async () => {
    const cache = new FileConfigCache(dir, { app: 'billing', env: 'prod', token: TOKEN });
    expect(cache.path).toBe(join(dir, 'billing.prod.json'));
    await cache.write(snapshot('none', { http: { port: 8080 }, '10': 'ten' }));
    expect(statSync(cache.path).mode & 0o777).toBe(0o600);
    expect(readFileSync(cache.path, 'utf8')).toContain('8080');
    expect(await cache.read()).toEqual({ ...snapshot('none', { http: { port: 8080 }, '10': 'ten' }), source: 'cache' });
  });

  it('encrypts a snapshot with secrets: no value on disk, unreadable with another token', async () => {
    const cache = new FileConfigCache(dir, { app: 'billing', env: 'prod', cluster: 'eu-1', token: TOKEN });
    expect(cache.path).toBe(join(dir, 'billing.prod.eu-1.json'));
    await cache.write(snapshot('included', { db: { password: 'hunter2-secret' } }));
    const text = readFileSync(cache.path, 'utf8');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('password');
    expect((await cache.read())?.values).toEqual({ db: { password: 'hunter2-secret' } });
    expect(await new FileConfigCache(dir, { app: 'billing', env: 'prod', cluster: 'eu-1', token: `${TOKEN}x` }).read()).toBeUndefined();
    expect(await new FileConfigCache(dir, { app: 'billing', env: 'prod', cluster: 'eu-1' }).read()).toBeUndefined();
  });

  it('ignores a tampered, corrupt or foreign file', async () => {
    const cache = new FileConfigCache(dir, { app: 'billing', env: 'dev', token: TOKEN });
    await cache.write({ ...snapshot('none', { limit: 1 }), env: 'dev' });
    const good = readFileSync(cache.path, 'utf8');
    writeFileSync(cache.path, good.replace('"limit": 1', '"limit": 2'));
    expect(await cache.read()).toBeUndefined();
    writeFileSync(cache.path, good.replace('"seq": 3', '"seq": 4'));
    expect(await cache.read()).toBeUndefined();
    writeFileSync(cache.path, good.slice(0, 40));
    expect(await cache.read()).toBeUndefined();
    // The prod file copied over dev's: it names another env.
    writeFileSync(cache.path, readFileSync(join(dir, 'billing.prod.json')));
    expect(await cache.read()).toBeUndefined();
    writeFileSync(cache.path, good);
    expect((await cache.read())?.values).toEqual({ limit: 1 });
    expect(await new FileConfigCache(dir, { app: 'billing', env: 'qa', token: TOKEN }).read()).toBeUndefined();
  });

  it('flips in a secret ciphertext are refused', async () => {
    const cache = new FileConfigCache(dir, { app: 'shop', env: 'prod', token: TOKEN });
    await cache.write({ ...snapshot('included', { key: 'v' }), app: 'shop' });
    const file = JSON.parse(readFileSync(cache.path, 'utf8')) as { ciphertext: string };
    const bytes = Buffer.from(file.ciphertext, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    writeFileSync(cache.path, JSON.stringify({ ...file, ciphertext: bytes.toString('base64') }));
    expect(await cache.read()).toBeUndefined();
  });
});
