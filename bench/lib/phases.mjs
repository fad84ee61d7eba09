#!/usr/bin/env node
/**
 * Where a cold load of one commit spends its time, phase by phase, in one process:
 *   listTree     `git ls-tree -r` of estate.yaml, schemas/, assets/ (GitCliRepo.listTree)
 *   readBlobs    every blob through the cat-file process, in loadEstate's batches of 2,000
 *   parse        parseYamlFile on every file (js-yaml plus Estate's safety checks)
 *   kinds        buildKindRegistry (ajv compiles the built-in schemas)
 *   schema       ajv validation of every asset's metadata and spec, alone
 *   loadEstate   loadEstate with every file already in the parse cache: envelope and schema
 *                checks, duplicate ids, references and unique fields (no parsing, no git)
 * Then the same cold load in one call (loadCommitEstate) for comparison. Prints JSON.
 *
 *   node bench/lib/phases.mjs --repo DIR [--rev HEAD]
 */
import { parseArgs } from 'node:util';
import { CORE, GIT } from './paths.mjs';

const core = await import(CORE);
const { GitCliRepo, loadCommitEstate, ESTATE_PREFIXES } = await import(GIT);
const { MemoryParseCache, parseYamlFile, buildKindRegistry, loadEstate, classifyEstatePath } = core;

const { values } = parseArgs({ options: { repo: { type: 'string' }, rev: { type: 'string', default: 'HEAD' } } });
const phases = {};
const time = async (name, fn) => {
  const started = performance.now();
  const result = await fn();
  phases[name] = performance.now() - started;
  return result;
};

const repo = await GitCliRepo.open(values.repo);
try {
  const commit = await repo.resolveCommit(values.rev);
  const entries = await time('listTree', () => repo.listTree(commit, ESTATE_PREFIXES));
  const files = entries.filter((e) => classifyEstatePath(e.path) !== undefined).map((e) => ({ path: e.path, blobId: e.oid }));
  const contents = await time('readBlobs', async () => {
    const out = [];
    for (let i = 0; i < files.length; i += 2000) out.push(...(await repo.readBlobs(files.slice(i, i + 2000).map((f) => f.blobId))));
    return out;
  });
  const cache = new MemoryParseCache();
  const parsed = await time('parse', () => files.map((f, i) => {
    const result = parseYamlFile(f.path, contents[i]);
    cache.set(f.blobId, result);
    return result;
  }));
  const kinds = await time('kinds', () => buildKindRegistry([]));
  let invalid = 0;
  await time('schema', () => {
    for (const file of parsed) {
      for (const doc of file.documents) {
        const kind = kinds.get(doc.value?.kind);
        if (!kind) continue;
        invalid += kinds.validateMetadata(doc.value.metadata).length + kind.validateSpec(doc.value.spec).length;
      }
    }
  });
  const estate = await time('loadEstate', () =>
    loadEstate(files, () => Promise.reject(new Error('every file should come from the cache')), { cache }),
  );
  if (estate.diagnostics.length || invalid) throw new Error(`expected a valid estate, got ${estate.diagnostics.length} diagnostics`);
  const bytes = contents.reduce((sum, b) => sum + b.length, 0);

  // The same work in one call, as the CLI does it (fresh cache; kinds and ajv already compiled).
  const whole = await time('loadCommitEstate', () => loadCommitEstate(repo, commit, { cache: new MemoryParseCache() }));
  process.stdout.write(JSON.stringify({ phases, files: files.length, bytes, assets: whole.stats.assets, relations: whole.relations.length }) + '\n');
} finally {
  await repo.close();
}
