import type { Asset } from '../estate.js';
import { toPointer } from '../jsonPointer.js';
import type { HostFacts, ObservedFile } from './hostFacts.js';
import { satisfiesVersion } from './versionRange.js';

/**
 * One declared field compared with its fact. `field` is the JSON pointer of the declared value in
 * the asset document (`/spec/packages/nginx`; a file is named by its path:
 * `/spec/files/~1etc~1motd/content`). File contents never appear: a content is shown as
 * `sha256:<hex>`.
 */
export interface DriftField {
  field: string;
  declared: unknown;
  /** `null` when the fact says the thing is absent (package not installed, file missing). */
  observed: unknown;
  /** True when the observed fact does not satisfy the declared value. */
  differs: boolean;
}

/** Memory differs when it is off by more than this share of the declared value… */
export const MEMORY_TOLERANCE_RATIO = 0.1;
/** …and by more than this many GiB (the kernel keeps some memory from MemTotal). */
export const MEMORY_TOLERANCE_GIB = 0.5;

/** What {@link compareHost} needs from outside (core does no I/O and no crypto of its own). */
export interface CompareHostOptions {
  /** Hex SHA-256 of a UTF-8 text, to compare a declared file content with the observed digest. */
  sha256: (text: string) => string;
  /**
   * Hex SHA-256 of the bytes of a `source:` file (the value as declared) at the declared commit, or
   * undefined when it cannot be read (a URL, a path outside the repo, missing, too large): then its
   * content is not compared. Without it no `source:` content is compared.
   */
  sourceSha256?: (source: string) => string | undefined;
}

/**
 * Compares a declared Host with the facts of its latest report (docs/drift.md has the mapping).
 * Returns one entry per declared field that a fact covers, differing or not; a declared field
 * whose fact is absent (a collector failed, a unit the agent was not told about) is left out, so
 * it neither opens nor resolves drift. Facts no declared field manages are never compared.
 */
export function compareHost(declared: Pick<Asset, 'spec'>, facts: HostFacts, options: CompareHostOptions): DriftField[] {
  const spec = declared.spec;
  const out: DriftField[] = [];
  const add = (segments: Array<string | number>, declaredValue: unknown, observed: unknown, differs: boolean): void => {
    out.push({ field: toPointer(['spec', ...segments]), declared: declaredValue, observed, differs });
  };
  if (typeof spec['hostname'] === 'string' && facts.hostname !== undefined) {
    add(['hostname'], spec['hostname'], facts.hostname, normalHost(spec['hostname']) !== normalHost(facts.hostname));
  }
  if (typeof spec['ip'] === 'string' && facts.ip !== undefined) {
    const ip = spec['ip'].toLowerCase();
    add(['ip'], spec['ip'], facts.ip, !facts.ip.some((observed) => observed.toLowerCase() === ip));
  }
  if (typeof spec['os'] === 'string' && facts.os !== undefined) {
    const observed = typeof facts.os === 'string' ? facts.os : `${facts.os['id'] ?? ''}-${facts.os['versionId'] ?? ''}`;
    add(['os'], spec['os'], observed, spec['os'].toLowerCase() !== observed.toLowerCase());
  }
  if (typeof spec['cpus'] === 'number' && facts.cpus !== undefined) {
    add(['cpus'], spec['cpus'], facts.cpus, spec['cpus'] !== facts.cpus);
  }
  if (typeof spec['memoryGiB'] === 'number' && facts.memoryGiB !== undefined) {
    const tolerance = Math.max(MEMORY_TOLERANCE_GIB, spec['memoryGiB'] * MEMORY_TOLERANCE_RATIO);
    add(['memoryGiB'], spec['memoryGiB'], facts.memoryGiB, Math.abs(spec['memoryGiB'] - facts.memoryGiB) > tolerance);
  }
  const packages = spec['packages'];
  if (isRecord(packages) && facts.packages !== undefined) {
    for (const [name, wanted] of Object.entries(packages)) {
      if (typeof wanted !== 'string') continue;
      const installed = facts.packages[name];
      add(['packages', name], wanted, installed ?? null, installed === undefined || !satisfiesVersion(wanted, installed));
    }
  }
  if (Array.isArray(spec['files']) && facts.files !== undefined) {
    for (const file of spec['files']) if (isRecord(file) && typeof file['path'] === 'string') compareFile(file, file['path'], facts.files[file['path']], add, options);
  }
  if (Array.isArray(spec['services']) && facts.services !== undefined) {
    for (const unit of spec['services']) {
      if (typeof unit !== 'string') continue;
      const state = facts.services[unit] ?? (unit.includes('.') ? undefined : facts.services[`${unit}.service`]);
      if (state !== undefined) add(['services', unit], 'active', state, state !== 'active');
    }
  }
  return out;
}

type Add = (segments: Array<string | number>, declared: unknown, observed: unknown, differs: boolean) => void;

/** Content (inline, or a `source:` by its digest), mode and owner of one managed file. */
function compareFile(file: Record<string, unknown>, path: string, observed: ObservedFile | undefined, add: Add, options: CompareHostOptions): void {
  if (observed === undefined) return;
  if ('missing' in observed) {
    add(['files', path], 'present', null, true);
    return;
  }
  const sha = typeof file['content'] === 'string' ? options.sha256(file['content']) : typeof file['source'] === 'string' ? options.sourceSha256?.(file['source']) : undefined;
  if (sha !== undefined) {
    add(['files', path, 'content'], `sha256:${sha}`, `sha256:${observed.sha256}`, sha !== observed.sha256.toLowerCase());
  }
  if (typeof file['mode'] === 'string') {
    add(['files', path, 'mode'], file['mode'], observed.mode, parseInt(file['mode'], 8) !== parseInt(observed.mode, 8));
  }
  if (typeof file['owner'] === 'string') {
    const wanted = file['owner'];
    // `root` declares the user only; `root:root` the group too.
    const seen = wanted.includes(':') ? observed.owner : observed.owner.split(':')[0]!;
    add(['files', path, 'owner'], wanted, observed.owner, wanted !== seen);
  }
}

function normalHost(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
