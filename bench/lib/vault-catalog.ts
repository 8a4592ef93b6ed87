// The catalog entry in a real OpenBao's KV v2 mount (test/peers/openbao: `bao server -dev
// -dev-tls`, over HTTPS like a production Vault), and the environment the CLI needs to read it:
// VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT. OpenBao's audit device tells which paths the CLI read.

export interface CatalogEntryFields {
  server: string;
  'issuer-url': string;
  'client-id': string;
  [field: string]: string;
}

export interface VaultCatalog {
  env: Record<string, string>;
  /** KV reads the CLI made so far (as /v1/<path>), to check that it really read Vault */
  readPaths(): string[];
  close(): Promise<void>;
}

/** Starts OpenBao with `secret/k8s-auth/clusters/<name>` = `entry` (KV v2). */
export async function startVaultCatalog(name: string, entry: CatalogEntryFields): Promise<VaultCatalog> {
  // loaded only for --catalog vault
  const { startOpenBao, openbaoAvailable, OPENBAO_MISSING } = await import('../../test/peers/openbao/openbao.js');
  if (!openbaoAvailable()) throw new Error(OPENBAO_MISSING);
  const bao = await startOpenBao({ tls: true });
  await bao.kvPut(`k8s-auth/clusters/${name}`, { ...entry });
  if (!bao.caFile) throw new Error('OpenBao started without TLS');
  bao.clearRequests();
  return {
    env: { VAULT_ADDR: bao.addr, VAULT_TOKEN: bao.token, VAULT_CACERT: bao.caFile },
    readPaths: () => bao.requests().filter((r) => r.operation === 'read').map((r) => `/v1/${r.path}`),
    close: () => bao.stop(),
  };
}
