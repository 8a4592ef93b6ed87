import { readFileSync } from 'node:fs';
import type { ContextRef } from '../core/cluster-target.js';
import { kubeconfigPaths } from '../core/kubeconfig-paths.js';
import { parseSimpleYaml } from '../core/simple-yaml.js';

/** The contexts and cluster names of a kubeconfig (kubectl's merged view), for core/cluster-target.ts. */
export interface KubeconfigNames {
  contexts: ContextRef[];
  clusters: string[];
  current: string | undefined;
}

type Plain = Record<string, unknown>;

/**
 * Plain kubeconfigs (nearly all) are read with the narrow reader, so naming a target does not
 * load the yaml library before a sign-in (docs/performance.md); the rest with it. An unreadable
 * or malformed file gives nothing here: the command that reads it for real reports it.
 */
async function readPlain(path: string): Promise<Plain | undefined> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown = parseSimpleYaml(text);
  if (parsed === undefined) {
    try {
      parsed = (await import('yaml')).parse(text);
    } catch {
      return undefined;
    }
  }
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Plain) : undefined;
}

function named(doc: Plain, section: 'clusters' | 'contexts'): Array<{ name: string; value: Plain }> {
  const list = doc[section];
  if (!Array.isArray(list)) return [];
  const out: Array<{ name: string; value: Plain }> = [];
  for (const item of list as unknown[]) {
    if (item === null || typeof item !== 'object') continue;
    const name = (item as Plain)['name'];
    const value = (item as Plain)[section === 'clusters' ? 'cluster' : 'context'];
    if (typeof name === 'string' && name !== '') out.push({ name, value: value !== null && typeof value === 'object' ? (value as Plain) : {} });
  }
  return out;
}

export async function readKubeconfigNames(kubeconfig?: string, env: Record<string, string | undefined> = process.env): Promise<KubeconfigNames> {
  const contexts: ContextRef[] = [];
  const clusters = new Set<string>();
  let current: string | undefined;
  for (const path of kubeconfigPaths(kubeconfig, env)) {
    const doc = await readPlain(path);
    if (doc === undefined) continue;
    const currentHere = doc['current-context'];
    if (current === undefined && typeof currentHere === 'string' && currentHere !== '') current = currentHere;
    for (const { name } of named(doc, 'clusters')) clusters.add(name);
    for (const { name, value } of named(doc, 'contexts')) {
      if (contexts.some((c) => c.name === name)) continue; // the first file with a name wins
      const cluster = value['cluster'];
      if (typeof cluster === 'string' && cluster !== '') contexts.push({ name, cluster });
    }
  }
  return { contexts, clusters: [...clusters], current };
}
