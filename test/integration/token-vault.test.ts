// `k8s-auth token --via-vault ROLE` (dist build) against the Vault double's Kubernetes secrets
// engine: the request Vault gets, the lease on stderr, the outputs, Vault's TTL cap, and the
// one-line errors for a missing role, a missing mount and a denied token.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { cleanEnv, runCli } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';
import { placeholderMint, startVaultDouble, type K8sCredsRequest, type K8sRoleOptions, type VaultDouble } from '../support/vault-double.js';

const built = existsSync(join(repoRoot, 'dist', 'cli.js'));

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe.skipIf(skipUnless(built, 'dist/ is not built: run `npm run build` first'))('k8s-auth token --via-vault against the Vault double', () => {
  let vault: VaultDouble;
  let kube: KubeApiDouble;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let seen: K8sCredsRequest[];
  let roleCount = 0;
  /** A fresh role on the `kubernetes` mount; what Vault parsed from each request lands in `seen`. */
  const newRole = (prefix: string, options: K8sRoleOptions = {}): string => {
    roleCount += 1;
    const name = `${prefix}-${roleCount}`;
    vault.setK8sRole('kubernetes', name, { ...options, mint: (req) => (seen.push(req), placeholderMint(req)) });
    return name;
  };

  beforeAll(async () => {
    vault = await startVaultDouble({ tls: true });
    kube = await startKubeApiDouble();
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-token-vault-'));
  });
  afterAll(async () => {
    await vault?.close();
    await kube?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen = [];
    vault.clearRequests();
    vault.unseal();
    kube.resetRecords();
    env = cleanEnv({ HOME: dir, KUBECONFIG: kube.kubeconfigPath, VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token, VAULT_CACERT: vault.caFile });
  });

  it('POSTs kubernetes/creds/<role> with namespace, ttl and audiences; prints JSON with the lease; the cluster is never called', async () => {
    const role = newRole('ci-deployer');
    const run = await runCli(['token', '--via-vault', role, '-n', 'ci', '--ttl', '2h', '--audience', 'a', '--audience', 'b', '-o', 'json'], env);
    expect(run.code).toBe(0);
    expect(vault.requests.map((r) => [r.method, r.path, r.hasToken])).toEqual([['POST', `/v1/kubernetes/creds/${role}`, true]]);
    expect(seen).toEqual([{ mount: 'kubernetes', role, namespace: 'ci', ttlSeconds: 7200, audiences: ['a', 'b'], clusterRoleBinding: false }]);
    const out = JSON.parse(run.stdout) as Record<string, string>;
    expect(Object.keys(out).sort()).toEqual(['cluster', 'expirationTimestamp', 'leaseId', 'namespace', 'serviceAccount', 'token']);
    expect(out['serviceAccount']).toMatch(/^v-token-ci-deplo-\d+-[a-z0-9]+$/);
    expect(out['namespace']).toBe('ci');
    expect(out['cluster']).toBe('double');
    expect(out['leaseId']).toMatch(new RegExp(`^kubernetes/creds/${role}/\\w{24}$`));
    const claims = claimsOf(out['token'] as string);
    expect(claims['aud']).toEqual(['a', 'b']);
    expect(Date.parse(out['expirationTimestamp'] as string) / 1000).toBe(claims['exp']);
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(7200);
    expect(run.stderr).toBe(`Vault lease ${out['leaseId']} (revoke early with: vault lease revoke ${out['leaseId']})\n`);
    expect(kube.requests).toHaveLength(0);
  });

  it('without VAULT_ADDR: exit 2 (usage, like --vault-mount), one line naming what to set, nothing sent', async () => {
    const noVault = cleanEnv({ HOME: dir, KUBECONFIG: kube.kubeconfigPath });
    const flag = await runCli(['token', '--via-vault', 'ci', '--ttl', '1h', '-o', 'json'], noVault);
    expect(flag.code, flag.stderr).toBe(2);
    expect(flag.stderr).toBe('error: --via-vault needs VAULT_ADDR: export the address of your Vault (e.g. VAULT_ADDR=https://vault.example.com:8200), then VAULT_TOKEN or `vault login`\n');
    const fromEnv = await runCli(['token', '--ttl', '1h', '-o', 'json'], { ...noVault, K8S_AUTH_VIA_VAULT: 'ci' });
    expect(fromEnv.code, fromEnv.stderr).toBe(2);
    expect(fromEnv.stderr).toMatch(/^error: K8S_AUTH_VIA_VAULT needs VAULT_ADDR: export the address of your Vault/);
    expect(flag.stdout + fromEnv.stdout).toBe('');
    expect(vault.requests).toHaveLength(0);
    expect(kube.requests).toHaveLength(0);
  });

  it('env-only (CI): K8S_AUTH_VIA_VAULT, K8S_AUTH_VAULT_K8S_MOUNT, K8S_AUTH_TTL; bare token on a pipe; no kubeconfig needed', async () => {
    const role = newRole('ci');
    const run = await runCli(['token'], { ...env, KUBECONFIG: join(dir, 'absent'), K8S_AUTH_VIA_VAULT: role, K8S_AUTH_VAULT_K8S_MOUNT: 'kubernetes', K8S_AUTH_TTL: '30m', K8S_AUTH_SA_NAMESPACE: 'build' });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^[\w-]+\.[\w-]+\.\n$/); // the double's unsigned placeholder JWT
    expect(seen).toEqual([{ mount: 'kubernetes', role, namespace: 'build', ttlSeconds: 1800, audiences: [], clusterRoleBinding: false }]);
  });

  it("says so when Vault caps the lifetime at the role's token_max_ttl, with Vault's own warning", async () => {
    const role = newRole('short', { tokenMaxTtlSeconds: 3600 });
    const run = await runCli(['token', '--via-vault', role, '--ttl', '12h', '-o', 'exec-credential'], env);
    expect(run.code).toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toContain("warning: Vault: ttl of 12h0m0s is greater than the role's token_max_ttl of 1h0m0s; capping accordingly");
    expect(lines.some((l) => /^warning: the server granted 1h, not the 12h asked \(it caps token lifetimes\); the token expires at \S+Z$/.test(l))).toBe(true);
    const credential = JSON.parse(run.stdout) as { status: { expirationTimestamp: string } };
    expect(Math.abs(Date.parse(credential.status.expirationTimestamp) - Date.now() - 3_600_000)).toBeLessThan(5_000);
  });

  it('writes a kubeconfig for the Vault-minted ServiceAccount', async () => {
    const role = newRole('ci');
    const out = join(dir, 'vault.kubeconfig');
    const run = await runCli(['token', '--via-vault', role, '--ttl', '1h', '-o', 'kubeconfig', '--kubeconfig-out', out], env);
    expect(run.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const config = parseYaml(readFileSync(out, 'utf8')) as { 'current-context': string; contexts: { context: { namespace: string } }[]; clusters: { cluster: { server: string } }[] };
    expect(config['current-context']).toMatch(/^v-token-ci-\d+-\d+-[a-z0-9]+@double$/);
    expect(config.contexts[0]?.context.namespace).toBe('default');
    expect(config.clusters[0]?.cluster.server).toBe(kube.url);
  });

  it('a missing role is one line (exit 4)', async () => {
    const run = await runCli(['token', '--via-vault', 'nope', '--ttl', '1h'], env);
    expect(run.code).toBe(4);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      "error: Vault role 'nope' does not exist in the Kubernetes secrets engine at kubernetes/ (role 'nope' does not exist): check --via-vault, or ask a Vault admin to create kubernetes/roles/nope\n",
    );
  });

  it('a wrong mount is one line naming --vault-k8s-mount (exit 4)', async () => {
    const role = newRole('ci');
    const run = await runCli(['token', '--via-vault', role, '--vault-k8s-mount', 'k8s-prod', '--ttl', '1h'], env);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/^error: Vault at https:\/\/127\.0\.0\.1:\d+ has no Kubernetes secrets engine at k8s-prod\/ \(404: no handler for route "k8s-prod\/creds\/ci-\d+"\. route entry not found\.\): pass --vault-k8s-mount with the engine's path\n$/);
  });

  it('a namespace the role does not allow is one line naming --namespace (exit 4)', async () => {
    const role = newRole('ci', { allowedNamespaces: ['ci'] });
    const run = await runCli(['token', '--via-vault', role, '-n', 'kube-system', '--ttl', '1h'], env);
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(
      `error: Vault refused to mint a token for role '${role}' in namespace kube-system (400: kubernetes_namespace 'kube-system' is not present in role's allowed_kubernetes_namespaces or does not match role's label selector allowed_kubernetes_namespace_selector): pass a --namespace the role allows\n`,
    );
  });

  it('a Vault token without access is one line, and the Vault token never shows (exit 4)', async () => {
    const role = newRole('ci');
    const run = await runCli(['token', '--via-vault', role, '--ttl', '1h', '-v'], { ...env, VAULT_TOKEN: 'hvs.someone-elses-token-42' });
    expect(run.code).toBe(4);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toEqual([
      `error: Vault at ${vault.address} denied minting a token for role '${role}' (403 permission denied): your Vault token needs 'update' on kubernetes/creds/${role}; run \`vault login\` again or ask a Vault admin`,
    ]);
    expect(run.stderr).not.toContain('hvs.someone-elses-token-42');
  });

  it('a sealed Vault is one line (exit 4)', async () => {
    const role = newRole('ci');
    vault.seal();
    const run = await runCli(['token', '--via-vault', role, '--ttl', '1h'], env);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/^error: Vault at https:\/\/127\.0\.0\.1:\d+ is sealed or unavailable \(503\) while minting a token for role 'ci-\d+'/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--service-account cannot be combined with --via-vault (exit 2, nothing sent)', async () => {
    const run = await runCli(['token', '--via-vault', 'ci', '--service-account', 'x', '--ttl', '1h'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("error: --service-account cannot be combined with --via-vault: the Vault role 'ci' decides the ServiceAccount\n");
    expect(vault.requests).toHaveLength(0);
  });
});
