import { type Document, parse, parseDocument } from 'yaml';
import { type KubeconfigSection, checkKubeconfig, renderKubeconfig } from './kubeconfig-merge.js';
import { type Block, type KubeconfigLayout, type KubeconfigScope, SECTIONS, type Span, type TextSlices, scopedText, scopedTextOf, splitKubeconfig, trimmedEnd } from './kubeconfig-layout.js';
import { type PlacedEdit, relayout } from './kubeconfig-relayout.js';

/**
 * Editing a few named entries of a large kubeconfig without parsing and re-rendering all of it
 * (issue 16: a 1,000-context file took seconds to parse and write with the yaml Document API).
 * The file is cut into top-level blocks and, inside `clusters`/`users`/`contexts`, into items
 * by the layout scan; only the blocks and items in scope go through the yaml library. The result
 * is spliced back by offsets, so everything out of scope stays byte for byte, and it is checked
 * by parsing the scope again. Anything outside the plain block layout kubectl and we write
 * (anchors, tags, flow lists with items, tabs, CRLF, documents markers, quoted keys, odd names)
 * makes these functions answer undefined: the caller then takes the full Document path.
 */
export type { KubeconfigLayout, KubeconfigScope } from './kubeconfig-layout.js';
export { scopedText, splitKubeconfig } from './kubeconfig-layout.js';

/**
 * `text` with `mutate` applied to the entries in `scope` (and the top-level keys), the rest kept
 * line for line; undefined when the layout or the read-back check says no. `mutate` must edit
 * only the document it gets: on undefined the caller runs it again on the whole file.
 */
export function editInScope(text: string, scope: KubeconfigScope, mutate: (doc: Document) => void, source: string): string | undefined {
  return editInScopeByPieces(text, scope, mutate, source)?.text;
}

/**
 * The new file as `editInScope` makes it, and the pieces it is made of in order: spans of the
 * original text (kept as they were) and new text. A writer holding the original bytes writes the
 * spans from them instead of encoding all of the new text again (adapters/kubeconfig-file.ts).
 */
export interface SplicedKubeconfig {
  text: string;
  pieces: (Span | string)[];
}

export function editInScopeByPieces(text: string, scope: KubeconfigScope, mutate: (doc: Document) => void, source: string): SplicedKubeconfig | undefined {
  const layout = splitKubeconfig(text);
  if (!layout) return undefined;
  const scoped = scopedText(layout, scope);
  const read = (): Document => parseDocument(scoped, { prettyErrors: false, keepSourceTokens: false });
  const doc = read();
  checkKubeconfig(doc, source);
  const baseline = renderKubeconfig(read(), text);
  mutate(doc);
  return splice(layout, scope, baseline, renderKubeconfig(doc, text));
}

function reindent(lines: readonly string[], from: number, to: number): string[] | undefined {
  const shift = to - from;
  const out: string[] = [];
  for (const line of lines) {
    if (line.trim() === '' || shift === 0) out.push(line);
    else if (shift > 0) out.push(' '.repeat(shift) + line);
    else if (line.startsWith(' '.repeat(-shift))) out.push(line.slice(-shift));
    else return undefined;
  }
  return out;
}

interface Edit {
  /** offsets into the original text, at line starts */
  start: number;
  end: number;
  lines: string[];
  /** index of the original block it is in, and what it replaces there (core/kubeconfig-relayout.ts) */
  block: number;
  kind: PlacedEdit['kind'];
}

const textOf = (layout: KubeconfigLayout, span: Span): string => layout.text.slice(span.start, span.end).trimEnd();
/** A span's lines up to its trimmed end, without their newlines. */
function linesOf(layout: KubeconfigLayout, span: Span): string[] {
  const text = layout.text.slice(span.start, trimmedEnd(layout.text, span));
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

/**
 * The original text with what changed between `baseline` (the scoped text as the renderer writes
 * it, unedited) and `after` (the same, edited) spliced in; undefined when it can't be done safely.
 */
function splice(original: KubeconfigLayout, scope: KubeconfigScope, baseline: string, after: string): SplicedKubeconfig | undefined {
  const base = splitKubeconfig(baseline);
  const next = splitKubeconfig(after);
  if (!base || !next) return undefined;
  const edits: Edit[] = [];
  const eof = original.text.length;
  const added = new Map<KubeconfigSection, string[]>();
  for (const block of next.blocks) {
    const was = base.blocks.find((b) => b.key === block.key);
    const blockIndex = original.blocks.findIndex((b) => b.key === block.key);
    const mine = original.blocks[blockIndex];
    const unchanged = was !== undefined && textOf(base, was) === textOf(next, block);
    if (mine?.items) {
      // a section of the file in block form: item by item. The scoped text renders it inline
      // (`users: []`) when no item of it is in scope or all were removed.
      const nextItems = block.items ?? (/^\S+:\s*(\[\]|null)?\s*$/.test(next.text.slice(block.start, block.end)) ? [] : undefined);
      if (!nextItems) return undefined;
      const section = mine.key as KubeconfigSection;
      const indent = mine.indent ?? block.indent ?? 0;
      const baseItems = was?.items ?? [];
      for (const item of nextItems) {
        const before = baseItems.find((b) => b.name === item.name);
        if (before && textOf(base, before) === textOf(next, item)) continue;
        const lines = reindent(linesOf(next, item), block.indent ?? 0, indent);
        const target = mine.items.find((m) => m.name === item.name);
        if (!lines || (before !== undefined) !== (target !== undefined)) return undefined;
        if (target) edits.push({ start: target.start, end: trimmedEnd(original.text, target), lines, block: blockIndex, kind: 'item' });
        else {
          const at = trimmedEnd(original.text, mine.items[mine.items.length - 1] ?? mine);
          edits.push({ start: at, end: at, lines, block: blockIndex, kind: 'item' });
          added.set(section, [...(added.get(section) ?? []), item.name]);
        }
      }
      for (const before of baseItems) {
        if (nextItems.some((i) => i.name === before.name)) continue;
        const target = mine.items.find((m) => m.name === before.name);
        if (!target) return undefined;
        edits.push({ start: target.start, end: trimmedEnd(original.text, target), lines: [], block: blockIndex, kind: 'item' });
      }
      continue;
    }
    // any other top-level block (or a section the file writes inline, such as `users: []`): whole
    if (unchanged) continue;
    const lines = linesOf(next, block);
    if (block.items) added.set(block.key as KubeconfigSection, block.items.map((i) => i.name));
    if (mine) edits.push({ start: mine.start, end: trimmedEnd(original.text, mine), lines, block: blockIndex, kind: 'block' });
    else edits.push({ start: eof, end: eof, lines, block: original.blocks.length - 1, kind: 'append' });
  }
  for (const block of base.blocks) {
    if (next.blocks.some((b) => b.key === block.key)) continue;
    return undefined; // a top-level key went away: rare, and the full path handles it
  }
  const applied = applyEdits(original.text, edits);
  if (!applied) return undefined;
  // the new file's layout from the old one's, scanning only around the edits (the new file is
  // not joined for it); the whole file when that can't tell
  const text = new PiecedText(original.text, applied.pieces);
  const blocks = relayout(original, applied.placed, text) ?? splitKubeconfig(text.toString())?.blocks;
  if (!blocks || !verified(blocks, text, scope, added, after)) return undefined;
  return {
    get text() {
      return text.toString();
    },
    pieces: applied.pieces,
  };
}

/** The edits made, in offset order (inserts at one place keep theirs), as pieces; undefined if two overlap. */
function applyEdits(text: string, edits: readonly Edit[]): { placed: PlacedEdit[]; pieces: (Span | string)[] } | undefined {
  const ordered = edits.map((e, i) => ({ ...e, i })).sort((a, b) => a.start - b.start || a.end - b.end || a.i - b.i);
  const pieces: (Span | string)[] = [];
  const placed: PlacedEdit[] = [];
  let at = 0;
  /** whether what is written so far ends a line (or is nothing) */
  let lineEnded = true;
  for (const edit of ordered) {
    if (edit.start < at) return undefined;
    if (edit.start > at) {
      pieces.push({ start: at, end: edit.start });
      lineEnded = text.charCodeAt(edit.start - 1) === 10;
    }
    // an insert after a last line without its newline starts on a line of its own
    let added = lineEnded ? '' : '\n';
    for (const line of edit.lines) added += `${line}\n`;
    if (added !== '') {
      pieces.push(added);
      lineEnded = true;
    }
    placed.push({ start: edit.start, end: edit.end, length: added.length, block: edit.block, kind: edit.kind });
    at = edit.end;
  }
  if (text.length > at) pieces.push({ start: at, end: text.length });
  return { placed, pieces };
}

/**
 * The spliced file as pieces of the original text and new text, read by slices; joined only when
 * asked for whole (2 MB joined cost ~1.5 ms, and a writer with the original bytes never asks).
 */
export class PiecedText implements TextSlices {
  readonly length: number;
  /** where each piece starts in the new text */
  private readonly starts: number[] = [];
  private joined: string | undefined;

  constructor(
    private readonly source: string,
    private readonly pieces: readonly (Span | string)[],
  ) {
    let length = 0;
    for (const piece of pieces) {
      this.starts.push(length);
      length += typeof piece === 'string' ? piece.length : piece.end - piece.start;
    }
    this.length = length;
  }

  slice(start: number, end: number): string {
    if (this.joined !== undefined) return this.joined.slice(start, end);
    let out = '';
    for (let i = 0; i < this.pieces.length; i++) {
      const piece = this.pieces[i] as Span | string;
      const pieceStart = this.starts[i] as number;
      if (pieceStart >= end) break;
      const pieceEnd = pieceStart + (typeof piece === 'string' ? piece.length : piece.end - piece.start);
      if (pieceEnd <= start) continue;
      const from = Math.max(start, pieceStart) - pieceStart;
      const to = Math.min(end, pieceEnd) - pieceStart;
      out += typeof piece === 'string' ? piece.slice(from, to) : this.source.slice(piece.start + from, piece.start + to);
    }
    return out;
  }

  toString(): string {
    this.joined ??= this.pieces.map((p) => (typeof p === 'string' ? p : this.source.slice(p.start, p.end))).join('');
    return this.joined;
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** The spliced file, read back in the same scope (plus what was added), says what `after` says. */
function verified(blocks: readonly Block[], text: TextSlices, scope: KubeconfigScope, added: ReadonlyMap<KubeconfigSection, string[]>, after: string): boolean {
  const wider: KubeconfigScope = {};
  for (const section of SECTIONS) wider[section] = [...(scope[section] ?? []), ...(added.get(section) ?? [])];
  const normal = (text: string): string => {
    const doc: unknown = parse(text);
    if (doc && typeof doc === 'object') for (const section of SECTIONS) (doc as Record<string, unknown>)[section] ??= [];
    return canonical(doc);
  };
  const readBack = scopedTextOf(blocks, text, wider);
  // the same text reads the same (the usual case for a file we wrote): no second parse
  if (readBack === after) return true;
  try {
    return normal(readBack) === normal(after);
  } catch {
    return false;
  }
}
