import os from 'node:os';
import type { ListeningPort } from '../types.js';
import { isRealRoot, readRootFile } from './readRootFile.js';

/**
 * The host's own non-loopback addresses: IPv4 from `/proc/net/fib_trie` (the `/32 host LOCAL`
 * entries), IPv6 of global scope from `/proc/net/if_inet6`. When neither file gives an address and
 * the root is the real `/` (e.g. a container without /proc/net), falls back to
 * `os.networkInterfaces()` (non-internal addresses, link-local IPv6 left out).
 */
export async function collectIpAddresses(root: string): Promise<string[]> {
  const fibTrie = await readRootFile(root, '/proc/net/fib_trie');
  const ifInet6 = await readRootFile(root, '/proc/net/if_inet6');
  const addresses = new Set<string>([...parseFibTrieLocal(fibTrie ?? ''), ...parseIfInet6(ifInet6 ?? '')]);
  if (addresses.size === 0 && isRealRoot(root)) {
    for (const entries of Object.values(os.networkInterfaces())) {
      for (const entry of entries ?? []) {
        if (!entry.internal && !(entry.family === 'IPv6' && entry.address.startsWith('fe80:'))) addresses.add(entry.address);
      }
    }
  }
  if (addresses.size === 0 && fibTrie === undefined && ifInet6 === undefined) throw new Error('no /proc/net/fib_trie or /proc/net/if_inet6');
  return [...addresses].sort();
}

/** IPv4 addresses the kernel treats as local (`/32 host LOCAL` leaves of the FIB trie), without 127.0.0.0/8. */
export function parseFibTrieLocal(text: string): string[] {
  const found = new Set<string>();
  let lastLeaf: string | undefined;
  for (const line of text.split('\n')) {
    const leaf = /\|--\s+(\d+\.\d+\.\d+\.\d+)/.exec(line);
    if (leaf?.[1]) {
      lastLeaf = leaf[1];
      continue;
    }
    if (lastLeaf !== undefined && /\/32 host LOCAL/.test(line) && !lastLeaf.startsWith('127.')) found.add(lastLeaf);
  }
  return [...found];
}

/** Global-scope IPv6 addresses of `/proc/net/if_inet6` (columns: address, ifindex, prefix, scope, flags, name; scope 00 is global). */
export function parseIfInet6(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const [hex, , , scope] = line.trim().split(/\s+/);
    if (hex?.length === 32 && scope === '00') found.push(formatIpv6(hex));
  }
  return found;
}

/**
 * Listening sockets from `/proc/net/{tcp,tcp6,udp,udp6}` (proc(5)): TCP sockets in state `0A`
 * (LISTEN), UDP sockets bound locally with no remote peer. Sorted by protocol, port and address.
 */
export async function collectListeningPorts(root: string): Promise<ListeningPort[]> {
  const sources = [
    { file: '/proc/net/tcp', protocol: 'tcp', ipv6: false },
    { file: '/proc/net/tcp6', protocol: 'tcp', ipv6: true },
    { file: '/proc/net/udp', protocol: 'udp', ipv6: false },
    { file: '/proc/net/udp6', protocol: 'udp', ipv6: true },
  ] as const;
  const seen = new Map<string, ListeningPort>();
  let readAny = false;
  for (const source of sources) {
    const text = await readRootFile(root, source.file);
    if (text === undefined) continue;
    readAny = true;
    for (const port of parseProcNetSockets(text, source.protocol, source.ipv6)) seen.set(`${port.protocol} ${port.address} ${port.port}`, port);
  }
  if (!readAny) throw new Error('no /proc/net/tcp, tcp6, udp or udp6');
  return [...seen.values()].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port || a.address.localeCompare(b.address));
}

/** The listening entries of one `/proc/net/<proto>` table. */
export function parseProcNetSockets(text: string, protocol: 'tcp' | 'udp', ipv6: boolean): ListeningPort[] {
  const ports: ListeningPort[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (!local || !remote || !state) continue;
    const listening = protocol === 'tcp' ? state === '0A' : /:0000$/.test(remote) && /^0+:/.test(remote);
    if (!listening) continue;
    const [addressHex, portHex] = local.split(':');
    if (!addressHex || !portHex) continue;
    ports.push({ protocol, address: ipv6 ? formatIpv6(swapWords(addressHex)) : formatIpv4(addressHex), port: parseInt(portHex, 16) });
  }
  return ports;
}

/** `/proc/net` prints IPv4 addresses as one 32-bit word in host byte order (little-endian on x86 and arm64). */
function formatIpv4(hex: string): string {
  const bytes = hex.match(/../g) ?? [];
  return bytes.reverse().map((byte) => parseInt(byte, 16)).join('.');
}

/** `/proc/net/tcp6` prints IPv6 addresses as four host-order 32-bit words: reverse the bytes of each. */
function swapWords(hex: string): string {
  return (hex.match(/.{8}/g) ?? []).map((word) => (word.match(/../g) ?? []).reverse().join('')).join('');
}

/** An IPv6 address from 32 hex digits in network order, in RFC 5952 form (lower case, longest zero run as `::`). */
export function formatIpv6(hex: string): string {
  const groups = (hex.match(/.{4}/g) ?? []).map((group) => parseInt(group, 16).toString(16));
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < groups.length; ) {
    if (groups[start] !== '0') {
      start++;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === '0') end++;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end;
  }
  if (bestLength < 2) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}
