import type { ClusterEntry } from '../core/cluster-entry.js';
import { contextOfClusterLine } from '../core/cluster-target.js';
import { CliError, ExitCode } from '../errors.js';
import type { Catalog } from './catalog.js';

/**
 * login's positionals are catalog clusters (docs/usage.md#naming-a-cluster). A name the catalog
 * lacks that is a kubeconfig context (the name `whoami` shows) signs in to the cluster that
 * context belongs to and refreshes that context, with one line saying so. A name the catalog has
 * stays the cluster, so the kubeconfig is read only when the catalog lookup has already failed.
 */
export interface LoginTarget {
  entry: ClusterEntry;
  /** The context to write, when the name typed was a context of the entry's cluster. */
  context?: string;
}

export interface LoginTargetSources {
  catalog: Catalog;
  kubeconfig?: string;
  env?: Record<string, string | undefined>;
  note: (line: string) => void;
}

export async function loginTargets(names: readonly string[], sources: LoginTargetSources): Promise<LoginTarget[]> {
  let contexts: Promise<ReadonlyArray<{ name: string; cluster: string }>> | undefined;
  const contextsOnce = () =>
    (contexts ??= import('../adapters/kubeconfig-contexts.js').then(async ({ readKubeconfigNames }) => (await readKubeconfigNames(sources.kubeconfig, sources.env ?? process.env)).contexts));
  const targets = await Promise.all(
    names.map(async (name): Promise<LoginTarget> => {
      try {
        return { entry: await sources.catalog.get(name) };
      } catch (error) {
        if (!(error instanceof CliError) || error.exitCode !== ExitCode.CATALOG) throw error;
        const context = (await contextsOnce()).find((c) => c.name === name && c.cluster !== name);
        if (context === undefined) throw error;
        let entry: ClusterEntry;
        try {
          entry = await sources.catalog.get(context.cluster);
        } catch {
          throw error; // the cluster is not in the catalog either: the first answer is the one to read
        }
        sources.note(`${contextOfClusterLine(name, context.cluster)}: signing in to cluster ${context.cluster} and refreshing context ${name} (next time: \`k8s-auth login ${context.cluster}\`)`);
        return { entry, context: name };
      }
    }),
  );
  // `login lab lab-ctx` signs in to lab once, keeping the first name's context
  const seen = new Set<string>();
  return targets.filter((t) => !seen.has(t.entry.name) && (seen.add(t.entry.name), true));
}
