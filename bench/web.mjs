#!/usr/bin/env node
/**
 * The web UI's size budget (issue 7): the JavaScript a first visit loads before the UI can run —
 * the module scripts and modulepreloads that dist/index.html names, and what they import
 * statically — gzipped (level 9, as a server would send it), against the budget of 300 KB. CSS is
 * reported beside it. Reads the build in packages/web/dist (`npm run build` makes it), prints a
 * table, writes bench/results/web.json, and exits 1 over budget.
 *
 *   npm run bench:web      # builds first
 *   node bench/web.mjs
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RESULTS_DIR, ROOT } from './lib/paths.mjs';

const BUDGET_BYTES = 300 * 1024;
const dist = join(ROOT, 'packages/web/dist');
const indexFile = join(dist, 'index.html');
if (!existsSync(indexFile)) {
  console.error('packages/web/dist/index.html is missing: build the UI with npm run build');
  process.exit(2);
}
const html = readFileSync(indexFile, 'utf8');
const attr = (tag, name) => new RegExp(`\\b${name}="([^"]+)"`).exec(tag)?.[1];
const tags = html.match(/<(script|link)\b[^>]*>/g) ?? [];
const entries = tags
  .filter((tag) => (tag.startsWith('<script') && attr(tag, 'type') === 'module') || attr(tag, 'rel') === 'modulepreload')
  .map((tag) => attr(tag, 'src') ?? attr(tag, 'href'));
const styles = tags.filter((tag) => attr(tag, 'rel') === 'stylesheet').map((tag) => attr(tag, 'href'));

/** The entry scripts and their static imports (`import … from "./x.js"`, not `import()`). */
const scripts = new Set();
const visit = (url) => {
  if (scripts.has(url)) return;
  scripts.add(url);
  const code = readFileSync(join(dist, url), 'utf8');
  for (const match of code.matchAll(/(?:^|[;\s}])import\s*(?:[\w*{}\s,$]+from\s*)?["']([^"']+)["']/g)) {
    if (match[1].startsWith('.') || match[1].startsWith('/')) visit(match[1].startsWith('/') ? match[1] : posix.join(posix.dirname(url), match[1]));
  }
};
for (const entry of entries) visit(entry);

const measure = (url) => {
  const bytes = readFileSync(join(dist, url));
  return { file: url, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
};
const js = [...scripts].map(measure);
const css = styles.map(measure);
const total = (files, key) => files.reduce((sum, f) => sum + f[key], 0);
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

console.log('web UI, initial load (packages/web/dist)');
console.log(`${'file'.padEnd(40)} ${'raw'.padStart(10)} ${'gzip'.padStart(10)}`);
for (const file of [...js, ...css]) console.log(`${file.file.padEnd(40)} ${kb(file.bytes).padStart(10)} ${kb(file.gzipBytes).padStart(10)}`);
const jsGzip = total(js, 'gzipBytes');
const within = jsGzip <= BUDGET_BYTES;
console.log(`initial JS gzipped: ${kb(jsGzip)} (budget ${kb(BUDGET_BYTES)}) ${within ? 'OK' : 'OVER BUDGET'}`);

mkdirSync(RESULTS_DIR, { recursive: true });
const result = {
  date: new Date().toISOString(),
  node: process.version,
  budgetBytes: BUDGET_BYTES,
  initialJs: { bytes: total(js, 'bytes'), gzipBytes: jsGzip, files: js },
  css: { bytes: total(css, 'bytes'), gzipBytes: total(css, 'gzipBytes'), files: css },
  withinBudget: within,
};
writeFileSync(join(RESULTS_DIR, 'web.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${join(dirname(RESULTS_DIR).slice(ROOT.length + 1), 'results/web.json')}`);
process.exit(within ? 0 : 1);
