import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { isRealRoot, resolveUnderRoot, readRootFile } from './readRootFile.js';

const execFileAsync = promisify(execFile);

/** What the packages collector found: versions by name, or a note why none were read. */
export type PackagesResult = { packages: Record<string, string> } | { note: string };

/** Where rpm keeps its database: `/var/lib/rpm`, or `/usr/lib/sysimage/rpm` (Fedora 36+, openSUSE). */
const RPM_DATABASES = ['/var/lib/rpm', '/usr/lib/sysimage/rpm'];
/** `name<TAB>[epoch:]version-release` per installed package (rpm's query format, `%|EPOCH?{…}:{}|` prints the epoch only when set). */
const RPM_QUERY_FORMAT = '%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n';

/**
 * Installed packages with their versions: from the dpkg database `/var/lib/dpkg/status`
 * (deb-control(5) paragraphs; only `Status: install ok installed` counts), else, when the root has
 * an rpm database, from `rpm -qa --queryformat` (with `--root` below a root other than `/`). A host
 * with neither is skipped with a note.
 */
export async function collectPackages(root: string): Promise<PackagesResult> {
  const status = await readRootFile(root, '/var/lib/dpkg/status');
  if (status !== undefined) return { packages: parseDpkgStatus(status) };
  if (!(await hasRpmDatabase(root))) return { note: `no /var/lib/dpkg/status and no rpm database (${RPM_DATABASES.join(', ')}): packages are not reported` };
  return { packages: parseRpmQuery(await queryRpm(root)) };
}

async function hasRpmDatabase(root: string): Promise<boolean> {
  for (const database of RPM_DATABASES) {
    const info = await stat(resolveUnderRoot(root, database)).catch(() => undefined);
    if (info?.isDirectory()) return true;
  }
  return false;
}

async function queryRpm(root: string): Promise<string> {
  const args = [...(isRealRoot(root) ? [] : ['--root', root]), '-qa', '--queryformat', RPM_QUERY_FORMAT];
  try {
    return (await execFileAsync('rpm', args, { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('the root has an rpm database but there is no rpm command on PATH', { cause: error });
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`rpm -qa failed: ${stderr.split('\n')[0] || (error as Error).message}`, { cause: error });
  }
}

/**
 * The packages of `rpm -qa` output in {@link RPM_QUERY_FORMAT}: `{name: version}`, names sorted.
 * The `gpg-pubkey` entries (imported signing keys, not packages) are left out; of a package
 * installed for several architectures, one version is kept (the first in sorted order).
 */
export function parseRpmQuery(text: string): Record<string, string> {
  const lines = text.split('\n').filter((line) => line.includes('\t')).sort();
  const packages: Record<string, string> = {};
  for (const line of lines) {
    const [name = '', version = ''] = line.split('\t');
    if (name === '' || version === '' || name === 'gpg-pubkey') continue;
    packages[name] ??= version.trim();
  }
  return packages;
}

/** The installed packages of a dpkg status file: `{name: version}`, names sorted. Multi-arch duplicates keep the first. */
export function parseDpkgStatus(text: string): Record<string, string> {
  const installed: [string, string][] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of paragraph.split('\n')) {
      const match = /^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
      if (match?.[1] !== undefined && match[2] !== undefined) fields.set(match[1].toLowerCase(), match[2].trim());
    }
    const name = fields.get('package');
    const version = fields.get('version');
    if (name && version && fields.get('status') === 'install ok installed') installed.push([name, version]);
  }
  installed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const packages: Record<string, string> = {};
  for (const [name, version] of installed) packages[name] ??= version;
  return packages;
}
