import { CliError, ExitCode } from '../errors.js';
import { type ClusterEntry, checkClusterName, parseClusterEntry } from './cluster-entry.js';
import { BLANK_OR_COMMENT, lineAt, lineEnd } from './text-lines.js';

/**
 * The local catalog file's shape, `clusters: { <name>: { <field>: value } }`, checked without
 * I/O: `raw` is the parsed YAML, `source` the file path for messages.
 */
export interface CatalogFileContent {
  clusters: Record<string, unknown>;
}

export function parseCatalogFile(raw: unknown, source: string): CatalogFileContent {
  if (raw === null || raw === undefined) throw new CliError(ExitCode.CATALOG, `catalog file ${source} is empty: it needs a 'clusters:' mapping (see docs/configuration.md)`);
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new CliError(ExitCode.CATALOG, `catalog file ${source} must be a mapping with a 'clusters:' key`);
  const record = raw as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== 'clusters') throw new CliError(ExitCode.CATALOG, `catalog file ${source}: unknown top-level key '${key}' (only 'clusters' is allowed)`);
  }
  const clusters = record['clusters'];
  if (clusters === undefined || clusters === null) return { clusters: {} };
  if (typeof clusters !== 'object' || Array.isArray(clusters)) {
    throw new CliError(ExitCode.CATALOG, `catalog file ${source}: 'clusters' must be a mapping of cluster names to entries, not ${Array.isArray(clusters) ? 'a list' : typeof clusters}`);
  }
  return { clusters: clusters as Record<string, unknown> };
}

export function catalogFileNames(content: CatalogFileContent): string[] {
  return Object.keys(content.clusters).sort();
}

export function catalogFileEntry(content: CatalogFileContent, name: string, source: string): ClusterEntry {
  checkClusterName(name);
  if (!Object.prototype.hasOwnProperty.call(content.clusters, name)) {
    const known = catalogFileNames(content);
    throw new CliError(ExitCode.CATALOG, `cluster '${name}' not found in ${source}${known.length > 0 ? ` (known: ${known.join(', ')})` : ' (it lists no clusters)'}`);
  }
  return parseClusterEntry(name, content.clusters[name], source);
}

export const CLUSTER_KEY_CHARS = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * One cluster's entry of a catalog file, cut out as a document of its own (`clusters:` and that
 * entry's lines), so `login <cluster>` parses a few lines, not a 1,000-cluster file (issue 16).
 * Only for the plain layout: `clusters:` the one top-level key, entries at one indent, the name
 * written plainly exactly once, no tabs or CRs. Anything else answers undefined and the caller
 * parses the whole file, which also gives every error message.
 */
export function catalogEntryText(text: string, name: string): string | undefined {
  if (!CLUSTER_KEY_CHARS.test(name)) return undefined;
  const indent = entryIndent(text);
  if (indent === undefined) return undefined;
  const prefix = `${' '.repeat(indent)}${name}:`;
  let at = -1;
  for (let hit = text.startsWith(prefix) ? 0 : nextLineWith(text, prefix, 0); hit >= 0; hit = nextLineWith(text, prefix, hit + 1)) {
    if (lineAt(text, hit).slice(prefix.length).trim() !== '') continue;
    if (at >= 0) return undefined; // the name twice
    at = hit;
  }
  if (at < 0) return undefined;
  return entryDocument(text.slice(at, entryEnd(text, at, indent)));
}

/**
 * The column of the entries of a catalog file in the plain layout (no tabs or CRs, `clusters:`
 * the one top-level line, entries indented), else undefined. Offsets and native searches, not a
 * loop over every line: a 1,000-cluster file is ~1.6 MB.
 */
export function entryIndent(text: string): number | undefined {
  if (text.includes('\t') || text.includes('\r')) return undefined;
  // the one top-level line (column 0, not a comment) is `clusters:`
  const topLevel = /\n(?=[^\s#])/g;
  const starts = /^[^\s#]/.test(text) ? [0] : [];
  for (let match = topLevel.exec(text); match && starts.length < 2; match = topLevel.exec(text)) starts.push(match.index + 1);
  if (starts.length !== 1 || !/^clusters:[ ]*$/.test(lineAt(text, starts[0] as number))) return undefined;
  let first = lineEnd(text, starts[0] as number);
  while (first < text.length && BLANK_OR_COMMENT.test(lineAt(text, first))) first = lineEnd(text, first);
  const firstLine = first < text.length ? lineAt(text, first) : undefined;
  const indent = firstLine === undefined ? 0 : firstLine.length - firstLine.trimStart().length;
  return indent === 0 ? undefined : indent;
}

/** Where the entry whose name line starts at `at` ends: the next line that is not blank and no deeper than its name. */
export function entryEnd(text: string, at: number, indent: number): number {
  const next = new RegExp(`\\n(?= {0,${indent}}[^\\s])`, 'g');
  next.lastIndex = lineEnd(text, at) - 1;
  const end = next.exec(text);
  return end ? end.index + 1 : text.length;
}

/** An entry's lines as a catalog document of their own. */
export function entryDocument(entry: string): string {
  return `clusters:\n${entry}${entry.endsWith('\n') ? '' : '\n'}`;
}

/** The first line at or after `from` that starts with `prefix`, or -1. */
function nextLineWith(text: string, prefix: string, from: number): number {
  const hit = text.indexOf(`\n${prefix}`, from === 0 ? 0 : from - 1);
  return hit < 0 ? -1 : hit + 1;
}
