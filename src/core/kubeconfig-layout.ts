import type { KubeconfigSection } from './kubeconfig-merge.js';

/**
 * The line layout of a kubeconfig in the plain block layout kubectl and we write: top-level
 * blocks and, inside `clusters`/`users`/`contexts`, one span per named item, found by a line scan
 * without the yaml library (issue 16: a 1,000-context file is ~2 MB and ~35,000 lines). Readers
 * parse only the items they need (`scopedText`), the writer edits only those
 * (core/kubeconfig-splice.ts). Anything outside the plain layout (anchors, aliases, tags outside
 * block scalars, tabs, CRLF, document markers, quoted keys, odd or duplicate names, a block
 * scalar with keep chomping or a `#` line inside) makes `splitKubeconfig` answer undefined and
 * the caller parses the whole file.
 */
export type KubeconfigScope = Partial<Record<KubeconfigSection, readonly string[]>>;

export const SECTIONS: readonly KubeconfigSection[] = ['clusters', 'users', 'contexts'];

export interface Span {
  start: number;
  /** exclusive */
  end: number;
}
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
  lines: string[];
  blocks: Block[];
}

const TOP_KEY = /^([A-Za-z0-9_./-]+):(?:[^\S\n]+(.*))?$/;
/** anchors, aliases and tags (after a space, a flow opener or a comma), tabs, CRs */
const RISKY = /(?:^|[\s[{,])[&*!]\S|\t|\r/;
const DOCUMENT_MARKER = /^(?:---|\.\.\.|%)/m;
const PLAIN_NAME = /^[A-Za-z_/][^#'"]*$/;
/** `key: |`, `key: >-`, `- |2` …: a block scalar header; group 1 is its indicators */
const BLOCK_SCALAR = /(?:^|:|-)[^\S\n]+[|>]([-+0-9]*)[^\S\n]*$/;

function nameValue(raw: string): string | undefined {
  const text = raw.trim();
  const quoted = /^"([^"\\]*)"$/.exec(text) ?? /^'([^']*)'$/.exec(text);
  if (quoted) return quoted[1];
  if (!PLAIN_NAME.test(text) || /:\s|\s$/.test(text) || /^(null|true|false|yes|no|on|off|y|n)$/i.test(text)) return undefined;
  return text;
}

function indentOf(line: string): number {
  let n = 0;
  while (line.charCodeAt(n) === 32) n += 1;
  return n;
}

/** The column a block scalar's content must be deeper than: its key's, after any `- `. */
function keyColumn(line: string, indent: number): number {
  let column = indent;
  while (line.startsWith('- ', column)) column = indentOf(line.slice(column + 2)) + column + 2;
  return column;
}

let memo: { text: string; layout: KubeconfigLayout | undefined } | undefined;

/** The line layout of a kubeconfig, or undefined when it is not the plain block layout. */
export function splitKubeconfig(text: string): KubeconfigLayout | undefined {
  // login reads the same file before the sign-in and again under the lock: one scan when unchanged
  if (memo?.text === text) return memo.layout;
  const layout = DOCUMENT_MARKER.test(text) ? undefined : scan(text);
  memo = { text, layout };
  return layout;
}

function scan(text: string): KubeconfigLayout | undefined {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let scalarColumn = -1; // inside a block scalar's content: lines deeper than this (or blank)
  // where the next character RISKY looks for is: lines before it need no regex (base64 lines are long)
  const riskyChar = /[&*!\t\r]/g;
  let nextRisky = riskyChar.exec(text)?.index ?? Infinity;
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    offset += line.length + 1;
    let risky = false;
    if (nextRisky < offset) {
      risky = true;
      riskyChar.lastIndex = offset;
      nextRisky = riskyChar.exec(text)?.index ?? Infinity;
    }
    const indent = indentOf(line);
    const blank = indent === line.length;
    if (scalarColumn >= 0 && (blank || indent > scalarColumn)) {
      // text, not YAML structure: `&&` in an installHint is no anchor; a `#` line would look like a comment below
      if (line.charCodeAt(indent) === 35 || (risky && /[\t\r]/.test(line))) return undefined;
      const current = blocks[blocks.length - 1] as Block;
      current.end = i + 1;
      const item = current.items?.[current.items.length - 1];
      if (item && !blank) item.end = i + 1;
      continue;
    }
    scalarColumn = -1;
    if (risky && RISKY.test(line)) return undefined;
    const lastChar = line.charCodeAt(line.length - 1);
    // only lines ending in an indicator can be a header: the anchored regex is slow on long lines
    const header = lastChar === 124 || lastChar === 62 || lastChar === 45 || lastChar === 43 || (lastChar >= 48 && lastChar <= 57) ? BLOCK_SCALAR.exec(line) : null;
    if (header) {
      if ((header[1] as string).includes('+')) return undefined; // keep chomping: trailing blank lines are content
      scalarColumn = keyColumn(line, indent);
    }
    const current = blocks[blocks.length - 1];
    if (blank || indent > 0 || line.charCodeAt(0) === 35 || line.startsWith('- ')) {
      const comment = line.charCodeAt(indent) === 35;
      if (!current) {
        if (blank || comment) continue; // leading comments stay where they are
        return undefined;
      }
      current.end = i + 1;
      if (current.items === undefined || blank || comment) continue;
      if (line.startsWith('- ', indent) && (current.indent === undefined || indent === current.indent)) {
        current.indent = indent;
        const last = current.items[current.items.length - 1];
        if (last) last.end = i;
        current.items.push({ name: '', start: i, end: i + 1 });
      } else if (current.indent === undefined || indent <= current.indent) return undefined;
      const item = current.items[current.items.length - 1];
      if (item) item.end = i + 1;
      continue;
    }
    const match = TOP_KEY.exec(line);
    if (!match) return undefined;
    const key = match[1] as string;
    if (blocks.some((b) => b.key === key)) return undefined;
    const rest = (match[2] ?? '').trim();
    const block: Block = { key, start: i, end: i + 1 };
    if ((SECTIONS as readonly string[]).includes(key) && (rest === '' || rest.startsWith('#'))) block.items = [];
    blocks.push(block);
  }
  for (const block of blocks) {
    if (!block.items) continue;
    const seen = new Set<string>();
    for (const item of block.items) {
      const name = itemName(lines, item, (block.indent ?? 0) + 2);
      if (name === undefined || seen.has(name)) return undefined;
      seen.add(name);
      item.name = name;
    }
  }
  return { lines, blocks };
}

function itemName(lines: readonly string[], item: Item, contentIndent: number): string | undefined {
  const first = (lines[item.start] as string).slice(contentIndent);
  if (first.startsWith(' ')) return undefined; // `-   name:` keeps its own indent: not our layout
  for (let i = item.start; i < item.end; i++) {
    const line = lines[i] as string;
    const text = i === item.start ? first : indentOf(line) === contentIndent ? line.slice(contentIndent) : undefined;
    if (text?.startsWith('name:')) return nameValue(text.slice('name:'.length));
  }
  return undefined;
}

/** The small document the scope needs: every block but the sections' items out of scope. */
export function scopedText(layout: KubeconfigLayout, scope: KubeconfigScope): string {
  const out: string[] = [];
  for (const block of layout.blocks) {
    if (!block.items) {
      out.push(...layout.lines.slice(block.start, block.end));
      continue;
    }
    const wanted = new Set(scope[block.key as KubeconfigSection] ?? []);
    const firstItem = block.items[0]?.start ?? block.end;
    out.push(...layout.lines.slice(block.start, firstItem));
    for (const item of block.items) if (wanted.has(item.name)) out.push(...layout.lines.slice(item.start, item.end));
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
