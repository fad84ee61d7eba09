// Test helpers (left out of the build): a server started in this process over a real repository,
// with tokens for several users, and JSON calls over real HTTP.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueToken } from '../auth/tokens.js';
import { callJson, type JsonBody } from './callJson.js';
import { startServer, type RunningServer } from '../server.js';
import { hostYaml, makeTestRepo, teamYaml, type TestRepo } from './gitRepo.js';

export type { JsonBody };

/** The policy of these tests: one approver for any change, two for prod, like `estate init`'s. */
export const DEFAULT_POLICY = `apiVersion: estate/v1
kind: ApprovalPolicy
metadata: {name: default}
spec:
  rules:
    - name: every-change
      match: {exceptAuthorGroups: [bots]}
      risk: medium
      approvals: 1
    - name: production
      match: {selector: "env=prod"}
      risk: high
      approvals: 2
`;

/** Bots may relabel assets without a human: low risk, no approval, merged once the checks pass. */
export const BOT_POLICY = `apiVersion: estate/v1
kind: ApprovalPolicy
metadata: {name: bots}
spec:
  rules:
    - name: bot-labels
      match: {authorGroups: [bots], fields: ["/metadata/labels/*"]}
      risk: low
      approvals: 0
      autoMerge: true
`;

/** A running server with its source repo and tokens by user. */
export interface ChangeFixture {
  server: RunningServer;
  url: string;
  source: TestRepo;
  tokens: Record<'alice' | 'bob' | 'carol' | 'root' | 'viewer' | 'dana' | 'bot', string>;
  call(method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: JsonBody }>;
  /** `git` in the server's bare repository. */
  bareGit(...args: string[]): string;
  stop(): Promise<void>;
}

/**
 * Starts a server (in this process, on a free port) importing a repo with two hosts (web-01 in
 * staging, db-01 in prod), a team, the default policy and a bots policy, plus `extraFiles`.
 * Users: alice (editor), bob and carol (approvers, bob in group sre), dana (approver in dba), root
 * (admin), vic (viewer), relabel-bot (editor in group bots).
 */
export async function startChangeFixture(extraFiles: Record<string, string | null> = {}): Promise<ChangeFixture> {
  const source = makeTestRepo('estate-changes-');
  source.commit('estate', {
    'assets/teams/platform.yaml': teamYaml('platform'),
    'assets/hosts/web-01.yaml': hostYaml('web-01', { env: 'staging', ip: '10.0.0.1' }),
    'assets/hosts/db-01.yaml': hostYaml('db-01', { env: 'prod', ip: '10.0.0.2' }),
    'policies/default.yaml': DEFAULT_POLICY,
    'policies/bots.yaml': BOT_POLICY,
    ...extraFiles,
  });
  const data = mkdtempSync(join(tmpdir(), 'estate-changes-data-'));
  const server = await startServer({ dataDir: data, importFrom: source.dir, port: 0, pollMs: 100 });
  const issue = async (name: string, role: 'viewer' | 'editor' | 'approver' | 'admin', groups: string[] = []): Promise<string> =>
    (await issueToken(server.store, { name, role, groups })).token;
  const tokens = {
    alice: await issue('alice', 'editor'),
    bob: await issue('bob', 'approver', ['sre']),
    carol: await issue('carol', 'approver'),
    dana: await issue('dana', 'approver', ['dba']),
    root: await issue('root', 'admin'),
    viewer: await issue('vic', 'viewer'),
    bot: await issue('relabel-bot', 'editor', ['bots']),
  };
  const call = (method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: JsonBody }> => callJson(method, `${server.url}${path}`, token, body);
  // Wait for the first index.
  for (let i = 0; i < 200; i++) {
    const ready = await call('GET', '/readyz', undefined);
    if (ready.status === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    server,
    url: server.url,
    source,
    tokens,
    call,
    bareGit: (...args) => execFileSync('git', args, { cwd: server.repoDir, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } }).trim(),
    async stop() {
      await server.close();
      source.remove();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** A JSON merge patch operation on a host's spec. */
export function patchHost(name: string, spec: Record<string, unknown>): { op: 'patch'; id: string; patch: Record<string, unknown> } {
  return { op: 'patch', id: `host/${name}`, patch: { spec } };
}
