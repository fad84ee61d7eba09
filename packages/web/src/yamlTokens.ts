/** What a piece of highlighted YAML is, for its colour. */
export type YamlTokenType = 'key' | 'string' | 'number' | 'boolean' | 'null' | 'punctuation' | 'indent';

/** One piece of a line of YAML. */
export interface YamlToken {
  type: YamlTokenType;
  text: string;
}

/** A line of YAML as its pieces; their texts joined are the line. */
export type YamlLine = YamlToken[];

/** Words YAML 1.1 readers take for booleans or null: such strings are quoted. */
const RESERVED = /^(true|false|null|~|yes|no|on|off|y|n)$/i;
/** Strings safe unquoted in block context: no indicator at the start, no `: ` or ` #` inside. */
const PLAIN = /^[A-Za-z_/.][\w./@()+=,-]*(?: [\w./@()+=,-]+)*$/;
const NUMBER_LIKE = /^[-+]?(\.?\d|0x|0o|\.inf|\.nan)/i;
const PLAIN_KEY = /^[A-Za-z_][\w.-]*$/;

/**
 * Renders a JSON value (an asset document) as block-style YAML, split into typed tokens for
 * highlighting: `key: value` mappings, `- item` sequences, literal blocks (`|`) for multi-line
 * strings, and double quotes (JSON's, which YAML reads the same) for strings that would otherwise
 * read as something else. The text is valid YAML that reads back as the same value.
 */
export function toYamlLines(value: unknown): YamlLine[] {
  const lines: YamlLine[] = [];
  if (isCollection(value) && !isEmpty(value)) emitCollection(value, 0, lines, []);
  else lines.push(scalarTokens(value, 0).first);
  return lines;
}

/** The text of rendered lines, for copying. */
export function yamlText(lines: YamlLine[]): string {
  return lines.map((line) => line.map((token) => token.text).join('')).join('\n') + '\n';
}

type Collection = Record<string, unknown> | unknown[];

function isCollection(value: unknown): value is Collection {
  return typeof value === 'object' && value !== null;
}

function isEmpty(value: Collection): boolean {
  return Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
}

/**
 * Writes a non-empty mapping or sequence at `indent`. `lead` are tokens that start its first line
 * (`- ` of an enclosing sequence item): a mapping's first key follows them on the same line.
 */
function emitCollection(value: Collection, indent: number, lines: YamlLine[], lead: YamlToken[]): void {
  const pad = (first: boolean): YamlToken[] => (first && lead.length > 0 ? lead : indent > 0 ? [{ type: 'indent', text: ' '.repeat(indent) }] : []);
  const entries: Array<[YamlToken[], unknown]> = Array.isArray(value)
    ? value.map((item) => [[{ type: 'punctuation', text: '-' }], item])
    : Object.entries(value).map(([key, item]) => [[{ type: 'key', text: PLAIN_KEY.test(key) && !RESERVED.test(key) ? key : JSON.stringify(key) }, { type: 'punctuation', text: ':' }], item]);
  entries.forEach(([head, item], index) => {
    const start = [...pad(index === 0), ...head];
    const isItem = Array.isArray(value);
    if (isCollection(item) && !isEmpty(item)) {
      if (isItem) {
        // `- key: value` / `- - item`: the nested collection starts on the item's line.
        emitCollection(item, indent + 2, lines, [...start, { type: 'indent', text: ' ' }]);
      } else {
        lines.push(start);
        // Sequences in a mapping sit at the key's indentation, as most YAML in repos is written.
        emitCollection(item, Array.isArray(item) ? indent : indent + 2, lines, []);
      }
      return;
    }
    const { first, rest } = scalarTokens(item, indent + 2);
    lines.push([...start, { type: 'indent', text: ' ' }, ...first]);
    lines.push(...rest);
  });
}

/** A scalar (or empty collection) as the tokens after `key: ` / `- `, and any further lines (a literal block's). */
function scalarTokens(value: unknown, indent: number): { first: YamlToken[]; rest: YamlLine[] } {
  if (value === null || value === undefined) return { first: [{ type: 'null', text: 'null' }], rest: [] };
  if (typeof value === 'boolean') return { first: [{ type: 'boolean', text: String(value) }], rest: [] };
  if (typeof value === 'number') return { first: [{ type: 'number', text: Number.isFinite(value) ? String(value) : 'null' }], rest: [] };
  if (Array.isArray(value)) return { first: [{ type: 'punctuation', text: '[]' }], rest: [] };
  if (typeof value === 'object') return { first: [{ type: 'punctuation', text: '{}' }], rest: [] };
  const text = String(value);
  if (text.includes('\n') && !/^[ \t\n]/.test(text) && !/[ \t]\n|[\r\t]|[ \t]$/.test(text)) {
    // A literal block keeps scripts and certificates readable. `|` keeps one final newline, `|-` none;
    // more than one is left to quoting.
    if (!text.endsWith('\n\n')) {
      const body = text.endsWith('\n') ? text.slice(0, -1) : text;
      const pad = ' '.repeat(indent);
      return {
        first: [{ type: 'punctuation', text: text.endsWith('\n') ? '|' : '|-' }],
        rest: body.split('\n').map((line) => (line === '' ? [] : [{ type: 'indent', text: pad }, { type: 'string', text: line }])),
      };
    }
  }
  const plain = PLAIN.test(text) && !RESERVED.test(text) && !NUMBER_LIKE.test(text);
  return { first: [{ type: 'string', text: plain ? text : JSON.stringify(text) }], rest: [] };
}
