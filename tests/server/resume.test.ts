import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateEstate } from '../../bench/generateEstate.mjs';
import { estate, makeTempDir, removeTempDirs, serveEstate } from '../cli/helpers.js';
import { openDataStore } from '@estate/server';
import { dumpStore } from './storeDump.js';
import { getJson, waitFor } from './helpers.js';

afterAll(removeTempDirs);

describe('indexing survives SIGKILL', () => {
  it('a server killed mid-index resumes to the same store a reindex builds', async () => {
    const work = makeTempDir('estate-resume-');
    const source = join(work, 'source');
    const manifest = await generateEstate({ assets: 400, commits: 800, seed: 3, out: source });
    const total = manifest.commits.length;
    const data = join(work, 'data');

    const first = await serveEstate(['--data', data, '--import', source, '--open-read', '--port', '0'], { cwd: work });
    // Kill once a good part, but not all, of the history is in.
    const seqAtKill = await waitFor('indexing to be under way', async () => {
      const ready = await getJson(`${first.url}/readyz`);
      const seq: number | undefined = ready.body?.head?.seq;
      return seq !== undefined && seq >= 50 ? seq : undefined;
    }, 60_000, 5);
    await first.stop('SIGKILL');
    expect(seqAtKill, 'the kill must land before indexing finished').toBeLessThan(total);

    const second = await serveEstate(['--data', data, '--open-read', '--port', '0'], { cwd: work });
    await waitFor('the restarted server to reach main', async () => {
      const ready = await getJson(`${second.url}/readyz`);
      return ready.status === 200 && ready.body.head?.sha === manifest.head && ready.body.lagSeconds === 0 ? true : undefined;
    }, 120_000, 50);
    const commits = await getJson(`${second.url}/api/v1/commits?limit=1`);
    expect(commits.body.items[0]).toMatchObject({ seq: total, sha: manifest.head });
    expect((await second.stop()).status).toBe(0);

    // The same history, rebuilt from scratch in another data dir.
    const fresh = join(work, 'fresh');
    cpSync(join(data, 'estate.git'), join(fresh, 'estate.git'), { recursive: true });
    const rebuilt = estate(['reindex', '--data', fresh], { cwd: work });
    expect(rebuilt.status, rebuilt.stderr).toBe(0);

    const resumedStore = await openDataStore(data);
    const rebuiltStore = await openDataStore(fresh);
    try {
      expect(await dumpStore(resumedStore, { every: 100 })).toEqual(await dumpStore(rebuiltStore, { every: 100 }));
    } finally {
      await resumedStore.close();
      await rebuiltStore.close();
    }
  }, 240_000);
});
