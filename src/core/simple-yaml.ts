/**
 * A reader for the plain block YAML that kubectl and the yaml library write for kubeconfigs
 * (mappings, sequences, one-line scalars), so reading a kubeconfig on a hot path does not load
 * the full yaml library (~20 ms of a ~60 ms node start). It is deliberately narrow: anything
 * outside that subset (anchors, tags, block or multi-line scalars, flow collections, comments
 * after values, escapes, numbers, duplicate keys) answers `undefined` and the caller parses
 * with the yaml library, so an accepted document always means what the yaml library says.
 * JSON, also valid YAML, goes to JSON.parse.
 */
export type YamlValue = string | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
}

class Unsupported extends Error {}

const KEY = /^([A-Za-z0-9_][A-Za-z0-9_.\/-]*)\s*:(?:\s+(.*))?$/;
const SEQUENCE_ITEM = /^-(?:\s+(.*))?$/;
const BOOLEAN = /^(?:true|True|TRUE|false|False|FALSE)$/;
const NULL = /^(?:null|Null|NULL|~)$/;
/** Plain scalars the core schema would read as numbers (or that are close enough to doubt). */
const NUMBER_LIKE = /^[-+]?\.?[0-9]|^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$/;
/** Characters that may not start a plain scalar, or that need more care than this reader takes. */
const UNSAFE_START = /^(?:[?:,[\]{}#&*!|>'"%@`]|-(?:\s|$))/;

export function parseSimpleYaml(text: string): YamlValue | undefined {
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
  raw.forEach((line, index) => {
    if (/^\s*(#.*)?$/.test(line)) return; // blank or comment-only
    if (index === 0 && line === '---') return;
    if (/^(---|\.\.\.)(\s|$)/.test(line) || line.includes('\t') || line.startsWith('%')) throw new Unsupported();
    const indent = line.length - line.trimStart().length;
    out.push({ indent, text: line.slice(indent).trimEnd() });
  });
  return out;
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
    out[key] = match[2] === undefined ? nested(state, indent) : scalar(match[2]);
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
      state.lines[state.at] = { indent: column, text: rest };
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
