/**
 * A child process of bench/config.mjs holding many SSE watchers of one config, each on its own
 * TCP connection (raw sockets: the least client overhead per watcher). Talks to the parent over
 * IPC:
 *   {type:'open', url, path, token, count, prefix}  → {type:'opened', count, ms, versions}
 *     opens `count` more watchers (at most 200 connecting at once) and answers once every one of
 *     them has received its first event (the current version);
 *   {type:'collect', sha, timeoutMs}                 → {type:'collected', sha, times, missing}
 *     the receipt time of the event with id `sha` on every watcher (epoch ms, from
 *     performance.timeOrigin + performance.now(), the same clock as the parent's), waiting until
 *     all have it or the timeout passes;
 *   {type:'close'}                                   → closes every watcher and exits.
 */
import { connect } from 'node:net';

const CONNECTING_AT_ONCE = 200;
/** The `id:` line of an SSE event; the tail of each chunk is kept in case a line is split. */
const ID_LINE = /(?:^|\n)id: ([0-9a-f]{40})\n/g;
const TAIL = 64;

/** Every watcher: its socket and when it received each version (sha → epoch ms). */
const watchers = [];
const now = () => performance.timeOrigin + performance.now();
let onEvent = () => undefined;

function openWatcher(host, port, request) {
  return new Promise((resolve, reject) => {
    const watcher = { socket: undefined, receivedAt: new Map(), tail: '' };
    const socket = connect({ host, port, noDelay: true });
    watcher.socket = socket;
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(request));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      const at = now();
      const text = watcher.tail + chunk;
      watcher.tail = text.slice(-TAIL);
      for (const match of text.matchAll(ID_LINE)) {
        if (watcher.receivedAt.has(match[1])) continue;
        watcher.receivedAt.set(match[1], at);
        if (watcher.receivedAt.size === 1) resolve(watcher);
        onEvent();
      }
    });
    socket.on('close', () => {
      watcher.closed = true;
      reject(new Error('watch connection closed before its first event'));
    });
  });
}

async function open({ url, path, token, count, prefix }) {
  const { hostname: host, port } = new URL(url);
  const started = now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const request = `GET ${path}?instance=${prefix}-${n} HTTP/1.1\r\nHost: ${host}:${port}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`;
      watchers.push(await openWatcher(host, Number(port), request));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECTING_AT_ONCE, count) }, worker));
  const versions = new Set(watchers.flatMap((w) => [...w.receivedAt.keys()]));
  return { type: 'opened', count: watchers.length, ms: now() - started, versions: [...versions] };
}

function collect({ sha, timeoutMs }) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      onEvent = () => undefined;
      const times = [];
      let missing = 0;
      for (const w of watchers) {
        const at = w.receivedAt.get(sha);
        if (at === undefined) missing++;
        else times.push(at);
      }
      resolve({ type: 'collected', sha, times, missing });
    };
    const timer = setTimeout(done, timeoutMs);
    const check = () => {
      if (watchers.every((w) => w.receivedAt.has(sha))) done();
    };
    let pending = false;
    onEvent = () => {
      if (pending) return;
      pending = true;
      setImmediate(() => {
        pending = false;
        check();
      });
    };
    check();
  });
}

process.on('message', async (message) => {
  try {
    if (message.type === 'open') process.send(await open(message));
    else if (message.type === 'collect') process.send(await collect(message));
    else if (message.type === 'close') {
      for (const w of watchers) w.socket.destroy();
      process.disconnect();
    }
  } catch (error) {
    process.send({ type: 'error', message: error.message });
  }
});
