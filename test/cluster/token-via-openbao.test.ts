// `k8s-auth token --via-vault ROLE` end to end: real OpenBao 2.7.2's Kubernetes secrets engine,
// configured with the token of a ServiceAccount that may mint tokens (and manage the
// ServiceAccounts and RoleBindings it generates), mints on a real kube-apiserver 1.20; the
// apiserver accepts what it minted with exactly the permissions the role gives. k8s-auth itself
// never calls the cluster: its kubeconfig here points at a Kubernetes API double that must see
// no request (except for -o kubeconfig, which reads the real cluster's address from the admin
// kubeconfig and is then used by real kubectl 1.20 and 1.32).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { cleanEnv, runCli } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';
import { OPENBAO_MISSING, openbaoAvailable, startOpenBao, type OpenBao } from '../peers/openbao/openbao.js';
import { apiRequest, selfSubjectAccessReview, type ApiAuth } from './api-client.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { clusterTierSkip, KUBECTLS, kubectlSkip } from './tier.js';

const skipTier = clusterTierSkip();
const skipBao = skipUnless(openbaoAvailable(), OPENBAO_MISSING, 'test/cluster/token-via-openbao.test.ts');
const skipKubectl = !skipTier && kubectlSkip();
const built = existsSync(join(repoRoot, 'dist', 'cli.js'));
const execFileAsync = promisify(execFile);
const NS = 'ci';
const rbac = '/apis/rbac.authorization.k8s.io/v1';

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe.skipIf(skipTier || skipBao || !built)('token --via-vault: OpenBao Kubernetes secrets engine on a real kube-apiserver', () => {
  let cp: ControlPlane;
  let bao: OpenBao;
  let kube: KubeApiDouble;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  async function create(path: string, body: Record<string, unknown>): Promise<void> {
    const res = await apiRequest(cp, { method: 'POST', path, auth: cp.adminAuth, body });
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.body}`);
  }
  async function role(name: string, body: Record<string, unknown>): Promise<void> {
    const res = await bao.api('POST', `kubernetes/roles/${name}`, { allowed_kubernetes_namespaces: [NS], ...body });
    if (res.status !== 204) throw new Error(`kubernetes/roles/${name}: ${res.status} ${JSON.stringify(res.json)}`);
  }

  beforeAll(async () => {
    [cp, bao, kube] = await Promise.all([startControlPlane(), startOpenBao({ tls: true }), startKubeApiDouble()]);
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-token-openbao-'));
    // the cluster: namespace ci, ServiceAccount deployer that may read ConfigMaps there, a Role
    // for the ServiceAccounts OpenBao generates
    await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await create(`/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer' } });
    await create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { a: '1' } });
    await create(`${rbac}/namespaces/${NS}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'configmap-reader' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    });
    await create(`${rbac}/namespaces/${NS}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'deployer-configmap-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: NS }],
    });
    // OpenBao's own identity on the cluster: the ClusterRole its documentation asks for
    await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'openbao' } });
    await create('/api/v1/namespaces/openbao/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'openbao' } });
    await create(`${rbac}/clusterroles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'openbao-token-creator' },
      rules: [
        { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
        { apiGroups: [''], resources: ['serviceaccounts', 'serviceaccounts/token'], verbs: ['create', 'update', 'delete'] },
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings', 'clusterrolebindings'], verbs: ['create', 'update', 'delete'] },
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'clusterroles'], verbs: ['bind', 'escalate', 'create', 'update', 'delete'] },
      ],
    });
    await create(`${rbac}/clusterrolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'openbao-token-creator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'openbao-token-creator' },
      subjects: [{ kind: 'ServiceAccount', name: 'openbao', namespace: 'openbao' }],
    });
    const minted = await apiRequest(cp, {
      method: 'POST', path: '/api/v1/namespaces/openbao/serviceaccounts/openbao/token', auth: cp.adminAuth,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86_400 } },
    });
    if (minted.status !== 201) throw new Error(`TokenRequest for openbao: ${minted.status} ${minted.body}`);
    const engineJwt = (minted.json as { status: { token: string } }).status.token;
    await bao.enableSecrets('kubernetes', 'kubernetes');
    const config = await bao.api('POST', 'kubernetes/config', { kubernetes_host: cp.server, kubernetes_ca_cert: cp.caPem, service_account_jwt: engineJwt, disable_local_ca_jwt: true });
    if (config.status !== 204) throw new Error(`kubernetes/config: ${config.status} ${JSON.stringify(config.json)}`);
    // the same engine in an OpenBao namespace, for VAULT_NAMESPACE
    await bao.createNamespace('platform');
    await bao.enableSecrets('kubernetes', 'kubernetes', { namespace: 'platform' });
    const nsConfig = await bao.api('POST', 'kubernetes/config', { kubernetes_host: cp.server, kubernetes_ca_cert: cp.caPem, service_account_jwt: engineJwt, disable_local_ca_jwt: true }, { namespace: 'platform' });
    if (nsConfig.status !== 204) throw new Error(`platform kubernetes/config: ${nsConfig.status} ${JSON.stringify(nsConfig.json)}`);
    const nsRole = await bao.api('POST', 'kubernetes/roles/platform-deployer', { allowed_kubernetes_namespaces: [NS], service_account_name: 'deployer' }, { namespace: 'platform' });
    if (nsRole.status !== 204) throw new Error(`platform role: ${nsRole.status} ${JSON.stringify(nsRole.json)}`);
    await role('deployer', { service_account_name: 'deployer', token_max_ttl: '12h' });
    await role('short', { service_account_name: 'deployer', token_max_ttl: '1h' });
    await role('generated', { kubernetes_role_name: 'configmap-reader', kubernetes_role_type: 'Role', token_max_ttl: '12h' });
  });
  afterAll(async () => {
    await bao?.stop();
    await kube?.close();
    await cp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    kube.resetRecords();
    env = cleanEnv({ HOME: dir, KUBECONFIG: kube.kubeconfigPath, VAULT_ADDR: bao.addr, VAULT_TOKEN: bao.token, VAULT_CACERT: bao.caFile });
  });

  it('POSTs kubernetes/creds/<role>; prints JSON with the lease; the apiserver accepts the token with the ServiceAccount permissions; k8s-auth never calls the cluster', async () => {
    bao.clearRequests();
    const run = await runCli(['token', '--via-vault', 'deployer', '-n', NS, '--ttl', '2h', '--audience', 'a', '--audience', 'b', '-o', 'json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(bao.requests().map((r) => [r.operation, r.path, r.tokenHmac !== undefined, r.error])).toEqual([['update', 'kubernetes/creds/deployer', true, undefined]]);
    const out = JSON.parse(run.stdout) as Record<string, string>;
    expect(Object.keys(out).sort()).toEqual(['cluster', 'expirationTimestamp', 'leaseId', 'namespace', 'serviceAccount', 'token']);
    expect(out).toMatchObject({ serviceAccount: 'deployer', namespace: NS, cluster: 'double' });
    expect(out['leaseId']).toMatch(/^kubernetes\/creds\/deployer\/\w{24}$/);
    const claims = claimsOf(out['token'] as string);
    expect(claims['sub']).toBe(`system:serviceaccount:${NS}:deployer`);
    expect(claims['aud']).toEqual(['a', 'b']);
    expect(Date.parse(out['expirationTimestamp'] as string) / 1000).toBe(claims['exp']);
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(7200);
    expect(run.stderr).toBe(`Vault lease ${out['leaseId']} (revoke early with: vault lease revoke ${out['leaseId']})\n`);
    expect(kube.requests).toHaveLength(0);
    // audiences a, b: the apiserver (audience = its issuer) does not take this one; mint one it does
    const usable = await runCli(['token', '--via-vault', 'deployer', '-n', NS, '--ttl', '1h', '-o', 'json'], env);
    expect(usable.code, usable.stderr).toBe(0);
    const sa: ApiAuth = { kind: 'bearer', token: (JSON.parse(usable.stdout) as { token: string }).token };
    const checks = await Promise.all([
      selfSubjectAccessReview(cp, sa, { verb: 'list', resource: 'configmaps', namespace: NS }),
      selfSubjectAccessReview(cp, sa, { verb: 'create', resource: 'configmaps', namespace: NS }),
      selfSubjectAccessReview(cp, sa, { verb: 'list', resource: 'configmaps', namespace: 'default' }),
    ]);
    expect(checks).toEqual([{ status: 201, allowed: true }, { status: 201, allowed: false }, { status: 201, allowed: false }]);
    expect((await selfSubjectAccessReview(cp, { kind: 'bearer', token: (JSON.parse(run.stdout) as { token: string }).token }, { verb: 'list', resource: 'configmaps', namespace: NS })).status).toBe(401);
  });

  it('env-only (CI): K8S_AUTH_VIA_VAULT, K8S_AUTH_VAULT_K8S_MOUNT, K8S_AUTH_TTL, K8S_AUTH_SA_NAMESPACE; bare token on a pipe; no kubeconfig needed', async () => {
    const run = await runCli(['token'], { ...env, KUBECONFIG: join(dir, 'absent'), K8S_AUTH_VIA_VAULT: 'deployer', K8S_AUTH_VAULT_K8S_MOUNT: 'kubernetes', K8S_AUTH_TTL: '30m', K8S_AUTH_SA_NAMESPACE: NS });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const claims = claimsOf(run.stdout.trim());
    expect(claims['sub']).toBe(`system:serviceaccount:${NS}:deployer`);
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(1800);
    expect((await selfSubjectAccessReview(cp, { kind: 'bearer', token: run.stdout.trim() }, { verb: 'get', resource: 'configmaps', namespace: NS })).allowed).toBe(true);
  });

  it("says so when OpenBao caps the lifetime at the role's token_max_ttl, with OpenBao's own warning (it caps, it does not refuse)", async () => {
    const run = await runCli(['token', '--via-vault', 'short', '-n', NS, '--ttl', '12h', '-o', 'exec-credential'], env);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toContain("warning: Vault: ttl of 12h0m0s is greater than the role's token_max_ttl of 1h0m0s; capping accordingly");
    expect(lines.some((l) => /^warning: the server granted 1h, not the 12h asked \(it caps token lifetimes\); the token expires at \S+Z$/.test(l))).toBe(true);
    const credential = JSON.parse(run.stdout) as { status: { token: string; expirationTimestamp: string } };
    expect(Math.abs(Date.parse(credential.status.expirationTimestamp) - Date.now() - 3_600_000)).toBeLessThan(10_000);
    const claims = claimsOf(credential.status.token);
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(3600);
  });

  it('a role that generates its ServiceAccount: the token works, and `vault lease revoke` (here `bao lease revoke`) takes it away', async () => {
    const run = await runCli(['token', '--via-vault', 'generated', '-n', NS, '--ttl', '1h', '-o', 'json'], env);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { token: string; serviceAccount: string; leaseId: string };
    // OpenBao keeps the first 8 characters of the role name
    expect(out.serviceAccount).toMatch(/^v-token-generate-\d+-[a-z0-9]+$/);
    const sa: ApiAuth = { kind: 'bearer', token: out.token };
    expect(await selfSubjectAccessReview(cp, sa, { verb: 'list', resource: 'configmaps', namespace: NS })).toEqual({ status: 201, allowed: true });
    const account = await apiRequest(cp, { path: `/api/v1/namespaces/${NS}/serviceaccounts/${out.serviceAccount}`, auth: cp.adminAuth });
    expect(account.status).toBe(200);
    // the command k8s-auth printed on stderr, run with the real CLI
    expect(run.stderr).toContain(`vault lease revoke ${out.leaseId}`);
    const revoke = await bao.bao(['lease', 'revoke', out.leaseId]);
    expect(revoke.code, revoke.stderr).toBe(0);
    // the revocation's clean-up may land a moment after the command returns (seen under load)
    const deadline = Date.now() + 20_000;
    let accountStatus = 0;
    let status = 0;
    while (Date.now() < deadline) {
      accountStatus = (await apiRequest(cp, { path: `/api/v1/namespaces/${NS}/serviceaccounts/${out.serviceAccount}`, auth: cp.adminAuth })).status;
      status = (await selfSubjectAccessReview(cp, sa, { verb: 'list', resource: 'configmaps', namespace: NS })).status;
      if (accountStatus === 404 && status === 401) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect([accountStatus, status]).toEqual([404, 401]);
  });

  it('VAULT_NAMESPACE: the role of the engine in that OpenBao namespace (X-Vault-Namespace), unknown outside it', async () => {
    bao.clearRequests();
    const run = await runCli(['token', '--via-vault', 'platform-deployer', '-n', NS, '--ttl', '1h', '-o', 'json'], { ...env, VAULT_NAMESPACE: 'platform' });
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { token: string; leaseId: string };
    expect(bao.requests().map((r) => [r.namespace, r.operation, r.path])).toEqual([['platform/', 'update', 'kubernetes/creds/platform-deployer']]);
    expect(await selfSubjectAccessReview(cp, { kind: 'bearer', token: out.token }, { verb: 'list', resource: 'configmaps', namespace: NS })).toEqual({ status: 201, allowed: true });
    const outside = await runCli(['token', '--via-vault', 'platform-deployer', '-n', NS, '--ttl', '1h'], env);
    expect(outside.code).toBe(4);
    expect(outside.stderr).toMatch(/^error: Vault role 'platform-deployer' does not exist in the Kubernetes secrets engine at kubernetes\//);
  });

  it('a role with a fixed service_account_name: revoking the lease does not take the token back (nothing to delete)', async () => {
    const run = await runCli(['token', '--via-vault', 'deployer', '-n', NS, '--ttl', '1h', '-o', 'json'], env);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { token: string; leaseId: string };
    const revoke = await bao.bao(['lease', 'revoke', out.leaseId]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect((await bao.bao(['lease', 'lookup', out.leaseId])).code).not.toBe(0);
    expect(await selfSubjectAccessReview(cp, { kind: 'bearer', token: out.token }, { verb: 'list', resource: 'configmaps', namespace: NS })).toEqual({ status: 201, allowed: true });
  });

  describe.skipIf(skipKubectl)('-o kubeconfig for the OpenBao-minted ServiceAccount, with real kubectl', () => {
    let kubeconfig: string;
    beforeAll(async () => {
      kubeconfig = join(dir, 'vault.kubeconfig');
      const run = await runCli(['token', '--via-vault', 'deployer', '-n', NS, '--ttl', '1h', '-o', 'kubeconfig', '--kubeconfig-out', kubeconfig], { ...env, KUBECONFIG: cp.adminKubeconfig });
      expect(run.code, run.stderr).toBe(0);
    });

    it('writes it 0600 with the ServiceAccount context, the namespace and the cluster address', () => {
      expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
      const config = parseYaml(readFileSync(kubeconfig, 'utf8')) as { 'current-context': string; contexts: { context: { namespace: string } }[]; clusters: { cluster: { server: string } }[] };
      expect(config['current-context']).toBe('deployer@test');
      expect(config.contexts[0]?.context.namespace).toBe(NS);
      expect(config.clusters[0]?.cluster.server).toBe(cp.server);
    });

    for (const kubectl of KUBECTLS) {
      it(`kubectl ${kubectl.version}: get sees the ServiceAccount's ConfigMaps and nothing else`, async () => {
        const kc = (args: string[]) => execFileAsync(kubectl.path, args, { env: cleanEnv({ HOME: dir, KUBECONFIG: kubeconfig }), timeout: 20_000 }).then(
          (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
          (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
        );
        const get = await kc(['get', 'configmaps', '-o', 'name']);
        expect(get.code, get.stderr).toBe(0);
        expect(get.stdout.split('\n')).toContain('configmap/settings');
        const denied = await kc(['get', 'configmaps', '-n', 'default']);
        expect(denied.code).toBe(1);
        expect(denied.stderr).toContain(`"system:serviceaccount:${NS}:deployer" cannot list resource "configmaps"`);
      });
    }
  });
});
