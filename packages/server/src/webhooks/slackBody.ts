/**
 * The body of a delivery to a webhook of format `slack` (docs/webhooks.md): `{"text", "blocks"}`
 * as Slack's incoming webhooks (and the chat services that copy them) take it. `text` is a short
 * summary (the notification); `blocks` add the details an alert carries.
 */

/** Item sections per message; the rest is counted ("and 12 more"). Slack allows 50 blocks. */
const MAX_ITEM_BLOCKS = 10;
/** Longest value shown in a message (declared, observed, reasons). */
const MAX_VALUE_LENGTH = 200;

const TITLES: Readonly<Record<string, string>> = {
  'drift.opened': 'Drift opened',
  'drift.resolved': 'Drift resolved',
  'host.stale': 'Host stale',
  'ingest.dead_letter': 'Report dead-lettered',
};

const CHANGE_VERBS: Readonly<Record<string, string>> = {
  'change.opened': 'opened',
  'change.updated': 'updated',
  'change.checked': 'checked',
  'change.approved': 'approved',
  'change.rejected': 'rejected',
  'change.merged': 'merged',
  'change.closed': 'closed',
  'change.emergency': 'merged as an emergency',
};

type Block = Record<string, unknown>;

/** The Slack body of an event, as the exact JSON text to sign and send. */
export function renderSlackBody(type: string, data: Record<string, unknown>): string {
  const { text, blocks } = type in TITLES ? alertMessage(type, data) : changeMessage(type, data);
  return JSON.stringify({ text, blocks });
}

/** "CR #12 merged by alice: Grow web-01", with a link to the change request. */
function changeMessage(type: string, data: Record<string, unknown>): { text: string; blocks: Block[] } {
  const change = (isObject(data['change']) ? data['change'] : {}) as Record<string, unknown>;
  const cr = `CR #${String(change['id'] ?? '?')}`;
  const by = typeof data['by'] === 'string' ? ` by ${data['by']}` : '';
  const title = typeof change['title'] === 'string' ? `: ${change['title']}` : '';
  let what: string;
  if (type === 'review.acknowledged') what = `Review of ${cr} acknowledged${by}`;
  else if (type === 'review.overdue') what = `Review of ${cr} is overdue${typeof data['dueAt'] === 'string' ? ` (due ${data['dueAt']})` : ''}`;
  else if (type === 'change.checked') what = typeof data['checks'] === 'string' ? `${cr} checks ${data['checks']}` : `${cr} checked`;
  else what = `${cr} ${CHANGE_VERBS[type] ?? type}${by}`;
  if (type === 'change.emergency' && typeof data['reason'] === 'string') what += ` (${clip(data['reason'])})`;
  const text = `${what}${title}`;
  const link = typeof change['url'] === 'string' ? change['url'] : undefined;
  const shown = link === undefined ? escape(text) : `${escape(what).replace(escape(cr), `<${link}|${escape(cr)}>`)}${escape(title)}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: shown } }] };
}

/** A summary line, one section per item (at most {@link MAX_ITEM_BLOCKS}) and what was left out. */
function alertMessage(type: string, data: Record<string, unknown>): { text: string; blocks: Block[] } {
  const items = (Array.isArray(data['items']) ? data['items'] : []).filter(isObject) as Array<Record<string, unknown>>;
  const count = typeof data['count'] === 'number' ? data['count'] : items.length;
  const suppressed = typeof data['suppressed'] === 'number' ? data['suppressed'] : 0;
  const title = TITLES[type]!;
  const first = items[0];
  let text: string;
  if (count === 1 && first) text = `${title}: ${itemLine(type, first)}`;
  else if (count > 0) text = `${title}: ${count} ${type.startsWith('drift.') ? 'fields' : type === 'host.stale' ? 'hosts' : 'reports'}${subjects(items)}`;
  else text = `${title}: none new`;
  if (suppressed > 0) text += ` (+${suppressed} held back by the rate limit)`;
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text: `*${escape(text)}*` } }];
  for (const item of items.slice(0, MAX_ITEM_BLOCKS)) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: itemBlock(type, item) } });
  const more = count - Math.min(items.length, MAX_ITEM_BLOCKS);
  const notes = [...(more > 0 ? [`and ${more} more`] : []), ...(suppressed > 0 ? [`${suppressed} earlier held back by the rate limit`] : [])];
  if (notes.length > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escape(notes.join('; ')) }] });
  return { text, blocks };
}

/** " on host/web-01, host/web-02 and 3 more": the distinct assets (or hosts) of the items. */
function subjects(items: Array<Record<string, unknown>>): string {
  const names = [...new Set(items.map((item) => String(item['asset'] ?? item['host'] ?? '')).filter((name) => name !== ''))];
  if (names.length === 0) return '';
  return ` on ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}`;
}

/** One item in plain text: what, where, declared → observed. */
function itemLine(type: string, item: Record<string, unknown>): string {
  if (type === 'host.stale') return `${str(item['asset'] ?? item['host'])} last reported at ${str(item['lastReportAt'])}`;
  if (type === 'ingest.dead_letter') return `report ${str(item['reportId'])} of ${str(item['host'])} failed ${str(item['attempts'])} times: ${clip(str(item['reason']))}`;
  const reason = type === 'drift.resolved' && item['reason'] !== undefined ? ` (${str(item['reason'])}${item['rule'] !== undefined ? `: ${str(item['rule'])}` : ''})` : '';
  return `${str(item['asset'])} ${str(item['field'])}: declared ${value(item['declared'])} → observed ${value(item['observed'])}${reason}`;
}

/** One item as a Slack section: the line, linked, then its evidence (commit, report, since). */
function itemBlock(type: string, item: Record<string, unknown>): string {
  const line = escape(itemLine(type, item));
  const url = typeof item['url'] === 'string' ? item['url'] : undefined;
  const evidence = [
    item['commit'] !== undefined ? `commit \`${escape(str(item['commit']).slice(0, 12))}\`` : '',
    item['reportId'] !== undefined && type !== 'ingest.dead_letter' ? `report \`${escape(str(item['reportId']))}\`` : '',
    item['firstSeen'] !== undefined ? `since ${escape(str(item['firstSeen']))}` : '',
    url !== undefined ? `<${url}|details>` : '',
  ].filter((part) => part !== '');
  return evidence.length > 0 ? `${line}\n${evidence.join(' · ')}` : line;
}

function value(v: unknown): string {
  return clip(v === undefined ? '(none)' : JSON.stringify(v));
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? '';
}

function clip(text: string): string {
  return text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH - 1)}…` : text;
}

/** Slack's mrkdwn escapes: `&`, `<` and `>` (its link and mention syntax). */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
