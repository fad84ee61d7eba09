// The demo estate's application config (for `npm start`): config/<app>/ for the first application
// of the generated estate, per-environment overlays, a cluster overlay, a schema, and production
// secrets encrypted to the demo server's age identity, committed on top of main.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { encryptSecrets } from '../packages/core/dist/index.js';
import { commitFiles, GitCliRepo } from '../packages/git/dist/index.js';

/** Adds the demo config to the repository `dir` (main moves); returns the app's name. */
export async function addDemoConfig(dir, recipient) {
  const apps = execFileSync('git', ['ls-tree', '-r', '--name-only', 'main', 'assets/apps'], { cwd: dir, encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  const app = apps[0].split('/').pop().replace(/\.yaml$/, '');
  const estateYaml = execFileSync('git', ['show', 'main:estate.yaml'], { cwd: dir, encoding: 'utf8' });
  const secret = () => randomBytes(12).toString('base64url');
  const repo = await GitCliRepo.open(dir);
  try {
    await commitFiles(repo, {
      ref: 'refs/heads/main',
      parent: 'refs/heads/main',
      message: `config: ${app} per environment, with production secrets`,
      author: { name: 'Demo', email: 'demo@example.com' },
      files: {
        'estate.yaml': `${estateYaml.trimEnd()}\n  secrets:\n    recipients: [${recipient}]\n`,
        [`config/${app}/base.yaml`]: [
          `# ${app}: shared by every environment; <env>.yaml overlays it (maps merge, lists are replaced, null deletes).`,
          'http:\n  port: 8080\n  requestTimeoutMs: 3000',
          'db:\n  host: db.dev.internal\n  pool: 10',
          'features:\n  newCheckout: false\n  giftCards: true',
          'logging:\n  level: debug',
          '',
        ].join('\n'),
        [`config/${app}/staging.yaml`]: 'db:\n  host: db.staging.internal\nlogging:\n  level: info\n',
        [`config/${app}/prod.yaml`]: 'db:\n  host: db.prod.internal\n  pool: 50\nlogging:\n  level: warn\n',
        [`config/${app}/prod/eu-1.yaml`]: 'db:\n  host: db.eu-1.prod.internal\n',
        [`config/${app}/schema.yaml`]: [
          'type: object',
          'properties:',
          '  http:',
          '    type: object',
          '    properties: {port: {type: integer, minimum: 1, maximum: 65535}, requestTimeoutMs: {type: integer, minimum: 100}}',
          '  db:',
          '    type: object',
          '    required: [host]',
          '    properties: {host: {type: string}, pool: {type: integer, minimum: 1, maximum: 500}}',
          '  logging:',
          '    type: object',
          '    properties: {level: {enum: [debug, info, warn, error]}}',
          '',
        ].join('\n'),
        [`config/${app}/prod.secrets.yaml`]: await encryptSecrets({ app, env: 'prod', recipients: [recipient], values: { 'db.password': secret(), PAYMENTS_API_KEY: secret() } }),
      },
    });
  } finally {
    await repo.close();
  }
  return app;
}
