import { describe, expect, it } from 'vitest';
import { compareDiagnostics, formatDiagnostic, type Diagnostic } from './diagnostics.js';

const d = (path: string, line: number, col: number, code: Diagnostic['code'] = 'E_SCHEMA'): Diagnostic => ({ code, path, line, col, message: 'm' });

describe('compareDiagnostics', () => {
  it('orders by path, line, column, then code', () => {
    const sorted = [d('b.yaml', 1, 1), d('a.yaml', 10, 1), d('a.yaml', 2, 5), d('a.yaml', 2, 3, 'E_UNIQUE'), d('a.yaml', 2, 3, 'E_NAME'), d('a.yaml', 2, 3, 'E_NAME')].sort(compareDiagnostics);
    expect(sorted.map((x) => `${x.path}:${x.line}:${x.col}:${x.code}`)).toEqual([
      'a.yaml:2:3:E_NAME',
      'a.yaml:2:3:E_NAME',
      'a.yaml:2:3:E_UNIQUE',
      'a.yaml:2:5:E_SCHEMA',
      'a.yaml:10:1:E_SCHEMA',
      'b.yaml:1:1:E_SCHEMA',
    ]);
  });
});

describe('formatDiagnostic', () => {
  it('formats like a compiler', () => {
    expect(formatDiagnostic({ code: 'E_DANGLING_REF', path: 'assets/svc.yaml', line: 9, col: 7, message: "asset 'host/web-02' does not exist", asset: 'service/x' })).toBe(
      "assets/svc.yaml:9:7: error[E_DANGLING_REF]: asset 'host/web-02' does not exist",
    );
  });
});
