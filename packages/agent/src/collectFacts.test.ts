import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectFacts } from './collectFacts.js';
import { MAX_CONTENT_BYTES } from './collectors/files.js';
import { formatIpv6, parseProcNetSockets } from './collectors/network.js';
import { collectPackages } from './collectors/packages.js';

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
/** The managed file's owner: root gives it away to 1000:1000 so that the names do not collide with root's; others keep their own. */
const ownerUid = uid === 0 ? 1000 : uid;
const ownerGid = uid === 0 ? 1000 : gid;

const FIB_TRIE = `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.1
           /32 host LOCAL
     +-- 10.0.1.0/24 2 0 2
        |-- 10.0.1.0
           /24 link UNICAST
        |-- 10.0.1.11
           /32 host LOCAL
        |-- 10.0.1.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
        |-- 10.0.1.11
           /32 host LOCAL
`;

const IF_INET6 = `00000000000000000000000000000001 01 80 10 80       lo
20010db8000000000000000000000011 02 40 00 80     eth0
fe800000000000000000000000000001 02 40 20 80     eth0
`;

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const TCP =
  HEADER +
  '   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1\n' +
  '   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1\n' +
  '   2: 0B01000A:0016 0201000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 1003 1\n';
const TCP6 = HEADER + '   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 2001 1\n';
const UDP =
  HEADER +
  '   0: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3001 2\n' +
  '   1: 0B01000A:A000 0808080B:0035 01 00000000:00000000 00:00000000 00000000     0        0 3002 2\n';

const DPKG_STATUS = `Package: nginx
Status: install ok installed
Priority: optional
Version: 1.22.1-9
Description: small, powerful, scalable web/proxy server
 with a continuation line: Version: 9.9

Package: openssl
Status: deinstall ok config-files
Version: 3.0.11-1

Package: bash
Status: install ok installed
Version: 5.2.15-2+b2
`;

let root: string;

async function put(file: string, content: string | Buffer, mode?: number): Promise<void> {
  const location = path.join(root, file);
  await mkdir(path.dirname(location), { recursive: true });
  await writeFile(location, content);
  if (mode !== undefined) await chmod(location, mode);
}

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'estate-agent-root-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fake host root with every file the collectors read. */
async function writeFakeHost(): Promise<void> {
  await put('/etc/hostname', 'web-01\n');
  await put('/etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n');
  await put('/proc/sys/kernel/osrelease', '6.1.0-18-amd64\n');
  await put('/proc/cpuinfo', 'processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\nmodel name\t: x\n\nprocessor\t: 2\n\nprocessor\t: 3\n');
  await put('/proc/meminfo', 'MemTotal:       16333852 kB\nMemFree:         1000000 kB\n');
  await put('/proc/net/fib_trie', FIB_TRIE);
  await put('/proc/net/if_inet6', IF_INET6);
  await put('/proc/net/tcp', TCP);
  await put('/proc/net/tcp6', TCP6);
  await put('/proc/net/udp', UDP);
  await put('/var/lib/dpkg/status', DPKG_STATUS);
  await put('/etc/passwd', `root:x:0:0:root:/root:/bin/bash\ndeploy:x:${ownerUid}:${ownerGid}::/home/deploy:/bin/sh\n`);
  await put('/etc/group', `root:x:0:\nwww:x:${ownerGid}:\n`);
  await put('/etc/nginx/nginx.conf', 'worker_processes 4;\n', 0o640);
  if (uid === 0) await chown(path.join(root, '/etc/nginx/nginx.conf'), ownerUid, ownerGid);
  await put('/run/estate-agent/units/nginx.service', 'active\n');
  await put('/run/estate-agent/units/cron.service', 'failed\n');
}

describe('collectFacts on a fake root', () => {
  it('collects every fact of issue 6 from the tree', async () => {
    await writeFakeHost();
    const { facts, errors } = await collectFacts({
      root,
      files: ['/etc/nginx/nginx.conf', '/etc/absent.conf'],
      units: ['nginx.service', 'cron.service', 'gone.service'],
    });
    expect(errors).toEqual({});
    expect(Object.keys(facts)).toEqual(['hostname', 'ip', 'os', 'kernel', 'cpus', 'memoryGiB', 'packages', 'files', 'services', 'ports']);
    expect(facts.hostname).toBe('web-01');
    expect(facts.ip).toEqual(['10.0.1.11', '2001:db8::11']);
    expect(facts.os).toEqual({ id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
    expect(facts.kernel).toBe('6.1.0-18-amd64');
    expect(facts.cpus).toBe(4);
    expect(facts.memoryGiB).toBe(15.6);
    expect(facts.packages).toEqual({ bash: '5.2.15-2+b2', nginx: '1.22.1-9' });
    expect(facts.files).toEqual({
      '/etc/nginx/nginx.conf': {
        sha256: createHash('sha256').update('worker_processes 4;\n').digest('hex'),
        mode: '0640',
        owner: 'deploy:www',
        size: 20,
        content: 'worker_processes 4;\n',
      },
      '/etc/absent.conf': { missing: true },
    });
    expect(facts.services).toEqual({ 'nginx.service': 'active', 'cron.service': 'failed', 'gone.service': 'inactive' });
    expect(facts.ports).toEqual([
      { protocol: 'tcp', address: '0.0.0.0', port: 22 },
      { protocol: 'tcp', address: '::', port: 443 },
      { protocol: 'tcp', address: '127.0.0.1', port: 8080 },
      { protocol: 'udp', address: '0.0.0.0', port: 53 },
    ]);
  });

  it('records a failing collector in errors and keeps the other facts', async () => {
    await put('/etc/hostname', 'web-02\n');
    await put('/proc/cpuinfo', 'model name: nothing here\n');
    const { facts, errors } = await collectFacts({ root, files: ['relative/path'], units: ['../../etc/passwd'] });
    expect(facts.hostname).toBe('web-02');
    expect(facts.cpus).toBeUndefined();
    expect(errors).toMatchObject({
      cpus: '/proc/cpuinfo lists no processor',
      kernel: 'no /proc/sys/kernel/osrelease',
      memoryGiB: 'no /proc/meminfo',
      os: 'no /etc/os-release or /usr/lib/os-release',
      files: "managed file 'relative/path' is not an absolute path",
      services: "'../../etc/passwd' is not a systemd unit name",
      ports: 'no /proc/net/tcp, tcp6, udp or udp6',
    });
    expect(errors['packages']).toContain('no /var/lib/dpkg/status');
  });

  it('sends no content over 64 KiB but hashes the whole file, with owner ids when names are unknown', async () => {
    const big = Buffer.alloc(MAX_CONTENT_BYTES + 1, 'a');
    await put('/srv/big.bin', big, 0o600);
    await put('/srv/exact.txt', Buffer.alloc(MAX_CONTENT_BYTES, 'b'), 0o4755);
    const { facts } = await collectFacts({ root, files: ['/srv/big.bin', '/srv/exact.txt'], units: [] });
    expect(facts.files?.['/srv/big.bin']).toEqual({
      sha256: createHash('sha256').update(big).digest('hex'),
      mode: '0600',
      owner: `${uid}:${gid}`,
      size: MAX_CONTENT_BYTES + 1,
      truncated: true,
    });
    const exact = facts.files?.['/srv/exact.txt'];
    expect(exact && 'content' in exact ? exact.content?.length : undefined).toBe(MAX_CONTENT_BYTES);
    expect(exact && 'mode' in exact ? exact.mode : undefined).toBe('4755');
  });

  it('reads managed files only below the root, even through ..', async () => {
    await put('/etc/app.conf', 'inside\n');
    const { facts } = await collectFacts({ root, files: ['/../../etc/app.conf'], units: [] });
    expect(facts.files?.['/../../etc/app.conf']).toMatchObject({ content: 'inside\n' });
  });

  it('does not follow a symbolic link out of the root, for managed files and the files collectors read', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'estate-agent-outside-'));
    try {
      await writeFile(path.join(outside, 'shadow'), 'root:secret-hash:19000::::::\n');
      await writeFile(path.join(outside, 'hostname'), 'outside-host\n');
      await put('/etc/app.conf', 'placeholder');
      await rm(path.join(root, '/etc/app.conf'));
      await symlink(path.join(outside, 'shadow'), path.join(root, '/etc/app.conf'));
      await symlink(path.join(outside, 'hostname'), path.join(root, '/etc/hostname'));
      await put('/etc/inner.conf', 'inner\n');
      await symlink('inner.conf', path.join(root, '/etc/relative.conf'));
      const { facts, errors } = await collectFacts({ root, files: ['/etc/app.conf', '/etc/relative.conf'], units: [] });
      expect(JSON.stringify(facts)).not.toContain('secret-hash');
      expect(facts.hostname).toBeUndefined();
      expect(errors['hostname']).toContain('outside the root');
      expect(errors['files']).toContain('outside the root');
      const inside = await collectFacts({ root, files: ['/etc/relative.conf'], units: [] });
      expect(inside.facts.files?.['/etc/relative.conf']).toMatchObject({ content: 'inner\n' });
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('parsers', () => {
  it('decodes IPv6 listeners of /proc/net/tcp6 (host-order words)', () => {
    // ::1 as the kernel prints it on little-endian machines.
    const text = HEADER + '   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 0 0 0 0 0 0 1\n';
    expect(parseProcNetSockets(text, 'tcp', true)).toEqual([{ protocol: 'tcp', address: '::1', port: 8080 }]);
  });

  it('formats IPv6 per RFC 5952', () => {
    expect(formatIpv6('20010db8000000000001000000000001')).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6('00000000000000000000000000000000')).toBe('::');
    expect(formatIpv6('20010db8000100010001000100010001')).toBe('2001:db8:1:1:1:1:1:1');
  });

  it('notes a host without dpkg instead of failing', async () => {
    expect(await collectPackages(root)).toEqual({ note: 'no /var/lib/dpkg/status and no rpm database (/var/lib/rpm, /usr/lib/sysimage/rpm): packages are not reported' });
  });
});

describe('rpm hosts', () => {
  let bin: string;
  let savedPath: string | undefined;
  beforeEach(async () => {
    bin = await mkdtemp(path.join(tmpdir(), 'estate-agent-bin-'));
    savedPath = process.env['PATH'];
    process.env['PATH'] = `${bin}:${savedPath ?? ''}`;
  });
  afterEach(async () => {
    process.env['PATH'] = savedPath;
    await rm(bin, { recursive: true, force: true });
  });

  /** A stand-in \`rpm\` on PATH: records its arguments and prints \`output\` (as rpm -qa --queryformat would). */
  async function fakeRpm(output: string, exitCode = 0): Promise<string> {
    const argsFile = path.join(bin, 'args');
    await writeFile(path.join(bin, 'rpm'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\nprintf '%s' '${output}'\necho 'rpm: cannot open Packages database' >&2\nexit ${exitCode}\n`, { mode: 0o755 });
    return argsFile;
  }

  it('reads packages with rpm -qa --queryformat when the root has an rpm database and no dpkg status', async () => {
    await mkdir(path.join(root, 'usr/lib/sysimage/rpm'), { recursive: true });
    const argsFile = await fakeRpm('bash\t5.1.8-9.el9\nnginx\t1:1.20.1-14.el9\ngpg-pubkey\t8483c65d-5ccc5b19\nglibc\t2.34-100.el9\nglibc\t2.34-100.el9\n');
    expect(await collectPackages(root)).toEqual({ packages: { bash: '5.1.8-9.el9', glibc: '2.34-100.el9', nginx: '1:1.20.1-14.el9' } });
    const args = (await readFile(argsFile, 'utf8')).split('\n').slice(0, -1);
    expect(args).toEqual(['--root', root, '-qa', '--queryformat', '%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n']);
    const { facts, errors } = await collectFacts({ root, files: [], units: [] });
    expect(facts.packages).toEqual({ bash: '5.1.8-9.el9', glibc: '2.34-100.el9', nginx: '1:1.20.1-14.el9' });
    expect(errors['packages']).toBeUndefined();
  });

  it('prefers dpkg, and names a failing rpm in errors.packages', async () => {
    await mkdir(path.join(root, 'var/lib/rpm'), { recursive: true });
    await fakeRpm('', 1);
    await expect(collectPackages(root)).rejects.toThrow('rpm -qa failed: rpm: cannot open Packages database');
    await put('/var/lib/dpkg/status', 'Package: nginx\nStatus: install ok installed\nVersion: 1.22.1-9\n');
    expect(await collectPackages(root)).toEqual({ packages: { nginx: '1.22.1-9' } });
  });

  it('says so when the root has an rpm database but there is no rpm command', async () => {
    await mkdir(path.join(root, 'var/lib/rpm'), { recursive: true });
    process.env['PATH'] = bin;
    await expect(collectPackages(root)).rejects.toThrow('the root has an rpm database but there is no rpm command on PATH');
  });
});
