// Trust, the rest of it: TLS to Vault (real OpenBao with its -dev-tls CA) and the API server verified unless the user explicitly
// opts out (VAULT_SKIP_VERIFY, insecure-skip-tls-verify in the kubeconfig), and then a warning
// on stderr; RBAC written only from a verified token, also when the token comes from the
// current kubeconfig login rather than a file.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { alterPayload } from '../support/id-token-front.js';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { expectOneLineError, nonEmptyLines, spawnCli } from '../support/reliability-harness.js';
import { skipUnless } from '../support/skip.js';
import { OPENBAO_MISSING, openbaoAvailable, startOpenBao, type OpenBao } from '../peers/openbao/openbao.js';

let provider: TestProvider;
let bao: OpenBao | undefined;
const skipVault = skipUnless(openbaoAvailable(), OPENBAO_MISSING, 'security-trust: Vault TLS');
let api: KubeApiDouble;
let dir: TempDir;

function kubeconfig(name: string, cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  const path = dir.file(name);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'c',
    clusters: [{ name: 'double', cluster: { server: api.url, ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'c', context: { cluster: 'double', user: 'u' } }],
  };
  writeFileSync(path, JSON.stringify(doc), { mode: 0o600 });
  return path;
}

beforeAll(async () => {
  [provider, bao, api] = await Promise.all([startTestProvider(), skipVault ? undefined : startOpenBao({ tls: true }), startKubeApiDouble()]);
  dir = tempDir('k8s-auth-sec-trust-');
  await bao?.kvPut('k8s-auth/clusters/prod', { server: 'https://127.0.0.1:6443', 'issuer-url': provider.issuer, 'client-id': 'k8s-auth' });
  api.seed('serviceaccounts', { metadata: { name: 'ci', namespace: 'default' } });
});
afterAll(async () => {
  await Promise.all([provider?.close(), bao?.stop(), api?.close()]);
  dir?.remove();
});
beforeEach(() => api.resetRecords());

describe.skipIf(skipVault)('Vault TLS (OpenBao -dev-tls)', () => {
  const env = (extra: Record<string, string | undefined>) => cleanEnv({ HOME: dir.path, VAULT_ADDR: bao?.addr, VAULT_TOKEN: bao?.token, ...extra });
  it('an untrusted Vault certificate is refused (exit 4, names VAULT_CACERT)', async () => {
    const run = await spawnCli(['clusters'], env({})).exited;
    expect(run.code).toBe(4);
    expectOneLineError(run.stderr, { message: /TLS certificate of Vault at .* is not trusted .*: set VAULT_CACERT to its CA file/ });
  });
  it('VAULT_CACERT trusts it without a warning', async () => {
    const run = await spawnCli(['clusters', '-o', 'json'], env({ VAULT_CACERT: bao?.caFile })).exited;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('prod');
    expect(nonEmptyLines(run.stderr)).toEqual([]);
  });
  it('VAULT_SKIP_VERIFY=true skips verification and warns', async () => {
    const run = await spawnCli(['clusters', '-o', 'json'], env({ VAULT_SKIP_VERIFY: 'true' })).exited;
    expect(run.code, run.stderr).toBe(0);
    expect(nonEmptyLines(run.stderr)).toEqual([expect.stringMatching(/^warning: TLS verification is OFF for Vault at .* \(VAULT_SKIP_VERIFY\)/)]);
  });
  it('a plain-http VAULT_ADDR to another host warns that the Vault token travels unencrypted (client built in-process, no request sent)', async () => {
    const { vaultClientFromSettings } = await import('../../src/adapters/vault-client.js');
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      vaultClientFromSettings({ address: 'http://vault.example:8200', token: 'hvs.not-sent-anywhere', tokenSource: 'VAULT_TOKEN', skipVerify: false });
      vaultClientFromSettings({ address: 'http://127.0.0.1:8200', token: 'hvs.not-sent-anywhere', tokenSource: 'VAULT_TOKEN', skipVerify: false });
    } finally {
      process.stderr.write = original;
    }
    expect(written.join('')).toMatch(/^warning: Vault at http:\/\/vault\.example:8200 is plain http \(VAULT_ADDR\): your Vault token crosses the network unencrypted; use https\n$/);
  });
  it('VAULT_SKIP_VERIFY=false does not skip (node-vault alone would treat any value as "skip")', async () => {
    const run = await spawnCli(['clusters'], env({ VAULT_SKIP_VERIFY: 'false' })).exited;
    expect(run.code).toBe(4);
    expectOneLineError(run.stderr, { message: /is not trusted/ });
  });
});

describe('API server TLS', () => {
  const token = (kc: string) => ['token', '--ttl', '1h', '--service-account', 'ci', '-o', 'json', '--kubeconfig', kc, '--http-timeout', '5'];
  it('token and rbac list refuse an API server whose certificate is not trusted (exit 9)', async () => {
    const kc = kubeconfig('kc-untrusted', {}, { token: api.adminToken });
    const minted = await spawnCli(token(kc), cleanEnv({ HOME: dir.path })).exited;
    expect(minted.code).toBe(9);
    expectOneLineError(minted.stderr, { message: /not trusted|certificate/i });
    const listed = await spawnCli(['rbac', 'list', '--kubeconfig', kc, '--http-timeout', '5'], cleanEnv({ HOME: dir.path })).exited;
    expect(listed.code).toBe(9);
    expectOneLineError(listed.stderr, { message: /not trusted|certificate/i });
    expect(api.requests).toEqual([]); // nothing got through the handshake
  });
  it('insecure-skip-tls-verify in the kubeconfig is obeyed, with a warning (token and rbac list)', async () => {
    const kc = kubeconfig('kc-insecure', { 'insecure-skip-tls-verify': true }, { token: api.adminToken });
    const minted = await spawnCli(token(kc), cleanEnv({ HOME: dir.path })).exited;
    expect(minted.code, minted.stderr).toBe(0);
    expect(nonEmptyLines(minted.stderr)).toEqual([expect.stringMatching(/^warning: TLS verification is OFF for the Kubernetes API server at https:\/\/127\.0\.0\.1:\d+ \(insecure-skip-tls-verify in the kubeconfig\)/)]);
    const listed = await spawnCli(['rbac', 'list', '--kubeconfig', kc, '-o', 'json'], cleanEnv({ HOME: dir.path })).exited;
    expect(listed.code, listed.stderr).toBe(0);
    expect(nonEmptyLines(listed.stderr)).toEqual([expect.stringMatching(/^warning: TLS verification is OFF for the Kubernetes API server/)]);
  });
});

describe('RBAC only from verified tokens', () => {
  it("a current login whose ID token was altered (another user's email) creates nothing: exit 5, zero API requests", async () => {
    const genuine = await provider.mintIdToken({ emailVerified: true, groups: ['developers'] });
    const forged = alterPayload(genuine, { email: 'admin@example.com', groups: ['cluster-admin'] });
    const kc = kubeconfig(
      'kc-forged-login',
      { 'certificate-authority-data': Buffer.from(api.ca.certPem).toString('base64') },
      {
        'auth-provider': {
          name: 'oidc',
          config: { 'idp-issuer-url': provider.issuer, 'client-id': 'k8s-auth', 'id-token': forged, 'idp-certificate-authority-data': Buffer.from(provider.caPem).toString('base64') },
        },
      },
    );
    const run = await spawnCli(['rbac', 'apply', '--kubeconfig', kc], cleanEnv({ HOME: dir.path })).exited;
    expect(run.code, run.stderr).toBe(5);
    expectOneLineError(run.stderr, { message: /signature does not verify/ });
    expect(api.requests).toEqual([]);
    expect(api.list('serviceaccounts').map((s) => s.metadata.name)).toEqual(['ci']);
  });

  it('control: the genuine token of the same login passes verification (then the API server, which does not know it, answers 401)', async () => {
    const genuine = await provider.mintIdToken({ emailVerified: true, groups: ['developers'] });
    const kc = kubeconfig(
      'kc-genuine-login',
      { 'certificate-authority-data': Buffer.from(api.ca.certPem).toString('base64') },
      { 'auth-provider': { name: 'oidc', config: { 'idp-issuer-url': provider.issuer, 'client-id': 'k8s-auth', 'id-token': genuine, 'idp-certificate-authority-data': Buffer.from(provider.caPem).toString('base64') } } },
    );
    const run = await spawnCli(['rbac', 'apply', '--kubeconfig', kc, '-q'], cleanEnv({ HOME: dir.path })).exited;
    expect(run.code, run.stderr).toBe(9);
    expectOneLineError(run.stderr, { message: /401 Unauthorized/ });
    expect(api.requests.length).toBeGreaterThan(0);
    expect(api.writes()).toEqual([]);
  });
});
