// A report processor module for tests (`ingestProcessorModules`): a report of host `crash-01`
// ends the ingest thread in the middle of the consumer's transaction, as a crash of the thread would.
/** @type {import('../ingest/types.js').ReportProcessor} */
export function processor(report) {
  if (report.host === 'crash-01') process.exit(70);
}
