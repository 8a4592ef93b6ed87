import type { CatalogChoice } from '../core/catalog-choice.js';
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

/**
 * The catalog a choice names (core/catalog-choice.ts), loading its adapter (node-vault or yaml)
 * on first use, so commands that never read it pay nothing.
 */
export function openCatalog(choice: CatalogChoice, env: Record<string, string | undefined>, timeoutMs: number): Catalog {
  let loaded: Promise<Catalog> | undefined;
  const load = (): Promise<Catalog> => {
    loaded ??=
      choice.kind === 'vault'
        ? import('../adapters/vault-catalog.js').then(({ createVaultCatalog }) => createVaultCatalog(choice, env, { timeoutMs }))
        : import('../adapters/file-catalog.js').then(({ FileCatalog }) => new FileCatalog(choice.path, choice.explicit));
    return loaded;
  };
  const describe = choice.kind === 'vault' ? `Vault ${env['VAULT_ADDR']?.trim() ?? ''} ${[choice.mount, choice.prefix].filter(Boolean).join('/')}` : choice.path;
  return {
    describe: () => describe,
    list: async () => (await load()).list(),
    get: async (name: string): Promise<ClusterEntry> => (await load()).get(name),
  };
}
