import { toPointer } from '@estate/core';
import type { ReportProcessor } from '../ingest/types.js';
import type { DriftStore } from './DriftStore.js';

/**
 * The report processor that records what an enforcing agent restored (a report's `enforcement`,
 * docs/drift.md#enforce): one `host.enforced` drift event per entry, and for each restored field the
 * matching revert request cleared (the field's own, and the whole file's once every field of the
 * file in the report was restored). It runs in the consumer's transaction, so each report's events
 * exist exactly once. A stale report (an older `seq` applied after a newer one) still gets its
 * events, since the restore happened, but clears no revert request: one asked for after the newer
 * report must stay.
 */
export function enforcementRecorder(drift: DriftStore, commit: () => string | undefined): ReportProcessor {
  return (report, { stale }) => {
    const entries = report.enforcement ?? [];
    if (entries.length === 0) return;
    const asset = `host/${report.host}`;
    const at = commit();
    const failedPaths = new Set(entries.filter((entry) => !entry.ok).map((entry) => entry.path));
    for (const entry of entries) {
      const field = toPointer(['spec', 'files', entry.path, entry.field]);
      const details: Record<string, unknown> = { path: entry.path, field: entry.field, fromSha256: entry.fromSha256, toSha256: entry.toSha256 };
      if (entry.from !== undefined) details['from'] = entry.from;
      if (entry.to !== undefined) details['to'] = entry.to;
      if (entry.backup !== undefined) details['backup'] = entry.backup;
      details['ok'] = entry.ok;
      if (entry.error !== undefined) details['error'] = entry.error;
      drift.appendEvent({ at: entry.at, type: 'host.enforced', asset, host: report.host, field, reportId: report.reportId, ...(at === undefined ? {} : { commit: at }), details });
      if (stale || !entry.ok) continue;
      drift.clearRevert(asset, field);
      if (!failedPaths.has(entry.path)) drift.clearRevert(asset, toPointer(['spec', 'files', entry.path]));
    }
  };
}
