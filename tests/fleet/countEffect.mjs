// The report processor of the ingestion crash test, loaded by the ingest thread
// (`ingestProcessorModules`): one row per report the consumer applies (stale ones included), in
// the consumer's transaction, into a table without a unique constraint, so that a report applied
// twice shows as two rows.
let insert;

/** @type {import('../../packages/server/dist/ingest/types.js').ReportProcessor} */
export function processor(report, { db, stale }) {
  if (!insert) {
    db.exec('CREATE TABLE IF NOT EXISTS crash_effects (report_id TEXT NOT NULL, host TEXT NOT NULL, seq INTEGER NOT NULL, stale INTEGER NOT NULL)');
    insert = db.prepare('INSERT INTO crash_effects (report_id, host, seq, stale) VALUES (?, ?, ?, ?)');
  }
  insert.run(report.reportId, report.host, report.seq, stale ? 1 : 0);
}
