import { Command, CommanderError, Option } from 'commander';
import { hasErrorCode } from '@estate/core';
import { CliContext } from './context.js';
import { processIo, type CliIo } from './io.js';
import { auditExportCommand, auditVerifyCommand } from './commands/audit.js';
import {
  changeApproveCommand,
  changeCloseCommand,
  changeCreateCommand,
  changeListCommand,
  changeMergeCommand,
  changeRejectCommand,
  changeReviewCommand,
  changeRevertCommand,
  changeShowCommand,
} from './commands/change.js';
import { configGetCommand, configWatchCommand } from './commands/config.js';
import { diffCommand } from './commands/diff.js';
import { driftAdoptCommand, driftDeclareCommand, driftIgnoreCommand, driftListCommand, driftRevertCommand, driftShowCommand } from './commands/drift.js';
import { editCommand } from './commands/edit.js';
import { historyCommand } from './commands/history.js';
import { initCommand } from './commands/init.js';
import { newCommand } from './commands/new.js';
import { getCommand, listCommand, relationsCommand } from './commands/read.js';
import { reindexCommand } from './commands/reindex.js';
import { runCommand } from './commands/run.js';
import { reportsDeadLettersCommand, reportsReplayCommand } from './commands/reports.js';
import { secretGetCommand, secretKeygenCommand, secretRotateCommand, secretSetCommand } from './commands/secret.js';
import { serveCommand } from './commands/serve.js';
import { configInstancesCommand, configReleaseEndCommand, configReleaseListCommand, configReleaseStartCommand, configVersionsCommand } from './commands/configRelease.js';
import { TOKEN_ROLES, tokenCreateCommand, tokenListCommand, tokenRevokeCommand } from './commands/token.js';
import { validateCommand } from './commands/validate.js';
import { whyCommand } from './commands/why.js';

/** Error codes that mean "the thing asked about is not OK" (exit 1) rather than a usage problem (2). */
const NOT_OK_CODES = new Set([
  'E_ASSET_NOT_FOUND',
  'E_TOKEN_NOT_FOUND',
  'E_SECRET_NOT_FOUND',
  'E_CONFIG_NOT_FOUND',
  'E_RELEASE_NOT_FOUND',
  'E_RELEASE_ACTIVE',
  'E_RELEASE_ENDED',
  // Change requests: the server refused because the change (or the caller) is not OK for it.
  'E_CHANGE_NOT_FOUND',
  'E_CHANGE_STATE',
  'E_REVIEW_NOT_FOUND',
  'E_CONFLICT',
  'E_APPROVALS_REQUIRED',
  'E_FROZEN',
  'E_REJECTED',
  'E_CHECKS_FAILED',
  'E_SELF_APPROVAL',
  'E_FORBIDDEN',
  // Host reports: no such dead letter to replay.
  'E_DEAD_LETTER_NOT_FOUND',
  // Drift actions: nothing to adopt, a field no agent restores, no such open item or report, a host declared already.
  'E_NOTHING_TO_ADOPT',
  'E_NOT_REVERTIBLE',
  'E_DRIFT_ITEM_NOT_FOUND',
  'E_OBSERVATION_NOT_FOUND',
  'E_ALREADY_DECLARED',
  // An audit export line that is not an entry: the file checked is not OK.
  'E_AUDIT_FORMAT',
]);

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Builds the `estate` command line; each action stores its exit code in `result`. */
export function buildProgram(ctx: CliContext, result: { code: number }): Command {
  const program = new Command('estate')
    .description('Estate: production as code. Validate, diff and query the estate repo.')
    .version('0.1.0')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeOut: ctx.io.stdout, writeErr: ctx.io.stderr });
  const run = (fn: (...args: never[]) => Promise<number>) => async (...args: unknown[]) => {
    result.code = await (fn as (...a: unknown[]) => Promise<number>)(...args);
  };
  const repoOption = (): Option => new Option('--repo <dir>', 'the estate repo (default: the current directory)');
  const revOption = (what = 'the work tree'): Option => new Option('--rev <rev>', `a commit, branch or tag to read (default: ${what})`);
  // The token comes from ESTATE_TOKEN only: a flag would end up in shell history and in `ps`.
  const serverOption = (): Option => new Option('--server <url>', 'ask an Estate server instead of reading a repo (default: $ESTATE_SERVER; token: $ESTATE_TOKEN)');
  const atOption = (): Option => new Option('--at <sha|time>', 'with --server: a commit of main (sha or prefix) or an ISO 8601 time (default: the head)');
  const dataOption = (): Option => new Option('--data <dir>', "the server's data dir (default: ./estate-data)");

  program
    .command('validate')
    .description('check the whole estate and report every problem (exit 1 when invalid)')
    .addOption(repoOption())
    .addOption(revOption())
    .addOption(serverOption())
    .addOption(atOption())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'github']).default('text'))
    .action(run((options: Parameters<typeof validateCommand>[1]) => validateCommand(ctx, options)));

  program
    .command('diff')
    .description('semantic diff: assets added, removed, moved and changed, by field')
    .argument('<from>', 'the older revision')
    .argument('[to]', 'the newer revision (default: the work tree; with --server, the head)')
    .addOption(repoOption())
    .addOption(serverOption())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(run((from: string, to: string | undefined, options: Parameters<typeof diffCommand>[3]) => diffCommand(ctx, from, to, options)));

  program
    .command('get')
    .description('print one asset')
    .argument('<id>', 'the asset, <kind>/<name>, e.g. host/web-01')
    .addOption(repoOption())
    .addOption(revOption())
    .addOption(serverOption())
    .addOption(atOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action(run((id: string, options: Parameters<typeof getCommand>[2]) => getCommand(ctx, id, options)));

  program
    .command('list')
    .description('list assets, filtered by kind and labels')
    .addOption(repoOption())
    .addOption(revOption())
    .addOption(serverOption())
    .addOption(atOption())
    .option('--kind <kind>', 'only assets of this kind')
    .option('-l, --selector <selector>', 'label selector, e.g. env=prod,role in (web,api); repeatable', collect)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .action(run((options: Parameters<typeof listCommand>[1]) => listCommand(ctx, options)));

  program
    .command('relations')
    .description('related assets, transitively; --direction in answers "what depends on this"')
    .argument('<id>', 'the asset, <kind>/<name>')
    .addOption(repoOption())
    .addOption(revOption())
    .addOption(serverOption())
    .addOption(atOption())
    .addOption(new Option('--direction <direction>', 'in: what references it, out: what it references').choices(['in', 'out', 'both']).default('both'))
    .option('--depth <n>', 'hops to follow', '1')
    .option('--type <relation>', 'only follow this relation (either name of the pair); repeatable', collect)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(run((id: string, options: Parameters<typeof relationsCommand>[2]) => relationsCommand(ctx, id, options)));

  program
    .command('history')
    .description('every commit that changed an asset, with the field-level change, across file moves')
    .argument('<id>', 'the asset, <kind>/<name>')
    .addOption(repoOption())
    .addOption(revOption('HEAD'))
    .addOption(serverOption())
    .addOption(atOption())
    .option('--limit <n>', 'show at most n entries')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(run((id: string, options: Parameters<typeof historyCommand>[2]) => historyCommand(ctx, id, options)));

  program
    .command('init')
    .description('create a new estate repo with an example estate and a first commit')
    .argument('[dir]', 'where to create it (default: the current directory, which must be empty)')
    .action(run((dir: string | undefined) => initCommand(ctx, dir)));

  program
    .command('new')
    .description("write a skeleton asset file from the kind's schema")
    .argument('<kind>', 'the kind, e.g. Host')
    .argument('<name>', 'the asset name, e.g. web-03')
    .addOption(repoOption())
    .option('--file <path>', 'where to write it, inside assets/ (default: assets/<kinds>/<name>.yaml)')
    .option('--stdout', 'print the skeleton instead of writing a file')
    .action(run((kind: string, name: string, options: Parameters<typeof newCommand>[3]) => newCommand(ctx, kind, name, options)));

  program
    .command('serve')
    .description('run the Estate server: index the estate repo and answer the HTTP API (docs/api.md)')
    .addOption(dataOption())
    .option('--repo <bare>', 'serve this existing bare repository instead of <data>/estate.git')
    .option('--import <path|url>', 'clone this repository into <data>/estate.git on first start')
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .option('--port <port>', 'the port to listen on; 0 picks a free one', '7780')
    .option('--open-read', 'serve reads without a token (demos; a token that is sent must still be valid)')
    .option('--public-url <url>', 'the URL users reach the server at (behind a proxy), for links in push messages and webhooks')
    .action(run((options: Parameters<typeof serveCommand>[1]) => serveCommand(ctx, options)));

  program
    .command('reindex')
    .description("rebuild the server's read model from its repository (tokens stay)")
    .addOption(dataOption())
    .option('--repo <bare>', 'the bare repository the server serves, if not <data>/estate.git')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(run((options: Parameters<typeof reindexCommand>[1]) => reindexCommand(ctx, options)));

  const token = program.command('token').description("manage the server's API tokens");
  token
    .command('create')
    .description('create a token and print it, once, alone on stdout')
    .addOption(dataOption())
    .addOption(new Option('--role <role>', 'what the token may do').choices(TOKEN_ROLES).makeOptionMandatory())
    .option('--name <name>', 'the user or robot it belongs to: approvals and the audit trail name it (default: <role>-<time>)')
    .option('--group <group>', "a group of the token's user, which approval policies name; repeatable", collect)
    .option('--app <app>', "limit the token to this app's config (it may call nothing else); repeatable", collect)
    .option('--secrets <app/env>', 'let the token read the decrypted secrets of app/env (* for any app or env); repeatable', collect)
    .option('--host <name>', 'with --role agent: the host the agent reports for (it may post reports only); repeatable', collect)
    .option('--expires <duration>', 'lifetime: 90m, 12h, 30d, 1w (default: until revoked)')
    .action(run((options: Parameters<typeof tokenCreateCommand>[1]) => tokenCreateCommand(ctx, options)));
  token
    .command('list')
    .description('list tokens: id, name, role, created, expires, last used, revoked (never a secret)')
    .addOption(dataOption())
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(run((options: Parameters<typeof tokenListCommand>[1]) => tokenListCommand(ctx, options)));
  token
    .command('revoke')
    .description('revoke a token, by id or name; it stops working at once')
    .argument('<token>', "the token's id (tok_…) or name")
    .addOption(dataOption())
    .action(run((idOrName: string, options: Parameters<typeof tokenRevokeCommand>[2]) => tokenRevokeCommand(ctx, idOrName, options)));

  // Change requests and the audit trail: server commands (--server or ESTATE_SERVER, token in ESTATE_TOKEN).
  const formatOption = (): Option => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');
  const change = program.command('change').description('change requests on an Estate server: open, review, approve, merge (docs/cli.md)');
  change
    .command('create')
    .description('open a change request from asset files, an operations file and deletions')
    .requiredOption('-m, --message <title>', 'the title')
    .option('--description <text>', 'a longer description')
    .option('--apply <file>', 'put every YAML document of this file as an asset; repeatable', collect)
    .option('--ops <file>', 'a YAML or JSON file of operations: a list, or {operations: [...]}')
    .option('--delete <id>', 'delete this asset, <kind>/<name>; repeatable', collect)
    .option('--dry-run', 'only run the checks; create nothing (exit 1 when they fail)')
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((options: Parameters<typeof changeCreateCommand>[1]) => changeCreateCommand(ctx, options)));
  change
    .command('list')
    .description('change requests, newest first (default: the open and approved ones)')
    .addOption(new Option('--state <state>', 'only these').choices(['open', 'approved', 'merged', 'closed', 'active', 'all']))
    .option('--author <user>', "only this user's")
    .option('--mine', 'only your own (the token\'s user)')
    .option('--waiting', 'only those waiting for your approval')
    .option('--emergency', 'only emergency changes (default state: all)')
    .option('--limit <n>', 'show at most n')
    .addOption(serverOption())
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(run((options: Parameters<typeof changeListCommand>[1]) => changeListCommand(ctx, options)));
  change
    .command('show')
    .description('one change request: checks, diff by field, approvals, blockers, review')
    .argument('<id>', 'the change request id')
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((id: string, options: Parameters<typeof changeShowCommand>[2]) => changeShowCommand(ctx, id, options)));
  const action = (name: string, description: string, fn: (ctx: CliContext, id: string, options: Parameters<typeof changeApproveCommand>[2]) => Promise<number>, what = 'a comment'): void => {
    change
      .command(name)
      .description(description)
      .argument('<id>', 'the change request id')
      .option('-m, --message <text>', what)
      .addOption(serverOption())
      .addOption(formatOption())
      .action(run((id: string, options: Parameters<typeof fn>[2]) => fn(ctx, id, options)));
  };
  action('approve', 'approve the current revision (never your own change; exit 1 when refused)', changeApproveCommand);
  action('reject', 'reject the current revision: blocks the merge until you approve a revision', changeRejectCommand);
  change
    .command('merge')
    .description('merge onto main; exit 1 when refused (conflict, checks, freeze, approvals)')
    .argument('<id>', 'the change request id')
    .option('--emergency <reason>', 'admin only: skip freezes and missing approvals, and open a post-merge review')
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((id: string, options: Parameters<typeof changeMergeCommand>[2]) => changeMergeCommand(ctx, id, options)));
  action('close', 'close without merging', changeCloseCommand, 'the reason');
  change
    .command('revert')
    .description('open a change request that reverts a merged one')
    .argument('<id>', 'the merged change request id')
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((id: string, options: Parameters<typeof changeRevertCommand>[2]) => changeRevertCommand(ctx, id, options)));
  action('review', "acknowledge an emergency change's post-merge review", changeReviewCommand);

  program
    .command('edit')
    .description('edit an asset in $VISUAL or $EDITOR (default vi) and propose the result as a change request')
    .argument('<id>', 'the asset, <kind>/<name>')
    .option('-m, --message <title>', 'the title (default: Edit <id>)')
    .option('--description <text>', 'a longer description')
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((id: string, options: Parameters<typeof editCommand>[2]) => editCommand(ctx, id, options)));

  const reports = program.command('reports').description("host reports on an Estate server: the dead letters and their replay (docs/ingest.md)");
  reports
    .command('dead-letters')
    .description('reports that kept failing, oldest first, with the reason (admin)')
    .addOption(serverOption())
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(run((options: Parameters<typeof reportsDeadLettersCommand>[1]) => reportsDeadLettersCommand(ctx, options)));
  reports
    .command('replay')
    .description("queue a dead letter's report again, with no attempts counted (admin)")
    .argument('<id>', 'the dead letter id (from estate reports dead-letters)')
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((id: string, options: Parameters<typeof reportsReplayCommand>[2]) => reportsReplayCommand(ctx, id, options)));
  const drift = program.command('drift').description('declared fields that differ from what hosts report, and their modes (docs/drift.md)');
  drift
    .command('list')
    .description('drift items in the order they opened; exit 1 when an open item is listed (viewer)')
    .option('--asset <id>', 'only items of this asset (host/web-01 or web-01)')
    .option('--selector <selector>', "only items of declared hosts whose labels match (e.g. 'env=prod')")
    .addOption(new Option('--state <state>', 'open (ignored ones left out), ignored, resolved or all').choices(['open', 'ignored', 'resolved', 'all']).default('open'))
    .addOption(serverOption())
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(run((options: Parameters<typeof driftListCommand>[1]) => driftListCommand(ctx, options)));
  drift
    .command('show')
    .description("one host's drift items, declared against observed; exit 1 when it has open drift (viewer)")
    .argument('<asset>', 'the host: host/web-01 or web-01')
    .addOption(new Option('--state <state>', 'open (ignored ones left out), ignored, resolved or all').choices(['open', 'ignored', 'resolved', 'all']).default('open'))
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((asset: string, options: Parameters<typeof driftShowCommand>[2]) => driftShowCommand(ctx, asset, options)));
  drift
    .command('adopt')
    .description("open a change request adopting the observed values of a host's open drift (editor); exit 1 when nothing can be adopted")
    .argument('<asset>', 'the host: host/web-01 or web-01')
    .option('--field <pointer>', 'only this field, as drift show prints it (repeatable)', collect)
    .option('--title <title>', 'the change request title (default: drift: adopt observed state of <asset>)')
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((asset: string, options: Parameters<typeof driftAdoptCommand>[2]) => driftAdoptCommand(ctx, asset, options)));
  drift
    .command('revert')
    .description("ask the host's enforcing agent to restore a managed file from Git (editor); exit 1 for other fields")
    .argument('<asset>', 'the host: host/web-01 or web-01')
    .argument('<field>', 'the file field as drift show prints it, e.g. /spec/files/~1etc~1motd/content')
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((asset: string, field: string, options: Parameters<typeof driftRevertCommand>[3]) => driftRevertCommand(ctx, asset, field, options)));
  drift
    .command('ignore')
    .description('ignore an open drift item while its observed value stays the same (editor); a DriftIgnore policy is the permanent way')
    .argument('<asset>', 'the host: host/web-01 or web-01')
    .argument('<field>', 'the field as drift show prints it')
    .option('--reason <text>', 'why the item may stay as it is (required)')
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((asset: string, field: string, options: Parameters<typeof driftIgnoreCommand>[3]) => driftIgnoreCommand(ctx, asset, field, options)));
  drift
    .command('declare')
    .description('open a change request declaring an unmanaged host as a Host asset from its latest report (editor)')
    .argument('<host>', 'the host name its reports carry (estate drift list shows unmanaged hosts via the API)')
    .option('--name <name>', "the Host asset's name (default: the host's)")
    .option('--label <key=value>', 'a label of the new Host (repeatable)', collect)
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((host: string, options: Parameters<typeof driftDeclareCommand>[2]) => driftDeclareCommand(ctx, host, options)));
  program
    .command('why')
    .description('who changed an asset, and did it go through Git: a verdict, then its declared changes and what its host reported, newest first; exit 1 on open drift (viewer)')
    .argument('<asset>', 'the asset: host/web-01 (or a host name: web-01)')
    .option('--limit <n>', 'entries to show (default 20)')
    .option('--since <time>', 'only entries at or after this ISO 8601 time')
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((asset: string, options: Parameters<typeof whyCommand>[2]) => whyCommand(ctx, asset, options)));
  const audit = program.command('audit').description("the server's hash-chained audit trail");
  audit
    .command('verify')
    .description("check the chain here (not on the server's word): every entry from the server, or an export; exit 1 on any problem")
    .option('--file <export.jsonl>', 'verify this JSON Lines export instead of the server')
    .option('--anchor <seq:hash>', 'a head recorded earlier: the trail must still hold it (catches a cut or rewritten tail)')
    .addOption(serverOption())
    .addOption(formatOption())
    .action(run((options: Parameters<typeof auditVerifyCommand>[1]) => auditVerifyCommand(ctx, options)));
  audit
    .command('export')
    .description('the audit trail as JSON Lines (verifiable) or CSV')
    .option('--since <time>', 'entries at or after this ISO 8601 time')
    .option('--until <time>', 'entries before this ISO 8601 time')
    .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'csv']).default('jsonl'))
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .addOption(serverOption())
    .action(run((options: Parameters<typeof auditExportCommand>[1]) => auditExportCommand(ctx, options)));

  // Secrets of the work tree's config/. Values come from stdin or a prompt only, never from argv.
  const identityOption = (): Option => new Option('--identity <file>', 'a file of age identities (default: $ESTATE_AGE_IDENTITY_FILE, else the key in $ESTATE_AGE_IDENTITY)');
  const secret = program.command('secret').description('encrypted config secrets in config/<app>/<env>.secrets.yaml (docs/secrets.md)');
  secret
    .command('set')
    .description('encrypt a value from stdin (or a hidden prompt) under KEY; never give the value as an argument')
    .argument('<app>', 'the application')
    .argument('<env>', 'the environment')
    .argument('<KEY>', 'the secret key, e.g. DB_PASSWORD')
    .allowExcessArguments()
    .addOption(repoOption())
    .addOption(identityOption())
    .action(
      run((app: string, env: string, key: string, options: Parameters<typeof secretSetCommand>[5], command: Command) =>
        secretSetCommand(ctx, app, env, key, command.args.slice(3), options),
      ),
    );
  secret
    .command('get')
    .description("print KEY's value; without KEY the key names; with --all KEY=value lines")
    .argument('<app>', 'the application')
    .argument('<env>', 'the environment')
    .argument('[KEY]', 'the secret key')
    .option('--all', 'print every key and value as KEY=value')
    .addOption(repoOption())
    .addOption(identityOption())
    .action(run((app: string, env: string, key: string | undefined, options: Parameters<typeof secretGetCommand>[4]) => secretGetCommand(ctx, app, env, key, options)));
  secret
    .command('rotate')
    .description("re-encrypt secrets files to their environment's current recipients in estate.yaml")
    .argument('[app]', 'the application (with <env>: that one file)')
    .argument('[env]', 'the environment')
    .option('--env <env>', 'every secrets file of this environment')
    .option('--all', 'every secrets file')
    .option('--force', 'with --env or --all: also files already encrypted to the right recipients')
    .addOption(repoOption())
    .addOption(identityOption())
    .action(run((app: string | undefined, env: string | undefined, options: Parameters<typeof secretRotateCommand>[3]) => secretRotateCommand(ctx, app, env, options)));
  secret
    .command('keygen')
    .description('write a new age identity to --out (mode 0600) and print its public recipient')
    .requiredOption('--out <file>', 'the identity file to create (never overwritten)')
    .action(run((options: Parameters<typeof secretKeygenCommand>[1]) => secretKeygenCommand(ctx, options)));

  // Application config served by an Estate server (docs/config.md "Client SDK and CLI").
  const clusterOption = (): Option => new Option('--cluster <cluster>', "the cluster whose overlay applies (config/<app>/<env>/<cluster>.yaml)");
  const config = program.command('config').description("applications' merged config, as an Estate server serves it");
  config
    .command('get')
    .description('print the merged config of an app in an environment, rendered by the server')
    .argument('<app>', 'the application')
    .argument('<env>', 'the environment')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'yaml', 'env', 'properties']).default('yaml'))
    .addOption(clusterOption())
    // Not --version: the program's own --version would answer first.
    .option('--at <sha>', 'an older version (the sha of the main commit that made it) instead of the current one')
    .option('--instance <id>', "this caller's instance id (gray releases, the server's instances list)")
    .option('--label <key=value>', "this caller's label, matched by gray-release selectors; repeatable", collect)
    .addOption(serverOption())
    .action(run((app: string, env: string, options: Parameters<typeof configGetCommand>[3]) => configGetCommand(ctx, app, env, options)));
  config
    .command('watch')
    .description('print a line per new version of the config as the server pushes it, until interrupted')
    .argument('<app>', 'the application')
    .argument('<env>', 'the environment')
    .option('--json', 'print each version as JSON, values included')
    .addOption(clusterOption())
    .option('--instance <id>', "this watcher's instance id (gray releases, the server's instances list)")
    .option('--label <key=value>', "this watcher's label, matched by gray-release selectors; repeatable", collect)
    .addOption(serverOption())
    .action(run((app: string, env: string, options: Parameters<typeof configWatchCommand>[3]) => configWatchCommand(ctx, app, env, options)));

  const release = config.command('release').description('gray releases: a config change reaches canary instances first, then everyone (or no one)');
  release
    .command('start')
    .description('start a gray release: versions merged from now on reach the canaries only')
    .argument('<app>', 'the application')
    .argument('<env>', 'the environment')
    .option('--selector <labels>', 'canaries are the instances whose labels match, e.g. zone=eu-1')
    .option('--percentage <n>', 'canaries are this share of instances, chosen by a hash of their id (sticky)')
    .option('--format <format>', 'text or json', 'text')
    .addOption(serverOption())
    .action(run((app: string, env: string, options: Parameters<typeof configReleaseStartCommand>[3]) => configReleaseStartCommand(ctx, app, env, options)));
  for (const outcome of ['promote', 'abort'] as const) {
    release
      .command(outcome)
      .description(outcome === 'promote' ? "promote a gray release: every instance gets main's newest version" : 'abort a gray release: every instance goes back to the baseline')
      .argument('<app>', 'the application')
      .argument('<env>', 'the environment')
      .argument('<id>', 'the release id')
      .option('--format <format>', 'text or json', 'text')
      .addOption(serverOption())
      .action(run((app: string, env: string, id: string, options: Parameters<typeof configReleaseEndCommand>[5]) => configReleaseEndCommand(ctx, outcome, app, env, id, options)));
  }
  release
    .command('list')
    .description('gray releases of a config, newest first')
    .argument('<app>', 'the application')
    .argument('<env>', 'the environment')
    .option('--format <format>', 'table or json', 'table')
    .addOption(serverOption())
    .action(run((app: string, env: string, options: Parameters<typeof configReleaseListCommand>[3]) => configReleaseListCommand(ctx, app, env, options)));
  config
    .command('instances')
    .description('instances that asked for the config: the version each got, stable or canary, last seen')
    .argument('<app>', 'the application')
    .argument('<env>', 'the environment')
    .option('--format <format>', 'table or json', 'table')
    .addOption(serverOption())
    .action(run((app: string, env: string, options: Parameters<typeof configInstancesCommand>[3]) => configInstancesCommand(ctx, app, env, options)));
  config
    .command('versions')
    .description('versions of the config, newest first, with what each changed (secrets as changed, never their values)')
    .argument('<app>', 'the application')
    .argument('<env>', 'the environment')
    .addOption(clusterOption())
    .option('--format <format>', 'table or json', 'table')
    .addOption(serverOption())
    .action(run((app: string, env: string, options: Parameters<typeof configVersionsCommand>[3]) => configVersionsCommand(ctx, app, env, options)));

  program
    .command('run')
    .description("start a program with an app's config as environment variables: estate run --app A --env E -- cmd args…")
    .requiredOption('--app <app>', 'the application')
    .requiredOption('--env <env>', 'the environment')
    .addOption(clusterOption())
    .option('--instance <id>', "this instance's id (gray releases, the server's instances list)")
    .option('--label <key=value>', "this instance's label, matched by gray-release selectors; repeatable", collect)
    .option('--cache-dir <dir>', 'keep the last-known-good config here, and run from it when the server is unavailable')
    .argument('<command...>', 'the program and its arguments, after --')
    .addOption(serverOption())
    .action(run((command: string[], options: Parameters<typeof runCommand>[2]) => runCommand(ctx, command, options)));

  return program;
}

/**
 * Runs the CLI and returns its exit code: 0 success, 1 the thing checked is not OK (invalid,
 * not found), 2 usage or environment error. Errors print as `error[E_CODE]: message`, never a stack.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const ctx = new CliContext(io);
  const result = { code: 0 };
  const program = buildProgram(ctx, result);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
    }
    if (hasErrorCode(error) && error.code.startsWith('E_')) {
      io.stderr(`error[${error.code}]: ${error.message}\n`);
      return NOT_OK_CODES.has(error.code) ? 1 : 2;
    }
    if (hasErrorCode(error)) {
      // An operating-system error (ENOENT, EACCES, ENOSPC...): its own code stays in the message.
      io.stderr(`error[E_IO]: ${error.message}\n`);
      return 2;
    }
    io.stderr(`error[E_INTERNAL]: ${error instanceof Error ? error.message : String(error)}\n`);
    if (io.env['ESTATE_DEBUG'] && error instanceof Error) io.stderr(`${error.stack}\n`);
    return 2;
  }
}
