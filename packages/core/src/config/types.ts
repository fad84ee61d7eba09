import type { Diagnostic } from '../diagnostics.js';
import type { SchemaValidator } from '../kinds/schemaCompiler.js';
import type { YamlDocument } from '../yaml/parseYamlFile.js';

/** The role of a file under `config/<app>/`; see {@link classifyConfigPath}. */
export type ConfigFileKind = 'base' | 'env' | 'cluster' | 'schema' | 'secrets';

/** Where a config file sits in the layout: its app, its role and, for overlays, its env and cluster. */
export interface ConfigPathInfo {
  app: string;
  kind: ConfigFileKind;
  /** Set for `env`, `cluster` and `secrets` files. */
  env?: string;
  /** Set for `cluster` files. */
  cluster?: string;
}

/** One layer of a merge: a parsed map and the file it came from. */
export interface ConfigLayer {
  /** Repo-relative path of the file. */
  path: string;
  /** The file's top-level value; must be a map. */
  value: unknown;
}

/** A parsed layer file of a {@link ConfigSet}, kept with its document so problems can be located. */
export interface ConfigLayerFile {
  path: string;
  /** The file's top-level map (an empty map for a file holding nothing but comments). */
  value: Record<string, unknown>;
  /** The parsed document; `undefined` for an empty file. */
  document: YamlDocument | undefined;
}

/** The compiled `config/<app>/schema.yaml` of an app. */
export interface ConfigSchema {
  path: string;
  validate: SchemaValidator;
}

/** Everything found under `config/<app>/` for one app. Files with problems are left out. */
export interface ConfigApp {
  name: string;
  base?: ConfigLayerFile;
  /** `<env>.yaml` files, by env. */
  envs: Map<string, ConfigLayerFile>;
  /** `<env>/<cluster>.yaml` files, by env, then by cluster. */
  clusters: Map<string, Map<string, ConfigLayerFile>>;
  schema?: ConfigSchema;
  /** `<env>.secrets.yaml` files, by env, unparsed (secrets are read by their own module). */
  secrets: Map<string, { path: string; text: string }>;
}

/** What {@link loadConfigFiles} returns: the config of every app plus the problems of the files. */
export interface ConfigSet {
  /** The environments declared in `estate.yaml`, in declaration order. */
  environments: string[];
  /** Apps by name. */
  apps: Map<string, ConfigApp>;
  /** Problems of the files (syntax, layout, schema definitions), sorted. */
  diagnostics: Diagnostic[];
}

/** A merged config: the values and, for each leaf's JSON pointer, the file it came from. */
export interface MergedConfig {
  values: Record<string, unknown>;
  /** JSON pointer of each leaf (scalar, list or empty map) → repo-relative path of its file. */
  sources: Record<string, string>;
}

/** A resolved config of one app in one env (and cluster), with the problems found resolving it. */
export interface ResolvedConfig extends MergedConfig {
  diagnostics: Diagnostic[];
}

/** The formats {@link renderConfig} writes. */
export type ConfigFormat = 'json' | 'yaml' | 'env' | 'properties';
