// The facts an agent reports about a host: the contract between the agent, report ingestion and
// the drift engine (docs/agent.md). The agent, which depends on the client only, keeps its own
// copy of these types.

/** One managed file as observed; `missing: true` when it does not exist on the host. */
export type ObservedFile =
  | { sha256: string; mode: string; owner: string; size?: number; content?: string; truncated?: true }
  | { missing: true };

/** The facts of a host as its agent reports them (docs/agent.md); every fact is optional. */
export interface HostFacts {
  hostname?: string;
  ip?: string[];
  os?: string | Record<string, string>;
  kernel?: string;
  cpus?: number;
  memoryGiB?: number;
  packages?: Record<string, string>;
  files?: Record<string, ObservedFile>;
  services?: Record<string, string>;
  ports?: ListeningPort[];
}

/** One listening socket. */
export interface ListeningPort {
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
}
