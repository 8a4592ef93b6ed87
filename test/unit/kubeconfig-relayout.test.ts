// The layout of a spliced file from the old layout and a scan around the edits
// (core/kubeconfig-relayout.ts) against a scan of the whole new file, on generated files and
// random edits: replaced, removed and added items, rewritten top-level blocks, and edits that
// break the layout (a tab, an anchor, a line at column 0, a duplicate name, a moved list column, a
// block scalar that would take the next lines as text). Whenever it answers, it must answer what
// the whole scan does; it must answer for most edits the whole scan takes, or it proves nothing.
import { describe, expect, it } from 'vitest';
import { type Block, type KubeconfigLayout, type Span, scanKubeconfig, trimmedEnd } from '../../src/core/kubeconfig-layout.js';
import { type PlacedEdit, relayout } from '../../src/core/kubeconfig-relayout.js';
import { PiecedText } from '../../src/core/kubeconfig-splice.js';
import { generateKubeconfig, random } from '../support/kubeconfig-generator.js';

interface TestEdit extends Span {
  lines: string[];
  /** what the splice writes (rendered items and blocks), not one of the layout breakers */
  wellFormed: boolean;
  block: number;
  kind: PlacedEdit['kind'];
}

/** An item's lines at a list column; some end in a block scalar, some break the layout (the last five). */
function itemLines(pick: <T>(list: readonly T[]) => T, name: string, indent: number): { lines: string[]; wellFormed: boolean } {
  const at = (l: string): string => ' '.repeat(indent) + l;
  const shapes = [
    [at(`- name: ${name}`), at('  user:'), at('    token: t')],
    [at('- user:'), at('    token: t'), at(`  name: ${name}`)],
    [at(`- name: ${name}`), at('  user:'), at('    note: |'), at('      a && b')],
    [at(`- name: ${name}`), at('  user:'), at('    note: |-')],
    [at(`- name: ${name}`), at('  cluster:'), at('    server: https://x:6443')],
    [at(`- name: ${name}`), at('  user: {}'), at('  # a comment')],
    [at(`- name: ${name}`), at('  user: &a {}')],
    [at(`- name: ${name}`), 'oops: 1'],
    [at(`- name: ${name}`), at('  user:\ttab')],
    [' '.repeat(indent + 1) + `- name: ${name}`],
    [at('- name: dup'), at('  user: {}')],
  ];
  const lines = pick(shapes);
  return { lines, wellFormed: shapes.indexOf(lines) < 6 };
}

function randomEdits(layout: KubeconfigLayout, seed: number): TestEdit[] {
  const { chance, pick } = random(seed * 7919);
  const edits: TestEdit[] = [];
  /** blocks rewritten whole, and items edited: never twice */
  const used = new Set<number>();
  const usedItems = new Set<number>();
  for (let n = 0; n < 1 + (seed % 4); n++) {
    // sections more often than other blocks, so that edits meet in one section
    const sections = layout.blocks.flatMap((b, i) => (b.items ? [i] : []));
    const index = sections.length > 0 && chance(0.7) ? pick(sections) : pick(layout.blocks.map((_, i) => i));
    const block = layout.blocks[index];
    if (!block || used.has(index)) continue;
    if (!block.items) {
      used.add(index);
      const shapes = [[`${block.key}: new`], [`${block.key}:`, '  a: b'], [`${block.key}: x`, 'other: y'], [`${block.key}: *alias`]];
      const lines = pick(shapes);
      edits.push({ start: block.start, end: trimmedEnd(layout.text, block), lines, wellFormed: shapes.indexOf(lines) < 2, block: index, kind: 'block' });
      continue;
    }
    const indent = block.indent ?? 0;
    const name = `n${seed}-${n}`;
    // several edits in one section (the windows around them merge), but each item once
    const picked = block.items.length > 0 ? pick(block.items) : undefined;
    const item = picked && !usedItems.has(picked.start) ? picked : undefined;
    if (item) usedItems.add(item.start);
    if (item && chance(0.4)) edits.push({ start: item.start, end: trimmedEnd(layout.text, item), ...itemLines(pick, item.name, indent), block: index, kind: 'item' });
    else if (item && chance(0.4)) edits.push({ start: item.start, end: trimmedEnd(layout.text, item), lines: [], wellFormed: true, block: index, kind: 'item' });
    else {
      const at = trimmedEnd(layout.text, block.items[block.items.length - 1] ?? block);
      edits.push({ start: at, end: at, ...itemLines(pick, name, indent), block: index, kind: 'item' });
    }
  }
  return edits;
}

/** The edits made as the splice makes them; the placed edits relayout gets. */
function apply(text: string, edits: readonly TestEdit[]): { text: string; placed: PlacedEdit[] } {
  // the splice's order: by offset, an insert before a replacement starting there, else as given
  const ordered = edits.map((e, i) => ({ ...e, i })).sort((a, b) => a.start - b.start || a.end - b.end || a.i - b.i);
  let out = '';
  let at = 0;
  const placed: PlacedEdit[] = [];
  for (const edit of ordered) {
    out += text.slice(at, edit.start);
    const before = out.length;
    if (edit.start > 0 && !out.endsWith('\n')) out += '\n';
    for (const line of edit.lines) out += `${line}\n`;
    placed.push({ start: edit.start, end: edit.end, length: out.length - before, block: edit.block, kind: edit.kind });
    at = edit.end;
  }
  return { text: out + text.slice(at), placed };
}

const plain = (blocks: readonly Block[] | undefined): unknown =>
  blocks?.map((b) => ({ key: b.key, start: b.start, end: b.end, indent: b.indent ?? null, items: b.items?.map((i) => [i.name, i.start, i.end]) ?? null }));

describe('relayout: the new layout from the old one and the edited windows', () => {
  it('answers as a scan of the whole new file does, over 1,500 generated edits', () => {
    let scanned = 0;
    let answered = 0;
    let declinedByBoth = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      const text = generateKubeconfig(seed);
      const layout = scanKubeconfig(text);
      if (!layout || layout.blocks.length === 0) continue;
      const edits = randomEdits(layout, seed);
      const next = apply(text, edits);
      const whole = scanKubeconfig(next.text);
      const local = relayout(layout, next.placed, next.text);
      if (local) expect(plain(local), `seed ${seed}`).toEqual(plain(whole?.blocks));
      if (!whole) {
        expect(local, `seed ${seed}: the whole scan declines`).toBeUndefined();
        declinedByBoth += 1;
        continue;
      }
      if (!edits.every((e) => e.wellFormed)) continue;
      scanned += 1;
      if (local) answered += 1;
    }
    // the edits break the layout often enough that both paths of each check run, and the
    // well-formed ones (what the splice writes) are nearly all answered without the whole scan
    expect(declinedByBoth).toBeGreaterThan(100);
    expect(scanned).toBeGreaterThan(300);
    expect(answered).toBeGreaterThan(scanned * 0.95);
  });

  it('the spliced file read by slices of its pieces (not joined) reads as the joined text', () => {
    let checked = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const text = generateKubeconfig(seed);
      const layout = scanKubeconfig(text);
      if (!layout || layout.blocks.length === 0) continue;
      const next = apply(text, randomEdits(layout, seed));
      // the pieces as the splice keeps them: spans of the original, new text between them
      const pieces: (Span | string)[] = [];
      let at = 0;
      let out = 0;
      for (const edit of next.placed) {
        if (edit.start > at) pieces.push({ start: at, end: edit.start });
        out += edit.start - at;
        if (edit.length > 0) pieces.push(next.text.slice(out, out + edit.length));
        out += edit.length;
        at = edit.end;
      }
      if (text.length > at) pieces.push({ start: at, end: text.length });
      const pieced = new PiecedText(text, pieces);
      expect(pieced.length, `seed ${seed}`).toBe(next.text.length);
      const { pick } = random(seed);
      const cuts = Array.from({ length: 20 }, () => pick([0, 1, 2, 3, 5, 8, 13, 40, 100]));
      for (let i = 0; i + 1 < cuts.length; i++) {
        const start = Math.min(next.text.length, (cuts[i] as number) * seed % (next.text.length + 1));
        const end = Math.min(next.text.length, start + (cuts[i + 1] as number) * 3);
        expect(pieced.slice(start, end), `seed ${seed}: ${start}..${end}`).toBe(next.text.slice(start, end));
      }
      expect(pieced.slice(0, pieced.length)).toBe(next.text);
      expect(pieced.toString()).toBe(next.text);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('a removal that leaves a deeper comment after a block scalar: declined, as the whole scan does', () => {
    const text = 'users:\n- name: a\n  user:\n    note: |-\n      kept\n- name: b\n  user:\n    token: y\n        # a deep comment\n- name: c\n  user: {}\n';
    const layout = scanKubeconfig(text) as KubeconfigLayout;
    const b = layout.blocks[0]?.items?.[1] as Span;
    const next = apply(text, [{ start: b.start, end: trimmedEnd(text, b), lines: [], wellFormed: true, block: 0, kind: 'item' }]);
    expect(scanKubeconfig(next.text)).toBeUndefined();
    expect(relayout(layout, next.placed, next.text)).toBeUndefined();
  });

  it('a new block at the end of the file is left to the whole scan', () => {
    const text = 'users:\n- name: a\n  user: {}\n';
    const layout = scanKubeconfig(text) as KubeconfigLayout;
    const next = apply(text, [{ start: text.length, end: text.length, lines: ['current-context: a'], wellFormed: true, block: 0, kind: 'append' }]);
    expect(relayout(layout, next.placed, next.text)).toBeUndefined();
    expect(scanKubeconfig(next.text)?.blocks.map((b) => b.key)).toEqual(['users', 'current-context']);
  });
});
