import { CLUSTER_KEY_CHARS, entryDocument, entryEnd, entryIndent } from './catalog-file.js';

/**
 * Where each cluster's entry sits in a catalog file in the plain layout, so that `login <cluster>`
 * reads a few hundred bytes of an unchanged 1,000-cluster file instead of all 1.6 MB (issue 16).
 * The index is what `catalogEntryText` would cut, for every name at once; the adapter keeps it by
 * file identity (adapters/catalog-index-store.ts) and checks each slice it reads with
 * `entryFromSlice` before trusting it. Offsets are characters: the adapter keeps an index only for
 * an all-ASCII file, where they are byte offsets too.
 */
export interface CatalogIndex {
  /** the entries' column */
  indent: number;
  /** per cluster name written once, its entry's [start, end): from its name line to the next line no deeper */
  entries: Record<string, readonly [number, number]>;
}

export function indexCatalog(text: string): CatalogIndex | undefined {
  const indent = entryIndent(text);
  if (indent === undefined) return undefined;
  // name lines as catalogEntryText takes them: at the column, the name, a colon, nothing else
  const heads = new RegExp(`\\n {${indent}}([A-Za-z0-9][A-Za-z0-9._-]*):([^\\n]*)`, 'g');
  const entries: Record<string, readonly [number, number]> = {};
  const twice = new Set<string>();
  for (let match = heads.exec(text); match; match = heads.exec(text)) {
    if ((match[2] as string).trim() !== '') continue;
    const name = match[1] as string;
    const at = match.index + 1;
    if (Object.hasOwn(entries, name)) twice.add(name);
    entries[name] = [at, entryEnd(text, at, indent)];
  }
  // a name written twice is cut by nobody: the whole file is parsed, as catalogEntryText says
  for (const name of twice) delete entries[name];
  return { indent, entries };
}

/**
 * The entry document of `name` from a slice of the file read at the index's offsets, or undefined
 * when the slice is not exactly that entry (the file changed, or the index is wrong): its first
 * line is the name line, no later line is a name or less deep, and `after` (the bytes that follow,
 * at least the indent and one more, or none at the end of the file) starts a line no deeper.
 */
export function entryFromSlice(slice: string, after: string, name: string, indent: number): string | undefined {
  if (!CLUSTER_KEY_CHARS.test(name) || slice.includes('\t') || slice.includes('\r')) return undefined;
  const head = `${' '.repeat(indent)}${name}:`;
  const firstEnd = slice.indexOf('\n');
  const firstLine = firstEnd < 0 ? slice : slice.slice(0, firstEnd);
  if (!firstLine.startsWith(head) || firstLine.slice(head.length).trim() !== '') return undefined;
  if (firstEnd >= 0) {
    const deeper = new RegExp(`\\n(?= {0,${indent}}[^\\s])`);
    if (deeper.test(slice.slice(firstEnd))) return undefined; // the entry ends before the slice does
  }
  if (after !== '') {
    if (!slice.endsWith('\n')) return undefined;
    let spaces = 0;
    while (after.charCodeAt(spaces) === 32) spaces += 1;
    if (spaces > indent || spaces >= after.length || /\s/.test(after.charAt(spaces))) return undefined; // the entry goes on
  }
  return entryDocument(slice);
}
