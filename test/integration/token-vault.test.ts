// `k8s-auth token --via-vault ROLE` (dist build) against real OpenBao 2.7.2 and its Kubernetes
// secrets engine: every refusal OpenBao makes before it contacts a cluster (missing role, wrong
// mount, a namespace the role does not allow, a token without 'update' on the creds path, a
// sealed server) and the cluster behind OpenBao being unreachable, each one line with exit 4;
// and the usage errors, which send nothing. The engine here points at a closed loopback port, so
// a request that reached Kubernetes would show as that failure. The minting itself, against the
// real kube-apiserver, is test/cluster/token-via-openbao.test.ts.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { createCa, removeCa, type CertificateAuthority } from '../support/pki.js';
import { cleanEnv, runCli } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';
import { OPENBAO_MISSING, openbaoAvailable, startOpenBao, type OpenBao } from '../peers/openbao/openbao.js';

const built = existsSync(join(repoRoot, 'dist', 'cli.js'));

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe.skipIf(skipUnless(built, 'dist/ is not built: run `npm run build` first') || skipUnless(openbaoAvailable(), OPENBAO_MISSING))('k8s-auth token --via-vault against OpenBao', () => {
  let bao: OpenBao;
  /** the kubeconfig's cluster: k8s-auth itself must never call it with --via-vault */
  let kube: KubeApiDouble;
  let ca: CertificateAuthority;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let deadPort: number;
  let roleCount = 0;
  /** A fresh role on the `kubernetes` mount, minting for ServiceAccount deployer. */
  const newRole = async (prefix: string, allowedNamespaces: string[] = ['*']): Promise<string> => {
    roleCount += 1;
    const name = `${prefix}-${roleCount}`;
    const res = await bao.api('POST', `kubernetes/roles/${name}`, { allowed_kubernetes_namespaces: allowedNamespaces, service_account_name: 'deployer', token_max_ttl: '1h' });
    expect(res.status).toBe(204);
    return name;
  };

  beforeAll(async () => {
    [bao, kube, deadPort] = await Promise.all([startOpenBao({ tls: true }), startKubeApiDouble(), closedPort()]);
    ca = await createCa('dead-cluster');
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-token-vault-'));
    await bao.enableSecrets('kubernetes', 'kubernetes');
    // the cluster OpenBao mints on: nothing listens there
    const config = await bao.api('POST', 'kubernetes/config', { kubernetes_host: `https://127.0.0.1:${deadPort}`, kubernetes_ca_cert: ca.certPem, service_account_jwt: 'not-used-unless-a-cluster-is-reached', disable_local_ca_jwt: true });
    expect(config.status).toBe(204);
    await bao.writePolicy('catalog-only', 'path "secret/data/*" { capabilities = ["read"] }');
  });
  afterAll(async () => {
    await bao?.stop();
    await kube?.close();
    if (ca) await removeCa(ca);
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await bao.unseal();
    bao.clearRequests();
    kube.resetRecords();
    env = cleanEnv({ HOME: dir, KUBECONFIG: kube.kubeconfigPath, VAULT_ADDR: bao.addr, VAULT_TOKEN: bao.token, VAULT_CACERT: bao.caFile });
  });
  const creds = () => bao.requests().filter((r) => r.path.startsWith('kubernetes/creds/') || r.path.startsWith('k8s-prod/'));

  it('without VAULT_ADDR: exit 2 (usage, like --vault-mount), one line naming what to set, nothing sent', async () => {
    const noVault = cleanEnv({ HOME: dir, KUBECONFIG: kube.kubeconfigPath });
    const flag = await runCli(['token', '--via-vault', 'ci', '--ttl', '1h', '-o', 'json'], noVault);
    expect(flag.code, flag.stderr).toBe(2);
    expect(flag.stderr).toBe('error: --via-vault needs VAULT_ADDR: export the address of your Vault (e.g. VAULT_ADDR=https://vault.example.com:8200), then VAULT_TOKEN or `vault login`\n');
    const fromEnv = await runCli(['token', '--ttl', '1h', '-o', 'json'], { ...noVault, K8S_AUTH_VIA_VAULT: 'ci' });
    expect(fromEnv.code, fromEnv.stderr).toBe(2);
    expect(fromEnv.stderr).toMatch(/^error: K8S_AUTH_VIA_VAULT needs VAULT_ADDR: export the address of your Vault/);
    expect(flag.stdout + fromEnv.stdout).toBe('');
    expect(bao.requests()).toHaveLength(0);
    expect(kube.requests).toHaveLength(0);
  });

  it('a missing role is one line (exit 4), in OpenBao\'s words', async () => {
    const run = await runCli(['token', '--via-vault', 'nope', '--ttl', '1h'], env);
    expect(run.code).toBe(4);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      "error: Vault role 'nope' does not exist in the Kubernetes secrets engine at kubernetes/ (role 'nope' does not exist): check --via-vault, or ask a Vault admin to create kubernetes/roles/nope\n",
    );
    expect(creds().map((r) => [r.operation, r.path])).toEqual([['update', 'kubernetes/creds/nope']]);
    expect(kube.requests).toHaveLength(0);
  });

  it('a wrong mount is one line naming --vault-k8s-mount (exit 4)', async () => {
    const role = await newRole('ci');
    const run = await runCli(['token', '--via-vault', role, '--vault-k8s-mount', 'k8s-prod', '--ttl', '1h'], env);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/^error: Vault at https:\/\/127\.0\.0\.1:\d+ has no Kubernetes secrets engine at k8s-prod\/ \(404: no handler for route "k8s-prod\/creds\/ci-\d+"\. route entry not found\.\): pass --vault-k8s-mount with the engine's path\n$/);
  });

  it('a namespace the role does not allow is one line naming --namespace (exit 4)', async () => {
    const role = await newRole('ci', ['ci']);
    const run = await runCli(['token', '--via-vault', role, '-n', 'kube-system', '--ttl', '1h'], env);
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(
      `error: Vault refused to mint a token for role '${role}' in namespace kube-system (400: kubernetes_namespace 'kube-system' is not present in role's allowed_kubernetes_namespaces or does not match role's label selector allowed_kubernetes_namespace_selector): pass a --namespace the role allows\n`,
    );
    expect(kube.requests).toHaveLength(0);
  });

  it('a Vault token without access is one line, and the Vault token never shows (exit 4): unknown to OpenBao, and valid but without the policy', async () => {
    const role = await newRole('ci');
    const expected = `error: Vault at ${bao.addr} denied minting a token for role '${role}' (403 permission denied): your Vault token needs 'update' on kubernetes/creds/${role}; run \`vault login\` again or ask a Vault admin`;
    const unknown = await runCli(['token', '--via-vault', role, '--ttl', '1h', '-v'], { ...env, VAULT_TOKEN: 'hvs.someone-elses-token-42' });
    expect(unknown.code).toBe(4);
    expect(unknown.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([expected]);
    expect(unknown.stderr).not.toContain('hvs.someone-elses-token-42');
    // a real token whose policy reads the catalog but may not mint
    const catalogOnly = await bao.createToken(['catalog-only']);
    bao.clearRequests();
    const denied = await runCli(['token', '--via-vault', role, '--ttl', '1h', '-v'], { ...env, VAULT_TOKEN: catalogOnly });
    expect(denied.code).toBe(4);
    expect(denied.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([expected]);
    expect(denied.stderr).not.toContain(catalogOnly);
    expect(creds().map((r) => [r.path, r.tokenHmac, r.error])).toEqual([[`kubernetes/creds/${role}`, await bao.auditHash(catalogOnly), expect.stringContaining('permission denied')]]);
  });

  it('a sealed Vault is one line (exit 4)', async () => {
    const role = await newRole('ci');
    await bao.seal();
    const run = await runCli(['token', '--via-vault', role, '--ttl', '1h'], env);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/^error: Vault at https:\/\/127\.0\.0\.1:\d+ is sealed or unavailable \(503\) while minting a token for role 'ci-\d+'/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('the cluster behind OpenBao unreachable: one line with OpenBao\'s reason (exit 4), nothing on stdout', async () => {
    const role = await newRole('ci');
    const run = await runCli(['token', '--via-vault', role, '-n', 'ci', '--ttl', '1h', '-o', 'json'], env);
    expect(run.code).toBe(4);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^error: Vault refused to mint a token for role '${role}' in namespace ci \\(500: failed to create a service account token for ci/deployer: Post "https://127\\.0\\.0\\.1:${deadPort}/api/v1/namespaces/ci/serviceaccounts/deployer/token": dial tcp 127\\.0\\.0\\.1:${deadPort}: connect: connection refused\\)\\n$`));
    expect(kube.requests).toHaveLength(0);
  });

  it('--service-account cannot be combined with --via-vault (exit 2, nothing sent)', async () => {
    const run = await runCli(['token', '--via-vault', 'ci', '--service-account', 'x', '--ttl', '1h'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("error: --service-account cannot be combined with --via-vault: the Vault role 'ci' decides the ServiceAccount\n");
    expect(bao.requests()).toHaveLength(0);
  });
});
