import { connect, createServer, type Socket } from 'node:net';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigService, inCanary } from './ConfigService.js';
import { ConfigVersionStore } from './ConfigVersionStore.js';

const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const thing of open.splice(0)) thing.close();
});

/** A service over an in-memory store holding one version of app/prod, and a connected socket pair. */
async function setup(heartbeatMs: number): Promise<{ service: ConfigService; serverSide: Socket; received: () => string }> {
  const versions = new ConfigVersionStore(new Database(':memory:'));
  versions.append([{ app: 'app', env: 'prod', cluster: '', sha: 'a'.repeat(40), commitSeq: 1, committedAt: '2024-01-01T00:00:00Z', author: 'ada', removed: false, config: { values: { port: 80 }, sources: {} } }], { sha: 'a'.repeat(40), commitSeq: 1 });
  const service = new ConfigService({ versions, identities: () => [], recipient: () => 'age1x', heartbeatMs });
  open.push(service);
  const server = createServer();
  open.push(server);
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  open.push({ close: () => client.destroy() });
  let text = '';
  client.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  return { service, serverSide: await accepted, received: () => text };
}

describe('ConfigService watchers', () => {
  it('answers with a bare SSE head, the current version, then heartbeats while nothing changes', async () => {
    const { service, serverSide, received } = await setup(160);
    await service.watch('app', 'prod', {}, false, undefined, serverSide);
    await new Promise((r) => setTimeout(r, 50));
    expect(received()).toMatch(/^HTTP\/1\.1 200 OK\r\nContent-Type: text\/event-stream; charset=utf-8\r\n/);
    expect(received()).toContain(`id: ${'a'.repeat(40)}\nevent: config\ndata: {"app":"app","env":"prod","version":"${'a'.repeat(40)}","seq":1,"secrets":"none","release":"stable","config":{"port":80}}\n\n`);
    expect(received()).not.toContain(': heartbeat');
    await new Promise((r) => setTimeout(r, 400));
    const beats = received().split(': heartbeat\n\n').length - 1;
    expect(beats).toBeGreaterThanOrEqual(1);
    expect(beats).toBeLessThanOrEqual(3);
    expect(service.watcherCount).toBe(1);
  });
});

describe('inCanary', () => {
  it('matches labels by selector, picks a sticky share by percentage, and never picks a caller without an instance', () => {
    expect(inCanary({ selector: 'zone=eu-1' }, 'app', 'prod', { instance: 'i-1', labels: { zone: 'eu-1' } })).toBe(true);
    expect(inCanary({ selector: 'zone=eu-1' }, 'app', 'prod', { instance: 'i-1', labels: { zone: 'us-1' } })).toBe(false);
    expect(inCanary({ percentage: 99.99 }, 'app', 'prod', {})).toBe(false);
    const ids = Array.from({ length: 2000 }, (_, i) => `host-${i}`);
    const at10 = ids.filter((instance) => inCanary({ percentage: 10 }, 'app', 'prod', { instance }));
    const at30 = ids.filter((instance) => inCanary({ percentage: 30 }, 'app', 'prod', { instance }));
    expect(at10.length / ids.length).toBeGreaterThan(0.07);
    expect(at10.length / ids.length).toBeLessThan(0.13);
    // Raising the share keeps every canary a canary.
    expect(at10.every((id) => at30.includes(id))).toBe(true);
  });
});
