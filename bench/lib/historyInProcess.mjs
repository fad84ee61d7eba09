#!/usr/bin/env node
/**
 * In-process `assetHistory` timing: `--runs` calls, each with a fresh parse cache (the repo and
 * its cat-file process are opened once, as a server would). One more call runs with git's
 * GIT_TRACE2_EVENT on, to tell how much of it the git commands take (count and ms by subcommand).
 * Prints JSON.
 *
 *   node bench/lib/historyInProcess.mjs --repo DIR --id host/web-01 [--runs 5]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CORE, GIT } from './paths.mjs';

const { MemoryParseCache } = await import(CORE);
const { GitCliRepo, assetHistory } = await import(GIT);

const { values } = parseArgs({ options: { repo: { type: 'string' }, id: { type: 'string' }, runs: { type: 'string', default: '5' } } });
const repo = await GitCliRepo.open(values.repo);
try {
  const runs = [];
  let entries = [];
  for (let i = 0; i < Number(values.runs); i++) {
    const started = performance.now();
    entries = await assetHistory(repo, values.id, { cache: new MemoryParseCache() });
    runs.push(performance.now() - started);
  }
  const counts = {};
  for (const e of entries) counts[e.change] = (counts[e.change] ?? 0) + 1;

  // The traced call: git reads GIT_TRACE2_PERF from the environment each command inherits.
  const dir = mkdtempSync(join(tmpdir(), 'estate-bench-trace-'));
  const traceFile = join(dir, 'trace');
  process.env.GIT_TRACE2_EVENT = traceFile;
  const started = performance.now();
  await assetHistory(repo, values.id, { cache: new MemoryParseCache() });
  const tracedMs = performance.now() - started;
  delete process.env.GIT_TRACE2_EVENT;
  const git = gitTimes(readFileSync(traceFile, 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ runs, entries: entries.length, byChange: counts, traced: { ms: tracedMs, git } }) + '\n');
} finally {
  await repo.close();
}

/**
 * Sums the elapsed time of each git process by subcommand from GIT_TRACE2_EVENT lines (JSON, one
 * per event, each with the process's `sid` and a `time`; `start` carries the argv). A process's
 * time is its `exit` event's `t_abs`. Now and then a `git log` run from node writes no `exit`;
 * as the commands run one after another, it is then counted until the next command starts.
 */
function gitTimes(trace) {
  const processes = new Map();
  for (const line of trace.split('\n')) {
    if (!line.trim()) continue;
    const event = JSON.parse(line);
    const p = processes.get(event.sid) ?? { first: Infinity, last: -Infinity };
    const time = Date.parse(event.time);
    p.first = Math.min(p.first, time);
    p.last = Math.max(p.last, time);
    if (event.event === 'start') p.command = event.argv?.[1];
    if (event.event === 'exit') p.exitMs = event.t_abs * 1000;
    processes.set(event.sid, p);
  }
  const bySubcommand = {};
  const list = [...processes.values()].filter((p) => p.command).sort((a, b) => a.first - b.first);
  list.forEach((p, i) => {
    const entry = (bySubcommand[p.command] ??= { count: 0, ms: 0 });
    entry.count++;
    entry.ms = Math.round(entry.ms + (p.exitMs ?? (list[i + 1]?.first ?? p.last) - p.first));
  });
  return bySubcommand;
}
