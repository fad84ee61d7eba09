import os from 'node:os';
import type { OsRelease } from '../types.js';
import { isRealRoot, readRootFile } from './readRootFile.js';

/** The host name: `/etc/hostname`, else (only on the real root) `os.hostname()`. */
export async function collectHostname(root: string): Promise<string> {
  const text = (await readRootFile(root, '/etc/hostname'))?.trim();
  if (text) return text;
  if (isRealRoot(root)) return os.hostname();
  throw new Error(`no ${root}/etc/hostname`);
}

/** `ID`, `VERSION_ID` and `PRETTY_NAME` of `/etc/os-release` (freedesktop os-release(5): shell-style `KEY=value`, values optionally quoted). */
export async function collectOsRelease(root: string): Promise<OsRelease> {
  const text = (await readRootFile(root, '/etc/os-release')) ?? (await readRootFile(root, '/usr/lib/os-release'));
  if (text === undefined) throw new Error('no /etc/os-release or /usr/lib/os-release');
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) values.set(match[1], unquote(match[2]));
  }
  // os-release(5): ID defaults to "linux" when absent.
  return { id: values.get('ID') ?? 'linux', versionId: values.get('VERSION_ID') ?? '', prettyName: values.get('PRETTY_NAME') ?? 'Linux' };
}

/** The running kernel's release, from `/proc/sys/kernel/osrelease`. */
export async function collectKernel(root: string): Promise<string> {
  const text = (await readRootFile(root, '/proc/sys/kernel/osrelease'))?.trim();
  if (!text) throw new Error('no /proc/sys/kernel/osrelease');
  return text;
}

/** The number of logical CPUs: the `processor` entries of `/proc/cpuinfo`. */
export async function collectCpus(root: string): Promise<number> {
  const text = await readRootFile(root, '/proc/cpuinfo');
  if (text === undefined) throw new Error('no /proc/cpuinfo');
  const count = text.split('\n').filter((line) => /^processor\s*:/.test(line)).length;
  if (count === 0) throw new Error('/proc/cpuinfo lists no processor');
  return count;
}

/** Total memory in GiB rounded to 0.1, from `MemTotal` (kB) of `/proc/meminfo`. */
export async function collectMemoryGiB(root: string): Promise<number> {
  const text = await readRootFile(root, '/proc/meminfo');
  if (text === undefined) throw new Error('no /proc/meminfo');
  const match = /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  if (!match?.[1]) throw new Error('/proc/meminfo has no MemTotal');
  return Math.round((Number(match[1]) / (1024 * 1024)) * 10) / 10;
}

function unquote(value: string): string {
  const trimmed = value.trim();
  const quote = trimmed[0];
  if ((quote === '"' || quote === "'") && trimmed.endsWith(quote) && trimmed.length >= 2) {
    return trimmed.slice(1, -1).replace(/\\(["'$`\\])/g, '$1');
  }
  return trimmed;
}
