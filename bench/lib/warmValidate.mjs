#!/usr/bin/env node
/**
 * Warm re-validation, in one process: loads the estate at HEAD with a MemoryParseCache, then
 * `--commits` times makes a commit touching `--files` host files (commitFiles, on a scratch ref so
 * the generated branch stays as it is) and times loadCommitEstate of the new commit with the warm
 * cache. Prints JSON: the timings, a split of one more warm load into listTree and loadEstate, and
 * (when @estate/git exports it) the same commits loaded through IncrementalEstateLoader.
 *
 * With `--profile DIR`, each timed load is CPU-profiled (in-process, so commits and the first
 * load are left out) into DIR/warm-<n>.cpuprofile (and DIR/incremental-<n>.cpuprofile).
 *
 *   node bench/lib/warmValidate.mjs --repo DIR [--commits 5] [--files 10] [--profile DIR]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CORE, GIT } from './paths.mjs';
import { startProfiler } from './profile.mjs';

const { MemoryParseCache, loadEstate } = await import(CORE);
const gitPackage = await import(GIT);
const { GitCliRepo, commitFiles, loadCommitEstate, runGit, ESTATE_PREFIXES } = gitPackage;

const { values } = parseArgs({ options: { repo: { type: 'string' }, commits: { type: 'string', default: '5' }, files: { type: 'string', default: '10' }, profile: { type: 'string' } } });
const commits = Number(values.commits);
const perCommit = Number(values.files);
const REF = 'refs/bench/warm';

const repo = await GitCliRepo.open(values.repo);
const cache = new MemoryParseCache();
const check = (estate, what) => {
  if (estate.diagnostics.length) throw new Error(`${what}: ${estate.diagnostics.length} diagnostics, first: ${JSON.stringify(estate.diagnostics[0])}`);
};
try {
  const base = await repo.resolveCommit('HEAD');
  let t = performance.now();
  const first = await loadCommitEstate(repo, base, { cache });
  const coldMs = performance.now() - t;
  check(first, 'cold load');

  // Single-asset host files, spread over the estate.
  const hostFiles = (await repo.listTree(base, ['assets/hosts/'])).filter((e) => !e.path.includes('-pool-'));
  const stride = Math.max(1, Math.floor(hostFiles.length / ((commits + 1) * perCommit)));
  const pickFiles = (round) => Array.from({ length: perCommit }, (_, i) => hostFiles[(round * perCommit + i) * stride % hostFiles.length].path);

  /** A commit of `perCommit` files on top of `parent`: more CPUs on each host, jq installed on every other one. */
  const commitRound = async (parent, round) => {
    const paths = pickFiles(round);
    const tree = new Map((await repo.listTree(parent, paths)).map((e) => [e.path, e.oid]));
    const blobs = await repo.readBlobs(paths.map((p) => tree.get(p)));
    const files = {};
    paths.forEach((path, i) => {
      let text = blobs[i].toString('utf8').replace(/^ {2}cpus: (\d+)$/m, (_, n) => `  cpus: ${Number(n) + 1}`);
      if (i % 2 === 0 && !/^ {4}jq:/m.test(text)) text = text.replace(/^ {2}packages:\n/m, '  packages:\n    jq: "1.7.*"\n');
      files[path] = text;
    });
    const started = performance.now();
    const sha = await commitFiles(repo, { ref: REF, parent, files, message: `bench: touch ${perCommit} hosts (${round})` });
    return { sha, commitMs: performance.now() - started };
  };

  const runs = [];
  let parent = base;
  for (let round = 0; round < commits; round++) {
    const { sha, commitMs } = await commitRound(parent, round);
    const profiler = values.profile ? await startProfiler() : undefined;
    t = performance.now();
    const estate = await loadCommitEstate(repo, sha, { cache });
    const ms = performance.now() - t;
    if (profiler) {
      mkdirSync(values.profile, { recursive: true });
      writeFileSync(join(values.profile, `warm-${round}.cpuprofile`), JSON.stringify(await profiler.stop()));
    }
    check(estate, `warm load ${round}`);
    if (estate.stats.parsed !== perCommit) throw new Error(`warm load ${round} parsed ${estate.stats.parsed} files, expected ${perCommit}`);
    runs.push({ sha, ms, commitMs, parsed: estate.stats.parsed, assets: estate.stats.assets });
    parent = sha;
  }

  // One more round split into its phases (what loadCommitEstate does, step by step).
  const { sha } = await commitRound(parent, commits);
  t = performance.now();
  const entries = await repo.listTree(sha, ESTATE_PREFIXES);
  const listTreeMs = performance.now() - t;
  t = performance.now();
  const estate = await loadEstate(entries.map((e) => ({ path: e.path, blobId: e.oid })), (wanted) => repo.readBlobs(wanted.map((f) => f.blobId)), { cache });
  const loadEstateMs = performance.now() - t;
  check(estate, 'split load');

  // The same commits through IncrementalEstateLoader (git diff-tree from the previous commit instead
  // of a full ls-tree), when @estate/git has it: a fresh loader and cache, warmed on the base commit.
  let incremental;
  if (gitPackage.IncrementalEstateLoader) {
    const loader = new gitPackage.IncrementalEstateLoader(repo, { cache: new MemoryParseCache() });
    check(await loader.load(base), 'incremental cold load');
    incremental = [];
    for (const [round, sha] of runs.map((r) => r.sha).entries()) {
      const profiler = values.profile ? await startProfiler() : undefined;
      t = performance.now();
      const estate = await loader.load(sha);
      incremental.push(performance.now() - t);
      if (profiler) writeFileSync(join(values.profile, `incremental-${round}.cpuprofile`), JSON.stringify(await profiler.stop()));
      check(estate, `incremental load ${round}`);
    }
  }

  await runGit(['update-ref', '-d', REF], { cwd: repo.workTree ?? repo.gitDir });
  process.stdout.write(JSON.stringify({ coldMs, assets: first.stats.assets, files: first.stats.files, runs, split: { listTreeMs, loadEstateMs, entries: entries.length }, incremental }) + '\n');
} finally {
  await repo.close();
}
