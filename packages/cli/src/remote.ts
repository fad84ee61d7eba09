import { EstateClient, type CommitRef } from '@estate/client';
import { EstateError } from '@estate/core';
import type { CliIo } from './io.js';

/** Options by which a read command chooses between the local repo and an Estate server. */
export interface SourceOptions {
  repo?: string;
  rev?: string;
  /** `--server URL`; `ESTATE_SERVER` is its default. */
  server?: string;
  /** `--at SHA|TIME`: server mode only. */
  at?: string;
}

/**
 * The client of the server a read command asks, or undefined to read the local repo. `--server`
 * wins; otherwise `ESTATE_SERVER` applies unless `--repo` names a repo. The token comes from
 * `ESTATE_TOKEN` only: a flag would end up in shell history and in `ps`.
 */
export function serverClient(io: CliIo, options: SourceOptions): EstateClient | undefined {
  const flag = options.server;
  if (flag !== undefined && options.repo !== undefined) {
    throw new EstateError('E_USAGE', '--server and --repo exclude each other: read either a server or a repo', {});
  }
  const url = flag ?? (options.repo === undefined ? io.env['ESTATE_SERVER'] : undefined);
  if (url === undefined || (flag === undefined && url.trim() === '')) {
    if (options.at !== undefined) throw new EstateError('E_USAGE', '--at needs --server (or ESTATE_SERVER); in a local repo, use --rev', { at: options.at });
    return undefined;
  }
  if (url.trim() === '') throw new EstateError('E_USAGE', '--server needs a URL, e.g. http://127.0.0.1:7780', {});
  const token = io.env['ESTATE_TOKEN'];
  return new EstateClient({ url: url.trim(), ...(token ? { token: token.trim() } : {}) });
}

/** The commit a server-mode command asks about: `--at`, or `--rev` (the same thing), or the head. */
export function serverAt(options: SourceOptions): string | undefined {
  if (options.at !== undefined && options.rev !== undefined) {
    throw new EstateError('E_USAGE', '--at and --rev name the same thing: give one', { at: options.at, rev: options.rev });
  }
  return options.at ?? options.rev;
}

/**
 * Which commit `at` (a sha, a sha prefix or a time) names on the server, or the head: every answer
 * carries its commit, and a one-item page is the cheapest answer.
 */
export async function resolveServerCommit(client: EstateClient, at: string | undefined): Promise<CommitRef> {
  if (at === undefined) return (await client.listCommits({ limit: 1 })).commit;
  return (await client.listAssets({ at, limit: 1 })).commit;
}
