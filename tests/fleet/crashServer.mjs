// The server the ingestion crash test kills: the real startServer (built dist) over a data dir,
// its ingest thread running the report processor of countEffect.mjs, which INSERTs one row per
// consumed report into a table without a unique constraint, so that a report applied twice shows
// as two rows. It loads its modules, then waits for a line on stdin before it starts (so the
// test can load the next server while one runs), and prints one JSON line once it listens: {url, token} (an agent token for hosts host-000 …
// host-<N-1>, issued at every start).
//
//   node tests/fleet/crashServer.mjs <dataDir> <hostCount> [<importFrom>]
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { issueToken, startServer } from '../../packages/server/dist/index.js';

const [dataDir, hostCount, importFrom] = process.argv.slice(2);
const hosts = Array.from({ length: Number(hostCount) }, (_, i) => `host-${String(i).padStart(3, '0')}`);

process.stdin.setEncoding('utf8');
await once(process.stdin, 'data');
const server = await startServer({
  dataDir,
  ...(importFrom && !existsSync(join(dataDir, 'estate.git')) ? { importFrom } : {}),
  port: 0,
  pollMs: 1000,
  ingestProcessorModules: [new URL('./countEffect.mjs', import.meta.url).href],
});
const { token } = await issueToken(server.store, { name: `fleet-${process.pid}`, role: 'agent', scopes: { hosts } });
process.stdout.write(JSON.stringify({ url: server.url, token }) + '\n');
process.on('SIGTERM', () => {
  server.close().then(() => process.exit(0), () => process.exit(1));
});
