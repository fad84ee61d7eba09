/** Codes of problems found in an estate repo's content. Each is documented in docs/errors.md. */
export type DiagnosticCode =
  | 'E_YAML_SYNTAX'
  | 'E_YAML_DUPLICATE_KEY'
  | 'E_YAML_UNSAFE'
  | 'E_TOO_LARGE'
  | 'E_ENCODING'
  | 'E_ENVELOPE'
  | 'E_UNKNOWN_KIND'
  | 'E_NAME'
  | 'E_SCHEMA'
  | 'E_SCHEMA_DEFINITION'
  | 'E_ESTATE_FILE'
  | 'E_DUPLICATE_ASSET'
  | 'E_DANGLING_REF'
  | 'E_REF_KIND'
  | 'E_UNIQUE'
  | 'E_POLICY'
  | 'E_CONFIG_LAYOUT'
  | 'E_CONFIG_SCHEMA'
  | 'E_SECRET_FORMAT';

/** One problem at one place of one file. Lines and columns are 1-based. */
export interface Diagnostic {
  code: DiagnosticCode;
  /** Repo-relative file path with `/` separators. */
  path: string;
  line: number;
  col: number;
  message: string;
  /** Id of the asset the problem belongs to (`host/web-01`), when known. */
  asset?: string;
}

/** Orders diagnostics by file, line, column, then code, for stable output. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return a.line - b.line || a.col - b.col || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
}

/** Formats a diagnostic the way compilers do: `path:line:col: error[E_CODE]: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.path}:${d.line}:${d.col}: error[${d.code}]: ${d.message}`;
}
