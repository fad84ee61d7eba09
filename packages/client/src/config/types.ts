/** Whether a snapshot's values include the app's decrypted secrets (`Estate-Config-Secrets`). */
export type ConfigSecrets = 'included' | 'withheld' | 'none';

/** Which release of a gray rollout the instance got (`Estate-Config-Release`). */
export type ConfigRelease = 'stable' | 'canary';

/** The formats the server renders config in. */
export type ConfigFormat = 'json' | 'yaml' | 'env' | 'properties';

/** One version of an app's merged config in one environment, as the client got it. */
export interface ConfigSnapshot {
  app: string;
  env: string;
  /** The sha of the main commit that produced this version. */
  version: string;
  /** The version's place in the app/env's order of versions (monotonic). */
  seq: number;
  /** The merged config (with the secrets merged in when `secrets` is `included`). */
  values: Record<string, unknown>;
  secrets: ConfigSecrets;
  release: ConfigRelease;
  /** `server`: fetched now; `cache`: the last-known-good copy, used while the server is unavailable. */
  source: 'server' | 'cache';
}
