import { CliError, ExitCode } from '../errors.js';
import { type ClusterEntry, checkClusterName, parseClusterEntry } from './cluster-entry.js';

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

const CLUSTER_KEY_CHARS = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * One cluster's entry of a catalog file, cut out as a document of its own (`clusters:` and that
 * entry's lines), so `login <cluster>` parses a few lines, not a 1,000-cluster file (issue 16).
 * Only for the plain layout: `clusters:` the one top-level key, entries at one indent, the name
 * written plainly exactly once, no tabs or CRs. Anything else answers undefined and the caller
 * parses the whole file, which also gives every error message.
 */
export function catalogEntryText(text: string, name: string): string | undefined {
  if (!CLUSTER_KEY_CHARS.test(name) || /[\t\r]/.test(text)) return undefined;
  const top = text.match(/^[^\s#].*$/gm);
  if (top?.length !== 1 || !/^clusters:[ ]*$/.test(top[0] as string)) return undefined;
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^clusters:[ ]*$/.test(l));
  const first = lines.slice(start + 1).find((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  const indent = first === undefined ? 0 : first.length - first.trimStart().length;
  if (indent === 0) return undefined;
  const prefix = `${' '.repeat(indent)}${name}:`;
  const at = lines.flatMap((l, i) => (l.startsWith(prefix) && l.slice(prefix.length).trim() === '' ? [i] : []));
  if (at.length !== 1) return undefined;
  const out = [lines[at[0] as number] as string];
  for (let i = (at[0] as number) + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() !== '' && line.length - line.trimStart().length <= indent) break;
    out.push(line);
  }
  return `clusters:\n${out.join('\n')}\n`;
}
