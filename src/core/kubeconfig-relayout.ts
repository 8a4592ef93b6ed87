import { type Block, type Item, type KubeconfigLayout, type TextSlices, scanKubeconfig } from './kubeconfig-layout.js';

/**
 * The layout (its blocks) of a spliced kubeconfig from the layout of the file it was spliced
 * from, scanning again only around the edits (issue 16: the writer's read-back check scanned all
 * 2 MB of a 1,000-context file a second time). The answer is the one `scanKubeconfig(text)` would
 * give, or undefined when that can't be told this way (the caller then scans the whole text).
 * `text` need not be joined: only the windows are read from it.
 *
 * Why a window is enough: an item starts with `- ` at its list's column, left of every key of
 * the item before it, so nothing of that item (a block scalar, a plain scalar's continuation) runs
 * into the next one, and a top-level key ends its block's items the same way. A window runs from
 * the item before the first edit (a removal leaves its comments after that item, where they could
 * become that item's block scalar text) to the first item the edits did not touch, or the block's
 * end. Each window is scanned as a small kubeconfig of its own; everything outside the windows is
 * the original text, shifted, and was scanned with it.
 */
export interface PlacedEdit {
  /** offsets into the original text: [start, end) was replaced */
  start: number;
  end: number;
  /** the length of what replaced it in the new text */
  length: number;
  /** index into the original layout's blocks */
  block: number;
  /** an item of a section in block form; a whole top-level block; a new block at the end of the file */
  kind: 'item' | 'block' | 'append';
}

interface Window {
  block: number;
  start: number;
  end: number;
  /** the new text's length minus the original's, over the window */
  delta: number;
}

export function relayout(original: KubeconfigLayout, edits: readonly PlacedEdit[], text: TextSlices): Block[] | undefined {
  const windows = windowsOf(original, edits);
  if (!windows) return undefined;
  const blocks: Block[] = [];
  let shift = 0;
  let next = 0;
  for (const [index, block] of original.blocks.entries()) {
    const start = block.start + shift;
    const mine: Window[] = [];
    while (windows[next]?.block === index) mine.push(windows[next++] as Window);
    if (mine.length === 0) {
      blocks.push(shifted(block, shift));
      continue;
    }
    if (!block.items) {
      // a whole top-level block, rewritten: scanned alone, it must be one block of the same key
      const window = mine[0] as Window;
      const scanned = scanKubeconfig(text.slice(start, block.end + shift + window.delta));
      const only = scanned?.blocks.length === 1 ? (scanned.blocks[0] as Block) : undefined;
      if (!only || only.key !== block.key) return undefined;
      shift += window.delta;
      blocks.push(shifted(only, start));
      continue;
    }
    const items: Item[] = [];
    /** the names of the items the windows hold now; the others were unique in the original scan */
    const windowNames: string[] = [];
    let indent = block.indent;
    let kept = 0; // original items taken so far
    for (const window of mine) {
      const originalItems = block.items;
      const first = firstAtOrAfter(originalItems, window.start);
      for (; kept < first; kept += 1) items.push(shiftedItem(originalItems[kept] as Item, shift));
      kept = firstAtOrAfter(originalItems, window.end);
      const from = window.start + shift;
      const fromBlockStart = window.start === block.start;
      // a window inside the items is read as the start of a section of its own
      const prefix = fromBlockStart ? '' : `${block.key}:\n`;
      const scanned = scanKubeconfig(prefix + text.slice(from, window.end + shift + window.delta));
      const only = scanned?.blocks.length === 1 ? (scanned.blocks[0] as Block) : undefined;
      if (!only?.items || only.key !== block.key) return undefined;
      if (only.indent !== undefined) {
        if (indent !== undefined && only.indent !== indent) return undefined; // the list's column moved
        indent = only.indent;
      }
      for (const item of only.items) {
        items.push({ name: item.name, start: item.start - prefix.length + from, end: item.end - prefix.length + from });
        windowNames.push(item.name);
      }
      shift += window.delta;
    }
    for (; kept < block.items.length; kept += 1) items.push(shiftedItem(block.items[kept] as Item, shift));
    if (windowNames.length > 0 && hasDuplicate(items, windowNames)) return undefined; // the full scan declines duplicates
    blocks.push({ key: block.key, start, end: block.end + shift, items, ...(indent !== undefined && items.length > 0 ? { indent } : {}) });
  }
  return blocks;
}

/** The windows around the edits, sorted and merged; undefined for edits this does not handle. */
function windowsOf(original: KubeconfigLayout, edits: readonly PlacedEdit[]): Window[] | undefined {
  const windows: Window[] = [];
  for (const edit of edits) {
    const block = original.blocks[edit.block];
    if (!block || edit.kind === 'append') return undefined; // a new top-level key: rare, the full scan takes it
    let start = block.start;
    let end = block.end;
    if (edit.kind === 'item') {
      const items = block.items;
      if (!items) return undefined;
      const at = firstAtOrAfter(items, edit.start);
      if (at > 0) start = (items[at - 1] as Item).start;
      // the first item after the edit (an item starting where an insert is made is taken in too)
      const after = firstAtOrAfter(items, Math.max(edit.end, edit.start + 1));
      if (after < items.length) end = (items[after] as Item).start;
    } else if (block.items) return undefined;
    if (edit.start < start || edit.end > end) return undefined;
    windows.push({ block: edit.block, start, end, delta: edit.length - (edit.end - edit.start) });
  }
  windows.sort((a, b) => a.block - b.block || a.start - b.start);
  const merged: Window[] = [];
  for (const window of windows) {
    const last = merged[merged.length - 1];
    if (last && last.block === window.block && window.start <= last.end) {
      last.end = Math.max(last.end, window.end);
      last.delta += window.delta;
    } else merged.push({ ...window });
  }
  return merged;
}

/** The index of the first item starting at or after `offset` (items are in offset order). */
function firstAtOrAfter(items: readonly Item[], offset: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((items[mid] as Item).start < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether a name the windows hold now is there twice, or also outside them. */
function hasDuplicate(items: readonly Item[], windowNames: readonly string[]): boolean {
  // a few names against a thousand: string comparisons, not a Set (hashing every name cost ~1 ms)
  for (const name of windowNames) {
    let count = 0;
    for (const item of items) if (item.name === name) count += 1;
    if (count !== 1) return true;
  }
  return false;
}

function shifted(block: Block, shift: number): Block {
  if (shift === 0) return block;
  return {
    ...block,
    start: block.start + shift,
    end: block.end + shift,
    ...(block.items ? { items: block.items.map((item) => shiftedItem(item, shift)) } : {}),
  };
}

function shiftedItem(item: Item, shift: number): Item {
  return shift === 0 ? item : { name: item.name, start: item.start + shift, end: item.end + shift };
}
