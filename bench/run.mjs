#!/usr/bin/env node
/**
 * The foundation benchmark (issue 2, "Benchmark"): cold `validate` of 10k and 100k assets (commit
 * and work tree), warm re-validation after a 10-file commit, `history` of one asset in a repo of
 * 5,000 commits, and `diff` between commits 1,000 apart. Prints a table and writes
 * bench/results/foundation.json. Run with `npm run bench` (builds first).
 *
 *   node bench/run.mjs [--fresh] [--profile] [--no-profile]
 *
 * --fresh       regenerate the estates even if bench/work/ has them
 * --profile     CPU-profile every measured path, even those that meet their target
 * --no-profile  never profile (by default, a path that misses its target is profiled)
 *
 * Generated repos are cached in bench/work/e<assets>-c<commits>-s<seed>/ and reused while the
 * parameters and the generator's source are the same.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { checkoutEstate, generateEstate, generatorHash, readManifest } from './generateEstate.mjs';
import { BENCH_DIR, CLI, RESULTS_DIR, ROOT, WORK_DIR } from './lib/paths.mjs';
import { formatSummary, summarizeProfiles } from './lib/profile.mjs';

const { values: flags } = parseArgs({
  options: { fresh: { type: 'boolean', default: false }, profile: { type: 'boolean', default: false }, 'no-profile': { type: 'boolean', default: false } },
});
const SEED = 1;
const RUNS = { cold10k: 5, cold100k: 3, worktree100k: 3, warmCommits: 5, history: 5, diff: 3, startup: 5 };
const TARGETS = {
  cold100kMs: 5000,
  cold100kRssMiB: 1536,
  warmMs: 300,
  historyMs: 200,
};
const PROFILE_DIR = join(WORK_DIR, 'profiles');

const log = (s) => process.stderr.write(`${s}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const round = (x, digits = 0) => Number(x.toFixed(digits));

// ---------------------------------------------------------------------------------------------
// Estates, generated once and cached under bench/work/.

const estates = {};

async function ensureEstate(label, { assets, commits, checkout = false }) {
  const dir = join(WORK_DIR, `e${assets}-c${commits}-s${SEED}`);
  let manifest = flags.fresh ? undefined : readManifest(dir);
  const head = manifest && spawnSync('git', ['rev-parse', '--verify', '-q', 'refs/heads/main'], { cwd: dir, encoding: 'utf8' }).stdout.trim();
  const reusable =
    manifest &&
    manifest.generator?.sourceHash === generatorHash() &&
    manifest.params.assets === assets &&
    manifest.params.commits === commits &&
    manifest.params.seed === SEED &&
    head === manifest.head;
  let generatedNow = false;
  if (!reusable) {
    log(`generating ${label}: ${assets} assets, ${commits} commits → ${relative(ROOT, dir)}`);
    manifest = await generateEstate({ assets, commits, seed: SEED, out: dir, checkout, log });
    generatedNow = true;
  } else {
    log(`reusing ${label} at ${relative(ROOT, dir)} (generated in ${manifest.durationMs} ms)`);
  }
  if (checkout && !manifest.checkedOut) {
    log(`checking out ${label} (${manifest.final.files} files)`);
    manifest = await checkoutEstate(dir, manifest);
  }
  estates[label] = {
    dir: relative(ROOT, dir),
    params: manifest.params,
    head: manifest.head,
    assets: manifest.final.assets,
    files: manifest.final.files,
    byKind: manifest.final.byKind,
    averageFilesPerCommit: manifest.history.averageFilesPerCommit,
    generationMs: manifest.durationMs,
    generatedThisRun: generatedNow,
    ...(manifest.checkedOut ? { checkoutMs: manifest.checkoutMs } : {}),
  };
  return { dir, manifest };
}

// ---------------------------------------------------------------------------------------------
// Running the CLI as a child process, with its wall time and peak RSS.

const rssMethod = (() => {
  if (process.env.BENCH_RSS !== 'wrapper' && existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0) {
    return '/usr/bin/time -f %M (max RSS of the CLI process)';
  }
  return 'process.resourceUsage().maxRSS of the CLI run in-process by bench/lib/cliWithRss.mjs';
})();
const useTime = rssMethod.startsWith('/usr/bin/time');
const scratch = mkdtempSync(join(tmpdir(), 'estate-bench-'));

/** Runs `estate <args>`; resolves with wall ms, peak RSS (MiB), exit code, stdout and stderr. */
function runCli(args, { nodeFlags = [] } = {}) {
  const rssFile = join(scratch, `rss-${process.hrtime.bigint()}`);
  const [command, argv] = useTime
    ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, ...nodeFlags, CLI, ...args]]
    : [process.execPath, [...nodeFlags, join(BENCH_DIR, 'lib/cliWithRss.mjs'), rssFile, ...args]];
  return new Promise((resolve, reject) => {
    const stdout = [];
    const stderr = [];
    const started = performance.now();
    const child = spawn(command, argv, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    child.stdout.on('data', (c) => stdout.push(c));
    child.stderr.on('data', (c) => stderr.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      // GNU time prefixes "Command exited with non-zero status N" when the command fails.
      const rssLines = existsSync(rssFile) ? readFileSync(rssFile, 'utf8').trim().split('\n') : [];
      rmSync(rssFile, { force: true });
      const rssKiB = Number(rssLines[rssLines.length - 1]);
      resolve({ ms, rssMiB: Number.isFinite(rssKiB) ? rssKiB / 1024 : NaN, code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
  });
}

/** Runs the CLI `runs` times; fails loudly if it exits non-zero or `check` throws. */
async function repeatCli(label, runs, args, check = () => {}) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = await runCli(args);
    if (r.code !== 0) throw new Error(`${label}: estate ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout.slice(0, 2000)}`);
    check(r);
    results.push(r);
    log(`  ${label} #${i + 1}: ${Math.round(r.ms)} ms, ${Math.round(r.rssMiB)} MiB`);
  }
  return { ms: median(results.map((r) => r.ms)), rssMiB: Math.max(...results.map((r) => r.rssMiB)), runs: results.map((r) => round(r.ms)), last: results[results.length - 1] };
}

/** Runs a bench/lib script in its own node process and parses the JSON it prints. */
function runScript(script, args, nodeFlags = []) {
  const r = spawnSync(process.execPath, [...nodeFlags, join(BENCH_DIR, 'lib', script), ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** Asserts `validate --format json` output: valid, zero diagnostics, the expected asset count. */
function checkValid(expectedAssets) {
  return (r) => {
    const out = JSON.parse(r.stdout);
    if (!out.valid || out.errors.length !== 0) throw new Error(`expected 0 diagnostics, got ${out.errors.length}: ${JSON.stringify(out.errors.slice(0, 3))}`);
    if (out.stats.assets !== expectedAssets) throw new Error(`expected ${expectedAssets} assets, validate saw ${out.stats.assets}`);
  };
}

// ---------------------------------------------------------------------------------------------
// Metrics.

const metrics = [];
const profiles = {};
const notes = [];

function metric(name, value, unit, { target, digits = 0, ...details } = {}) {
  const m = { name, value: round(value, digits), unit };
  if (target !== undefined) {
    m.target = target;
    m.ok = value <= target;
  }
  if (Object.keys(details).length) m.details = details;
  metrics.push(m);
  return m;
}

const shouldProfile = (missed) => !flags['no-profile'] && (flags.profile || missed);

function profileCli(name, args) {
  const dir = join(PROFILE_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  log(`  profiling: estate ${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, CLI, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`profiling ${name} failed: ${r.stderr}`);
  const summary = summarizeProfiles(readdirProfiles(dir));
  profiles[name] = { command: `node --cpu-prof bin/estate.js ${args.join(' ')}`, ...summary };
}

function readdirProfiles(dir) {
  return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
}

async function main() {
  const started = performance.now();
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    freeMemoryGiB: round(freemem() / 2 ** 30, 1),
    node: process.version,
    git: spawnSync('git', ['--version'], { encoding: 'utf8' }).stdout.trim(),
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((x) => round(x, 2)),
    date: new Date().toISOString(),
  };
  // The code measured: the repo's commit, and whether packages/ had uncommitted changes.
  const code = {
    commit: spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim(),
    packagesDirty: spawnSync('git', ['status', '--porcelain', '--', 'packages'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '',
  };
  log(`estate bench — ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}`);
  if (machine.loadAverageAtStart[0] > machine.cpus * 0.75) {
    const warning = `the machine was busy when the bench started (1-min load average ${machine.loadAverageAtStart[0]} on ${machine.cpus} CPUs): timings are pessimistic`;
    notes.push(warning);
    log(`warning: ${warning}`);
  }
  mkdirSync(WORK_DIR, { recursive: true });

  const e10k = await ensureEstate('10k', { assets: 10_000, commits: 100 });
  const e100k = await ensureEstate('100k', { assets: 100_000, commits: 100, checkout: true });
  const eHist = await ensureEstate('10k×5000 commits', { assets: 10_000, commits: 5_000 });
  for (const [label, e] of Object.entries(estates)) {
    metric(`generate ${label} (${e.params.assets} assets, ${e.params.commits} commits)`, e.generationMs, 'ms', { generatedThisRun: e.generatedThisRun });
  }
  metric('check out 100k (git reset --hard, once)', estates['100k'].checkoutMs, 'ms');

  // Process start-up alone, for reading the CLI numbers below.
  log('CLI start-up');
  const startup = await repeatCli('estate --version', RUNS.startup, ['--version']);
  metric('CLI start-up (estate --version)', startup.ms, 'ms', { runs: startup.runs });

  // Cold validate: a new process, an empty parse cache (the OS file cache is warm).
  for (const [label, e, runs] of [['10k', e10k, RUNS.cold10k], ['100k', e100k, RUNS.cold100k]]) {
    log(`cold validate ${label} --rev HEAD`);
    const assets = e.manifest.final.assets;
    const r = await repeatCli(`validate ${label}`, runs, ['validate', '--rev', 'HEAD', '--repo', e.dir, '--format', 'json'], checkValid(assets));
    const big = label === '100k';
    const missed = big && (r.ms > TARGETS.cold100kMs || r.rssMiB > TARGETS.cold100kRssMiB);
    metric(`validate ${label} cold, --rev HEAD (median of ${runs})`, r.ms, 'ms', { ...(big ? { target: TARGETS.cold100kMs } : {}), runs: r.runs, assets });
    metric(`validate ${label} cold, --rev HEAD: per asset`, r.ms / assets, 'ms/asset', { digits: 4 });
    metric(`validate ${label} cold, --rev HEAD: peak RSS (max of runs)`, r.rssMiB, 'MiB', { ...(big ? { target: TARGETS.cold100kRssMiB } : {}) });
    if (big && shouldProfile(missed)) profileCli('validate-100k-cold', ['validate', '--rev', 'HEAD', '--repo', e.dir, '--format', 'json']);
  }
  {
    log('cold validate 100k work tree');
    const assets = e100k.manifest.final.assets;
    const r = await repeatCli('validate 100k work tree', RUNS.worktree100k, ['validate', '--repo', e100k.dir, '--format', 'json'], checkValid(assets));
    const missed = r.ms > TARGETS.cold100kMs || r.rssMiB > TARGETS.cold100kRssMiB;
    metric(`validate 100k cold, work tree (median of ${RUNS.worktree100k})`, r.ms, 'ms', { target: TARGETS.cold100kMs, runs: r.runs, assets });
    metric('validate 100k cold, work tree: per asset', r.ms / assets, 'ms/asset', { digits: 4 });
    metric('validate 100k cold, work tree: peak RSS (max of runs)', r.rssMiB, 'MiB', { target: TARGETS.cold100kRssMiB });
    if (shouldProfile(missed)) profileCli('validate-100k-worktree', ['validate', '--repo', e100k.dir, '--format', 'json']);
  }

  // Warm re-validation: loadCommitEstate with a warm MemoryParseCache after a 10-file commit.
  for (const [label, e] of [['10k', e10k], ['100k', e100k]]) {
    log(`warm re-validation ${label}`);
    const w = runScript('warmValidate.mjs', ['--repo', e.dir, '--commits', String(RUNS.warmCommits), '--files', '10']);
    const ms = median(w.runs.map((r) => r.ms));
    log(`  runs: ${w.runs.map((r) => Math.round(r.ms)).join(', ')} ms`);
    metric(`warm re-validation ${label} after a 10-file commit (median of ${RUNS.warmCommits})`, ms, 'ms', {
      target: TARGETS.warmMs,
      runs: w.runs.map((r) => round(r.ms)),
      listTreeMs: round(w.split.listTreeMs),
      loadEstateMs: round(w.split.loadEstateMs),
    });
    if (w.incremental) {
      const inc = median(w.incremental);
      log(`  IncrementalEstateLoader: ${w.incremental.map((x) => Math.round(x)).join(', ')} ms`);
      metric(`warm re-validation ${label}, IncrementalEstateLoader (median of ${RUNS.warmCommits})`, inc, 'ms', { target: TARGETS.warmMs, runs: w.incremental.map((x) => round(x)) });
    }
    metric(`in-process cold load ${label} (loadCommitEstate, empty cache)`, w.coldMs, 'ms');
    const incrementalMissed = w.incremental && median(w.incremental) > TARGETS.warmMs;
    if (shouldProfile(ms > TARGETS.warmMs || incrementalMissed)) {
      const dir = join(PROFILE_DIR, `warm-${label}`);
      rmSync(dir, { recursive: true, force: true });
      log(`  profiling warm re-validation ${label}`);
      runScript('warmValidate.mjs', ['--repo', e.dir, '--commits', '3', '--files', '10', '--profile', dir]);
      const files = readdirProfiles(dir);
      const command = 'bench/lib/warmValidate.mjs --commits 3 --profile (3 warm loads, profiled in-process)';
      profiles[`warm-${label}`] = { command, ...summarizeProfiles(files.filter((f) => f.includes('/warm-'))) };
      if (w.incremental) profiles[`warm-${label}-incremental`] = { command, ...summarizeProfiles(files.filter((f) => f.includes('/incremental-'))) };
    }
  }

  // History of the most-changed asset in 5,000 commits.
  {
    const hot = eHist.manifest.mostChanged[0];
    log(`history of ${hot.id} (${hot.changes} changes, ${hot.moves} moves in ${eHist.manifest.params.commits} commits)`);
    let entries = 0;
    let moved = 0;
    const r = await repeatCli('history', RUNS.history, ['history', hot.id, '--repo', eHist.dir, '--format', 'json'], (run) => {
      const out = JSON.parse(run.stdout);
      entries = out.entries.length;
      moved = out.entries.filter((x) => x.change === 'moved').length;
      if (entries < 2) throw new Error(`history of ${hot.id} has ${entries} entries`);
    });
    if (moved !== hot.moves) notes.push(`history of ${hot.id}: ${moved} moves reported, the generator made ${hot.moves}`);
    metric(`history, CLI, 5000 commits (median of ${RUNS.history})`, r.ms, 'ms', { target: TARGETS.historyMs, runs: r.runs, asset: hot.id, entries, moved });
    const inproc = runScript('historyInProcess.mjs', ['--repo', eHist.dir, '--id', hot.id, '--runs', String(RUNS.history)]);
    const ms = median(inproc.runs);
    metric(`history, in-process assetHistory (median of ${RUNS.history})`, ms, 'ms', { target: TARGETS.historyMs, runs: inproc.runs.map((x) => round(x)), entries: inproc.entries });
    const git = inproc.traced.git;
    const gitMs = Object.values(git).reduce((sum, g) => sum + g.ms, 0);
    const gitList = Object.entries(git).map(([cmd, g]) => `${cmd} ×${g.count} ${g.ms} ms`).join(', ');
    log(`  one traced call: ${Math.round(inproc.traced.ms)} ms, of which git processes ${gitMs} ms (${gitList})`);
    metric('history, in-process: time inside git processes (one traced call)', gitMs, 'ms', { tracedCallMs: round(inproc.traced.ms), git });
    if (shouldProfile(r.ms > TARGETS.historyMs || ms > TARGETS.historyMs)) profileCli('history', ['history', hot.id, '--repo', eHist.dir, '--format', 'json']);
  }

  // Semantic diff between commits 1,000 apart (the last 1,000 commits).
  {
    const commits = eHist.manifest.commits;
    const from = commits[commits.length - 1001];
    const to = commits[commits.length - 1];
    log(`diff ${from.slice(0, 10)}..${to.slice(0, 10)} (1,000 commits)`);
    let summary;
    const r = await repeatCli('diff', RUNS.diff, ['diff', from, to, '--repo', eHist.dir, '--format', 'json'], (run) => {
      summary = JSON.parse(run.stdout).summary;
      if (run.stderr.includes('warning')) throw new Error(`diff warned: ${run.stderr}`);
    });
    metric(`diff, CLI, commits 1000 apart (median of ${RUNS.diff})`, r.ms, 'ms', { runs: r.runs, ...summary });
  }

  // Where a cold 100k load spends its time, phase by phase (in-process).
  log('phases of a cold 100k load');
  const phases = runScript('phases.mjs', ['--repo', e100k.dir]);
  for (const [phase, ms] of Object.entries(phases.phases)) metric(`100k phase: ${phase}`, ms, 'ms');

  rmSync(scratch, { recursive: true, force: true });
  const result = {
    benchmark: 'foundation',
    machine: { ...machine, loadAverageAtEnd: loadavg().map((x) => round(x, 2)) },
    code,
    rss: rssMethod,
    durationMs: Math.round(performance.now() - started),
    estates,
    metrics,
    phases100k: phases,
    profiles,
    notes,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'foundation.json');
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');

  printTable(metrics);
  for (const [name, summary] of Object.entries(profiles)) console.log(`\n${formatSummary(`profile ${name}`, summary)}`);
  for (const note of notes) console.log(`note: ${note}`);
  const missed = metrics.filter((m) => m.ok === false);
  console.log(`\n${missed.length ? `${missed.length} target(s) missed` : 'all targets met'}; results in ${relative(ROOT, file)} (${Math.round(result.durationMs / 1000)} s)`);
}

function printTable(rows) {
  const fmt = (m) => (m.unit === 'ms/asset' ? m.value.toFixed(4) : m.value.toLocaleString('en-US'));
  const table = [['name', 'value', 'unit', 'target', 'ok'], ...rows.map((m) => [m.name, fmt(m), m.unit, m.target === undefined ? '' : `≤ ${m.target.toLocaleString('en-US')}`, m.ok === undefined ? '' : m.ok ? 'yes' : 'NO'])];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 1 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  console.log(`\n${line(table[0])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of table.slice(1)) console.log(line(r));
}

main().catch((error) => {
  console.error(`bench failed: ${error.stack ?? error}`);
  process.exitCode = 1;
});
