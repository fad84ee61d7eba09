// `npm start`: the Estate server on a generated demo estate (about 200 hosts, 60 services,
// databases, networks and teams, with 300 commits of history), on the embedded SQLite store.
// The data lives in ./demo-data; delete it to start over. Prints the URL and a fresh admin token.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateEstate } from '../bench/generateEstate.mjs';
import { parseLabelSelector } from '../packages/core/dist/index.js';
import { issueToken, listTokens, loadServerIdentities, revokeToken, startServer } from '../packages/server/dist/index.js';
import { addDemoConfig } from './demoConfig.mjs';

const dataDir = fileURLToPath(new URL('../demo-data/', import.meta.url));
const seedDir = join(dataDir, 'seed');
const port = Number(process.env.PORT ?? 7780);

let importFrom;
if (!existsSync(join(dataDir, 'estate.git'))) {
  console.log('Generating the demo estate (first start only)...');
  await rm(seedDir, { recursive: true, force: true });
  await generateEstate({ assets: 330, commits: 300, out: seedDir, seed: 7 });
  // The server's age identity, made before the server starts, so the demo's secrets are encrypted to it.
  await addDemoConfig(seedDir, (await loadServerIdentities(dataDir)).recipient);
  importFrom = seedDir;
}

let server;
try {
  server = await startServer({
    dataDir,
    ...(importFrom ? { importFrom } : {}),
    port,
    log: (level, message) => console.error(`[${level}] ${message}`),
  });
} catch (err) {
  const hint = err.code === 'EADDRINUSE' ? ` (port ${port} is taken: PORT=7781 npm start)` : '';
  console.error(`error[${err.code ?? 'E_INTERNAL'}]: ${err.message}${hint}`);
  process.exit(2);
}
if (importFrom) await rm(seedDir, { recursive: true, force: true });

// One admin token per start (once the server holds the data dir): the previous demo token is
// revoked, the new one printed once.
for (const old of await listTokens(server.store)) if (old.name.startsWith('demo-') && !old.revokedAt) await revokeToken(server.store, old.id);
const { token } = await issueToken(server.store, { name: 'demo-admin', role: 'admin' });
const configured = await fetchConfigList(server.url, token);
const app = configured?.[0]?.app;
const appToken = app && (await issueToken(server.store, { name: `demo-${app}`, role: 'viewer', scopes: { apps: [app], secrets: [`${app}/prod`] } })).token;
await server.indexer.sync();
const head = await server.store.head();
const [dbHost] = head ? await server.store.listAssets({ seq: head.seq, kind: 'Host', selector: parseLabelSelector('role=db'), limit: 1 }) : [];

console.log(`
Estate is running at ${server.url} (${head?.seq ?? 0} commits of main indexed)
Admin token (shown once): ${token}
Web UI: ${server.url}/ (sign in with that token)

Try:
  curl -H "Authorization: Bearer ${token}" '${server.url}/api/v1/assets?kind=Host&selector=env=prod&limit=5'
  curl -H "Authorization: Bearer ${token}" '${server.url}/api/v1/assets/${dbHost?.id ?? 'host/db-01'}/relations?direction=in&depth=3'
  ESTATE_TOKEN=${token} npx estate list --server ${server.url} --kind Service

Change requests (another user approves; make one with: npx estate token create --data ${dataDir} --name bob --role approver):
  ESTATE_TOKEN=${token} ESTATE_SERVER=${server.url} npx estate edit ${dbHost?.id ?? 'host/db-01'}   # edit in $EDITOR, proposed as a CR
  ESTATE_TOKEN=${token} ESTATE_SERVER=${server.url} npx estate change list
  git clone http://demo:${token}@${server.url.replace(/^http:\/\//, '')}/estate.git   # then: git push origin HEAD:refs/for/main
${app ? `
Config center (the ${app} app's own token, which may read its production secrets: ${appToken}):
  curl -H "Authorization: Bearer ${appToken}" '${server.url}/api/v1/config/${app}/prod?format=env'
  curl -N -H "Authorization: Bearer ${appToken}" '${server.url}/api/v1/config/${app}/prod/watch'   # pushed on each change
  ESTATE_TOKEN=${appToken} ESTATE_SERVER=${server.url} npx estate run --app ${app} --env prod -- env
` : ''}
Data: ${dataDir} (delete it to start over). Stop with Ctrl-C.`);

/** The configs the server serves (it reads them right after indexing main). */
async function fetchConfigList(url, adminToken) {
  for (let i = 0; i < 100; i++) {
    const answer = await fetch(`${url}/api/v1/config`, { headers: { authorization: `Bearer ${adminToken}` } });
    const { items } = await answer.json();
    if (items.length > 0) return items;
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.error('\nStopping...');
    server.close().then(() => process.exit(0), (err) => {
      console.error(err);
      process.exit(1);
    });
  });
}
