// The catalog entry in the Vault double's KV v2 mount (over HTTPS, like a real Vault), and the
// environment the CLI needs to read it: VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT.

export interface CatalogEntryFields {
  server: string;
  'issuer-url': string;
  'client-id': string;
  [field: string]: string;
}

export interface VaultCatalog {
  env: Record<string, string>;
  /** KV requests the CLI made so far (paths only), to check that it really read Vault */
  readPaths(): string[];
  close(): Promise<void>;
}

/** Starts the Vault double with `secret/k8s-auth/clusters/<name>` = `entry` (KV v2). */
export async function startVaultCatalog(name: string, entry: CatalogEntryFields): Promise<VaultCatalog> {
  // loaded only for --catalog vault
  const { startVaultDouble } = await import('../../test/support/vault-double.js');
  const vault = await startVaultDouble({ tls: true });
  vault.putKv('secret', `k8s-auth/clusters/${name}`, { ...entry });
  if (!vault.caFile) throw new Error('the Vault double started without TLS');
  return {
    env: { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token, VAULT_CACERT: vault.caFile },
    readPaths: () => vault.requests.filter((r) => r.method === 'GET').map((r) => r.path),
    close: () => vault.close(),
  };
}
