// `npm start`: until the server lands, create (once) and validate a demo estate, and show it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from '../packages/cli/dist/main.js';

const dir = fileURLToPath(new URL('../demo-estate/', import.meta.url));
if (!existsSync(dir)) {
  const code = await main(['init', dir]);
  if (code !== 0) process.exit(code);
}
console.log(`\nValidating ${dir}`);
let code = await main(['validate', '--repo', dir]);
console.log('\nHosts:');
code ||= await main(['list', '--repo', dir, '--kind', 'Host']);
console.log('\nWhat breaks if host/db-01 dies:');
code ||= await main(['relations', 'host/db-01', '--repo', dir, '--direction', 'in', '--depth', '3']);
console.log(`\nTry: npx estate --help    (the demo estate is in ${dir})`);
process.exitCode = code;
