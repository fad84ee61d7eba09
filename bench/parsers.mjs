#!/usr/bin/env node
/**
 * The parser benchmark: how long the built core (packages/core/dist) and the built CLI take to
 * refuse or check pathological input — a 20k-key mapping with duplicates, a billion-laughs alias
 * bomb, very deep nesting, a file over 4 MiB, uniqueItems over 50k objects, an alias bomb through
 * loadEstate, and `estate validate` on a repo of hostile files. The unit tests check what these
 * inputs produce; this checks how fast, against budgets that used to be bounds in those tests.
 * Every run also checks the outcome (the diagnostic codes), so a fast wrong answer fails.
 * Prints a table (case, size, median ms, max ms, budget, met), writes bench/results/parsers.json,
 * and exits 1 when a case's median misses its budget. Part of `npm run bench`; alone, build first:
 *
 *   npm run build && node bench/parsers.mjs [--runs 5]
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, CORE, RESULTS_DIR, ROOT } from './lib/paths.mjs';

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(flags.runs);

if (!existsSync(CORE) || !existsSync(join(ROOT, 'packages/cli/dist/main.js'))) {
  console.error('packages/core/dist or packages/cli/dist is missing: build with npm run build');
  process.exit(2);
}
const { compileSchema, loadEstate, parseYamlFile } = await import(CORE);

const utf8 = (text) => new TextEncoder().encode(text);
const lines = (...text) => text.join('\n') + '\n';
const ESTATE_YAML = lines('apiVersion: estate/v1', 'kind: Estate', 'metadata:', '  name: bench', 'spec:', '  environments: [dev, prod]');

/** Throws unless `diagnostics` holds exactly these codes, in order. */
function expectCodes(what, diagnostics, codes) {
  const got = diagnostics.map((d) => d.code);
  if (got.join() !== codes.join()) throw new Error(`${what}: expected ${codes.join(', ')}, got ${got.join(', ') || 'no diagnostics'}`);
}

/** `a: [9 × "lol"]`, then b…j each nine aliases of the one before: f crosses 100,000 nodes. */
function billionLaughs() {
  const out = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    out.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  return lines(...out);
}

/** `loadEstate` over in-memory files, blob ids computed as git does. */
async function loadFiles(contents) {
  const byBlob = new Map();
  const files = Object.entries(contents).map(([path, text]) => {
    const bytes = utf8(text);
    const blobId = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
    byBlob.set(blobId, bytes);
    return { path, blobId };
  });
  return loadEstate(files, async (refs) => refs.map((ref) => byBlob.get(ref.blobId)));
}

/** A git repo of hostile files beside two valid hosts (as in tests/cli/validate.test.ts), and its size. */
function hostileRepo() {
  const host = (name, ip) => lines('apiVersion: estate/v1', 'kind: Host', 'metadata:', `  name: ${name}`, '  labels: {env: prod}', 'spec:', `  hostname: ${name}.example.com`, `  ip: ${ip}`);
  const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= 12; i++) levels.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  const files = {
    'estate.yaml': ESTATE_YAML,
    'assets/hosts/a.yaml': host('a', '10.0.0.1'),
    'assets/hosts/b.yaml': host('b', '10.0.0.2'),
    'assets/bomb.yaml': lines(...levels),
    'assets/huge.yaml': `# ${'x'.repeat(5 * 1024 * 1024)}\n`,
    'assets/deep.yaml': `a: ${'['.repeat(100)}${']'.repeat(100)}\n`,
    'assets/proto.yaml': host('p', '10.0.0.9').replace('  labels:', '  __proto__: {polluted: true}\n  labels:'),
    'assets/binary.yaml': Buffer.from([0x00, 0x01, 0xff, 0xfe]),
    'assets/latin1.yaml': Buffer.from('description: caf\xe9\n', 'latin1'),
  };
  const size = Object.values(files).reduce((sum, content) => sum + Buffer.byteLength(content), 0);
  const dir = mkdtempSync(join(tmpdir(), 'estate-bench-parsers-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.com' };
  for (const args of [['init', '--quiet', '--initial-branch=main'], ['add', '-A'], ['commit', '--quiet', '-m', 'hostile files']]) {
    const result = spawnSync('git', args, { cwd: dir, env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`git ${args[0]} failed: ${result.stderr}`);
  }
  return { dir, size };
}

const HOSTILE_CODES = {
  'assets/binary.yaml': 'E_ENCODING',
  'assets/bomb.yaml': 'E_YAML_UNSAFE',
  'assets/deep.yaml': 'E_YAML_UNSAFE',
  'assets/huge.yaml': 'E_TOO_LARGE',
  'assets/latin1.yaml': 'E_ENCODING',
  'assets/proto.yaml': 'E_YAML_UNSAFE',
};

/** Runs `estate validate --format json` on the hostile repo and checks what it reports. */
function validateHostile(dir, extra) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'validate', '--format', 'json', ...extra], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      try {
        if (status !== 1) throw new Error(`estate validate exited ${status}, expected 1`);
        const byPath = Object.fromEntries(JSON.parse(stdout).errors.map((e) => [e.path, e.code]));
        const missing = Object.entries(HOSTILE_CODES).filter(([path, code]) => byPath[path] !== code);
        if (missing.length) throw new Error(`estate validate ${extra.join(' ')}: expected ${missing.map(([p, c]) => `${c} on ${p}`).join(', ')}`);
        resolve();
      } catch (error) {
        reject(error);
      }
    });
  });
}

/**
 * The cases: `prepare` builds the input outside the timed part and returns `run` (timed) and its
 * size. Budgets are the bounds the unit tests had.
 */
const CASES = [
  {
    name: 'duplicate keys in a 20,002-key mapping',
    budgetMs: 1500,
    prepare() {
      const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}: v`);
      const bytes = utf8(lines('a: 1', 'a: 2', ...keys, 'k7: w'));
      return { size: bytes.length, run: () => expectCodes(this.name, parseYamlFile('f.yaml', bytes).diagnostics, ['E_YAML_DUPLICATE_KEY', 'E_YAML_DUPLICATE_KEY']) };
    },
  },
  {
    name: 'billion-laughs alias bomb',
    budgetMs: 500,
    prepare() {
      const bytes = utf8(billionLaughs());
      return { size: bytes.length, run: () => expectCodes(this.name, parseYamlFile('f.yaml', bytes).diagnostics, ['E_YAML_UNSAFE']) };
    },
  },
  {
    name: 'nesting 100,000 flow sequences deep',
    budgetMs: 500,
    prepare() {
      const bytes = utf8('['.repeat(100_000) + ']'.repeat(100_000));
      return { size: bytes.length, run: () => expectCodes(this.name, parseYamlFile('f.yaml', bytes).diagnostics, ['E_YAML_UNSAFE']) };
    },
  },
  {
    name: 'duplicate key, then 500,000 [ unclosed',
    budgetMs: 1000,
    prepare() {
      const bytes = utf8(lines('a: 1', 'a: 2', `b: ${'['.repeat(500_000)}`));
      return { size: bytes.length, run: () => expectCodes(this.name, parseYamlFile('f.yaml', bytes).diagnostics, ['E_YAML_DUPLICATE_KEY', 'E_YAML_UNSAFE']) };
    },
  },
  {
    name: 'file one byte over 4 MiB',
    budgetMs: 100,
    prepare() {
      const bytes = new Uint8Array(4 * 1024 * 1024 + 1).fill(0x5b);
      return { size: bytes.length, run: () => expectCodes(this.name, parseYamlFile('f.yaml', bytes).diagnostics, ['E_TOO_LARGE']) };
    },
  },
  {
    name: 'uniqueItems over 50,000 objects (twice)',
    budgetMs: 1000,
    prepare() {
      const ports = Array.from({ length: 50_000 }, (_, i) => ({ port: i + 1, protocol: 'tcp' }));
      const withRepeat = [...ports, { protocol: 'tcp', port: 7 }];
      const size = JSON.stringify(withRepeat).length;
      return {
        size,
        run: () => {
          // Compiled inside the timed part, as the test did.
          const validate = compileSchema({ type: 'array', uniqueItems: true, items: { type: 'object' } });
          if (validate(ports).length !== 0) throw new Error(`${this.name}: expected no error for distinct items`);
          const errors = validate(withRepeat);
          if (errors.length !== 1 || errors[0].keyword !== 'uniqueItems' || errors[0].params.i !== 50_000 || errors[0].params.j !== 6) throw new Error(`${this.name}: expected one uniqueItems error at 50000/6`);
        },
      };
    },
  },
  {
    name: 'loadEstate: alias bomb in an asset',
    budgetMs: 1000,
    prepare() {
      const letters = 'abcdefghij';
      const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
      for (let i = 1; i < 9; i++) bomb.push(`${letters[i]}: &${letters[i]} [${Array(10).fill(`*${letters[i - 1]}`).join(', ')}]`);
      const text = lines('apiVersion: estate/v1', 'kind: Team', 'metadata: {name: a}', 'spec:', ...bomb.map((l) => `  ${l}`));
      return { size: utf8(text).length, run: async () => expectCodes(this.name, (await loadFiles({ 'estate.yaml': ESTATE_YAML, 'assets/a.yaml': text })).diagnostics, ['E_YAML_UNSAFE']) };
    },
  },
  ...[
    ['work tree', []],
    ['--rev HEAD', ['--rev', 'HEAD']],
  ].map(([label, extra]) => ({
    name: `estate validate, hostile files, ${label}`,
    budgetMs: 5000,
    prepare() {
      const { dir, size } = hostileRepo();
      return { size, run: () => validateHostile(dir, extra), cleanUp: () => rmSync(dir, { recursive: true, force: true }) };
    },
  })),
];

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (value) => Math.round(value * 10) / 10;

const loadAverageAtStart = loadavg();
const results = [];
for (const benchCase of CASES) {
  const { size, run, cleanUp } = benchCase.prepare();
  // The first run is the warm-up (JIT, the file cache): kept as coldMs, out of the median.
  const coldStarted = performance.now();
  await run();
  const coldMs = round(performance.now() - coldStarted);
  const runsMs = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run();
    runsMs.push(round(performance.now() - started));
  }
  cleanUp?.();
  const medianMs = round(median(runsMs));
  results.push({ case: benchCase.name, sizeBytes: size, coldMs, runsMs, medianMs, maxMs: Math.max(...runsMs), budgetMs: benchCase.budgetMs, met: medianMs <= benchCase.budgetMs });
}

const kib = (bytes) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);
const header = ['case', 'size', 'median ms', 'max ms', 'budget ms', 'met'];
const rows = results.map((r) => [r.case, kib(r.sizeBytes), r.medianMs.toFixed(1), r.maxMs.toFixed(1), String(r.budgetMs), r.met ? 'yes' : 'NO']);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const format = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
console.log(`parsers on pathological input: ${RUNS} runs after a warm-up, met when the median is within budget`);
console.log(format(header));
for (const row of rows) console.log(format(row));

const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
const dirty = spawnSync('git', ['status', '--porcelain', '--', 'packages'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '';
const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30), node: process.version, loadAverageAtStart, loadAverageAtEnd: loadavg() };
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(join(RESULTS_DIR, 'parsers.json'), `${JSON.stringify({ date: new Date().toISOString(), commit, packagesChanged: dirty, machine, runs: RUNS, cases: results }, null, 2)}\n`);
console.log('wrote bench/results/parsers.json');
const missed = results.filter((r) => !r.met);
if (missed.length) console.log(`over budget: ${missed.map((r) => r.case).join('; ')}`);
process.exit(missed.length ? 1 : 0);
