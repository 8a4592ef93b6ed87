// An untrusted certificate names where THAT peer's CA goes: the catalog provider of login
// (--certificate-authority / idp-certificate-authority-data), the provider `rbac apply`
// verifies against (--idp-ca-file, or the catalog entry), the API server of `token` and
// `rbac list` (the kubeconfig cluster's certificate-authority), Vault (VAULT_CACERT).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { cleanEnv, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { expectOneLineError, spawnCli } from '../support/reliability-harness.js';
import { skipUnless } from '../support/skip.js';
import { OPENBAO_MISSING, openbaoAvailable, startOpenBao, type OpenBao } from '../peers/openbao/openbao.js';

let provider: TestProvider;
let api: KubeApiDouble;
/** real OpenBao over -dev-tls; undefined when not installed (its case skips) */
let bao: OpenBao | undefined;
const skipVault = skipUnless(openbaoAvailable(), OPENBAO_MISSING, 'tls-hints: Vault');
let dir: TempDir;
let catalog: string;
let idTokenFile: string;
let untrustedKubeconfig: string;

const NOT_TRUSTED = (peer: string) => new RegExp(`^error: TLS certificate of ${peer} at \\S+ is not trusted \\([A-Z_]+\\): `);

beforeAll(async () => {
  [provider, api, bao] = await Promise.all([startTestProvider(), startKubeApiDouble(), skipVault ? undefined : startOpenBao({ tls: true })]);
  dir = tempDir('k8s-auth-tls-hints-');
  // no idp-certificate-authority-data: the provider's CA is unknown
  catalog = writeCatalog(dir.file('catalog.yaml'), { prod: { server: api.url, 'issuer-url': provider.issuer, 'client-id': provider.clientId } });
  idTokenFile = dir.file('id-token');
  writeFileSync(idTokenFile, await provider.mintIdToken({ emailVerified: true }), { mode: 0o600 });
  // the API server's CA is not in the kubeconfig
  untrustedKubeconfig = dir.file('kc-untrusted');
  writeFileSync(
    untrustedKubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      clusters: [{ name: 'double', cluster: { server: api.url } }],
      users: [{ name: 'u', user: { token: api.adminToken } }],
      contexts: [{ name: 'c', context: { cluster: 'double', user: 'u' } }],
    }),
    { mode: 0o600 },
  );
});
afterAll(async () => {
  await Promise.all([provider?.close(), api?.close(), bao?.stop()]);
  dir?.remove();
});

const env = () => cleanEnv({ HOME: dir.path });

describe('the fix for an untrusted certificate names that peer', () => {
  it("login's provider: --certificate-authority or the catalog entry's idp-certificate-authority-data (exit 5)", async () => {
    const run = await spawnCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('kc-login'), '--no-browser', '--timeout', '5'], env()).exited;
    expect(run.code, run.stderr).toBe(5);
    const line = expectOneLineError(run.stderr, { message: NOT_TRUSTED('identity provider') });
    expect(line).toMatch(/: pass its CA with --certificate-authority FILE, or put it in the catalog entry's idp-certificate-authority-data rather than disabling verification$/);
  });

  it('rbac apply --issuer-url: --idp-ca-file (exit 5, nothing sent to the API server)', async () => {
    api.resetRecords();
    const run = await spawnCli(['rbac', 'apply', '--issuer-url', provider.issuer, '--client-id', provider.clientId, '--id-token', idTokenFile, '--kubeconfig', api.kubeconfigPath], env()).exited;
    expect(run.code, run.stderr).toBe(5);
    const line = expectOneLineError(run.stderr, { message: NOT_TRUSTED('identity provider') });
    expect(line).toMatch(/: pass its CA with --idp-ca-file FILE \(or, with --cluster, the catalog entry's idp-certificate-authority-data\) rather than disabling verification$/);
    expect(api.requests).toEqual([]);
  });

  it("rbac apply --cluster: the catalog entry's idp-certificate-authority-data (exit 5)", async () => {
    const run = await spawnCli(['rbac', 'apply', 'prod', '--catalog', catalog, '--id-token', idTokenFile, '--kubeconfig', api.kubeconfigPath], env()).exited;
    expect(run.code, run.stderr).toBe(5);
    const line = expectOneLineError(run.stderr, { message: NOT_TRUSTED('identity provider') });
    expect(line).toMatch(/: put its CA in the catalog entry's idp-certificate-authority-data, or pass --issuer-url\/--client-id with --idp-ca-file FILE rather than disabling verification$/);
  });

  it("token and rbac list: the kubeconfig cluster's certificate-authority(-data) (exit 9)", async () => {
    const minted = await spawnCli(['token', '--ttl', '1h', '--service-account', 'ci', '-o', 'json', '--kubeconfig', untrustedKubeconfig, '--http-timeout', '5'], env()).exited;
    expect(minted.code, minted.stderr).toBe(9);
    const hint = /: put its CA in the kubeconfig cluster's certificate-authority \(file\) or certificate-authority-data rather than disabling verification$/;
    expect(expectOneLineError(minted.stderr, { message: NOT_TRUSTED('Kubernetes API server') })).toMatch(hint);
    const listed = await spawnCli(['rbac', 'list', '--kubeconfig', untrustedKubeconfig, '--http-timeout', '5'], env()).exited;
    expect(listed.code, listed.stderr).toBe(9);
    expect(expectOneLineError(listed.stderr, { message: NOT_TRUSTED('Kubernetes API server') })).toMatch(hint);
  });

  it.skipIf(skipVault)('Vault (OpenBao -dev-tls): VAULT_CACERT (exit 4)', async () => {
    const run = await spawnCli(['clusters'], cleanEnv({ HOME: dir.path, VAULT_ADDR: bao?.addr, VAULT_TOKEN: bao?.token })).exited;
    expect(run.code, run.stderr).toBe(4);
    expect(expectOneLineError(run.stderr, { message: NOT_TRUSTED('Vault') })).toMatch(/: set VAULT_CACERT to its CA file rather than disabling verification$/);
  });
});
