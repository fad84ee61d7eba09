import { loadEstate, type Diagnostic } from '@estate/core';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_EVENT_TYPES } from './types.js';

/** The diagnostics of an estate whose only file is estate.yaml with these `spec.webhooks` lines. */
async function diagnosticsOf(...webhookLines: string[]): Promise<Array<Pick<Diagnostic, 'code' | 'line' | 'message'>>> {
  const text = ['apiVersion: estate/v1', 'kind: Estate', 'metadata:', '  name: shop', 'spec:', '  environments: [dev, prod]', '  webhooks:', ...webhookLines, ''].join('\n');
  const bytes = new TextEncoder().encode(text);
  const estate = await loadEstate([{ path: 'estate.yaml', blobId: '0'.repeat(40) }], async () => [bytes]);
  return estate.diagnostics.map(({ code, line, message }) => ({ code, line, message }));
}

describe('spec.webhooks of estate.yaml', () => {
  it('accepts webhooks with a name, an http(s) url, events and a secretEnv', async () => {
    expect(
      await diagnosticsOf(
        '    - name: ci',
        '      url: https://ci.example.com/estate-events?team=web',
        '      events: [change.merged, review.*]',
        '      secretEnv: ESTATE_WEBHOOK_CI_SECRET',
        '    - {name: chat-ops, url: "http://10.0.0.5:8080", secretEnv: CHAT_SECRET, format: slack, events: [drift.*, host.stale]}',
        '    - {name: plain, url: "https://x.example.com/", secretEnv: S, format: estate}',
      ),
    ).toEqual([]);
  });

  it('refuses a format other than estate and slack', async () => {
    const diagnostics = await diagnosticsOf('    - {name: teams, url: "https://x.example.com/", secretEnv: S, format: teams}');
    expect(diagnostics.map((d) => [d.code, d.line])).toEqual([['E_SCHEMA', 8]]);
    expect(diagnostics[0]!.message).toBe('spec.webhooks[0].format must be one of "estate", "slack" (got "teams")');
  });

  it('lists every event type the dispatcher knows as allowed', async () => {
    expect(await diagnosticsOf('    - name: all', '      url: https://x.example.com/', `      events: ['*', change.*, review.*, drift.*, host.*, ingest.*, ${WEBHOOK_EVENT_TYPES.join(', ')}]`, '      secretEnv: S')).toEqual([]);
  });

  it('refuses a url that is not http(s) or holds a password, an unknown event, a bad name and a missing secretEnv', async () => {
    const diagnostics = await diagnosticsOf(
      '    - name: ftp',
      '      url: ftp://files.example.com/in',
      '      secretEnv: S',
      '    - name: creds',
      '      url: https://bob:hunter2@example.com/',
      '      secretEnv: S',
      '    - name: typo',
      '      url: https://x.example.com/',
      '      events: [change.mergd]',
      '      secretEnv: S',
      '    - name: Not_A_Label',
      '      url: https://x.example.com/',
      '      secretEnv: S',
      '    - name: nosecret',
      '      url: https://x.example.com/',
      '    - name: inline',
      '      url: https://x.example.com/',
      '      secret: do-not-put-secrets-here',
      '      secretEnv: S',
    );
    expect(diagnostics.map((d) => [d.code, d.line])).toEqual([
      ['E_SCHEMA', 9],
      ['E_SCHEMA', 12],
      ['E_SCHEMA', 16],
      ['E_SCHEMA', 18],
      ['E_SCHEMA', 21],
      ['E_SCHEMA', 25],
    ]);
    expect(diagnostics[0]!.message).toMatch(/^spec\.webhooks\[0\]\.url must match pattern/);
    expect(diagnostics[1]!.message).toMatch(/^spec\.webhooks\[1\]\.url must match pattern/);
    expect(diagnostics[2]!.message).toBe(
      `spec.webhooks[2].events[0] must be one of ${['*', 'change.*', 'review.*', 'drift.*', 'host.*', 'ingest.*', ...WEBHOOK_EVENT_TYPES].map((e) => `"${e}"`).join(', ')} (got "change.mergd")`,
    );
    expect(diagnostics[3]!.message).toMatch(/^spec\.webhooks\[3\]\.name must match pattern/);
    expect(diagnostics[4]!.message).toBe("spec.webhooks[4] is missing required field 'secretEnv'");
    expect(diagnostics[5]!.message).toMatch(/^unknown field 'spec\.webhooks\[5\]\.secret'; known fields: name, url, events, format, secretEnv/);
  });
});
