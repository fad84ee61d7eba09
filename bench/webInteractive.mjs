#!/usr/bin/env node
/**
 * The web UI's interactivity budget on a big estate (issue 7): a generated estate of 100k assets
 * is indexed and served (`estate serve`, its own process, serving packages/web/dist); headless
 * chromium (Debian's, through playwright-core) opens
 *   (a) the estate browser on a search (`/?q=…`) — interactive when the results table shows rows;
 *       the facet counts (per kind, the total) are timed beside it;
 *   (b) an asset page (`/assets/host/…`) — interactive when its heading and YAML show;
 * and reads, with the Performance API, the time from navigation start to a `performance.mark()`
 * the page's observer sets when that holds. Each is loaded cold (a new browser context: nothing
 * cached) and then warm (5 more loads, the static files cached as a returning user has them);
 * one throwaway load before them all starts chromium's own processes.
 * Budget: ≤ 1 s each. Prints a table, writes bench/results/webInteractive.json, exits 1 over budget.
 *
 *   npm run bench:web      # builds first; runs web.mjs (bundle size) and this
 *   node bench/webInteractive.mjs [--fresh]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { generateEstate, generatorHash, readManifest } from './generateEstate.mjs';
import { estate, serve } from './lib/estateProcess.mjs';
import { RESULTS_DIR, ROOT, WORK_DIR } from './lib/paths.mjs';

const { values: flags } = parseArgs({ options: { fresh: { type: 'boolean', default: false } } });
const CHROMIUM = '/usr/bin/chromium';
const BUDGET_MS = 1000;
const ASSETS = 100_000;
const COMMITS = 200;
const WARM_RUNS = 5;
const log = (s) => process.stderr.write(`${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x) => Math.round(x);

if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing: this bench drives Debian's chromium (apt-get install -y chromium)`);
  process.exit(2);
}
if (!existsSync(join(ROOT, 'packages/web/dist/index.html'))) {
  console.error('packages/web/dist/index.html is missing: build the UI with npm run build');
  process.exit(2);
}

/** The 100k estate, generated once and kept under bench/work/ (regenerated when the generator changes). */
async function ensureEstate() {
  const dir = join(WORK_DIR, `e${ASSETS}-c${COMMITS}-s1`);
  const manifest = flags.fresh ? undefined : readManifest(dir);
  if (manifest?.generator?.sourceHash === generatorHash() && manifest.params.assets === ASSETS && manifest.params.commits === COMMITS) {
    log(`reusing ${relative(ROOT, dir)}`);
    return { dir, manifest };
  }
  log(`generating ${ASSETS} assets, ${COMMITS} commits → ${relative(ROOT, dir)}`);
  return { dir, manifest: await generateEstate({ assets: ASSETS, commits: COMMITS, seed: 1, out: dir, log }) };
}

async function waitReady(url, sha) {
  for (;;) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.json()).catch(() => undefined);
    if (ready?.head?.sha === sha && ready.state === 'ready') return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Runs in the page before its scripts: watches the DOM and marks `estate:<name>` (Performance API)
 * the first time each condition holds. window.__estateBench names the conditions to watch.
 */
const OBSERVER = `(() => {
  const conditions = {
    results: () => document.querySelector('main table tbody tr') !== null && document.querySelector('main table[aria-busy="true"]') === null,
    counts: () => /Assets 1–\\d+ of [\\d,]+/.test(document.querySelector('main [role="status"]')?.textContent ?? '') && document.querySelector('.facets .count') !== null,
    asset: () => { const id = sessionStorage.getItem('estate.bench.asset'); return id !== null && document.querySelector('main h1')?.textContent === id && document.querySelector('main .yaml') !== null; },
  };
  const pending = new Set(Object.keys(conditions));
  const check = () => {
    for (const name of [...pending]) {
      if (conditions[name]()) { performance.mark('estate:' + name); pending.delete(name); }
    }
    if (pending.size === 0) observer.disconnect();
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
})();`;

/** Loads `path` and waits for the marks; their times since navigation start (ms), and the navigation's own timings. */
async function measure(page, url, path, marks) {
  await page.goto(`${url}${path}`);
  await page.waitForFunction((names) => names.every((name) => performance.getEntriesByName(`estate:${name}`).length > 0), marks, { timeout: 60_000, polling: 50 });
  return page.evaluate((names) => {
    const [navigation] = performance.getEntriesByType('navigation');
    const times = Object.fromEntries(names.map((name) => [name, performance.getEntriesByName(`estate:${name}`)[0].startTime]));
    return { ...times, domContentLoaded: navigation.domContentLoadedEventEnd, load: navigation.loadEventEnd };
  }, marks);
}

async function main() {
  const { dir: source, manifest } = await ensureEstate();
  const data = join(WORK_DIR, 'web-interactive');
  rmSync(data, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  spawnSync('git', ['clone', '-q', '--bare', source, join(data, 'estate.git')]);
  log(`indexing ${ASSETS} assets × ${COMMITS} commits...`);
  const started = performance.now();
  estate(['reindex', '--data', data]);
  log(`  indexed in ${(performance.now() - started) / 1000} s`);
  const token = estate(['token', 'create', '--data', data, '--role', 'viewer', '--name', 'bench']).trim();
  const server = await serve(['--data', data]);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const results = {};
  try {
    await waitReady(server.url, manifest.head);
    const get = (path) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json());
    const host = (await get('/api/v1/assets?kind=Host&limit=1&selector=env%3Dprod')).items[0];
    const facets = await get('/api/v1/assets/facets');
    const searches = [
      { name: 'search "web" (a common word)', path: '/?q=web' },
      { name: `search "${host.name}" (one host)`, path: `/?q=${encodeURIComponent(host.name)}` },
      { name: 'browse Host, env=prod (no words)', path: `/?kind=Host&selector=${encodeURIComponent('env=prod')}` },
    ];
    const pages = [
      ...searches.map((s) => ({ ...s, marks: ['results', 'counts'], budgetMark: 'results' })),
      { name: `asset page ${host.id}`, path: `/assets/host/${host.name}`, marks: ['asset'], budgetMark: 'asset' },
    ];
    // Chromium's own first navigation (its renderer and network service starting) is not the UI's:
    // one throwaway load of the sign-in page first.
    const warmUp = await browser.newContext();
    await (await warmUp.newPage()).goto(server.url);
    await warmUp.close();
    for (const target of pages) {
      // A new context per target: the first load is cold (no cache), the next ones warm.
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript(({ token: t, asset }) => {
        sessionStorage.setItem('estate.token', t);
        sessionStorage.setItem('estate.bench.asset', asset);
      }, { token, asset: host.id });
      await context.addInitScript(OBSERVER);
      const page = await context.newPage();
      const runs = [];
      for (let run = 0; run <= WARM_RUNS; run++) runs.push(await measure(page, server.url, target.path, target.marks));
      await context.close();
      const [cold, ...warm] = runs;
      const row = { path: target.path, budgetMs: BUDGET_MS, cold: Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, round(v)])) };
      for (const mark of target.marks) {
        row[mark] = { coldMs: round(cold[mark]), warmMedianMs: round(median(warm.map((r) => r[mark]))), warmMaxMs: round(Math.max(...warm.map((r) => r[mark]))) };
      }
      row.withinBudget = row[target.budgetMark].coldMs <= BUDGET_MS && row[target.budgetMark].warmMaxMs <= BUDGET_MS;
      results[target.name] = row;
      log(`  ${target.name}: ${target.marks.map((m) => `${m} cold ${row[m].coldMs} ms, warm median ${row[m].warmMedianMs} ms`).join('; ')}`);
    }
    results.estate = { assets: Object.values(facets.kinds).reduce((sum, k) => sum + k.count, 0), commits: COMMITS };
  } finally {
    await browser.close();
    await server.stop();
  }

  console.log(`\nweb UI interactivity, ${results.estate.assets.toLocaleString('en-US')} assets (navigation start → interactive, Performance API marks)`);
  console.log('| page | interactive when | cold ms | warm median ms | warm max ms | budget | met |');
  console.log('|---|---|---:|---:|---:|---|---|');
  let ok = true;
  for (const [name, row] of Object.entries(results)) {
    if (!row.path) continue;
    ok &&= row.withinBudget;
    for (const mark of Object.keys(row).filter((k) => row[k]?.coldMs !== undefined)) {
      const what = { results: 'results shown', counts: 'counts shown', asset: 'asset shown' }[mark];
      const budgeted = (mark === 'asset' || mark === 'results');
      console.log(`| ${name} | ${what} | ${row[mark].coldMs} | ${row[mark].warmMedianMs} | ${row[mark].warmMaxMs} | ${budgeted ? `≤ ${BUDGET_MS} ms` : ''} | ${budgeted ? (row.withinBudget ? 'yes' : 'no') : ''} |`);
    }
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'webInteractive.json');
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, budgetMs: BUDGET_MS, results, withinBudget: ok }, null, 2)}\n`);
  console.log(`wrote ${relative(ROOT, file)}`);
  process.exit(ok ? 0 : 1);
}

await main();
