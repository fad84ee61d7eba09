import { collectManagedFiles } from './collectors/files.js';
import { collectIpAddresses, collectListeningPorts } from './collectors/network.js';
import { collectPackages } from './collectors/packages.js';
import { collectServices } from './collectors/services.js';
import { collectCpus, collectHostname, collectKernel, collectMemoryGiB, collectOsRelease } from './collectors/system.js';
import type { CollectContext, Facts } from './types.js';

/** The facts of one collection, and the collectors that failed (by fact name, with their message). */
export interface Collection {
  facts: Facts;
  errors: Record<string, string>;
}

/**
 * Runs every collector on the context. A collector that fails leaves its fact out and records
 * `errors[fact] = message`; it never fails the collection.
 */
export async function collectFacts(context: CollectContext): Promise<Collection> {
  const facts: Facts = {};
  const errors: Record<string, string> = {};
  const run = async <K extends keyof Facts>(name: K, collect: () => Promise<Facts[K]>): Promise<void> => {
    try {
      facts[name] = await collect();
    } catch (error) {
      errors[name] = error instanceof Error ? error.message : String(error);
    }
  };
  const { root } = context;
  await Promise.all([
    run('hostname', () => collectHostname(root)),
    run('ip', () => collectIpAddresses(root)),
    run('os', () => collectOsRelease(root)),
    run('kernel', () => collectKernel(root)),
    run('cpus', () => collectCpus(root)),
    run('memoryGiB', () => collectMemoryGiB(root)),
    run('packages', async () => {
      const result = await collectPackages(root);
      if ('note' in result) throw new Error(result.note);
      return result.packages;
    }),
    run('files', () => collectManagedFiles(root, context.files)),
    run('services', () => collectServices(root, context.units)),
    run('ports', () => collectListeningPorts(root)),
  ]);
  return { facts: orderFacts(facts), errors };
}

/** The facts in the order issue 6 lists them, so reports read the same every time. */
function orderFacts(facts: Facts): Facts {
  const order: (keyof Facts)[] = ['hostname', 'ip', 'os', 'kernel', 'cpus', 'memoryGiB', 'packages', 'files', 'services', 'ports'];
  const ordered: Record<string, unknown> = {};
  for (const key of order) if (facts[key] !== undefined) ordered[key] = facts[key];
  return ordered as Facts;
}
