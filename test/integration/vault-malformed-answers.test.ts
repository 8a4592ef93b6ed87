// Answers no real Vault or OpenBao gives, but a proxy, a load balancer or a misrouted mount in
// front of it can: a list without keys, a KV read without KV v2 data, a creds answer without a
// token, an HTML error page. Real OpenBao cannot be made to send these, so this file (and only
// this one, with support-vault-double) uses the Vault double (test/support/vault-double.ts,
// `answerRaw`). Everything Vault really does is tested against OpenBao (catalog-vault,
// doctor-vault, token-vault, test/cluster/token-via-openbao). Slow, hanging and dropped answers
// are reliability-faults' fault servers.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { cleanEnv, runCli } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';
import { startVaultDouble, type VaultDouble } from '../support/vault-double.js';

const built = existsSync(join(repoRoot, 'dist', 'cli.js'));
const entry = { server: 'https://127.0.0.1:6443', 'issuer-url': 'https://127.0.0.1:5556/dex', 'client-id': 'k8s-auth' };

describe.skipIf(skipUnless(built, 'dist/ is not built: run `npm run build` first'))('Vault answers that are not Vault (the Vault double)', () => {
  let vault: VaultDouble;
  let kube: KubeApiDouble;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const paths = ['secret/metadata/k8s-auth/clusters', 'secret/data/k8s-auth/clusters/prod', 'kubernetes/creds/ci'];

  beforeAll(async () => {
    [vault, kube] = await Promise.all([startVaultDouble(), startKubeApiDouble()]);
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-vault-malformed-'));
    vault.putKv('secret', 'k8s-auth/clusters/prod', entry);
  });
  afterAll(async () => {
    await Promise.all([vault?.close(), kube?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    for (const p of paths) vault.answerRaw(p, undefined);
    vault.clearRequests();
    env = cleanEnv({ HOME: dir, KUBECONFIG: kube.kubeconfigPath, VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token });
  });
  const loginProd = ['login', 'prod', '--kubeconfig', join(tmpdir(), 'never-written'), '--no-browser', '--timeout', '5'];

  it('a list without keys: exit 4, one line asking whether the mount is KV version 2', async () => {
    vault.answerRaw('secret/metadata/k8s-auth/clusters', { status: 200, body: { data: {}, warnings: null } });
    const run = await runCli(['clusters'], env);
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(`error: Vault at ${vault.address} answered the list of secret/k8s-auth/clusters without keys: is the mount 'secret' KV version 2?\n`);
  });

  it('a read without KV v2 data (a v1-shaped body on the data path): exit 3, one line', async () => {
    vault.answerRaw('secret/data/k8s-auth/clusters/prod', { status: 200, body: { data: entry } });
    const run = await runCli(loginProd, env);
    expect(run.code).toBe(3);
    expect(run.stderr).toBe("error: cluster 'prod' in Vault secret/k8s-auth/clusters/prod: the secret has no KV version 2 data (is the mount 'secret' KV version 2?)\n");
  });

  it('a 200 whose data is null (real Vault answers a deleted version with 404): exit 3, "deleted"', async () => {
    vault.answerRaw('secret/data/k8s-auth/clusters/prod', { status: 200, body: { data: { data: null, metadata: { version: 3 } } } });
    const run = await runCli(loginProd, env);
    expect(run.code).toBe(3);
    expect(run.stderr).toBe("error: cluster 'prod' not found in Vault secret/k8s-auth/clusters/prod: its latest version is deleted\n");
  });

  it('an HTML error page from something in front of Vault: exit 4, one line with the status, no HTML', async () => {
    vault.answerRaw('secret/data/k8s-auth/clusters/prod', { status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>', contentType: 'text/html' });
    const run = await runCli(loginProd, env);
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(`error: Vault at ${vault.address} answered 502 to reading cluster 'prod' at secret/k8s-auth/clusters/prod\n`);
  });

  it('token --via-vault: a creds answer without service_account_token is exit 4 naming --vault-k8s-mount, nothing on stdout', async () => {
    vault.answerRaw('kubernetes/creds/ci', { status: 200, body: { lease_id: 'kubernetes/creds/ci/x', lease_duration: 3600, data: { service_account_name: 'x' } } });
    const run = await runCli(['token', '--via-vault', 'ci', '--ttl', '1h', '-o', 'json'], env);
    expect(run.code).toBe(4);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe("error: Vault answered kubernetes/creds/ci without a service_account_token: is 'kubernetes' a Kubernetes secrets engine mount? (pass --vault-k8s-mount)\n");
    expect(vault.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/kubernetes/creds/ci']);
    expect(kube.requests).toHaveLength(0);
  });
});
