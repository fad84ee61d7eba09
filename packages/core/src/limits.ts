/**
 * Limits that keep hostile or accidental input (alias bombs, huge files, deep nesting) from
 * hanging or crashing a reader. Every limit is reported with a stable code when exceeded.
 */
export interface ParseLimits {
  /** Largest file read, in bytes (E_TOO_LARGE). */
  maxFileBytes: number;
  /** Largest single YAML document, in bytes (E_TOO_LARGE). */
  maxDocumentBytes: number;
  /** Deepest nesting of maps and lists (E_YAML_UNSAFE). */
  maxDepth: number;
  /** Most nodes a document may have once aliases are expanded (E_YAML_UNSAFE). */
  maxExpandedNodes: number;
}

/** The product's defaults, as documented in docs/repo-format.md. */
export const DEFAULT_PARSE_LIMITS: Readonly<ParseLimits> = Object.freeze({
  maxFileBytes: 4 * 1024 * 1024,
  maxDocumentBytes: 1024 * 1024,
  maxDepth: 64,
  maxExpandedNodes: 100_000,
});
