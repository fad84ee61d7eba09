import { describe, expect, it } from 'vitest';
import { bucketLabel, layoutDriftChart } from './driftChart';

const hour = (h: number, open: number): { start: string; open: number; opened: number; resolved: number } => ({
  start: new Date(Date.UTC(2024, 5, 1, h)).toISOString(),
  open,
  opened: 0,
  resolved: 0,
});

describe('the drift chart', () => {
  it('spreads the buckets over the plot, oldest left, and scales open counts to a round maximum', () => {
    const layout = layoutDriftChart([hour(10, 0), hour(11, 7), hour(12, 3)], 'hour', 400, 200);
    expect(layout.plot).toEqual({ left: 40, top: 12, right: 388, bottom: 174 });
    expect(layout.max).toBe(10);
    expect(layout.points.map((p) => [p.x, p.y])).toEqual([
      [40, 174],
      [214, 60.6],
      [388, 125.4],
    ]);
    expect(layout.line).toBe('40,174 214,60.6 388,125.4');
    expect(layout.area).toBe('40,174 40,174 214,60.6 388,125.4 388,174');
    expect(layout.yTicks.map((t) => t.value)).toEqual([0, 5, 10]);
    expect(layout.xTicks.map((t) => t.label)).toEqual(['10:00', '11:00', '12:00']);
  });

  it('keeps at least 0–4 on the y axis, labels at most six times, and draws a single bucket in the middle', () => {
    const flat = layoutDriftChart(Array.from({ length: 48 }, (_, i) => hour(i, 0)), 'hour', 400, 200);
    expect(flat.max).toBe(4);
    expect(flat.yTicks.map((t) => t.value)).toEqual([0, 1, 2, 3, 4]);
    expect(flat.xTicks).toHaveLength(6);
    expect(flat.xTicks[0]!.label).toBe('06-01 00:00');
    const one = layoutDriftChart([hour(3, 2)], 'hour', 400, 200);
    expect(one.points).toEqual([expect.objectContaining({ x: 214, y: 93 })]);
    expect(layoutDriftChart([], 'day', 400, 200)).toMatchObject({ line: '', area: '', points: [] });
  });

  it('labels buckets in UTC: hours, midnight with its date, days', () => {
    expect(bucketLabel('2024-06-01T14:00:00.000Z', 'hour')).toBe('14:00');
    expect(bucketLabel('2024-06-02T00:00:00.000Z', 'hour')).toBe('06-02 00:00');
    expect(bucketLabel('2024-06-02T00:00:00.000Z', 'day')).toBe('06-02');
  });
});
