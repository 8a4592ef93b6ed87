/**
 * A reader for the plain block YAML that kubectl and the yaml library write for kubeconfigs
 * (mappings, sequences, one-line scalars), so reading a kubeconfig on a hot path does not load
 * the full yaml library (~20 ms of a ~60 ms node start). It is deliberately narrow: anything
 * outside that subset (anchors, tags, folded or indicator-carrying block scalars, multi-line
 * plain scalars, flow collections, comments after values, escapes, numbers, duplicate keys)
 * answers `undefined` and the caller parses with the yaml library, so an accepted document
 * always means what the yaml library says. Literal block scalars (`key: |` and `key: |-`, as
 * the yaml library writes multi-line strings such as an exec plugin's installHint) are read.
 * JSON, also valid YAML, goes to JSON.parse.
 */
export type YamlValue = string | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  /** The content of a literal block scalar (`key: |` or `key: |-`) that follows this line. */
  block?: string;
}

class Unsupported extends Error {}

const KEY = /^([A-Za-z0-9_][A-Za-z0-9_.\/-]*)\s*:(?:\s+(.*))?$/;
const SEQUENCE_ITEM = /^-(?:\s+(.*))?$/;
const BOOLEAN = /^(?:true|True|TRUE|false|False|FALSE)$/;
const NULL = /^(?:null|Null|NULL|~)$/;
/**
 * Plain scalars the core schema might read as numbers: a digit (after an optional sign or dot)
 * and nothing but number characters, or .inf/.nan. Wider than the schema on purpose (`12ab`
 * goes to the yaml library too); a token like `6l5Qx…` is a string.
 */
const NUMBER_LIKE = /^[-+]?\.?[0-9][0-9a-fA-FxXoO.+\-_]*$|^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$/;
/** `key: |` or `key: |-` (also after a sequence dash): a literal block scalar follows. */
const LITERAL_BLOCK = /^(?:-\s+)?[A-Za-z0-9_][A-Za-z0-9_.\/-]*\s*:\s+\|(-?)$/;
/** Characters that may not start a plain scalar, or that need more care than this reader takes. */
const UNSAFE_START = /^(?:[?:,[\]{}#&*!|>'"%@`]|-(?:\s|$))/;

/**
 * Whitespace the yaml library does not treat as whitespace (or treats its own way), where this
 * reader's `\s` would: a lone CR, NEL, no-break and other Unicode spaces, line/paragraph
 * separators, BOM, vertical tab and form feed. Found by the fuzzer (test/fuzz): `key\u2028: x`
 * was read as key `key`, the yaml library says `key\u2028`. Such a text goes to the yaml library.
 */
// eslint-disable-next-line no-control-regex
const FOREIGN_WHITESPACE = /\r(?!\n)|[\u000b\u000c\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

export function parseSimpleYaml(text: string): YamlValue | undefined {
  if (FOREIGN_WHITESPACE.test(text)) return undefined;
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(text) as YamlValue;
    } catch {
      return undefined;
    }
  }
  try {
    const lines = toLines(text);
    if (lines.length === 0) return null;
    const state = { lines, at: 0 };
    const first = lines[0] as Line;
    if (first.indent !== 0) throw new Unsupported();
    const value = parseBlock(state, 0);
    if (state.at !== lines.length) throw new Unsupported();
    return value;
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

function toLines(text: string): Line[] {
  const out: Line[] = [];
  const raw = text.split(/\r?\n/);
  for (let index = 0; index < raw.length; index++) {
    const line = raw[index] as string;
    if (/^\s*(#.*)?$/.test(line)) {
      // a tab in the indentation of a blank line is an error to the yaml library (fuzzer: `a: \n\t`)
      if (/^ *\t/.test(line)) throw new Unsupported();
      continue; // blank or comment-only
    }
    if (index === 0 && line === '---') continue;
    if (/^(---|\.\.\.)(\s|$)/.test(line) || line.includes('\t') || line.startsWith('%')) throw new Unsupported();
    const indent = line.length - line.trimStart().length;
    const entry: Line = { indent, text: line.slice(indent).trimEnd() };
    const literal = LITERAL_BLOCK.exec(entry.text);
    if (literal) {
      const block = readLiteralBlock(raw, index + 1, indent, literal[1] === '-');
      entry.block = block.value;
      entry.text = entry.text.replace(/\|-?$/, '|');
      index = block.next - 1;
    }
    out.push(entry);
  }
  return out;
}

/**
 * The lines of a literal block scalar after raw[start]: blank lines, and lines indented deeper
 * than the key (by the first content line's indentation, which every line must keep). Clip
 * chomping (`|`) keeps one final newline, strip (`|-`) none.
 */
function readLiteralBlock(raw: string[], start: number, keyIndent: number, strip: boolean): { value: string; next: number } {
  let at = start;
  let contentIndent: number | undefined;
  const lines: string[] = [];
  for (; at < raw.length; at++) {
    const line = raw[at] as string;
    if (line.trim() === '') {
      // a line of spaces keeps those beyond the block's indentation in YAML, and its handling
      // at the end of a block differs: not ours (found by the fuzzer)
      if (line !== '') throw new Unsupported();
      lines.push('');
      continue;
    }
    const indent = line.length - line.trimStart().length;
    if (indent <= keyIndent) break;
    contentIndent ??= indent;
    if (indent < contentIndent || line.includes('\t')) throw new Unsupported();
    lines.push(line.slice(contentIndent));
  }
  // leading blank lines (their indentation decides the block's in YAML) or an empty block: not ours
  if (contentIndent === undefined || lines[0] === '') throw new Unsupported();
  // trailing blank lines are not content under strip or clip chomping
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return { value: lines.join('\n') + (strip ? '' : '\n'), next: at };
}

interface State {
  lines: Line[];
  at: number;
}

function parseBlock(state: State, indent: number): YamlValue {
  const line = state.lines[state.at] as Line;
  return SEQUENCE_ITEM.test(line.text) ? parseSequence(state, indent) : parseMapping(state, indent);
}

function parseMapping(state: State, indent: number): { [key: string]: YamlValue } {
  const out: { [key: string]: YamlValue } = {};
  while (state.at < state.lines.length) {
    const line = state.lines[state.at] as Line;
    if (line.indent < indent) break;
    if (line.indent > indent || SEQUENCE_ITEM.test(line.text)) throw new Unsupported();
    const match = KEY.exec(line.text);
    if (!match) throw new Unsupported();
    const key = match[1] as string;
    if (Object.prototype.hasOwnProperty.call(out, key) || key === '__proto__') throw new Unsupported();
    state.at += 1;
    out[key] = line.block !== undefined ? line.block : match[2] === undefined ? nested(state, indent) : scalar(match[2]);
  }
  return out;
}

/** The value of a key with nothing after its colon: a deeper block, a same-indent sequence, or null. */
function nested(state: State, indent: number): YamlValue {
  const next = state.lines[state.at];
  if (!next) return null;
  if (next.indent > indent) return parseBlock(state, next.indent);
  if (next.indent === indent && SEQUENCE_ITEM.test(next.text)) return parseSequence(state, indent);
  return null;
}

function parseSequence(state: State, indent: number): YamlValue[] {
  const out: YamlValue[] = [];
  while (state.at < state.lines.length) {
    const line = state.lines[state.at] as Line;
    if (line.indent < indent) break;
    const match = line.indent === indent ? SEQUENCE_ITEM.exec(line.text) : null;
    if (!match) {
      // a mapping key at the parent's indent ends a compact sequence; anything else is odd
      if (line.indent === indent && KEY.test(line.text)) break;
      throw new Unsupported();
    }
    const rest = match[1];
    if (rest === undefined) {
      state.at += 1;
      const next = state.lines[state.at];
      out.push(next && next.indent > indent ? parseBlock(state, next.indent) : null);
      continue;
    }
    if (KEY.test(rest)) {
      // "- key: value": a mapping whose first key sits after the dash
      const column = indent + line.text.length - rest.length;
      state.lines[state.at] = { ...line, indent: column, text: rest };
      out.push(parseMapping(state, column));
      continue;
    }
    if (SEQUENCE_ITEM.test(rest)) throw new Unsupported();
    state.at += 1;
    out.push(scalar(rest));
  }
  return out;
}

function scalar(text: string): YamlValue {
  if (text === '[]') return [];
  if (text === '{}') return {};
  if (text.startsWith("'")) {
    const match = /^'((?:[^']|'')*)'$/.exec(text);
    if (!match) throw new Unsupported();
    return (match[1] as string).replace(/''/g, "'");
  }
  if (text.startsWith('"')) {
    const match = /^"([^"\\]*)"$/.exec(text);
    if (!match) throw new Unsupported();
    return match[1] as string;
  }
  if (UNSAFE_START.test(text) || text.includes(': ') || text.includes(' #') || text.endsWith(':')) throw new Unsupported();
  if (BOOLEAN.test(text)) return text.toLowerCase() === 'true';
  if (NULL.test(text)) return null;
  if (NUMBER_LIKE.test(text)) throw new Unsupported();
  return text;
}
