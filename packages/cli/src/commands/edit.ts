import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deepEqual, EstateError, formatDiagnostic, isObject, parseYamlFile } from '@estate/core';
import { stringify } from 'yaml';
import { normalizeId, type CliContext } from '../context.js';
import { printChangeSummary, remoteClient, type RemoteOptions } from './change.js';
import { parseFormat } from './formats.js';

/** Options of `estate edit`. */
export interface EditOptions extends RemoteOptions {
  message?: string;
  description?: string;
  format?: string;
}

/**
 * `estate edit <kind>/<name>`: the change path for people who know vim, not git. Fetches the
 * asset from the server, opens it as YAML in `$VISUAL` or `$EDITOR` (default `vi`, run through
 * the shell so `EDITOR="code --wait"` works), and proposes the result as a change request with
 * one `put` operation, based on the commit the asset was read at. An unchanged file creates
 * nothing (exit 0). A file that is not valid YAML, or no longer this one asset, is kept and its
 * path printed, so the edit is not lost (exit 1).
 */
export async function editCommand(ctx: CliContext, id: string, options: EditOptions): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const assetId = normalizeId(id);
  const client = remoteClient(ctx, options, 'edit');
  const answer = await client.getAsset(assetId);
  const original = answer.asset.document;
  const dir = mkdtempSync(join(tmpdir(), 'estate-edit-'));
  const file = join(dir, `${assetId.replace('/', '-')}.yaml`);
  const header = [
    `# estate edit ${assetId}, as of commit ${answer.commit.sha.slice(0, 12)} of main.`,
    '# Save and quit to propose your change as a change request; quit unchanged to cancel.',
    '',
  ].join('\n');
  writeFileSync(file, header + stringify(original), { mode: 0o600 });

  const editor = ctx.io.env['VISUAL']?.trim() || ctx.io.env['EDITOR']?.trim() || 'vi';
  // Through the shell, the file as "$1": an editor given with arguments works, and a file name is never parsed as shell.
  const run = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'estate-edit', file], { stdio: 'inherit', env: { ...ctx.io.env } });
  if (run.error || run.status !== 0) {
    const why = run.error ? run.error.message : run.signal ? `was stopped by ${run.signal}` : `exited with status ${run.status}`;
    throw new EstateError('E_EDITOR', `the editor '${editor}' ${why}; nothing was proposed, and the file is kept: ${file}`, { editor, file });
  }

  const parsed = parseYamlFile(file, readFileSync(file));
  const kept = (): void => {
    ctx.io.stderr(`your edit is kept in ${file}\n`);
    ctx.io.stderr(`fix it and propose it with: estate change create -m ${shellQuote(options.message ?? `Edit ${assetId}`)} --apply ${shellQuote(file)}\n`);
  };
  if (parsed.diagnostics.length > 0) {
    for (const d of parsed.diagnostics) ctx.io.stderr(formatDiagnostic(d) + '\n');
    kept();
    return 1;
  }
  if (parsed.documents.length === 0) {
    rmSync(dir, { recursive: true, force: true });
    ctx.io.stderr('the file is empty: cancelled, nothing proposed (to delete the asset, use estate change create --delete)\n');
    return 0;
  }
  const edited = parsed.documents[0]!.value;
  const problem =
    parsed.documents.length > 1
      ? `the file holds ${parsed.documents.length} documents; estate edit changes one asset`
      : !isObject(edited)
        ? 'the document is not an asset (a mapping with apiVersion, kind, metadata and spec)'
        : !sameAsset(edited, answer.asset)
          ? `the document is now ${describeAsset(edited)}, not ${assetId}; estate edit changes one asset in place (to add another, use estate change create --apply)`
          : undefined;
  if (problem !== undefined || !isObject(edited)) {
    ctx.io.stderr(`error[E_USAGE]: ${file}: ${problem}\n`);
    kept();
    return 1;
  }
  if (deepEqual(edited, original)) {
    rmSync(dir, { recursive: true, force: true });
    ctx.io.stdout(`no change to ${assetId}: nothing proposed\n`);
    return 0;
  }
  let change;
  try {
    change = await client.createChange({
      title: options.message ?? `Edit ${assetId}`,
      ...(options.description !== undefined ? { description: options.description } : {}),
      base: answer.commit.sha,
      operations: [{ op: 'put', asset: edited }],
    });
  } catch (error) {
    kept();
    throw error;
  }
  rmSync(dir, { recursive: true, force: true });
  printChangeSummary(ctx, format, change, 'opened');
  return 0;
}

/** True when the edited document still has the asset's kind and name. */
function sameAsset(document: Record<string, unknown>, asset: { kind: string; name: string }): boolean {
  return document['kind'] === asset.kind && isObject(document['metadata']) && document['metadata']['name'] === asset.name;
}

/** `Host 'web-02'`, naming what the edited document has become. */
function describeAsset(document: Record<string, unknown>): string {
  const name = isObject(document['metadata']) ? document['metadata']['name'] : undefined;
  return `${typeof document['kind'] === 'string' ? document['kind'] : 'a document without kind'} '${typeof name === 'string' ? name : '?'}'`;
}

/** Quotes a word for a POSIX shell when it needs it. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
