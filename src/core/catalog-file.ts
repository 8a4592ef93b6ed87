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
