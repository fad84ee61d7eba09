import { describe, expect, it } from 'vitest';
import { createAssetSkeleton } from './assetSkeleton.js';
import { buildKindRegistry } from './kinds/kindRegistry.js';
import { diag, lines, loadMemoryEstate } from './testing/memoryEstate.js';

const team = buildKindRegistry([]).get('Team')!;

describe('createAssetSkeleton', () => {
  it('quotes a name that YAML would read as a number, a boolean or null', async () => {
    for (const name of ['123', '1e5', '0x1f', '0b11', 'true', 'null', 'web-01']) {
      const estate = await loadMemoryEstate({ 'assets/t.yaml': createAssetSkeleton(team, name) });
      expect(estate.diagnostics).toEqual([]);
      expect([...estate.assets.keys()]).toEqual([`team/${name}`]);
    }
  });

  it('writes map, list and long string defaults on one line, so the file stays valid', async () => {
    const long = 'x'.repeat(100);
    const schema = lines(
      'apiVersion: estate/v1',
      'kind: Schema',
      'metadata: {name: Widget}',
      'spec:',
      '  schema:',
      '    type: object',
      '    additionalProperties: false',
      '    required: [limits, zones, motd]',
      '    properties:',
      '      limits: {type: object, default: {cpu: 2, mem: [1, 2]}}',
      '      zones: {type: array, default: [a, b]}',
      `      motd: {type: string, default: ${long}}`,
      '      extra: {type: object, default: {x: 1}}',
      '      shape: {enum: [{round: true}, square]}',
    );
    const kinds = (await loadMemoryEstate({ 'schemas/widget.yaml': schema })).kinds;
    const text = createAssetSkeleton(kinds.get('Widget')!, 'w');
    const estate = await loadMemoryEstate({ 'schemas/widget.yaml': schema, 'assets/w.yaml': text });
    expect(estate.diagnostics).toEqual([]);
    expect(estate.assets.get('widget/w')!.spec).toEqual({ limits: { cpu: 2, mem: [1, 2] }, zones: ['a', 'b'], motd: long });
  });

  it('leaves required fields with a placeholder that fails until filled in', async () => {
    const text = createAssetSkeleton(buildKindRegistry([]).get('Host')!, 'web-01');
    const estate = await loadMemoryEstate({ 'assets/h.yaml': text });
    expect(estate.diagnostics).toMatchObject([diag('E_SCHEMA', 'assets/h.yaml', 9, 13, 'spec.hostname must be a valid hostname')]);
    const filled = await loadMemoryEstate({ 'assets/h.yaml': text.replace('hostname: ""', 'hostname: web-01.example.com') });
    expect(filled.diagnostics).toEqual([]);
  });
});
