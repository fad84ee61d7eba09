// The built `estate` CLI as the benchmarks run it: a synchronous command, or `estate serve` in its
// own process.
import { spawn, spawnSync } from 'node:child_process';
import { CLI, ROOT } from './paths.mjs';

/** `estate <args>`, synchronously; returns stdout, throws with stderr on failure. */
export function estate(args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`estate ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/**
 * Starts `estate serve <args> --port 0` in its own process (with `nodeFlags` for node, e.g. a
 * profiler) and resolves once it listens: its URL, process and pid, and `stop()` (SIGTERM, then
 * the exit).
 */
export function serve(args, nodeFlags = []) {
  const child = spawn(process.execPath, [...nodeFlags, CLI, 'serve', ...args, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`estate serve exited ${code}: ${err}`)));
    child.stdout.on('data', (c) => {
      out += c;
      const url = /https?:\/\/[^\s/]+/.exec(out)?.[0];
      const stop = () =>
        new Promise((r) => {
          child.removeAllListeners('exit');
          child.on('exit', r);
          child.kill('SIGTERM');
        });
      if (url) resolve({ url, child, pid: child.pid, stop });
    });
  });
}
