#!/usr/bin/env node
/**
 * Experiment behind a finding in bench/README.md (not run by run.mjs): does reading blobs overlap
 * with parsing them? loadEstate asks the cat-file process for 2,000 blobs, waits, parses them,
 * then asks for the next 2,000. Asking ahead alone does not help: the pipe from git holds 64 KiB
 * and node only drains it between tasks, so git stalls while a batch is parsed synchronously.
 * Asking ahead AND yielding to the event loop every few files lets git run on the other core.
 *
 *   node bench/lib/overlapExperiment.mjs --repo bench/work/e100000-c100-s1
 *
 * Prints, per strategy (each in a fresh process, twice), listTree, read+parse and the checks
 * (loadEstate on a warm cache) in ms.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CORE, GIT } from './paths.mjs';

const { MemoryParseCache, loadEstate, parseYamlFile } = await import(CORE);
const { GitCliRepo, ESTATE_PREFIXES } = await import(GIT);
const { values } = parseArgs({ options: { repo: { type: 'string' }, batch: { type: 'string', default: '2000' }, strategy: { type: 'string' } } });
const BATCH = Number(values.batch);

const strategies = {
  /** What loadEstate does: read a batch, parse it, read the next. */
  sequential: { ahead: 0, yieldEvery: 0 },
  /** Two batches requested ahead, parsing synchronously. */
  ahead: { ahead: 2, yieldEvery: 0 },
  /** Two batches ahead, and a setImmediate every 50 files so node drains git's pipe. */
  'ahead+yield': { ahead: 2, yieldEvery: 50 },
};

if (values.strategy === undefined) {
  for (let round = 0; round < 2; round++) {
    for (const name of Object.keys(strategies)) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--repo', values.repo, '--batch', values.batch, '--strategy', name], { stdio: 'inherit' });
      if (r.status !== 0) process.exit(r.status ?? 1);
    }
  }
  process.exit(0);
}

for (const [name, { ahead, yieldEvery }] of Object.entries(strategies).filter(([n]) => n === values.strategy)) {
  const repo = await GitCliRepo.open(values.repo);
  try {
    const commit = await repo.resolveCommit('HEAD');
    const t0 = performance.now();
    const files = (await repo.listTree(commit, ESTATE_PREFIXES)).map((e) => ({ path: e.path, blobId: e.oid }));
    const t1 = performance.now();
    const cache = new MemoryParseCache();
    const batches = [];
    for (let i = 0; i < files.length; i += BATCH) batches.push(files.slice(i, i + BATCH));
    const pending = [];
    const request = (k) => {
      if (k < batches.length && !pending[k]) pending[k] = repo.readBlobs(batches[k].map((f) => f.blobId));
    };
    for (let k = 0; k < batches.length; k++) {
      for (let j = 0; j <= ahead; j++) request(k + j);
      const contents = await pending[k];
      pending[k] = true;
      for (let i = 0; i < batches[k].length; i++) {
        const f = batches[k][i];
        cache.set(f.blobId, parseYamlFile(f.path, contents[i]));
        if (yieldEvery && i % yieldEvery === yieldEvery - 1) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const t2 = performance.now();
    const estate = await loadEstate(files, () => Promise.reject(new Error('all files are cached')), { cache });
    const t3 = performance.now();
    if (estate.diagnostics.length) throw new Error(`${estate.diagnostics.length} diagnostics`);
    const ms = (x) => String(Math.round(x)).padStart(6);
    console.log(`${name.padEnd(12)} listTree ${ms(t1 - t0)}  read+parse ${ms(t2 - t1)}  checks ${ms(t3 - t2)}  total ${ms(t3 - t0)} ms`);
  } finally {
    await repo.close();
  }
}
