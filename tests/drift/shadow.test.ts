/**
 * Shadow mode end to end (issue 6): the built `estate-agent` on a fake host root reports to the
 * real `estate serve`; the host is in shadow mode by a DriftMode policy. A manual edit of a
 * managed file → the next report → a change request adopting the new content, whose diff shows
 * it; a second edit updates the same change request.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ESTATE_YAML, estate, hostYaml, makeRepo, makeTempDir, removeTempDirs, ROOT, serveEstate, testEnv, type ServedEstate } from '../cli/helpers.js';

const AGENT_BIN = join(ROOT, 'packages/agent/bin/estate-agent.js');
const CONF = 'workers = 4\n';
const MODES = `apiVersion: estate/v1
kind: DriftMode
metadata: {name: rollout}
spec:
  rules:
    - {mode: shadow, match: {envs: [prod]}, reason: capture manual edits for review}
`;
const HOST = hostYaml('web-01', '10.0.1.11', `  files:\n    - {path: /etc/app/app.conf, content: ${JSON.stringify(CONF)}}\n`);

interface Change {
  id: number;
  title: string;
  author: string;
  state: string;
  revision: number;
  head: string;
  checks?: { head: string; diff: { base: { assets: Array<{ id: string; fields: Array<{ op: string; pointer: string; old?: unknown; new?: unknown }> }> } } };
}

let served: ServedEstate | undefined;
let cwd: string;
let hostRoot: string;
let stateDir: string;
let tokenFile: string;
let viewerToken: string;

/** Writes a file below the fake host root. */
function put(file: string, content: string): void {
  const target = join(hostRoot, file);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
}

/** One `estate-agent --once` run as web-01 on the fake root, managing /etc/app/app.conf. */
function agentOnce(): Promise<{ status: number | null; stderr: string }> {
  const args = [AGENT_BIN, '--once', '--server', served!.url, '--host', 'web-01', '--root', hostRoot, '--state-dir', stateDir, '--token-file', tokenFile, '--files', '/etc/app/app.conf'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: testEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

async function get<T>(path: string): Promise<T> {
  const response = await fetch(`${served!.url}${path}`, { headers: { authorization: `Bearer ${viewerToken}` } });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

/** Polls `read` until `done` holds (reports are applied, and shadow change requests made, in the background). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

/** The active change requests `system` opened for web-01's drift. */
async function shadowChanges(): Promise<Change[]> {
  const page = await get<{ items: Change[] }>('/api/v1/changes?state=active&author=system');
  return page.items.filter((c) => c.title === 'drift: adopt observed state of host/web-01');
}

describe('shadow mode with estate-agent against estate serve', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    assertBuilt();
    const repo = makeRepo({ 'estate.yaml': ESTATE_YAML, 'assets/hosts/web-01.yaml': HOST, 'policies/drift.yaml': MODES });
    const data = join(makeTempDir('estate-shadow-data-'), 'data');
    cwd = makeTempDir();
    served = await serveEstate(['--data', data, '--import', repo, '--port', '0'], { cwd });
    const token = (args: string[]): string => {
      const created = estate(['token', 'create', '--data', data, ...args], { cwd });
      expect(created.status, created.stderr).toBe(0);
      return created.stdout.trim();
    };
    viewerToken = token(['--role', 'viewer', '--name', 'viewer']);
    tokenFile = join(makeTempDir('estate-shadow-token-'), 'web-01');
    writeFileSync(tokenFile, token(['--role', 'agent', '--host', 'web-01']) + '\n', { mode: 0o600 });
    hostRoot = makeTempDir('estate-shadow-root-');
    stateDir = makeTempDir('estate-shadow-state-');
    put('etc/hostname', 'web-01.example.com\n');
    put('etc/app/app.conf', CONF);
  });

  afterAll(async () => {
    await served?.stop('SIGKILL');
    removeTempDirs();
  });

  it('a manual edit becomes a change request adopting the new content; a second edit updates it', async () => {
    const first = await agentOnce();
    expect(first.status, first.stderr).toBe(0);
    await eventually(() => get<{ reportId: string }>('/api/v1/hosts/web-01/observation').catch(() => undefined), (o) => o !== undefined);
    expect((await get<{ items: unknown[] }>('/api/v1/drift?asset=host/web-01')).items).toEqual([]);
    expect(await shadowChanges()).toEqual([]);

    const edited = 'workers = 16\n';
    put('etc/app/app.conf', edited);
    const second = await agentOnce();
    expect(second.status, second.stderr).toBe(0);
    const drift = await eventually(
      () => get<{ items: Array<{ field: string; observed: string; mode: string }> }>('/api/v1/drift?asset=host/web-01'),
      (d) => d.items.length === 1,
    );
    expect(drift.items[0]).toMatchObject({ field: '/spec/files/~1etc~1app~1app.conf/content', observed: `sha256:${createHash('sha256').update(edited).digest('hex')}`, mode: 'shadow' });

    const [listed] = await eventually(shadowChanges, (list) => list.length === 1);
    const change = await eventually(() => get<Change>(`/api/v1/changes/${listed!.id}`), (c) => c.checks?.head === c.head);
    expect(change).toMatchObject({ author: 'system', state: 'open', revision: 1 });
    expect(change.checks!.diff.base.assets).toEqual([
      expect.objectContaining({ id: 'host/web-01', fields: [{ op: 'replace', pointer: '/spec/files/0/content', old: CONF, new: edited }] }),
    ]);

    const again = 'workers = 32\n';
    put('etc/app/app.conf', again);
    const third = await agentOnce();
    expect(third.status, third.stderr).toBe(0);
    const updated = await eventually(() => get<Change>(`/api/v1/changes/${change.id}`), (c) => c.revision === 2 && c.checks?.head === c.head);
    expect(updated.checks!.diff.base.assets).toEqual([
      expect.objectContaining({ id: 'host/web-01', fields: [{ op: 'replace', pointer: '/spec/files/0/content', old: CONF, new: again }] }),
    ]);
    expect((await shadowChanges()).map((c) => c.id)).toEqual([change.id]);
  });
});
