import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRepo } from '@estate/git';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { buildApp } from '../http/app.js';
import { openSqliteStore } from '../store/sqliteStore.js';
import { ConfigIndex } from './ConfigIndex.js';
import { registerConfigRoutes } from './configRoutes.js';
import { ConfigService } from './ConfigService.js';
import { ConfigVersionStore } from './ConfigVersionStore.js';

it('answers 503 E_NOT_READY (retried by clients) until main was read once, then 404 for an unknown app', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'estate-config-routes-'));
  const repo = await initRepo(join(dir, 'estate.git'), { bare: true });
  const store = await openSqliteStore(join(dir, 'estate.db'));
  const versions = new ConfigVersionStore(new Database(':memory:'));
  const service = new ConfigService({ versions, identities: () => [], recipient: () => 'age1x' });
  const index = new ConfigIndex({ repo, store, versions, identities: () => [] });
  const app = await buildApp({
    store,
    status: () => ({ state: 'ready', commitsIndexed: 0, lagSeconds: 0, headErrors: 0 }),
    extend: (instance) => registerConfigRoutes(instance, { service, versions, index, store, recipient: () => 'age1x' }),
  });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { token } = await issueToken(store, { name: 'vic', role: 'viewer' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1/config/billing/prod`;
    const get = (path = ''): Promise<Response> => fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
    for (const path of ['', '/watch']) {
      const early = await get(path);
      expect(early.status).toBe(503);
      expect(early.headers.get('retry-after')).toBe('5');
      expect(((await early.json()) as { error: { code: string } }).error.code).toBe('E_NOT_READY');
    }
    versions.append([], { sha: 'a'.repeat(40), commitSeq: 1 });
    const later = await get();
    expect(later.status).toBe(404);
    expect(((await later.json()) as { error: { code: string } }).error.code).toBe('E_CONFIG_NOT_FOUND');
  } finally {
    await app.close();
    service.close();
    await store.close();
    await repo.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
