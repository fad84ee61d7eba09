import { parsePointer, toPointer } from '../jsonPointer.js';
import type { HostFacts } from './hostFacts.js';

/**
 * An edit adoption makes, in the shape of a change request's operations (docs/changes.md): a JSON
 * merge patch of the asset, or a whole repo file (the `source:` of a managed file).
 */
export type AdoptionOperation = { op: 'patch'; id: string; patch: Record<string, unknown> } | { op: 'putFile'; path: string; content: string };

/** What {@link adoptObserved} made of the fields it was given. */
export interface Adoption {
  /** The operations that make the declared side equal the observed one; empty when nothing is adoptable. */
  operations: AdoptionOperation[];
  /** The fields those operations adopt, in the order given. */
  adopted: string[];
  /** The fields left out, each with why. */
  skipped: Array<{ field: string; reason: string }>;
}

/** A Host asset as adoption reads it: its id and whole document (apiVersion, kind, metadata, spec). */
export interface HostDocument {
  id: string;
  document: Record<string, unknown>;
}

/**
 * The operations that make a declared Host equal what its latest report observed, for the drifted
 * `fields` (JSON pointers as drift items name them; docs/drift.md#adoption): hostname, ip (the
 * first observed address that is not loopback or link-local), os (`<id>-<versionId>`), cpus,
 * memoryGiB, a package's exact observed version (a package observed absent loses its key), a
 * file's content, mode and owner (a missing file leaves `spec.files`). The content of a file
 * declared with `source:` (a repo-relative path) becomes a `putFile` of that path; an inline content
 * a patch. Fields adoption cannot make (a service not active, a content the report truncated or
 * left out, a `source:` URL, a fact the report lacks, a field not declared) are skipped with why.
 * Pure: no I/O.
 */
export function adoptObserved(host: HostDocument, facts: HostFacts, fields: readonly string[]): Adoption {
  const spec = isRecord(host.document['spec']) ? host.document['spec'] : {};
  const specPatch: Record<string, unknown> = {};
  const packages: Record<string, string | null> = {};
  const declaredFiles = Array.isArray(spec['files']) ? (spec['files'] as unknown[]) : [];
  // The files list as adoption leaves it (a merge patch replaces a list whole); undefined until a file field is adopted.
  let files: Array<Record<string, unknown> | null> | undefined;
  let filesChanged = false;
  const putFiles = new Map<string, string>();
  const adopted: string[] = [];
  const skipped: Adoption['skipped'] = [];
  const skip = (field: string, reason: string): void => void skipped.push({ field, reason });
  const noFact = 'the latest report has no such fact';

  for (const field of new Set(fields)) {
    let segments: string[];
    try {
      segments = parsePointer(field);
    } catch {
      skip(field, 'not a JSON pointer');
      continue;
    }
    if (segments[0] !== 'spec' || segments.length < 2) {
      skip(field, 'not a field drift adoption covers');
      continue;
    }
    const [, name, key, part] = segments as [string, string, string | undefined, string | undefined];
    const scalar = (value: unknown): void => {
      if (!(name in spec)) return skip(field, 'not declared');
      if (value === undefined) return skip(field, noFact);
      specPatch[name] = value;
      adopted.push(field);
    };
    if (segments.length === 2 && name === 'hostname') scalar(facts.hostname);
    else if (segments.length === 2 && name === 'ip') scalar(primaryAddress(facts.ip));
    else if (segments.length === 2 && name === 'os') scalar(facts.os === undefined ? undefined : osName(facts.os));
    else if (segments.length === 2 && name === 'cpus') scalar(facts.cpus);
    else if (segments.length === 2 && name === 'memoryGiB') scalar(facts.memoryGiB);
    else if (segments.length === 3 && name === 'packages') {
      if (!isRecord(spec['packages']) || !(key! in spec['packages'])) skip(field, 'not declared');
      else if (facts.packages === undefined) skip(field, noFact);
      else {
        packages[key!] = facts.packages[key!] ?? null;
        adopted.push(field);
      }
    } else if (segments.length === 3 && name === 'services') {
      skip(field, 'a service that is not active cannot be adopted: start it on the host, or remove it from spec.services in a change request');
    } else if (name === 'files' && (segments.length === 3 || (segments.length === 4 && ['content', 'mode', 'owner'].includes(part!)))) {
      const index = declaredFiles.findIndex((f) => isRecord(f) && f['path'] === key);
      const declared = declaredFiles[index];
      const observed = facts.files?.[key!];
      if (!isRecord(declared)) {
        skip(field, 'not declared');
        continue;
      }
      if (observed === undefined) {
        skip(field, noFact);
        continue;
      }
      files ??= declaredFiles.map((f) => (isRecord(f) ? { ...f } : null));
      const entry = files[index];
      if (segments.length === 3) {
        if (!('missing' in observed)) skip(field, 'the file exists on the host: adopt its content, mode or owner');
        else {
          files[index] = null;
          filesChanged = true;
          adopted.push(field);
        }
        continue;
      }
      if ('missing' in observed) {
        skip(field, 'the file is missing on the host: adopt its absence (the field of the file itself)');
        continue;
      }
      if (entry === null || entry === undefined) {
        skip(field, 'the file leaves spec.files in this adoption');
        continue;
      }
      if (part === 'mode') {
        if (!('mode' in declared)) skip(field, 'not declared');
        else {
          entry['mode'] = observed.mode;
          filesChanged = true;
          adopted.push(field);
        }
      } else if (part === 'owner') {
        if (typeof declared['owner'] !== 'string') skip(field, 'not declared');
        else {
          // A declared user alone stays a user alone.
          entry['owner'] = declared['owner'].includes(':') ? observed.owner : observed.owner.split(':')[0]!;
          filesChanged = true;
          adopted.push(field);
        }
      } else if (observed.truncated) skip(field, 'the agent truncated the content (over its size cap): adopt it by hand');
      else if (observed.content === undefined) skip(field, 'the report has no content of the file (the agent did not send it)');
      else if (typeof declared['content'] === 'string') {
        entry['content'] = observed.content;
        filesChanged = true;
        adopted.push(field);
      } else if (typeof declared['source'] === 'string') {
        const path = repoPath(declared['source']);
        if (path === undefined) skip(field, 'the content comes from a URL, not from a file of the repo');
        else {
          putFiles.set(path, observed.content);
          adopted.push(field);
        }
      } else skip(field, 'not declared');
    } else skip(field, 'not a field drift adoption covers');
  }

  if (Object.keys(packages).length > 0) specPatch['packages'] = packages;
  if (files !== undefined && filesChanged) specPatch['files'] = files.filter((f) => f !== null);
  const operations: AdoptionOperation[] = [];
  if (Object.keys(specPatch).length > 0) operations.push({ op: 'patch', id: host.id, patch: { spec: specPatch } });
  for (const [path, content] of putFiles) operations.push({ op: 'putFile', path, content });
  return { operations, adopted, skipped };
}

/**
 * The JSON pointers of every field a Host spec declares that drift compares (docs/drift.md#the-mapping-kind-host),
 * whether or not a report covers it: an open item of a field outside this set is no longer declared.
 */
export function declaredHostFields(spec: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  const add = (...segments: string[]): void => void out.add(toPointer(['spec', ...segments]));
  if (typeof spec['hostname'] === 'string') add('hostname');
  if (typeof spec['ip'] === 'string') add('ip');
  if (typeof spec['os'] === 'string') add('os');
  if (typeof spec['cpus'] === 'number') add('cpus');
  if (typeof spec['memoryGiB'] === 'number') add('memoryGiB');
  if (isRecord(spec['packages'])) for (const [name, wanted] of Object.entries(spec['packages'])) if (typeof wanted === 'string') add('packages', name);
  if (Array.isArray(spec['files'])) {
    for (const file of spec['files']) {
      if (!isRecord(file) || typeof file['path'] !== 'string') continue;
      add('files', file['path']);
      if (typeof file['content'] === 'string' || typeof file['source'] === 'string') add('files', file['path'], 'content');
      if (typeof file['mode'] === 'string') add('files', file['path'], 'mode');
      if (typeof file['owner'] === 'string') add('files', file['path'], 'owner');
    }
  }
  if (Array.isArray(spec['services'])) for (const unit of spec['services']) if (typeof unit === 'string') add('services', unit);
  return out;
}

/**
 * A Host document declaring an unmanaged host from its latest facts: hostname (the host's name
 * when the report has none), ip (the first address that is not loopback or link-local), os, cpus
 * and memoryGiB. Packages, files and services are left for people to declare.
 */
export function declareObservedHost(host: string, facts: HostFacts, options: { name?: string; labels?: Record<string, string> } = {}): Record<string, unknown> {
  const spec: Record<string, unknown> = { hostname: facts.hostname ?? host };
  const ip = primaryAddress(facts.ip);
  if (ip !== undefined) spec['ip'] = ip;
  if (facts.os !== undefined) spec['os'] = osName(facts.os);
  if (facts.cpus !== undefined) spec['cpus'] = facts.cpus;
  if (facts.memoryGiB !== undefined) spec['memoryGiB'] = facts.memoryGiB;
  const labels = options.labels !== undefined && Object.keys(options.labels).length > 0 ? { labels: options.labels } : {};
  return { apiVersion: 'estate/v1', kind: 'Host', metadata: { name: options.name ?? host, ...labels }, spec };
}

/** The first observed address that is not loopback (127/8, ::1) or IPv6 link-local (fe80::/10). */
function primaryAddress(addresses: readonly string[] | undefined): string | undefined {
  return addresses?.find((a) => !/^127\./.test(a) && a !== '::1' && !/^fe[89ab][0-9a-f]:/i.test(a));
}

/** The observed OS as drift compares it: the string as sent, or `<id>-<versionId>`. */
function osName(os: string | Record<string, string>): string {
  return typeof os === 'string' ? os : `${os['id'] ?? ''}-${os['versionId'] ?? ''}`;
}

/** A `source:` as a repo-relative path (`./` dropped), or undefined for a URL or an absolute path. */
function repoPath(source: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(source) || source.startsWith('/')) return undefined;
  return source.replace(/^(\.\/)+/, '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
