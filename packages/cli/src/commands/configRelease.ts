import type { GrayRelease } from '@estate/client';
import { EstateError } from '@estate/core';
import type { CliContext } from '../context.js';
import { remoteClient, type RemoteOptions } from './change.js';
import { parseFormat } from './formats.js';
import { formatTable } from './read.js';

/** Options of the gray-release and inspection commands under `estate config`. */
export interface ConfigServerOptions extends RemoteOptions {
  format?: string;
}

/**
 * `estate config release start <app> <env> --selector S | --percentage P`: from now on, new versions
 * of the config reach the canaries only, until the release is promoted or aborted.
 */
export async function configReleaseStartCommand(ctx: CliContext, app: string, env: string, options: ConfigServerOptions & { selector?: string; percentage?: string }): Promise<number> {
  if ((options.selector === undefined) === (options.percentage === undefined)) {
    throw new EstateError('E_USAGE', 'name the canaries with one of --selector (labels, e.g. zone=eu-1) and --percentage (of instances, e.g. 10)', {});
  }
  const percentage = options.percentage === undefined ? undefined : Number(options.percentage);
  if (percentage !== undefined && !(Number.isFinite(percentage) && percentage > 0 && percentage < 100)) {
    throw new EstateError('E_USAGE', `--percentage takes a number above 0 and below 100, not '${options.percentage}'`, {});
  }
  const client = remoteClient(ctx, options, 'config release start');
  const release = await client.startConfigRelease(app, env, { ...(options.selector !== undefined ? { selector: options.selector } : {}), ...(percentage !== undefined ? { percentage } : {}) });
  printRelease(ctx, release, options.format, `started release ${release.id} of ${app}/${env}: versions merged from now on reach ${describeCanaries(release)} first`);
  return 0;
}

/** `estate config release promote|abort <app> <env> <id>`. */
export async function configReleaseEndCommand(ctx: CliContext, outcome: 'promote' | 'abort', app: string, env: string, id: string, options: ConfigServerOptions): Promise<number> {
  const number = /^[1-9][0-9]{0,11}$/.test(id) ? Number(id) : NaN;
  if (Number.isNaN(number)) throw new EstateError('E_USAGE', `'${id}' is not a release id; expected a number, e.g. 3`, { id });
  const client = remoteClient(ctx, options, `config release ${outcome}`);
  const release = await client.endConfigRelease(app, env, number, outcome);
  const done =
    outcome === 'promote'
      ? `promoted release ${release.id} of ${app}/${env}: every instance gets main's newest version`
      : `aborted release ${release.id} of ${app}/${env}: every instance is back at the baseline until a newer version lands on main (revert or fix the change)`;
  printRelease(ctx, release, options.format, done);
  return 0;
}

/** `estate config release list <app> <env>`: releases, newest first. */
export async function configReleaseListCommand(ctx: CliContext, app: string, env: string, options: ConfigServerOptions): Promise<number> {
  const format = parseFormat(options.format, ['table', 'json'] as const, 'table');
  const { items } = await remoteClient(ctx, options, 'config release list', false).listConfigReleases(app, env);
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify(items, null, 2) + '\n');
    return 0;
  }
  const rows = items.map((r) => [String(r.id), r.state, describeCanaries(r), r.createdBy, r.createdAt, r.endedBy ? `${r.endedBy} ${r.endedAt}` : '-']);
  ctx.io.stdout(formatTable(['ID', 'STATE', 'CANARIES', 'BY', 'STARTED', 'ENDED'], rows));
  return 0;
}

/** `estate config instances <app> <env>`: which instance got which version, and when it was last seen. */
export async function configInstancesCommand(ctx: CliContext, app: string, env: string, options: ConfigServerOptions): Promise<number> {
  const format = parseFormat(options.format, ['table', 'json'] as const, 'table');
  const { items } = await remoteClient(ctx, options, 'config instances', false).listConfigInstances(app, env);
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify(items, null, 2) + '\n');
    return 0;
  }
  const rows = items.map((i) => [
    i.instance,
    i.version.slice(0, 12),
    i.release,
    i.connected ? 'watching' : i.lastSeen,
    Object.entries(i.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '-',
  ]);
  ctx.io.stdout(formatTable(['INSTANCE', 'VERSION', 'RELEASE', 'LAST SEEN', 'LABELS'], rows));
  return 0;
}

/** `estate config versions <app> <env>`: versions, newest first, with what each changed (secret keys as changed, never their values). */
export async function configVersionsCommand(ctx: CliContext, app: string, env: string, options: ConfigServerOptions & { cluster?: string }): Promise<number> {
  const format = parseFormat(options.format, ['table', 'json'] as const, 'table');
  const { items } = await remoteClient(ctx, options, 'config versions', false).listConfigVersions(app, env, options.cluster !== undefined ? { cluster: options.cluster } : {});
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify(items, null, 2) + '\n');
    return 0;
  }
  for (const version of items) {
    ctx.io.stdout(`${version.seq}  ${version.version.slice(0, 12)}  ${version.committedAt}  ${version.author}${version.removed ? '  (removed)' : ''}\n`);
    for (const change of version.changes) {
      const values = change.secret ? '' : change.change === 'changed' ? `: ${JSON.stringify(change.from)} → ${JSON.stringify(change.to)}` : change.change === 'added' ? `: ${JSON.stringify(change.to)}` : '';
      ctx.io.stdout(`    ${change.change.padEnd(7)} ${change.path}${values}\n`);
    }
  }
  return 0;
}

function describeCanaries(release: GrayRelease): string {
  return release.selector !== undefined ? `instances matching ${release.selector}` : `${release.percentage}% of instances`;
}

function printRelease(ctx: CliContext, release: GrayRelease, format: string | undefined, message: string): void {
  if (parseFormat(format, ['text', 'json'] as const, 'text') === 'json') ctx.io.stdout(JSON.stringify(release, null, 2) + '\n');
  else ctx.io.stdout(`${message}\n`);
}
