import type { Command } from 'commander';
import { warn } from '../ui/log.js';

/**
 * `K8S_AUTH_CLUSTER` used to stand for `--cluster` of two commands that mean different things
 * by it: `rbac apply`/`plan` a catalog entry, `token` a kubeconfig context. Each meaning has its
 * own variable now; the old one still works (after the new one, which wins) and says, in one
 * line, which variable to set instead. docs/configuration.md#k8s_auth_cluster-deprecated.
 */
export const DEPRECATED_CLUSTER_ENV = 'K8S_AUTH_CLUSTER';
export const CATALOG_ENTRY_ENV = 'K8S_AUTH_CATALOG_ENTRY';
export const CONTEXT_ENV = 'K8S_AUTH_CONTEXT';

export type ClusterMeaning = 'catalog entry' | 'kubeconfig context';

const REPLACEMENT: Record<ClusterMeaning, string> = { 'catalog entry': CATALOG_ENTRY_ENV, 'kubeconfig context': CONTEXT_ENV };

/**
 * Fills `--cluster` from K8S_AUTH_CLUSTER when neither the flag nor the new variable gave it.
 * Returns the variable the value came from (for messages), or undefined when it came from neither.
 */
export function clusterFromEnv(command: Command, commandName: string, meaning: ClusterMeaning, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const source = command.getOptionValueSource('cluster');
  const replacement = REPLACEMENT[meaning];
  if (source === 'cli') return undefined;
  if (source === 'env') return replacement;
  const old = env[DEPRECATED_CLUSTER_ENV]?.trim();
  if (!old) return undefined;
  command.setOptionValueWithSource('cluster', old, 'env');
  warn(`${DEPRECATED_CLUSTER_ENV} is deprecated: for ${commandName} it names a ${meaning}; set ${replacement} instead`);
  return DEPRECATED_CLUSTER_ENV;
}
