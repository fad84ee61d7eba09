import type { Report } from './types.js';

/** The largest report the agent sends (bytes of its JSON): the server's default body limit. */
export const MAX_REPORT_BYTES = 1024 * 1024;

/**
 * Makes `report` fit in `maxBytes` of JSON by leaving out managed file contents, largest first,
 * each marked `truncated: true` (sha256, mode and owner stay). Changes `report` in place; returns
 * its size in bytes, or `undefined` when it is too big even without contents.
 */
export function fitReport(report: Report, maxBytes: number): number | undefined {
  let bytes = Buffer.byteLength(JSON.stringify(report));
  if (bytes <= maxBytes) return bytes;
  const withContent = Object.values(report.facts.files ?? {})
    .filter((fact): fact is { sha256: string; mode: string; owner: string; size: number; content: string } => 'content' in fact && fact.content !== undefined)
    .sort((a, b) => b.content.length - a.content.length);
  for (const fact of withContent) {
    delete (fact as { content?: string }).content;
    (fact as { truncated?: true }).truncated = true;
    bytes = Buffer.byteLength(JSON.stringify(report));
    if (bytes <= maxBytes) return bytes;
  }
  return undefined;
}
