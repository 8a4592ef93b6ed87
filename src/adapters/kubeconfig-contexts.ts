import { readKubeconfig, resolveKubeconfigPaths } from './kubeconfig-file.js';
import { getCurrentContext, namesIn, readNamed } from '../core/kubeconfig-merge.js';
import type { ContextRef } from '../core/cluster-target.js';

/** The contexts and cluster names of a kubeconfig (kubectl's merged view), for core/cluster-target.ts. */
export interface KubeconfigNames {
  contexts: ContextRef[];
  clusters: string[];
  current: string | undefined;
}

export function readKubeconfigNames(kubeconfig?: string, env: Record<string, string | undefined> = process.env): KubeconfigNames {
  const contexts: ContextRef[] = [];
  const clusters = new Set<string>();
  let current: string | undefined;
  for (const path of resolveKubeconfigPaths(kubeconfig, env)) {
    let file;
    try {
      file = readKubeconfig(path);
    } catch {
      continue; // an unreadable file is reported by the command that reads it for real
    }
    if (!file.exists) continue;
    current ??= getCurrentContext(file.doc);
    for (const name of namesIn(file.doc, 'clusters')) clusters.add(name);
    for (const name of namesIn(file.doc, 'contexts')) {
      if (contexts.some((c) => c.name === name)) continue;
      const cluster = readNamed(file.doc, 'contexts', name)?.['cluster'];
      if (typeof cluster === 'string' && cluster !== '') contexts.push({ name, cluster });
    }
  }
  return { contexts, clusters: [...clusters], current };
}
