import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// Test helpers (left out of the build): a real git work tree in a temp dir, committed to with the
// real git binary under a fixed identity and clock.

/** A work-tree repository on branch `main` whose commits the test writes. */
export interface TestRepo {
  dir: string;
  /** Writes (string) or deletes (null) files, commits them all, returns the new sha. */
  commit(message: string, files: Record<string, string | null>, options?: { date?: string }): string;
  git(...args: string[]): string;
  remove(): void;
}

const ESTATE_YAML = 'apiVersion: estate/v1\nkind: Estate\nmetadata:\n  name: test\nspec:\n  environments: [dev, prod]\n';

/** Makes a repository holding a minimal estate.yaml in its first commit (dated 2024-01-01). */
export function makeTestRepo(prefix = 'estate-server-'): TestRepo {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let clock = Date.UTC(2024, 0, 1, 12);
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'commit.gpgSign=false', '-c', 'core.autocrlf=false', ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...cleanEnv(), GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Bob', GIT_COMMITTER_EMAIL: 'bob@example.com' },
    });
  git('init', '-q', '--initial-branch=main');
  const repo: TestRepo = {
    dir,
    git,
    commit(message, files, options = {}) {
      for (const [path, content] of Object.entries(files)) {
        const file = join(dir, path);
        if (content === null) rmSync(file, { force: true });
        else {
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, content);
        }
      }
      clock += 3600_000;
      const date = options.date ?? new Date(clock).toISOString();
      execFileSync('git', ['add', '-A'], { cwd: dir, env: cleanEnv() });
      execFileSync('git', ['-c', 'commit.gpgSign=false', 'commit', '-q', '--allow-empty', '-m', message], {
        cwd: dir,
        env: { ...cleanEnv(), GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_AUTHOR_DATE: date, GIT_COMMITTER_NAME: 'Bob', GIT_COMMITTER_EMAIL: 'bob@example.com', GIT_COMMITTER_DATE: date },
      });
      return git('rev-parse', 'HEAD').trim();
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  repo.commit('init estate', { 'estate.yaml': ESTATE_YAML });
  return repo;
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('GIT_')) delete env[name];
  return { ...env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
}

/** A Host document. */
export function hostYaml(name: string, options: { ip?: string; env?: string; owner?: string; network?: string; extra?: string } = {}): string {
  return `apiVersion: estate/v1
kind: Host
metadata:
  name: ${name}
  labels: {env: ${options.env ?? 'prod'}, role: web}
  owner: ${options.owner ?? 'team/platform'}
spec:
  hostname: ${name}.example.com
  ip: ${options.ip ?? '10.0.0.1'}
  os: debian-12
${options.network ? `  network: ${options.network}\n` : ''}${options.extra ?? ''}`;
}

/** A Team document. */
export function teamYaml(name: string): string {
  return `apiVersion: estate/v1\nkind: Team\nmetadata:\n  name: ${name}\nspec:\n  members: [ada]\n`;
}

/** A Service document running on `hosts`. */
export function serviceYaml(name: string, hosts: string[], options: { dependsOn?: string[]; owner?: string } = {}): string {
  return `apiVersion: estate/v1
kind: Service
metadata:
  name: ${name}
  labels: {env: prod}
  owner: ${options.owner ?? 'team/platform'}
spec:
  runsOn: [${hosts.join(', ')}]
${options.dependsOn ? `  dependsOn: [${options.dependsOn.join(', ')}]\n` : ''}`;
}
