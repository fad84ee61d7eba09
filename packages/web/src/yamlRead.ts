/** A YAML text the reader cannot take, with the line (1-based) where it stopped. */
export class YamlReadError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

interface Line {
  number: number;
  indent: number;
  /** The line without its indentation and comment; '' for blank and comment-only lines. */
  text: string;
  /** The line as written (block scalars keep comments and spacing). */
  raw: string;
}

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Reads the YAML people write in asset files and what the UI's own YAML writer
 * ({@link ../yamlTokens}) produces: block mappings and sequences, plain, single- and double-quoted
 * scalars, literal (`|`, `|-`) and folded (`>`) blocks, flow `[…]` and `{…}`, comments. Anchors,
 * tags, multi-line plain scalars and several documents are refused with a {@link YamlReadError}.
 * Numbers, `true`/`false` and `null`/`~`/empty read as in YAML 1.2's core schema.
 */
export function readYaml(text: string): unknown {
  const lines = text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((raw, index): Line => {
      if (/^ *\t/.test(raw)) throw new YamlReadError(index + 1, 'tabs cannot indent YAML');
      const indent = raw.length - raw.trimStart().length;
      return { number: index + 1, indent, text: stripComment(raw.slice(indent)).trimEnd(), raw };
    });
  const start = lines.findIndex((line) => line.text !== '');
  if (start >= 0 && lines[start]!.text === '---' && lines[start]!.indent === 0) lines.splice(start, 1);
  return new BlockReader(lines).document();
}

/** The text before a ` #` comment that is outside quotes. */
function stripComment(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s[{,:-]/.test(text[i - 1]!)) quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      return text.slice(0, i);
    }
  }
  return text;
}

/** `key: rest` of a mapping line, or undefined when the line is not one. */
function splitKey(text: string, line: number): { key: string; rest: string } | undefined {
  let end: number;
  let key: string;
  if (text.startsWith('"') || text.startsWith("'")) {
    end = closingQuote(text, 0);
    if (end < 0) return undefined;
    key = String(readScalar(text.slice(0, end + 1), line));
    end += 1;
    if (text[end] !== ':' || (end + 1 < text.length && text[end + 1] !== ' ')) return undefined;
  } else {
    if (/^[[{]/.test(text)) return undefined;
    const match = /:( |$)/.exec(text);
    if (!match) return undefined;
    end = match.index;
    key = text.slice(0, end).trim();
    if (key === '' || key.startsWith('- ') || key === '-') return undefined;
  }
  return { key, rest: text.slice(end + 1).trim() };
}

/** The index of the quote closing the one at `start`, or -1. */
function closingQuote(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  return -1;
}

/** One scalar or flow collection written on one line. */
function readScalar(text: string, line: number): unknown {
  const value = text.trim();
  if (value.startsWith('[') || value.startsWith('{')) {
    const flow = new FlowReader(value, line);
    const result = flow.value();
    flow.end();
    return result;
  }
  if (value.startsWith('"')) {
    if (closingQuote(value, 0) !== value.length - 1) throw new YamlReadError(line, `unterminated or trailing text after ${value}`);
    try {
      return JSON.parse(value) as string;
    } catch {
      throw new YamlReadError(line, `cannot read the quoted string ${value}`);
    }
  }
  if (value.startsWith("'")) {
    if (closingQuote(value, 0) !== value.length - 1) throw new YamlReadError(line, `unterminated or trailing text after ${value}`);
    return value.slice(1, -1).replace(/''/g, "'");
  }
  if (/^[&*!|>%@`]/.test(value)) throw new YamlReadError(line, `'${value[0]}' (anchors, aliases, tags, directives) is not supported here; quote the value`);
  if (value === '' || value === '~' || value === 'null' || value === 'Null' || value === 'NULL') return null;
  if (/^(true|True|TRUE)$/.test(value)) return true;
  if (/^(false|False|FALSE)$/.test(value)) return false;
  if (NUMBER.test(value)) return Number(value);
  return value;
}

/** Reads block structure line by line; indentation decides nesting. */
class BlockReader {
  private at = 0;

  constructor(private readonly lines: Line[]) {}

  document(): unknown {
    this.skipBlank();
    const first = this.lines[this.at];
    if (!first) return null;
    const value = this.block(first.indent);
    this.skipBlank();
    const extra = this.lines[this.at];
    if (extra) throw new YamlReadError(extra.number, extra.text === '---' ? 'only one document is read' : 'unexpected indentation or text');
    return value;
  }

  private skipBlank(): void {
    while (this.at < this.lines.length && this.lines[this.at]!.text === '') this.at++;
  }

  private peek(): Line | undefined {
    this.skipBlank();
    return this.lines[this.at];
  }

  /** The collection or scalar starting at the current line, at `indent`. */
  private block(indent: number): unknown {
    const line = this.peek()!;
    if (line.text === '-' || line.text.startsWith('- ')) return this.sequence(indent);
    if (splitKey(line.text, line.number)) return this.mapping(indent);
    this.at++;
    return readScalar(line.text, line.number);
  }

  private sequence(indent: number): unknown[] {
    const items: unknown[] = [];
    for (let line = this.peek(); line && line.indent === indent && (line.text === '-' || line.text.startsWith('- ')); line = this.peek()) {
      const content = line.text.slice(1).trimStart();
      if (content === '') {
        this.at++;
        const next = this.peek();
        items.push(next && next.indent > indent ? this.block(next.indent) : null);
        continue;
      }
      if (content.startsWith('- ') || content === '-' || splitKey(content, line.number)) {
        // `- key: value` / `- - item`: the item is a collection starting at the content's column.
        const column = line.raw.length - line.raw.slice(indent + 1).trimStart().length;
        this.lines[this.at] = { ...line, indent: column, text: content };
        items.push(this.block(column));
        continue;
      }
      items.push(this.value(content, line, indent));
    }
    return items;
  }

  private mapping(indent: number): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    for (let line = this.peek(); line && line.indent === indent && line.text !== '---'; line = this.peek()) {
      const entry = splitKey(line.text, line.number);
      if (!entry) throw new YamlReadError(line.number, `expected 'key: value' (got ${line.text})`);
      if (Object.hasOwn(result, entry.key)) throw new YamlReadError(line.number, `the key '${entry.key}' appears twice`);
      if (entry.rest === '') {
        this.at++;
        const next = this.peek();
        const nested = next && (next.indent > indent || (next.indent === indent && (next.text === '-' || next.text.startsWith('- '))));
        result[entry.key] = nested ? this.block(next.indent) : null;
        continue;
      }
      result[entry.key] = this.value(entry.rest, line, indent);
    }
    const stray = this.peek();
    if (stray && stray.indent > indent) throw new YamlReadError(stray.number, 'unexpected indentation (a multi-line plain value? quote it or use |)');
    return result;
  }

  /** The value after `key: ` or `- `, on the current line: a scalar, or a literal/folded block below it. */
  private value(text: string, line: Line, indent: number): unknown {
    this.at++;
    const block = /^([|>])([-+]?)$/.exec(text);
    if (!block) return readScalar(text, line.number);
    const body: string[] = [];
    let blockIndent: number | undefined;
    while (this.at < this.lines.length) {
      const next = this.lines[this.at]!;
      if (next.raw.trim() === '') {
        body.push('');
        this.at++;
        continue;
      }
      if (next.indent <= indent) break;
      blockIndent ??= next.indent;
      if (next.indent < blockIndent) break;
      body.push(next.raw.slice(blockIndent));
      this.at++;
    }
    while (body.length > 0 && body.at(-1) === '') body.pop();
    const joined = block[1] === '|' ? body.join('\n') : body.join('\n').replace(/([^\n])\n(?=[^\n])/g, '$1 ');
    if (block[2] === '-') return joined;
    return joined === '' ? '' : `${joined}\n`;
  }
}

/** Reads one flow collection: `[a, "b", {c: 1}]`. */
class FlowReader {
  private at = 0;

  constructor(
    private readonly text: string,
    private readonly line: number,
  ) {}

  value(): unknown {
    this.space();
    const c = this.text[this.at];
    if (c === '[') return this.list();
    if (c === '{') return this.map();
    return readScalar(this.plain(), this.line);
  }

  end(): void {
    this.space();
    if (this.at < this.text.length) throw new YamlReadError(this.line, `unexpected '${this.text.slice(this.at)}' after a flow collection`);
  }

  private space(): void {
    while (/\s/.test(this.text[this.at] ?? '')) this.at++;
  }

  private expect(c: string): void {
    this.space();
    if (this.text[this.at] !== c) throw new YamlReadError(this.line, `expected '${c}' in ${this.text}`);
    this.at++;
  }

  /** A scalar inside a flow collection: quoted, or plain up to `,`, `]`, `}` or `: `. */
  private plain(): string {
    this.space();
    const start = this.at;
    const c = this.text[this.at];
    if (c === '"' || c === "'") {
      const end = closingQuote(this.text, start);
      if (end < 0) throw new YamlReadError(this.line, `unterminated string in ${this.text}`);
      this.at = end + 1;
      return this.text.slice(start, end + 1);
    }
    while (this.at < this.text.length && !/[,\]}]/.test(this.text[this.at]!) && !(this.text[this.at] === ':' && /[\s,\]}]|^$/.test(this.text[this.at + 1] ?? ''))) this.at++;
    return this.text.slice(start, this.at).trim();
  }

  private list(): unknown[] {
    this.expect('[');
    const items: unknown[] = [];
    this.space();
    if (this.text[this.at] === ']') {
      this.at++;
      return items;
    }
    for (;;) {
      items.push(this.value());
      this.space();
      if (this.text[this.at] === ',') {
        this.at++;
        continue;
      }
      this.expect(']');
      return items;
    }
  }

  private map(): Record<string, unknown> {
    this.expect('{');
    const result: Record<string, unknown> = {};
    this.space();
    if (this.text[this.at] === '}') {
      this.at++;
      return result;
    }
    for (;;) {
      const key = String(readScalar(this.plain(), this.line));
      this.expect(':');
      result[key] = this.value();
      this.space();
      if (this.text[this.at] === ',') {
        this.at++;
        continue;
      }
      this.expect('}');
      return result;
    }
  }
}
