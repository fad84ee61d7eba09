import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Agent } from './Agent.js';
import { AgentError } from './AgentError.js';
import type { AgentLogger } from './types.js';

const USAGE = `usage: estate-agent --server URL --host NAME [--root DIR] [--state-dir DIR] [--interval 60s]
                    [--once] [--enforce] [--files /etc/a,/etc/b] [--units nginx.service,ssh.service] [--token-file FILE]
The agent token comes from the environment variable ESTATE_AGENT_TOKEN or from --token-file (never a flag value).
SIGUSR1 makes a running agent collect and send a report now.`;

/** Where `main` writes and what it reads from its surroundings; the bin passes the process's own. */
export interface MainEnvironment {
  env: NodeJS.ProcessEnv;
  stderr: (line: string) => void;
  /** Subscribes to the signals that stop the agent (SIGTERM, SIGINT); returns an unsubscribe. */
  onStop: (stop: () => void) => () => void;
  /** Subscribes to the signal that asks for a report now (SIGUSR1); returns an unsubscribe. */
  onReportNow?: (reportNow: () => void) => () => void;
}

const processEnvironment: MainEnvironment = {
  env: process.env,
  stderr: (line) => process.stderr.write(line + '\n'),
  onStop: (stop) => {
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    };
  },
  onReportNow: (reportNow) => {
    process.on('SIGUSR1', reportNow);
    return () => process.off('SIGUSR1', reportNow);
  },
};

/**
 * The `estate-agent` command. Exit 0: stopped cleanly (SIGTERM lets the send in flight finish) or,
 * with `--once`, every report delivered; 1: `--once` left reports in the spool; 2: usage or
 * environment error.
 */
export async function main(argv: string[], environment: MainEnvironment = processEnvironment): Promise<number> {
  const logger: AgentLogger = {
    info: (message) => environment.stderr(`estate-agent: ${message}`),
    warn: (message) => environment.stderr(`estate-agent: warning: ${message}`),
  };
  let agent: Agent;
  let once: boolean;
  try {
    const parsed = parseFlags(argv);
    once = parsed.once;
    agent = new Agent({ ...parsed.options, token: await readToken(parsed.tokenFile, environment.env), logger });
  } catch (error) {
    environment.stderr(`estate-agent: error[${(error as { code?: string }).code ?? 'E_USAGE'}]: ${(error as Error).message}`);
    environment.stderr(USAGE);
    return 2;
  }
  if (once) {
    await agent.collectToSpool();
    const result = await agent.flush();
    if (result.remaining === 0) return 0;
    logger.warn(`${result.remaining} report(s) stay in the spool and go with the next run`);
    return 1;
  }
  const controller = new AbortController();
  const unsubscribe = environment.onStop(() => {
    if (!controller.signal.aborted) logger.info('stopping after the send in flight');
    controller.abort();
  });
  const unsubscribeReportNow = environment.onReportNow?.(() => {
    logger.info('SIGUSR1: collecting and sending a report now');
    agent.reportNow();
  });
  try {
    logger.info(`reporting as ${agent.options.host} to ${agent.options.server.origin} every ${agent.options.intervalMs / 1000} s${agent.options.enforce ? ', enforcing managed files' : ''}`);
    await agent.run(controller.signal);
    return 0;
  } finally {
    unsubscribe();
    unsubscribeReportNow?.();
  }
}

function parseFlags(argv: string[]): { options: Omit<ConstructorParameters<typeof Agent>[0], 'token'>; once: boolean; tokenFile: string | undefined } {
  if (argv.some((arg) => arg === '--token' || arg.startsWith('--token='))) {
    throw new AgentError('E_USAGE', 'the token is never a flag (it would show in the process list); use ESTATE_AGENT_TOKEN or --token-file');
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        host: { type: 'string' },
        root: { type: 'string' },
        'state-dir': { type: 'string' },
        interval: { type: 'string' },
        once: { type: 'boolean' },
        enforce: { type: 'boolean' },
        files: { type: 'string' },
        units: { type: 'string' },
        'token-file': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new AgentError('E_USAGE', (error as Error).message, {}, { cause: error });
  }
  if (!values.server) throw new AgentError('E_USAGE', '--server is required');
  if (!values.host) throw new AgentError('E_USAGE', '--host is required');
  const options: Omit<ConstructorParameters<typeof Agent>[0], 'token'> = { server: values.server, host: values.host, files: splitList(values.files), units: splitList(values.units) };
  if (values.root !== undefined) options.root = values.root;
  if (values['state-dir'] !== undefined) options.stateDir = values['state-dir'];
  if (values.interval !== undefined) options.intervalMs = parseDuration(values.interval);
  if (values.enforce) options.enforce = true;
  return { options, once: values.once ?? false, tokenFile: values['token-file'] };
}

/** `--token-file` wins over `ESTATE_AGENT_TOKEN`; the token's value never appears in a message. */
async function readToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (tokenFile !== undefined) {
    try {
      return (await readFile(tokenFile, 'utf8')).trim();
    } catch (error) {
      throw new AgentError('E_TOKEN', `cannot read the token file ${tokenFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { tokenFile }, { cause: error });
    }
  }
  const token = env['ESTATE_AGENT_TOKEN']?.trim();
  if (!token) throw new AgentError('E_TOKEN', 'no agent token: set ESTATE_AGENT_TOKEN or pass --token-file');
  return token;
}

function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
}

/** `500ms`, `60s`, `5m`, `1h`, or a bare number of seconds → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match?.[1]) throw new AgentError('E_USAGE', `interval '${text}' is not a duration; expected e.g. 60s, 5m, 500ms`, { interval: text });
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}
