import type { ContextRef } from '../core/cluster-target.js';
import { kubeconfigPaths } from '../core/kubeconfig-paths.js';
import { KubeconfigFileView } from './kubeconfig-read.js';

/** The contexts and cluster names of a kubeconfig (kubectl's merged view), for core/cluster-target.ts. */
export interface KubeconfigNames {
  contexts: ContextRef[];
  clusters: string[];
  current: string | undefined;
}

/** One file through the read model (adapters/kubeconfig-read.ts), or undefined when it is missing, unreadable or malformed: the command that reads it for real reports that. */
function openView(path: string): KubeconfigFileView | undefined {
  try {
    return KubeconfigFileView.open(path);
  } catch {
    return undefined;
  }
}

export async function readKubeconfigNames(kubeconfig?: string, env: Record<string, string | undefined> = process.env): Promise<KubeconfigNames> {
  const contexts: ContextRef[] = [];
  const clusters = new Set<string>();
  let current: string | undefined;
  for (const path of kubeconfigPaths(kubeconfig, env)) {
    const view = openView(path);
    if (view === undefined) continue;
    let items: { clusters: string[]; contexts: { name: string; value: Record<string, unknown> }[] };
    try {
      items = { clusters: view.names('clusters', () => true), contexts: view.items('contexts') };
    } catch {
      continue;
    }
    if (current === undefined) current = view.currentContext;
    for (const name of items.clusters) clusters.add(name);
    for (const { name, value } of items.contexts) {
      if (contexts.some((c) => c.name === name)) continue; // the first file with a name wins
      const cluster = value['cluster'];
      if (typeof cluster === 'string' && cluster !== '') contexts.push({ name, cluster });
    }
  }
  return { contexts, clusters: [...clusters], current };
}
