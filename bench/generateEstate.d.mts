// Types of generateEstate.mjs for the TypeScript tests that generate estates with it.

/** What a finished generation wrote into `<out>/.git/bench-manifest.json`. */
export interface EstateManifest {
  params: { assets: number; commits: number; seed: number };
  head: string;
  /** Commit ids, oldest first. */
  commits: string[];
  final: { assets: number; files: number; byKind: Record<string, number> };
  mostChanged: Array<{ id: string; changes: number; moves: number; path: string }>;
}

/** Generates a synthetic estate repository (see generateEstate.mjs). */
export function generateEstate(options: { assets: number; commits: number; out: string; seed?: number; checkout?: boolean; log?: (line: string) => void }): Promise<EstateManifest>;
