import type { KubeconfigSection } from './kubeconfig-merge.js';
import { BLANK_OR_COMMENT, lineAt, lineEnd, lineStart } from './text-lines.js';

/**
 * The layout of a kubeconfig in the plain block layout kubectl and we write: top-level blocks
 * and, inside `clusters`/`users`/`contexts`, one span per named item, found without the yaml
 * library (issue 16: a 1,000-context file is ~2 MB and ~24,000 lines). Readers parse only the
 * items they need (`scopedText`), the writer edits only those (core/kubeconfig-splice.ts).
 * Anything outside the plain layout (anchors, aliases, tags outside block scalars, tabs, CRLF,
 * document markers, quoted keys, odd or duplicate names, a block scalar with keep chomping or a
 * `#` line inside) makes `splitKubeconfig` answer undefined and the caller parses the whole file.
 *
 * Spans are character offsets, and the scan visits only the lines that can be structure: those
 * at column 0 (top-level keys, kubectl's `- ` items, comments), the lines of an indented list's
 * item column, block scalar headers (found by their `|`/`>`) and the lines holding `&`, `*` or
 * `!`. A line-by-line loop over 24,000 lines cost 18–26 ms in a fresh process; `indexOf` and
 * regular expressions run over the text natively.
 */
export type KubeconfigScope = Partial<Record<KubeconfigSection, readonly string[]>>;

export const SECTIONS: readonly KubeconfigSection[] = ['clusters', 'users', 'contexts'];

/** Offsets into the text: `start` at a line's first character, `end` (exclusive) past the last line's newline. */
export interface Span {
  start: number;
  end: number;
}
/** An item runs to the next one (or its block's end): blank lines and comments after it included. */
export interface Item extends Span {
  name: string;
}
export interface Block extends Span {
  key: string;
  /** items of a section written as a block list (`users:` alone on its line); else undefined */
  items?: Item[];
  /** column of the items' `- ` */
  indent?: number;
}
export interface KubeconfigLayout {
  text: string;
  blocks: Block[];
}

const TOP_KEY = /^([A-Za-z0-9_./-]+):(?:[^\S\n]+(.*))?$/;
/** anchors, aliases and tags (after a space, a flow opener or a comma) */
const RISKY = /(?:^|[\s[{,])[&*!]\S/;
const PLAIN_NAME = /^[A-Za-z_/][^#'"]*$/;
/** `key: |`, `key: >- # why`, `- |2` …: a block scalar header; group 1 is its indicators */
const BLOCK_SCALAR = /(?:^|:|-)[^\S\n]+[|>]([-+0-9]*)(?:[^\S\n]+#.*)?[^\S\n]*$/;

function indentOf(line: string): number {
  let n = 0;
  while (line.charCodeAt(n) === 32) n += 1;
  return n;
}

/** Blank (spaces only) or a comment, at any indent. */
function isBlankOrComment(line: string): boolean {
  const indent = indentOf(line);
  return indent === line.length || line.charCodeAt(indent) === 35;
}

/** The column a block scalar's content must be deeper than: its key's, after any `- `. */
function keyColumn(line: string, indent: number): number {
  let column = indent;
  while (line.startsWith('- ', column)) column = indentOf(line.slice(column + 2)) + column + 2;
  return column;
}

/** The usual name (`jane@example.com@prod`, `cluster-0001`): one test instead of nameValue's four */
const SIMPLE_NAME = /^ ?[A-Za-z_/][\w@./-]*$/;
const RESERVED = /^(null|true|false|yes|no|on|off|y|n)$/i;

function nameValue(raw: string): string | undefined {
  if (SIMPLE_NAME.test(raw)) {
    const name = raw.charCodeAt(0) === 32 ? raw.slice(1) : raw;
    return name.length <= 5 && RESERVED.test(name) ? undefined : name;
  }
  const text = raw.trim();
  const quoted = /^"([^"\\]*)"$/.exec(text) ?? /^'([^']*)'$/.exec(text);
  if (quoted) return quoted[1];
  if (!PLAIN_NAME.test(text) || /:\s|\s$/.test(text) || RESERVED.test(text)) return undefined;
  return text;
}

/** Every offset of any of `chars`, ascending. */
function offsetsOf(text: string, chars: string): number[] {
  const out: number[] = [];
  for (const char of chars) for (let at = text.indexOf(char); at >= 0; at = text.indexOf(char, at + 1)) out.push(at);
  return out.sort((a, b) => a - b);
}

/**
 * The content of every block scalar as sorted [start, end) ranges of whole lines (text, not YAML
 * structure), or undefined for one we do not take: keep chomping (its trailing blank lines are
 * content) or a `#` line (it would look like a comment to the splice).
 */
function blockScalarContents(text: string): Span[] | undefined {
  const contents: Span[] = [];
  let contentEnd = 0;
  let lastLine = -1;
  for (const at of offsetsOf(text, '|>')) {
    if (at < contentEnd) continue;
    const start = lineStart(text, at);
    if (start === lastLine) continue;
    lastLine = start;
    const line = lineAt(text, start);
    const header = line.charCodeAt(indentOf(line)) === 35 ? null : BLOCK_SCALAR.exec(line); // not in a comment
    if (!header) continue;
    if ((header[1] as string).includes('+')) return undefined;
    const column = keyColumn(line, indentOf(line));
    const first = lineEnd(text, start);
    let end = first;
    while (end < text.length) {
      const next = lineAt(text, end);
      const indent = indentOf(next);
      if (indent < next.length && indent <= column) break;
      if (next.charCodeAt(indent) === 35) return undefined;
      end = lineEnd(text, end);
    }
    if (end > first) contents.push({ start: first, end });
    contentEnd = end;
  }
  return contents;
}

const inside = (spans: readonly Span[], at: number): boolean => {
  let lo = 0;
  let hi = spans.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const span = spans[mid] as Span;
    if (at < span.start) hi = mid - 1;
    else if (at >= span.end) lo = mid + 1;
    else return true;
  }
  return false;
};

let memo: { text: string; layout: KubeconfigLayout | undefined } | undefined;

/** The layout of a kubeconfig, or undefined when it is not the plain block layout. */
export function splitKubeconfig(text: string): KubeconfigLayout | undefined {
  // login reads the same file before the sign-in and again under the lock: one scan when unchanged
  if (memo?.text === text) return memo.layout;
  const layout = scanKubeconfig(text);
  memo = { text, layout };
  return layout;
}

/** `splitKubeconfig` without its one-entry memo (core/kubeconfig-relayout.ts scans fragments with it). */
export function scanKubeconfig(text: string): KubeconfigLayout | undefined {
  if (text.includes('\t') || text.includes('\r')) return undefined;
  const contents = blockScalarContents(text);
  if (!contents) return undefined;
  // `&&` in an installHint's block scalar is text; outside one, `&`, `*` and `!` may be YAML
  let lastLine = -1;
  for (const at of offsetsOf(text, '&*!')) {
    const start = lineStart(text, at);
    if (start === lastLine || inside(contents, at)) continue;
    lastLine = start;
    if (RISKY.test(lineAt(text, start))) return undefined;
  }
  const blocks: Block[] = [];
  /** per block, its lines at column 0 that start with `- ` (kubectl's items) */
  const dashes: number[][] = [];
  // lines at column 0 (never block scalar content, whose lines are deeper than their key)
  const column0 = /\n(?=[^ \n])/g;
  for (let at = text.length > 0 && text.charCodeAt(0) !== 32 && text.charCodeAt(0) !== 10 ? 0 : nextColumn0(column0, text); at >= 0; at = nextColumn0(column0, text)) {
    const first = text.charCodeAt(at);
    if (first === 35) continue; // comments belong to no item
    if (first === 45 && text.charCodeAt(at + 1) === 32) {
      const mine = dashes[dashes.length - 1];
      if (!mine) return undefined;
      mine.push(at); // kubectl's items, or a list in another block
      continue;
    }
    const line = lineAt(text, at);
    if (line.startsWith('---') || line.startsWith('...') || line.startsWith('%')) return undefined; // another document
    const match = TOP_KEY.exec(line);
    if (!match) return undefined;
    const key = match[1] as string;
    if (blocks.some((b) => b.key === key)) return undefined;
    const current = blocks[blocks.length - 1];
    if (current) current.end = at;
    const rest = (match[2] ?? '').trim();
    const block: Block = { key, start: at, end: text.length };
    if ((SECTIONS as readonly string[]).includes(key) && (rest === '' || rest.startsWith('#'))) block.items = [];
    blocks.push(block);
    dashes.push([]);
  }
  // before the first key: only blank lines and comments
  for (let at = 0; at < (blocks[0]?.start ?? text.length); at = lineEnd(text, at)) if (!isBlankOrComment(lineAt(text, at))) return undefined;
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i] as Block;
    if (block.items && !splitItems(text, block, dashes[i] as number[], contents)) return undefined;
  }
  return { text, blocks };
}

function nextColumn0(pattern: RegExp, text: string): number {
  const match = pattern.exec(text);
  return match ? match.index + 1 : -1;
}

/** The items of a section block (`dashes`: its `- ` lines at column 0): false when it is not a plain block list. */
function splitItems(text: string, block: Block, dashes: number[], contents: readonly Span[]): boolean {
  const items = block.items as Item[];
  // the first line that is not blank or a comment is the first item: its `- ` column is the list's
  let first = lineEnd(text, block.start);
  while (first < block.end && isBlankOrComment(lineAt(text, first))) first = lineEnd(text, first);
  if (first >= block.end) return true;
  const firstLine = lineAt(text, first);
  const indent = indentOf(firstLine);
  if (!firstLine.startsWith('- ', indent)) return false;
  block.indent = indent;
  // kubectl's list: the column-0 `- ` lines (the block's other column-0 lines are comments)
  let starts = dashes;
  if (indent > 0) {
    if (dashes.length > 0) return false; // a `- ` left of the list's column
    starts = [];
    const prefix = `\n${' '.repeat(indent)}- `;
    for (let at = text.indexOf(prefix, first - 1); at >= 0 && at < block.end; at = text.indexOf(prefix, at + 1)) starts.push(at + 1);
    // any other line at the list's column or left of it, but a comment, is not our layout
    const stray = new RegExp(`\\n(?:${indent > 1 ? ` {1,${indent - 1}}(?=[^ \\n#])|` : ''} {${indent}}(?=[^ \\n#-]|-(?! )))`, 'g');
    const section = text.slice(first - 1, block.end);
    for (let match = stray.exec(section); match; match = stray.exec(section)) if (!inside(contents, first + match.index)) return false;
  }
  const seen = new Set<string>();
  const nameKey = `\n${' '.repeat(indent + 2)}name:`;
  for (let i = 0; i < starts.length; i++) {
    const start = starts[i] as number;
    // up to the next item: trailing blank lines and comments included (the splice trims them, `trimmedEnd`)
    const end = starts[i + 1] ?? block.end;
    const name = itemName(text, start, end, nameKey);
    if (name === undefined || seen.has(name)) return false;
    seen.add(name);
    items.push({ name, start, end });
  }
  return true;
}

/** The end of a span without its trailing blank lines and comments (they belong to what follows); keeps its first line. */
export function trimmedEnd(text: string, span: Span): number {
  let end = span.end;
  while (end > span.start) {
    const last = lineStart(text, text.charCodeAt(end - 1) === 10 ? end - 1 : end);
    if (last <= span.start) break;
    let at = last;
    while (text.charCodeAt(at) === 32) at += 1;
    // most lines start with a printable character after their indent: that says it, with no slice
    const first = at < end ? text.charCodeAt(at) : 10;
    const blankOrComment = first === 10 || first === 35 || (!(first > 32 && first < 127) && BLANK_OR_COMMENT.test(lineAt(text, last)));
    if (!blankOrComment) break;
    end = last;
  }
  return end;
}

/** The name of the item at [start, end); `nameKey` is a newline, the content column's spaces and `name:`. */
function itemName(text: string, start: number, end: number, nameKey: string): string | undefined {
  const contentIndent = nameKey.length - 'name:'.length - 1;
  const column = start + contentIndent;
  if (text.charCodeAt(column) === 32) return undefined; // `-   name:` keeps its own indent: not our layout
  // the item's own keys sit at the content column; deeper lines (and block scalar content) never do
  let at = text.startsWith('name:', column) ? column : -1;
  if (at < 0) {
    const key = text.indexOf(nameKey, start);
    if (key < 0 || key + 1 >= end) return undefined;
    at = key + 1 + contentIndent;
  }
  const lineEnd = text.indexOf('\n', at);
  return nameValue(text.slice(at + 'name:'.length, lineEnd < 0 || lineEnd > end ? end : lineEnd));
}

/** A text, or what stands for one: a string, or the pieces of a spliced file (core/kubeconfig-splice.ts). */
export interface TextSlices {
  readonly length: number;
  slice(start: number, end: number): string;
}

/** The small document the scope needs: every block but the sections' items out of scope. */
export function scopedText(layout: KubeconfigLayout, scope: KubeconfigScope): string {
  return scopedTextOf(layout.blocks, layout.text, scope);
}

/** `scopedText` over blocks of `text`, which may be the pieces of a file not joined yet. */
export function scopedTextOf(blocks: readonly Block[], text: TextSlices, scope: KubeconfigScope): string {
  let out = '';
  for (const block of blocks) {
    if (!block.items) {
      out += withNewline(text.slice(block.start, block.end));
      continue;
    }
    const names = scope[block.key as KubeconfigSection] ?? [];
    out += withNewline(text.slice(block.start, block.items[0]?.start ?? block.end));
    if (names.length === 0) continue;
    // a scope names a few items of a thousand: comparisons, not a Set's hashing of every name
    const wanted: { has(name: string): boolean } = names.length > 8 ? new Set(names) : { has: (name) => names.includes(name) };
    for (const item of block.items) if (wanted.has(item.name)) out += withNewline(text.slice(item.start, item.end));
  }
  let end = out.length;
  while (end > 0 && out.charCodeAt(end - 1) === 10) end -= 1;
  return `${out.slice(0, end)}\n`;
}

const withNewline = (text: string): string => (text === '' || text.endsWith('\n') ? text : `${text}\n`);
