import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { DiagnosticCode } from '../diagnostics.js';
import type { Estate } from '../estate.js';
import { loadEstate, type EstateFileRef, type LoadEstateOptions, type ReadFiles } from '../loadEstate.js';

// Test helpers: not exported from index.ts and left out of the build (packages/core/tsconfig.json),
// so node APIs are fine here although core itself is pure.

/** File contents by repo path; strings are UTF-8 encoded, bytes are taken as they are. */
export type MemoryFiles = Record<string, string | Uint8Array>;

/** A minimal valid `estate.yaml`. */
export const ESTATE_YAML = `apiVersion: estate/v1
kind: Estate
metadata:
  name: test
spec:
  environments: [dev, prod]
`;

/** The git blob id of some content (`git hash-object`), so ids behave like the real ones. */
export function blobIdOf(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

function toBytes(content: string | Uint8Array): Uint8Array {
  return typeof content === 'string' ? new TextEncoder().encode(content) : content;
}

/** An in-memory repo: the file refs, a `readFiles` that serves them and a log of what it read. */
export interface MemoryRepo {
  files: EstateFileRef[];
  readFiles: ReadFiles;
  /** Every path `readFiles` was asked for, in order. */
  reads: string[];
}

/** Builds file refs and a `readFiles` over in-memory contents. */
export function memoryRepo(contents: MemoryFiles): MemoryRepo {
  const byBlob = new Map<string, Uint8Array>();
  const files = Object.entries(contents).map(([path, content]) => {
    const bytes = toBytes(content);
    const blobId = blobIdOf(bytes);
    byBlob.set(blobId, bytes);
    return { path, blobId };
  });
  const reads: string[] = [];
  const readFiles: ReadFiles = async (refs) =>
    refs.map((ref) => {
      reads.push(ref.path);
      const bytes = byBlob.get(ref.blobId);
      if (!bytes) throw new Error(`no blob ${ref.blobId} for ${ref.path}`);
      return bytes;
    });
  return { files, readFiles, reads };
}

/**
 * Loads an estate from in-memory files. `estate.yaml` is added (valid) unless the files name it or
 * `withEstateFile` is false.
 */
export async function loadMemoryEstate(
  contents: MemoryFiles,
  options: LoadEstateOptions & { withEstateFile?: boolean } = {},
): Promise<Estate> {
  const { withEstateFile = true, ...loadOptions } = options;
  const all = withEstateFile && !('estate.yaml' in contents) ? { 'estate.yaml': ESTATE_YAML, ...contents } : contents;
  const repo = memoryRepo(all);
  return loadEstate(repo.files, repo.readFiles, loadOptions);
}

/**
 * Matches one diagnostic: its code, place and the words its message holds, in order. Use with
 * `toMatchObject([...])`, which also checks that there are no other diagnostics.
 */
export function diag(code: DiagnosticCode, path: string, line: number, col: number, ...words: string[]): Record<string, unknown> {
  return { code, path, line, col, message: messageWith(...words) };
}

/** Matches a string that contains every word, in order. */
export function messageWith(...words: string[]): unknown {
  return expect.stringMatching(new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^]*')));
}

/** Joins lines with `\n` and a final newline, so YAML fixtures read like files. */
export function lines(...text: string[]): string {
  return text.join('\n') + '\n';
}

/** A valid asset document for a kind, with optional spec lines (already indented by two spaces). */
export function assetYaml(kind: string, name: string, ...specLines: string[]): string {
  return lines('apiVersion: estate/v1', `kind: ${kind}`, 'metadata:', `  name: ${name}`, ...(specLines.length ? ['spec:', ...specLines] : ['spec: {}']));
}
