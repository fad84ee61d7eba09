import { describe, expect, it } from 'vitest';
import { renderSlackBody } from './slackBody.js';

const render = (type: string, data: Record<string, unknown>): { text: string; blocks: Array<Record<string, any>> } => JSON.parse(renderSlackBody(type, data)); // eslint-disable-line @typescript-eslint/no-explicit-any

describe('renderSlackBody', () => {
  it('writes a short line for change and review events', () => {
    const change = { id: 12, title: 'Grow web-01', url: 'https://estate.example.com/api/v1/changes/12' };
    expect(render('change.merged', { change, by: 'alice' }).text).toBe('CR #12 merged by alice: Grow web-01');
    expect(render('change.emergency', { change, by: 'bob', reason: 'outage' }).text).toBe('CR #12 merged as an emergency by bob (outage): Grow web-01');
    expect(render('change.checked', { change, checks: 'failed' }).text).toBe('CR #12 checks failed: Grow web-01');
    expect(render('review.overdue', { change, dueAt: '2024-05-02T09:30:00.000Z' }).text).toBe('Review of CR #12 is overdue (due 2024-05-02T09:30:00.000Z): Grow web-01');
    expect(render('review.acknowledged', { change, by: 'carol' }).blocks[0]!['text'].text).toBe('Review of <https://estate.example.com/api/v1/changes/12|CR #12> acknowledged by carol: Grow web-01');
  });

  it('lists at most ten items of an alert and says what is left out and held back', () => {
    const items = Array.from({ length: 12 }, (_, i) => ({ asset: `host/web-${i}`, field: '/spec/packages/nginx', declared: '>=1.22', observed: '1.18', commit: 'a'.repeat(40), reportId: `r${i}`, url: `https://e/x?asset=${i}` }));
    const body = render('drift.opened', { count: 150, items, omitted: 138, suppressed: 4 });
    expect(body.text).toBe('Drift opened: 150 fields on host/web-0, host/web-1, host/web-2 and 9 more (+4 held back by the rate limit)');
    expect(body.blocks).toHaveLength(12);
    expect(body.blocks[1]!['text'].text).toBe('host/web-0 /spec/packages/nginx: declared "&gt;=1.22" → observed "1.18"\ncommit `aaaaaaaaaaaa` · report `r0` · <https://e/x?asset=0|details>');
    expect(body.blocks[11]).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: 'and 140 more; 4 earlier held back by the rate limit' }] });
    expect(render('ingest.dead_letter', { count: 0, items: [], suppressed: 3 }).text).toBe('Report dead-lettered: none new (+3 held back by the rate limit)');
    expect(render('host.stale', { count: 1, items: [{ asset: 'host/db-01', host: 'db-01', lastReportAt: '2024-05-01T09:00:00.000Z', reportId: 'r9' }] }).text).toBe(
      'Host stale: host/db-01 last reported at 2024-05-01T09:00:00.000Z',
    );
  });
});
