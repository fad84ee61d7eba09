import { describe, expect, it } from 'vitest';
import { countFacts, parseReport } from './parseReport.js';

const valid = {
  reportId: '01JDQ8Y6V0S1W9J3N8X7Q2K4TA',
  host: 'web-01',
  seq: 1,
  collectedAt: '2026-11-26T03:00:00.000Z',
  facts: {
    hostname: 'web-01',
    ip: ['10.0.0.1', 'fe80::1'],
    os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12' },
    kernel: '6.1.0',
    cpus: 4,
    memoryGiB: 7.8,
    packages: { nginx: '1.22.1', curl: '7.88' },
    files: { '/etc/motd': { sha256: 'a'.repeat(64), mode: '0644', owner: 'root', size: 2, content: 'hi' }, '/etc/gone': { missing: true } },
    services: { 'nginx.service': 'active' },
    ports: [{ protocol: 'tcp', address: '0.0.0.0', port: 80 }],
  },
  errors: { packages: 'dpkg-query not found' },
};

describe('parseReport', () => {
  it('accepts the report of issue 6 and counts its facts', () => {
    const report = parseReport(structuredClone(valid), 100);
    expect(report).toEqual(valid);
    // hostname, os, kernel, cpus, memoryGiB: 5; ip 2, packages 2, files 2, services 1, ports 1.
    expect(countFacts(report)).toBe(13);
  });

  it('names the first bad field as a JSON pointer', () => {
    const cases: Array<[unknown, string]> = [
      [[], '/'],
      [{ ...valid, reportId: '01jdq8y6v0s1w9j3n8x7q2k4ta' }, '/reportId'],
      [{ ...valid, reportId: '81JDQ8Y6V0S1W9J3N8X7Q2K4TA' }, '/reportId'],
      [{ ...valid, host: 'web_01' }, '/host'],
      [{ ...valid, seq: 1.5 }, '/seq'],
      [{ ...valid, seq: '2' }, '/seq'],
      [{ ...valid, collectedAt: 'yesterday' }, '/collectedAt'],
      [{ ...valid, extra: 1 }, '/extra'],
      [{ ...valid, facts: { ...valid.facts, cpus: -1 } }, '/facts/cpus'],
      [{ ...valid, facts: { ...valid.facts, ports: [{ protocol: 'sctp', port: 1 }] } }, '/facts/ports/0/protocol'],
      [{ ...valid, facts: { ...valid.facts, files: { '/etc/a/b': { sha256: 'x', mode: '0644' } } } }, '/facts/files/~1etc~1a~1b/owner'],
      [{ ...valid, facts: { ...valid.facts, packages: { nginx: 1 } } }, '/facts/packages/nginx'],
      [JSON.parse(`{"reportId": "${valid.reportId}", "host": "web-01", "seq": 1, "collectedAt": "${valid.collectedAt}", "facts": {"constructor": 1}}`), '/facts/constructor'],
    ];
    for (const [body, pointer] of cases) {
      expect(() => parseReport(body, 100), pointer).toThrow(expect.objectContaining({ code: 'E_BAD_REPORT', data: expect.objectContaining({ pointer }) }));
    }
    const missing = { ...valid } as Partial<typeof valid>;
    delete missing.facts;
    expect(() => parseReport(missing, 100)).toThrow(expect.objectContaining({ code: 'E_BAD_REPORT', message: "report field '/facts' is required" }));
  });

  it('refuses more facts than the limit with E_REPORT_TOO_BIG', () => {
    expect(() => parseReport(structuredClone(valid), 12)).toThrow(expect.objectContaining({ code: 'E_REPORT_TOO_BIG', message: 'the report has 13 facts; at most 12 are accepted' }));
  });
});
