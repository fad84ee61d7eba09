/**
 * End to end: `estate audit verify` and `estate audit export` against a real `estate serve`.
 * The chain is checked by the CLI itself, so tampering with one row of the data dir's estate.db
 * (behind the server's back, with better-sqlite3) is caught and named, as is an edited export.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ESTATE_YAML, estate, git, hostYaml, makeRepo, makeTempDir, parseJson, removeTempDirs, serveEstate, type RunResult, type ServedEstate } from './helpers.js';

let served: ServedEstate | undefined;
let data: string;
let cwd: string;
let editor: string;
let approver: string;
let viewer: string;

async function indexed(url: string, sha: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/readyz`);
      last = await response.text();
      if (response.ok && (JSON.parse(last) as { head: { sha: string } }).head.sha === sha) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not index ${sha} within ${timeoutMs} ms; /readyz: ${last}`);
}

/** Runs `estate <args> --server URL` with `token`. */
function run(token: string, args: string[]): RunResult {
  return estate([...args, '--server', served!.url], { cwd, env: { ESTATE_TOKEN: token } });
}

interface Entry {
  seq: number;
  at: string;
  actor: string;
  event: string;
  subject?: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

// Every step starts the CLI as a process (about half a second each): a test runs many of them.
describe('estate audit verify and export against a server', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    assertBuilt();
    const repo = makeRepo({ 'estate.yaml': ESTATE_YAML, 'assets/hosts/web-01.yaml': hostYaml('web-01', '10.0.0.1', '  cpus: 4\n') });
    data = join(makeTempDir('estate-cli-data-'), 'data');
    cwd = makeTempDir();
    served = await serveEstate(['--data', data, '--import', repo, '--port', '0'], { cwd });
    await indexed(served.url, git(repo, 'rev-parse', 'HEAD'));
    const token = (role: string, name: string): string => {
      const created = estate(['token', 'create', '--data', data, '--role', role, '--name', name], { cwd });
      expect(created.status, created.stderr).toBe(0);
      return created.stdout.trim();
    };
    editor = token('editor', 'alice');
    approver = token('approver', 'bob');
    viewer = token('viewer', 'auditor');
    // Some history: a change request opened, approved and merged, and one closed.
    const file = join(cwd, 'web.yaml');
    writeFileSync(file, hostYaml('web-01', '10.0.0.1', '  cpus: 8\n'));
    for (const title of ['web-01: eight cores', 'web-01: eight cores, again']) {
      const created = run(editor, ['change', 'create', '-m', title, '--apply', file, '--format', 'json']);
      expect(created.status, created.stderr).toBe(0);
      const id = String(parseJson<{ id: number }>(created.stdout).id);
      if (title.endsWith('again')) {
        expect(run(editor, ['change', 'close', id]).status).toBe(0);
        continue;
      }
      expect(run(approver, ['change', 'approve', id]).status).toBe(0);
      expect(run(editor, ['change', 'merge', id]).status).toBe(0);
    }
  });

  afterAll(async () => {
    await served?.stop('SIGKILL');
    removeTempDirs();
  });

  it('export: JSON Lines of every entry, and RFC 4180 CSV; --since and --until select by time', () => {
    const jsonl = run(viewer, ['audit', 'export']);
    expect(jsonl.stderr).toBe('');
    expect(jsonl.status).toBe(0);
    const entries = jsonl.stdout.trimEnd().split('\n').map((line) => parseJson<Entry>(line));
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    const events = entries.map((e) => `${e.actor} ${e.event} ${e.subject ?? ''}`.trim());
    for (const expected of ['alice change.opened change/1', 'bob change.approved change/1', 'alice change.merged change/1', 'alice change.opened change/2', 'alice change.closed change/2']) {
      expect(events).toContain(expected);
    }

    const csv = run(viewer, ['audit', 'export', '--format', 'csv']);
    expect(csv.status).toBe(0);
    const rows = csv.stdout.split('\r\n');
    expect(rows[0]).toBe('seq,at,actor,event,subject,details,prev_hash,hash');
    expect(rows.at(-1)).toBe('');
    expect(rows).toHaveLength(entries.length + 2);
    const merged = entries.find((e) => e.event === 'change.merged')!;
    expect(rows[merged.seq]).toMatch(new RegExp(`^${merged.seq},${merged.at},alice,change\\.merged,change/1,".*",${merged.prevHash},${merged.hash}$`));

    const future = run(viewer, ['audit', 'export', '--since', '2999-01-01']);
    expect(future.status).toBe(0);
    expect(future.stdout).toBe('');
    const past = run(viewer, ['audit', 'export', '--until', '2000-01-01', '--format', 'csv']);
    expect(past.stdout).toBe('seq,at,actor,event,subject,details,prev_hash,hash\r\n');
    const bad = run(viewer, ['audit', 'export', '--since', 'yesterday']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("error[E_BAD_PARAM]: parameter 'since' must be an ISO 8601 time, not 'yesterday'\n");
  });

  it('verify: OK for an intact trail (from the server and from an export), with the head; an edited export line is named', () => {
    const verified = run(viewer, ['audit', 'verify']);
    expect(verified.stderr).toBe('');
    expect(verified.status).toBe(0);
    const match = new RegExp(`^OK: (\\d+) audit entries of ${served!.url.replace(/\./g, '\\.')} verified; head (\\d+):([0-9a-f]{64})\\n$`).exec(verified.stdout);
    expect(match).not.toBeNull();
    const [, count, seq, hash] = match!;
    expect(seq).toBe(count);

    const file = join(makeTempDir(), 'audit.jsonl');
    const exported = run(viewer, ['audit', 'export', '-o', file]);
    expect(exported.status).toBe(0);
    expect(exported.stdout).toBe('');
    expect(exported.stderr).toBe(`wrote ${file} (${count} entries)\n`);
    const fromFile = estate(['audit', 'verify', '--file', file, '--anchor', `${seq}:${hash}`], { cwd });
    expect(fromFile.stderr).toBe('');
    expect(fromFile.status).toBe(0);
    expect(fromFile.stdout).toBe(`OK: ${count} audit entries of ${file} verified, anchor ${seq} held; head ${seq}:${hash}\n`);
    const json = parseJson<{ ok: boolean; entries: number; head: { seq: number; hash: string }; problems: unknown[] }>(estate(['audit', 'verify', '--file', file, '--format', 'json'], { cwd }).stdout);
    expect(json).toMatchObject({ ok: true, entries: Number(count), head: { seq: Number(seq), hash }, problems: [] });

    // Edit one field of entry 2 in the export: its hash no longer matches.
    const lines = readFileSync(file, 'utf8').split('\n');
    const second = parseJson<Entry>(lines[1]!);
    lines[1] = JSON.stringify({ ...second, actor: 'mallory' });
    const edited = join(makeTempDir(), 'edited.jsonl');
    writeFileSync(edited, lines.join('\n'));
    const refused = estate(['audit', 'verify', '--file', edited], { cwd });
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain(`entry 2: error[E_AUDIT_TAMPERED]: audit entry 2 was changed after it was written: it records hash ${second.hash} but its content hashes to `);
    expect(refused.stdout.trimEnd().split('\n').at(-1)).toBe(`✗ NOT OK: 1 problem in ${count} audit entries of ${edited}; head ${seq}:${hash}`);

    // A line removed from the middle: a gap and a broken link, both at the entry after it.
    const cut = join(makeTempDir(), 'cut.jsonl');
    const original = readFileSync(file, 'utf8').split('\n');
    writeFileSync(cut, [...original.slice(0, 2), ...original.slice(3)].join('\n'));
    const gap = estate(['audit', 'verify', '--file', cut], { cwd });
    expect(gap.status).toBe(1);
    expect(gap.stdout).toContain('entry 4: error[E_AUDIT_GAP]: audit entry 3 is missing: entry 4 follows entry 2\n');
    expect(gap.stdout).toContain('entry 4: error[E_AUDIT_BROKEN_LINK]: ');

    // Not an export at all.
    const csvFile = join(makeTempDir(), 'audit.csv');
    writeFileSync(csvFile, run(viewer, ['audit', 'export', '--format', 'csv']).stdout);
    const notJson = estate(['audit', 'verify', '--file', csvFile], { cwd });
    expect(notJson.status).toBe(1);
    expect(notJson.stderr).toBe('error[E_AUDIT_FORMAT]: line 1 of the audit export is not JSON (verify reads the JSON Lines export, not CSV)\n');

    const badAnchor = run(viewer, ['audit', 'verify', '--anchor', '12:abc']);
    expect(badAnchor.status).toBe(2);
    expect(badAnchor.stderr).toMatch(/^error\[E_USAGE\]: --anchor '12:abc' is not SEQ:HASH/);
    const farAnchor = run(viewer, ['audit', 'verify', '--anchor', `${Number(seq) + 100}:${hash}`]);
    expect(farAnchor.status).toBe(1);
    expect(farAnchor.stdout).toContain(`entry ${Number(seq) + 100}: error[E_AUDIT_GAP]: the trail ends at entry `);
  });

  it('verify exits 1 naming the entry when one row of estate.db was edited behind the server', () => {
    const before = run(viewer, ['audit', 'verify']);
    expect(before.status).toBe(0);
    const db = new Database(join(data, 'estate.db'), { timeout: 10_000 });
    try {
      // The table refuses UPDATE through a trigger; someone with the file can drop it, and the chain is what catches them.
      db.exec('DROP TRIGGER IF EXISTS audit_entries_no_update');
      const row = db.prepare('SELECT seq, actor FROM audit_entries WHERE event = ?').get('change.approved') as { seq: number; actor: string };
      expect(row.actor).toBe('bob');
      expect(db.prepare('UPDATE audit_entries SET actor = ? WHERE seq = ?').run('mallory', row.seq).changes).toBe(1);
      const verified = run(viewer, ['audit', 'verify']);
      expect(verified.stderr).toBe('');
      expect(verified.status).toBe(1);
      const lines = verified.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^entry ${row.seq}: error\\[E_AUDIT_TAMPERED\\]: audit entry ${row.seq} was changed after it was written: it records hash [0-9a-f]{64} but its content hashes to [0-9a-f]{64}$`));
      expect(lines.at(-1)).toMatch(/^✗ NOT OK: 1 problem in \d+ audit entries of http:\/\/127\.0\.0\.1:\d+; head \d+:[0-9a-f]{64}$/);
      const json = parseJson<{ ok: boolean; problems: Array<{ seq: number; code: string }> }>(run(viewer, ['audit', 'verify', '--format', 'json']).stdout);
      expect(json.ok).toBe(false);
      expect(json.problems.map((p) => [p.seq, p.code])).toEqual([[row.seq, 'E_AUDIT_TAMPERED']]);
    } finally {
      db.close();
    }
  });
});
