import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { catalogEntry, checkOf, type DoctorPeers, DoctorWorkspace, failing, startDoctorPeers, verdicts } from '../support/doctor-fixture.js';
import { skipUnless } from '../support/skip.js';
import { OPENBAO_MISSING, openbaoAvailable, startOpenBao, type OpenBao } from '../peers/openbao/openbao.js';

/*
 * `k8s-auth doctor` with the catalog in Vault: real OpenBao 2.7.2 over HTTPS (-dev-tls, KV v2,
 * token lookup-self, `bao operator seal`), with the provider and API double behind the entry. A
 * broken Vault fails the `vault` check with a fix (and the catalog, which cannot be read then).
 */
let peers: DoctorPeers;
let bao: OpenBao;
let ws: DoctorWorkspace;

const vaultEnv = (extra: Record<string, string | undefined> = {}) => ({
  VAULT_ADDR: bao.addr,
  VAULT_TOKEN: bao.token,
  VAULT_CACERT: bao.caFile,
  ...extra,
});

describe.skipIf(skipUnless(openbaoAvailable(), OPENBAO_MISSING))('doctor with the catalog in Vault (OpenBao)', () => {
  beforeAll(async () => {
    [peers, bao] = await Promise.all([startDoctorPeers(), startOpenBao({ tls: true })]);
    await bao.kvPut('k8s-auth/clusters/prod', catalogEntry(peers));
    await bao.writePolicy('catalog-reader', ['path "secret/metadata/k8s-auth/clusters" { capabilities = ["list"] }', 'path "secret/data/k8s-auth/clusters/*" { capabilities = ["read"] }'].join('\n'));
  });

  afterAll(async () => {
    await Promise.all([peers?.close(), bao?.stop()]);
  });

  beforeEach(async () => {
    await bao.unseal();
    ws = new DoctorWorkspace(peers);
    ws.writeKubeconfig();
  });

  afterEach(() => ws.remove());

  it("passes every check, Vault included (lookup-self of the dev root token, whose display name is 'token')", async () => {
    bao.clearRequests();
    const { code, report } = await ws.doctor([], { env: vaultEnv(), catalogFile: false });
    expect(verdicts(report)).toMatchObject({
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
    expect(checkOf(report, 'vault').detail).toBe(`Vault ${bao.addr}: token 'token' valid, no expiry (policies: root)`);
    expect(checkOf(report, 'catalog').detail).toContain(`'prod' in Vault ${bao.addr} secret/k8s-auth/clusters`);
    expect(bao.requests().some((r) => r.path === 'auth/token/lookup-self' && r.error === undefined)).toBe(true);
  });

  it("reports a user's token as OpenBao describes it: display name, time left, policies", async () => {
    const token = await bao.createToken(['default', 'catalog-reader'], { ttl: '2h', displayName: 'jane' });
    const { code, report, stderr } = await ws.doctor([], { env: vaultEnv({ VAULT_TOKEN: token }), catalogFile: false });
    expect(code, stderr).toBe(0);
    expect(checkOf(report, 'vault')).toMatchObject({ verdict: 'pass', detail: expect.stringMatching(new RegExp(`^Vault ${bao.addr.replace(/[.]/g, '\\.')}: token 'token-jane' valid for (2h|1h 5\\dm) \\(policies: catalog-reader, default\\)$`)) });
    expect(checkOf(report, 'catalog').verdict).toBe('pass');
    expect(stderr).not.toContain(token);
  });

  it('warns on a token about to expire, telling to renew it (OpenBao tokens are renewable)', async () => {
    const token = await bao.createToken(['default', 'catalog-reader'], { ttl: '5m', displayName: 'ci' });
    const { report } = await ws.doctor([], { env: vaultEnv({ VAULT_TOKEN: token }), catalogFile: false });
    expect(checkOf(report, 'vault')).toMatchObject({ verdict: 'warn', detail: expect.stringMatching(/token 'token-ci' expires in [45]m/), fix: 'renew it: vault token renew' });
  });

  it('fails on a token Vault does not accept, telling to vault login', async () => {
    const { code, report, stderr } = await ws.doctor([], { env: vaultEnv({ VAULT_TOKEN: 'hvs.not-the-token' }), catalogFile: false });
    expect(failing(report)).toEqual(['vault', 'catalog']);
    expect(checkOf(report, 'vault').detail).toContain('403');
    expect(checkOf(report, 'vault').fix).toContain('vault login');
    expect(code).toBe(12);
    expect(stderr).not.toContain('hvs.not-the-token');
  });

  it('fails on a sealed Vault (bao operator seal)', async () => {
    await bao.seal();
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
