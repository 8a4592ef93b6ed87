import type { ClusterEntry } from '../core/cluster-entry.js';

/**
 * Where cluster entries come from: Vault KV v2 (`<mount>/<prefix>/<name>`) or the local catalog
 * file. Every failure is a one-line CliError: CATALOG for a missing or malformed entry (naming the
 * cluster, the source and the field), VAULT for Vault itself (sealed, 403, unreachable).
 */
export interface Catalog {
  /** The source for messages, e.g. `Vault https://vault:8200 secret/k8s-auth/clusters` or a file path. */
  describe(): string;
  /** Cluster names, sorted. */
  list(): Promise<string[]>;
  /** One validated entry. */
  get(name: string): Promise<ClusterEntry>;
}
