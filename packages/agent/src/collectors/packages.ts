import { readRootFile } from './readRootFile.js';

/** What the packages collector found: versions by name, or a note why none were read. */
export type PackagesResult = { packages: Record<string, string> } | { note: string };

/**
 * Installed packages with their versions, from the dpkg database `/var/lib/dpkg/status` (deb-control(5)
 * paragraphs; only `Status: install ok installed` counts). Hosts without dpkg (rpm-based) are skipped
 * with a note: reading the rpm database needs the rpm tool and is not done yet.
 */
export async function collectPackages(root: string): Promise<PackagesResult> {
  const status = await readRootFile(root, '/var/lib/dpkg/status');
  if (status === undefined) return { note: 'no /var/lib/dpkg/status: only dpkg hosts report packages (rpm is not read yet)' };
  return { packages: parseDpkgStatus(status) };
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
