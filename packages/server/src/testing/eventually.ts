/**
 * Polls `read` every 25 ms until `done` holds, and returns that value; throws with the last value
 * after `timeoutMs` (default 10 s). For tests of what runs in the background (the ingest consumer,
 * the indexer, the alerter, webhook senders).
 */
export async function eventually<T>(read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Waits until the drift engine's snapshot is of main's indexed head (the head once the indexer
 * caught up): before, reports are compared with an older commit's hosts, or with none.
 */
export async function driftAtHead(server: { indexer: { sync(): Promise<unknown> }; store: { head(): Promise<{ sha: string } | undefined> }; drift: { commit?: { sha: string } | undefined } }): Promise<void> {
  await server.indexer.sync();
  const head = await server.store.head();
  await eventually(() => server.drift.commit?.sha, (sha) => sha !== undefined && sha === head?.sha);
}
