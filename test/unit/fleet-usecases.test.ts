import { describe, expect, it } from 'vitest';
import type { DexApi, DexClientInfo } from '../../src/adapters/dex-grpc.js';
import type { CatalogWriter, RawEntry } from '../../src/adapters/vault-catalog-write.js';
import type { DexClientSpec } from '../../src/core/clusters/plan.js';
import { CliError, ExitCode } from '../../src/errors.js';
import { addCluster, removeCluster, rotateSecret } from '../../src/usecases/clusters/index.js';
import { cliErrorOfAsync } from '../support/cli-error.js';

/*
 * The undo rules of usecases/clusters/index.ts with in-memory stand-ins for Dex and the Vault catalog
 * (test/peers/dex/dex-fleet.test.ts does the same against the real ones): a failure in the second
 * write undoes the first; a failure of the undo says what is left.
 */
const ISSUER = 'https://dex.example.com/dex';

function fakeDex(): DexApi & { clients: Map<string, DexClientSpec>; failCreate: boolean; failDelete: boolean } {
  const clients = new Map<string, DexClientSpec>();
  const self = {
    address: 'dex:5557',
    clients,
    failCreate: false,
    failDelete: false,
    issuer: async () => ISSUER,
    getClient: async (id: string) => clients.get(id),
    async createClient(client: DexClientSpec) {
      if (self.failCreate) throw new CliError(ExitCode.PROVIDER, 'Dex create failed');
      if (clients.has(client.id)) return false;
      clients.set(client.id, { ...client });
      return true;
    },
    async deleteClient(id: string) {
      if (self.failDelete) throw new CliError(ExitCode.PROVIDER, 'Dex delete failed');
      return clients.delete(id);
    },
    listClients: async (): Promise<DexClientInfo[]> => [...clients.values()].map(({ secret: _s, ...info }) => info),
    close: () => undefined,
  };
  return self;
}

function fakeVault(): CatalogWriter & { entries: Map<string, RawEntry>; failWrite: boolean; failDestroy: boolean } {
  const entries = new Map<string, RawEntry>();
  const self = {
    entries,
    failWrite: false,
    failDestroy: false,
    describe: () => 'Vault test secret/k8s-auth/clusters',
    secretPath: (name: string) => `secret/k8s-auth/clusters/${name}`,
    read: async (name: string) => entries.get(name),
    async write(name: string, data: Record<string, unknown>, cas: number) {
      if (self.failWrite) throw new CliError(ExitCode.VAULT, 'Vault denied writing');
      if ((entries.get(name)?.version ?? 0) !== cas) throw new CliError(ExitCode.CATALOG, 'check-and-set refused');
      entries.set(name, { data: { ...data }, version: cas + 1 });
      return cas + 1;
    },
    async destroy(name: string) {
      if (self.failDestroy) throw new CliError(ExitCode.VAULT, 'Vault denied deleting');
      entries.delete(name);
    },
    list: async () => [...entries.keys()].sort(),
  };
  return self;
}

const input = { cluster: 'prod', server: 'https://prod.example.com:6443', public: false, redirectPort: 8000, dryRun: false };

describe('clusters add', () => {
  it('writes both; --dry-run writes neither', async () => {
    const dex = fakeDex();
    const catalog = fakeVault();
    const dry = await addCluster({ dex, catalog }, { ...input, dryRun: true }, 'sec');
    expect(dry.dryRun).toBe(true);
    expect(dex.clients.size + catalog.entries.size).toBe(0);
    const done = await addCluster({ dex, catalog }, input, 'sec');
    expect(done).toMatchObject({ clientId: 'kubernetes-prod', version: 1 });
    expect(dex.clients.get('kubernetes-prod')?.secret).toBe('sec');
    expect(catalog.entries.get('prod')?.data).toMatchObject({ 'client-secret': 'sec', 'issuer-url': ISSUER });
  });

  it('a failed Vault write deletes the Dex client again', async () => {
    const dex = fakeDex();
    const catalog = fakeVault();
    catalog.failWrite = true;
    const error = await cliErrorOfAsync(() => addCluster({ dex, catalog }, input, 'sec'));
    expect(error.message).toBe('Vault denied writing');
    expect(dex.clients.size).toBe(0);
  });

  it('when the undo fails too, the error says what is left', async () => {
    const dex = fakeDex();
    const catalog = fakeVault();
    catalog.failWrite = true;
    dex.failDelete = true;
    const error = await cliErrorOfAsync(() => addCluster({ dex, catalog }, input, 'sec'));
    expect(error.message).toMatch(/Vault denied writing; undoing Dex client 'kubernetes-prod' failed too \(Dex delete failed\): delete it with `k8s-auth clusters remove prod`/);
  });

  it('touches nothing when either side already has the cluster', async () => {
    const dex = fakeDex();
    const catalog = fakeVault();
    await dex.createClient({ id: 'kubernetes-prod', name: 'x', secret: 'theirs', redirectUris: [], trustedPeers: [], public: false });
    expect((await cliErrorOfAsync(() => addCluster({ dex, catalog }, input, 'sec'))).exitCode).toBe(ExitCode.PROVIDER);
    expect(dex.clients.get('kubernetes-prod')?.secret).toBe('theirs');
    expect(catalog.entries.size).toBe(0);
  });
});

describe('clusters rotate-secret and remove', () => {
  async function registered() {
    const dex = fakeDex();
    const catalog = fakeVault();
    await addCluster({ dex, catalog }, input, 'old');
    return { dex, catalog };
  }

  it('rotate replaces the secret in both, writing with cas = the version read', async () => {
    const { dex, catalog } = await registered();
    const result = await rotateSecret({ dex, catalog }, 'prod', false, 'new');
    expect(result.version).toBe(2);
    expect(dex.clients.get('kubernetes-prod')?.secret).toBe('new');
    expect(catalog.entries.get('prod')?.data?.['client-secret']).toBe('new');
    expect(dex.clients.get('kubernetes-prod')?.redirectUris).toHaveLength(3);
  });

  it('a failed Vault write puts the old secret back in Dex', async () => {
    const { dex, catalog } = await registered();
    catalog.failWrite = true;
    await cliErrorOfAsync(() => rotateSecret({ dex, catalog }, 'prod', false, 'new'));
    expect(dex.clients.get('kubernetes-prod')?.secret).toBe('old');
    expect(catalog.entries.get('prod')?.version).toBe(1);
  });

  it('never deletes or rotates a client it did not make for the cluster (a shared one)', async () => {
    const dex = fakeDex();
    const catalog = fakeVault();
    await dex.createClient({ id: 'k8s-auth', name: 'k8s-auth', secret: 'shared', redirectUris: [], trustedPeers: [], public: false });
    await catalog.write('lab', { server: 'https://lab', 'issuer-url': ISSUER, 'client-id': 'k8s-auth', 'client-secret': 'shared' }, 0);
    expect((await cliErrorOfAsync(() => rotateSecret({ dex, catalog }, 'lab', false, 'new'))).message).toContain('not made by `clusters add`');
    const removed = await removeCluster({ dex, catalog }, 'lab', false);
    expect(removed.steps.map((s) => s.action)).toEqual(['delete-entry']);
    expect(dex.clients.get('k8s-auth')?.secret).toBe('shared');
    expect(catalog.entries.size).toBe(0);
  });

  it('remove deletes both; a failed Vault delete recreates the Dex client as it was', async () => {
    const failing = await registered();
    failing.catalog.failDestroy = true;
    await cliErrorOfAsync(() => removeCluster(failing, 'prod', false));
    expect(failing.dex.clients.get('kubernetes-prod')?.secret).toBe('old');
    const { dex, catalog } = await registered();
    await removeCluster({ dex, catalog }, 'prod', false);
    expect(dex.clients.size + catalog.entries.size).toBe(0);
    expect((await cliErrorOfAsync(() => removeCluster({ dex, catalog }, 'prod', false))).exitCode).toBe(ExitCode.CATALOG);
  });
});
