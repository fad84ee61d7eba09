/**
 * CPU profiles: start/stop the V8 profiler in-process (node:inspector), and summarize .cpuprofile
 * files by self time, per function and per category (YAML parsing, schema validation, ...).
 */
import { Session } from 'node:inspector/promises';
import { readFileSync } from 'node:fs';

/** Starts the profiler in this process; `stop()` resolves with the profile object. */
export async function startProfiler() {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

/** Functions of @estate/core by the validation step they belong to (old and new names). */
const CROSS_CHECKS = new Set(['checkReferences', 'checkUniqueFields', 'checkAcrossAssets', 'valuesAt', 'parseAssetRef', 'displayPath']);
/** Native frames of node:fs's synchronous calls (they carry no script URL). */
const FS_CALLS = new Set(['lstat', 'stat', 'fstat', 'open', 'read', 'close', 'readdir', 'readlink', 'realpath']);
const DOCUMENT_CHECKS = new Set(['checkAssetDocument', 'checkUncached', 'reporterFor', 'checkEnvelopeBasics', 'toSchemaProblems']);

/** Where a function's self time goes, by what it is (first match wins). */
const CATEGORIES = [
  ['idle: waiting for git (ls-tree, cat-file, spawned commands)', (fn, url) => fn === '(idle)'],
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  // js-yaml tests every scalar against its PATTERN_NON_PRINTABLE regex (a native RegExp frame).
  ['YAML parsing (js-yaml)', (fn, url) => url.includes('/js-yaml/') || fn.startsWith('RegExp: [\\x00-\\x08')],
  ['parseYamlFile checks (document split, UTF-8, unsafe-structure walk)', (fn, url) => url.includes('/core/dist/yaml/')],
  ['schema validation (ajv-generated validators)', (fn, url) => /^validate\d*$/.test(fn) && !url.includes('/packages/') || (url.includes('/ajv') && !url.includes('/compile'))],
  ['cross-checks (duplicate ids, references, unique fields)', (fn) => CROSS_CHECKS.has(fn)],
  ['per-document checks (envelope, names, reference forms; ajv apart)', (fn) => DOCUMENT_CHECKS.has(fn)],
  ['ajv schema compilation', (fn, url) => url.includes('/ajv')],
  ['regular expressions (schema patterns, name checks)', (fn) => fn.startsWith('RegExp:')],
  ['loadEstate bookkeeping (sorting, parse cache, maps, other core code)', (fn, url) => url.includes('/core/dist/')],
  ['git adapter (spawning git, parsing its output)', (fn, url) => url.includes('/git/dist/')],
  ['file system calls (lstat, open, read, close of work-tree files)', (fn, url) => url === '' && FS_CALLS.has(fn)],
  ['node internals (streams, child processes, modules)', (fn, url) => url.startsWith('node:')],
  ['CLI', (fn, url) => url.includes('/cli/dist/')],
];

/**
 * Summarizes profiles (objects or .cpuprofile paths) by self time. Returns the total, the time
 * per category, and the `top` functions.
 */
export function summarizeProfiles(profiles, top = 15) {
  const selfByFn = new Map();
  let total = 0;
  for (const input of profiles) {
    const profile = typeof input === 'string' ? JSON.parse(readFileSync(input, 'utf8')) : input;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    // Samples under the in-process profiler's own calls (node:inspector) are its overhead, not ours.
    const overhead = new Set();
    const mark = (node, inside) => {
      const now = inside || node.callFrame.url.startsWith('node:inspector');
      if (now) overhead.add(node.id);
      for (const child of node.children ?? []) mark(nodes.get(child), now);
    };
    mark(profile.nodes[0], false);
    profile.samples.forEach((id, i) => {
      const us = profile.timeDeltas[i] ?? 0;
      if (overhead.has(id)) return;
      total += us;
      const { functionName, url, lineNumber } = nodes.get(id).callFrame;
      const fn = functionName || '(anonymous)';
      const where = url ? `${url.replace(/^.*\/(node_modules|packages)\//, '$1/').replace(/^file:\/\//, '')}:${lineNumber + 1}` : '';
      const key = `${fn}\u0000${where}`;
      const entry = selfByFn.get(key) ?? { fn, where, url, us: 0 };
      entry.us += us;
      selfByFn.set(key, entry);
    });
  }
  const categories = new Map();
  for (const { fn, url, us } of selfByFn.values()) {
    const name = CATEGORIES.find(([, test]) => test(fn, url))?.[0] ?? 'other (V8 native, program)';
    categories.set(name, (categories.get(name) ?? 0) + us);
  }
  const ms = (us) => Math.round(us / 1000);
  return {
    totalMs: ms(total),
    categories: [...categories].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: ms(us), share: +(us / total).toFixed(3) })),
    top: [...selfByFn.values()].sort((a, b) => b.us - a.us).slice(0, top).map(({ fn, where, us }) => ({ fn, where, ms: ms(us) })),
  };
}

/** Prints a summary as an indented text block. */
export function formatSummary(title, summary) {
  const lines = [`${title} — ${summary.totalMs} ms sampled (self time)`];
  for (const c of summary.categories) lines.push(`  ${String(c.ms).padStart(7)} ms ${(c.share * 100).toFixed(1).padStart(5)}%  ${c.name}`);
  lines.push('  top functions:');
  for (const f of summary.top) lines.push(`  ${String(f.ms).padStart(7)} ms  ${f.fn}  ${f.where}`);
  return lines.join('\n');
}
