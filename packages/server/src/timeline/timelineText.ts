import { createHash } from 'node:crypto';
import type { FieldChange } from '@estate/core';
import type { CommitProvenance } from '../changes/ChangeService.js';

/** Longest value shown in a summary line before it is cut with `…`. */
const MAX_VALUE = 40;
/** Field changes named in one summary line; the rest are counted. */
const MAX_FIELDS = 3;

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * A value with every file content replaced by `sha256:<hex>`: a string under a `content` key (or at
 * a pointer ending in `/content`). Timeline answers never carry contents, which may hold secrets.
 */
export function redactContents(value: unknown, isContent = false): unknown {
  if (isContent && typeof value === 'string') return `sha256:${sha256(value)}`;
  if (Array.isArray(value)) return value.map((item) => redactContents(item));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactContents(item, key === 'content')]));
  }
  return value;
}

/** A field change with contents redacted (see {@link redactContents}). */
export function redactFieldChange(change: FieldChange): FieldChange {
  const isContent = change.pointer.endsWith('/content');
  return {
    op: change.op,
    pointer: change.pointer,
    ...('old' in change ? { old: redactContents(change.old, isContent) } : {}),
    ...('new' in change ? { new: redactContents(change.new, isContent) } : {}),
  };
}

/** A value on one short line: digests shortened, long values cut, `absent` for none. */
export function showValue(value: unknown): string {
  if (value === undefined || value === null) return 'absent';
  if (typeof value === 'string') {
    if (/^sha256:[0-9a-f]{64}$/.test(value)) return `${value.slice(0, 19)}…`;
    return value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}…` : value;
  }
  const text = JSON.stringify(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text;
}

/** An ISO time as `2024-06-01 03:12:05Z`: short, and unambiguous at 3 a.m. in any time zone. */
export function showTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** `cpus changed 2 → 4, os changed debian-12 → debian-13 (+1 more)`. */
export function describeFields(fields: readonly FieldChange[]): string {
  const shown = fields.slice(0, MAX_FIELDS).map((f) => {
    const name = f.pointer.replace(/^\/spec\//, '').replace(/^\//, '');
    if (f.op === 'add') return `${name} set to ${showValue(f.new)}`;
    if (f.op === 'remove') return `${name} removed (was ${showValue(f.old)})`;
    return `${name} changed ${showValue(f.old)} → ${showValue(f.new)}`;
  });
  const more = fields.length - shown.length;
  return shown.join(', ') + (more > 0 ? ` (+${more} more)` : '');
}

/**
 * How a commit reached main, as the end of a sentence: `by alice in CR #12 "bigger", approved by
 * bob`, `by mallory, pushed directly (not through a CR)`.
 */
export function describeProvenance(provenance: CommitProvenance, commit: { sha: string; author: string }): string {
  const change = provenance.change;
  if (change && provenance.status === 'emergency') {
    const emergency = change.emergency ? ` (${change.emergency.reason}, merged by ${change.emergency.by})` : '';
    return `by ${change.author} in emergency CR #${change.id} "${change.title}"${emergency}`;
  }
  if (change) {
    const approved = change.approvedBy.length > 0 ? `approved by ${change.approvedBy.join(', ')}` : 'with no approval';
    return `by ${change.author} in CR #${change.id} "${change.title}", ${approved}`;
  }
  if (provenance.status === 'unreviewed') return `by ${commit.author}, pushed directly (not through a CR)`;
  return `by ${commit.author} in commit ${commit.sha.slice(0, 12)} (before Estate governed main)`;
}

/** The short name of how a commit got there, for the verdict: `CR #12 by alice`, `a direct push by mallory`. */
export function nameProvenance(provenance: CommitProvenance, commit: { sha: string; author: string }): string {
  const change = provenance.change;
  if (change) return `${provenance.status === 'emergency' ? 'emergency ' : ''}CR #${change.id} by ${change.author}`;
  if (provenance.status === 'unreviewed') return `a direct push by ${commit.author} (commit ${commit.sha.slice(0, 12)}, not through a CR)`;
  return `commit ${commit.sha.slice(0, 12)} by ${commit.author} (before Estate governed main)`;
}

/** One line for a drift event (docs/drift.md, the event log); never a file content. */
export function describeEvent(event: { type: string; field?: string; reportId?: string; details: Record<string, unknown> }): string {
  const d = event.details;
  const field = event.field ?? '';
  const report = event.reportId === undefined ? '' : ` (report ${event.reportId})`;
  const text = (value: unknown): string => (typeof value === 'string' ? value : showValue(value));
  switch (event.type) {
    case 'drift.opened':
      return `drift opened on ${field}: declared ${showValue(d['declared'])}, observed ${showValue(d['observed'])}${report}`;
    case 'drift.changed':
      return `drift changed on ${field}: observed now ${showValue(d['observed'])} (declared ${showValue(d['declared'])})${report}`;
    case 'drift.resolved':
      if (d['reason'] === 'converged') return `drift resolved on ${field}: the host matches Git again${report}`;
      if (d['reason'] === 'ignored') return `drift on ${field} ignored by a DriftIgnore rule: ${text(d['rule'])}`;
      return `drift resolved on ${field} (${text(d['reason'])})${report}`;
    case 'host.enforced': {
      const what = d['field'] === 'content' || d['field'] === undefined ? text(d['path'] ?? field) : `the ${text(d['field'])} of ${text(d['path'] ?? field)}`;
      if (d['ok'] === false) return `restoring ${what} from Git failed: ${text(d['error'] ?? 'unknown error')}${report}`;
      const backup = d['backup'] === undefined ? '' : ` (backup ${text(d['backup'])})`;
      return `restored ${what} from Git${backup}${report}`;
    }
    case 'host.stale': {
      const id = event.reportId === undefined ? '' : ` ${event.reportId}`;
      const at = d['lastReportAt'] === undefined ? '' : ` at ${showTime(text(d['lastReportAt']))}`;
      return `host stopped reporting (last report${id}${at})`;
    }
    default:
      return `${event.type}${field ? ` on ${field}` : ''}${report}`;
  }
}
