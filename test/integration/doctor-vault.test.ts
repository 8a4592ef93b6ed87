import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { catalogEntry, checkOf, type DoctorPeers, DoctorWorkspace, failing, startDoctorPeers, verdicts } from '../support/doctor-fixture.js';
import { startVaultDouble, type VaultDouble } from '../support/vault-double.js';

/*
 * `k8s-auth doctor` with the catalog in Vault: the Vault double over HTTPS (KV v2, token
 * lookup-self, sealing), with the provider and API double behind the entry. A broken Vault fails
 * the `vault` check with a fix (and the catalog, which cannot be read then).
 */
let peers: DoctorPeers;
let vault: VaultDouble;
let ws: DoctorWorkspace;

beforeAll(async () => {
  peers = await startDoctorPeers();
  vault = await startVaultDouble({ tls: true });
  vault.putKv('secret', 'k8s-auth/clusters/prod', catalogEntry(peers));
});

afterAll(async () => {
  await Promise.all([peers?.close(), vault?.close()]);
});

beforeEach(() => {
  vault.unseal();
  ws = new DoctorWorkspace(peers);
  ws.writeKubeconfig();
});

afterEach(() => ws.remove());

const vaultEnv = (extra: Record<string, string | undefined> = {}) => ({
  VAULT_ADDR: vault.address,
  VAULT_TOKEN: vault.token,
  VAULT_CACERT: vault.caFile,
  ...extra,
});

describe('doctor with the catalog in Vault', () => {
  it('passes every check, Vault included (lookup-self)', async () => {
    const { code, report } = await ws.doctor([], { env: vaultEnv(), catalogFile: false });
    expect(verdicts(report)).toEqual({
      vault: 'pass',
      catalog: 'pass',
      provider: 'pass',
      'redirect-uri': 'pass',
      kubeconfig: 'pass',
      locks: 'pass',
      tokens: 'pass',
      'api-server': 'pass',
    });
    expect(code).toBe(0);
    expect(checkOf(report, 'vault').detail).toBe(`Vault ${vault.address}: token 'token' valid, no expiry (policies: root)`);
    expect(checkOf(report, 'catalog').detail).toContain(`'prod' in Vault ${vault.address} secret/k8s-auth/clusters`);
    expect(vault.requests.some((r) => r.path.includes('auth/token/lookup-self'))).toBe(true);
  });

  it('fails on a token Vault does not accept, telling to vault login', async () => {
    const { code, report, stderr } = await ws.doctor([], { env: vaultEnv({ VAULT_TOKEN: 'hvs.not-the-token' }), catalogFile: false });
    expect(failing(report)).toEqual(['vault', 'catalog']);
    expect(checkOf(report, 'vault').detail).toContain('403');
    expect(checkOf(report, 'vault').fix).toContain('vault login');
    expect(code).toBe(12);
    expect(stderr).not.toContain('hvs.not-the-token');
  });

  it('fails on a sealed Vault', async () => {
    vault.seal();
    const { report } = await ws.doctor([], { env: vaultEnv(), catalogFile: false });
    expect(checkOf(report, 'vault')).toMatchObject({ verdict: 'fail', fix: expect.stringContaining('unsealed') });
    expect(checkOf(report, 'vault').detail).toContain('503');
  });

  it("fails without Vault's CA, pointing at VAULT_CACERT", async () => {
    const { report } = await ws.doctor([], { env: vaultEnv({ VAULT_CACERT: undefined }), catalogFile: false });
    expect(checkOf(report, 'vault')).toMatchObject({ verdict: 'fail', fix: expect.stringContaining('VAULT_CACERT') });
  });

  it('fails without a token, and on a Vault that is not there', async () => {
    const noToken = await ws.doctor([], { env: vaultEnv({ VAULT_TOKEN: undefined }), catalogFile: false });
    expect(checkOf(noToken.report, 'vault')).toMatchObject({ verdict: 'fail', fix: expect.stringContaining('vault login') });
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const gone = await ws.doctor([], { env: vaultEnv({ VAULT_ADDR: `https://127.0.0.1:${port}` }), catalogFile: false });
    expect(checkOf(gone.report, 'vault')).toMatchObject({ verdict: 'fail', fix: expect.stringContaining('VAULT_ADDR') });
  });
});
