import type { Diagnostic } from './diagnostics.js';
import type { KindRegistry } from './kinds/kindRegistry.js';
import type { YamlDocument } from './yaml/parseYamlFile.js';

/** One asset: a validated YAML document with the envelope, identified by `<kind>/<name>`. */
export interface Asset {
  /** `host/web-01` */
  id: string;
  kind: string;
  name: string;
  /** Repo-relative path of the file holding the asset. */
  path: string;
  /** The YAML document (its index in the file, first line and source). */
  document: YamlDocument;
  /** Git blob id of the file. */
  blobId: string;
  metadata: AssetMetadata;
  spec: Record<string, unknown>;
}

/** The envelope's metadata; labels are plain strings. */
export interface AssetMetadata {
  name: string;
  labels?: Record<string, string>;
  owner?: string;
  description?: string;
  annotations?: Record<string, string>;
}

/** A typed edge between two assets, from a reference field. */
export interface Relation {
  from: string;
  to: string;
  /** Name seen from `from` (`runsOn`). */
  type: string;
  /** Name seen from `to` (`hosts`). */
  inverse: string;
  /** The field holding the reference (`spec.runsOn[0]`). */
  field: string;
}

/** An environment declared in estate.yaml. */
export interface Environment {
  name: string;
  description?: string;
  protected: boolean;
  /** age recipients of this environment's config secrets; when absent, `secrets.recipients` of the estate. */
  recipients?: string[];
}

/** The age recipients config secrets of `env` are encrypted to: the environment's own, else the estate's. */
export function secretRecipientsFor(config: EstateConfig, env: string): string[] {
  return config.environments.find((e) => e.name === env)?.recipients ?? config.secrets.recipients;
}

/** The content of the root `estate.yaml` (`kind: Estate`). */
export interface EstateConfig {
  name: string;
  environments: Environment[];
  settings: Record<string, unknown>;
  secrets: { recipients: string[] };
  /** Webhooks for change-request events and drift alerts (`spec.webhooks`); each secret comes from the server's environment. */
  webhooks: EstateWebhook[];
}

/** One webhook of `spec.webhooks` in estate.yaml. */
export interface EstateWebhook {
  name: string;
  url: string;
  /** Event types or `prefix.*` patterns; default every event. */
  events?: string[];
  /** The server environment variable holding the signing secret. */
  secretEnv?: string;
  /** The body format: `estate` (default) or `slack`. */
  format?: string;
}

/** Counts about one load, for humans and benchmarks. */
export interface EstateStats {
  files: number;
  documents: number;
  assets: number;
  /** Files parsed in this load (the rest came from the parse cache). */
  parsed: number;
  byKind: Record<string, number>;
}

/** A whole estate at one revision (or the work tree): what it declares and what is wrong with it. */
export interface Estate {
  config: EstateConfig | undefined;
  kinds: KindRegistry;
  /** Assets by id, in file order. */
  assets: ReadonlyMap<string, Asset>;
  relations: Relation[];
  /** Every problem found, sorted by file and position. */
  diagnostics: Diagnostic[];
  stats: EstateStats;
}
