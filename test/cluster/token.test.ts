// `k8s-auth token` (dist build) against a real kube-apiserver 1.20: the minted token's exp is the
// granted expiry, the apiserver accepts it with exactly the ServiceAccount's permissions, the
// -o kubeconfig output works with real kubectl 1.20 and 1.32, and a person's OIDC login mints
// for their own ServiceAccount.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cleanEnv, runCli } from '../support/run-cli.js';
import { repoRoot } from '../support/skip.js';
import { apiRequest, selfSubjectAccessReview, type ApiAuth } from './api-client.js';
import { startClusterFixture, type ClusterFixture } from './fixture.js';
import { clusterTierSkip, KUBECTLS, kubectlSkip } from './tier.js';

const skipTier = clusterTierSkip();
const skipKubectl = !skipTier && kubectlSkip();
const execFileAsync = promisify(execFile);
const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const NS = 'ci';

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function create(fx: ClusterFixture, path: string, body: Record<string, unknown>): Promise<void> {
  const res = await apiRequest(fx.cp, { method: 'POST', path, auth: fx.cp.adminAuth, body });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.body}`);
}

const rbac = '/apis/rbac.authorization.k8s.io/v1';

describe.skipIf(skipTier || !existsSync(join(repoRoot, 'dist', 'cli.js')))('k8s-auth token against a real kube-apiserver', () => {
  let fx: ClusterFixture;
  let dir: string;
  let adminEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fx = await startClusterFixture();
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-token-cluster-'));
    adminEnv = cleanEnv({ HOME: dir, KUBECONFIG: fx.cp.adminKubeconfig });
    // as admin: a namespace, a ServiceAccount that may read ConfigMaps there and nothing else
    await create(fx, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await create(fx, `/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer' } });
    await create(fx, `/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { a: '1' } });
    await create(fx, `${rbac}/namespaces/${NS}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'configmap-reader' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    });
    await create(fx, `${rbac}/namespaces/${NS}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'deployer-configmap-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: NS }],
    });
  });
  afterAll(async () => {
    await fx?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('mints with the admin kubeconfig; the token exp is the granted expiry and its lifetime what was asked', async () => {
    const run = await runCli(['token', '--service-account', 'deployer', '-n', NS, '--ttl', '12h', '-o', 'json'], adminEnv);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { token: string; expirationTimestamp: string; serviceAccount: string; namespace: string; cluster: string };
    expect(out).toMatchObject({ serviceAccount: 'deployer', namespace: NS, cluster: 'test' });
    const claims = claimsOf(out.token);
    expect(claims['sub']).toBe(`system:serviceaccount:${NS}:deployer`);
    expect(claims['aud']).toEqual([SA_ISSUER]);
    expect(claims['exp']).toBe(Date.parse(out.expirationTimestamp) / 1000);
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(43_200);
  });

  it('the apiserver accepts the token with exactly the ServiceAccount permissions', async () => {
    const run = await runCli(['token', '--service-account', 'deployer', '-n', NS, '--ttl', '1h'], adminEnv);
    expect(run.code).toBe(0);
    const sa: ApiAuth = { kind: 'bearer', token: run.stdout.trim() };
    const list = await apiRequest(fx.cp, { path: `/api/v1/namespaces/${NS}/configmaps`, auth: sa });
    expect(list.status).toBe(200);
    expect((list.json as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name)).toContain('settings');
    const other = await apiRequest(fx.cp, { path: '/api/v1/namespaces/default/configmaps', auth: sa });
    expect(other.status).toBe(403);
    expect((other.json as { message: string }).message).toContain(`User "system:serviceaccount:${NS}:deployer" cannot list resource "configmaps"`);
    const checks = await Promise.all([
      selfSubjectAccessReview(fx.cp, sa, { verb: 'get', resource: 'configmaps', namespace: NS }),
      selfSubjectAccessReview(fx.cp, sa, { verb: 'create', resource: 'configmaps', namespace: NS }),
      selfSubjectAccessReview(fx.cp, sa, { verb: 'list', resource: 'secrets', namespace: NS }),
      selfSubjectAccessReview(fx.cp, sa, { verb: 'list', resource: 'configmaps', namespace: 'default' }),
    ]);
    expect(checks.map((c) => c.allowed)).toEqual([true, false, false, false]);
  });

  it('a missing ServiceAccount is one line pointing at `k8s-auth rbac apply` (exit 9)', async () => {
    const run = await runCli(['token', '--service-account', 'ghost', '-n', NS, '--ttl', '1h'], adminEnv);
    expect(run.code).toBe(9);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('error: ServiceAccount ci/ghost does not exist on cluster test: create it with `k8s-auth rbac apply` (or name another with --service-account / --namespace)\n');
  });

  // --via-vault on this cluster, minted by real OpenBao's Kubernetes secrets engine: test/cluster/token-via-openbao.test.ts

  describe.skipIf(skipKubectl)('-o kubeconfig with real kubectl', () => {
    let kubeconfig: string;
    beforeAll(async () => {
      kubeconfig = join(dir, 'deployer.kubeconfig');
      const run = await runCli(['token', '--service-account', 'deployer', '-n', NS, '--ttl', '30m', '-o', 'kubeconfig', '--kubeconfig-out', kubeconfig], adminEnv);
      expect(run.code).toBe(0);
    });

    for (const kubectl of KUBECTLS) {
      it(`kubectl ${kubectl.version}: auth can-i and get see exactly the ServiceAccount's permissions`, async () => {
        const env = cleanEnv({ HOME: dir, KUBECONFIG: kubeconfig });
        const kc = (args: string[]) => execFileAsync(kubectl.path, args, { env, timeout: 20_000 }).then(
          (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
          (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
        );
        const current = await kc(['config', 'current-context']);
        expect(current.stdout.trim()).toBe('deployer@test');
        const canList = await kc(['auth', 'can-i', 'list', 'configmaps']);
        expect([canList.code, canList.stdout.trim()]).toEqual([0, 'yes']);
        const canCreate = await kc(['auth', 'can-i', 'create', 'configmaps']);
        expect([canCreate.code, canCreate.stdout.trim()]).toEqual([1, 'no']);
        const canSecrets = await kc(['auth', 'can-i', 'get', 'secrets', '-n', NS]);
        expect(canSecrets.stdout.trim()).toBe('no');
        const get = await kc(['get', 'configmaps', '-o', 'name']);
        expect(get.code).toBe(0);
        expect(get.stdout.split('\n')).toContain('configmap/settings');
        const denied = await kc(['get', 'configmaps', '-n', 'default']);
        expect(denied.code).toBe(1);
        expect(denied.stderr).toContain(`"system:serviceaccount:${NS}:deployer" cannot list resource "configmaps"`);
      });
    }
  });

  describe('after an OIDC login: the caller’s own ServiceAccount', () => {
    let kubeconfig: string;
    beforeAll(async () => {
      const idToken = await fx.provider.mintIdToken({ email: 'jane@example.com', groups: ['developers'], expiresInSeconds: 900 });
      // the admin's `k8s-auth rbac apply` makes jane's ServiceAccount and lets her (and only her) mint for it
      const tokenFile = join(dir, 'jane.id-token');
      const caFile = join(dir, 'idp-ca.pem');
      await Promise.all([writeFile(tokenFile, idToken, { mode: 0o600 }), writeFile(caFile, fx.provider.caPem)]);
      const apply = await runCli(['rbac', 'apply', '--id-token', tokenFile, '--issuer-url', fx.provider.issuer, '--client-id', fx.provider.clientId, '--idp-ca-file', caFile], adminEnv);
      expect(apply.code).toBe(0);
      kubeconfig = join(dir, 'jane.kubeconfig');
      await writeFile(
        kubeconfig,
        stringify({
          apiVersion: 'v1', kind: 'Config', 'current-context': 'prod',
          clusters: [{ name: 'prod', cluster: { server: fx.cp.server, 'certificate-authority-data': fx.cp.caData } }],
          users: [{ name: 'jane', user: { 'auth-provider': { name: 'oidc', config: { 'idp-issuer-url': fx.provider.issuer, 'client-id': fx.provider.clientId, 'id-token': idToken } } } }],
          contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'jane' } }],
        }),
        { mode: 0o600 },
      );
    });

    it('`k8s-auth token --ttl 12h` mints for jane-example-com with jane’s own credentials', async () => {
      const run = await runCli(['token', '--ttl', '12h', '-o', 'json'], cleanEnv({ HOME: dir, KUBECONFIG: kubeconfig }));
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const out = JSON.parse(run.stdout) as { token: string; serviceAccount: string; namespace: string; cluster: string };
      expect(out).toMatchObject({ serviceAccount: 'jane-example-com', namespace: 'default', cluster: 'prod' });
      expect(claimsOf(out.token)['sub']).toBe('system:serviceaccount:default:jane-example-com');
      const check = await selfSubjectAccessReview(fx.cp, { kind: 'bearer', token: out.token }, { verb: 'list', resource: 'configmaps', namespace: NS });
      expect(check).toEqual({ status: 201, allowed: false });
    });

    it('jane may not mint for another ServiceAccount: 403 in one line (exit 9)', async () => {
      const run = await runCli(['token', '--service-account', 'deployer', '-n', NS, '--ttl', '1h'], cleanEnv({ HOME: dir, KUBECONFIG: kubeconfig }));
      expect(run.code).toBe(9);
      expect(run.stderr).toBe(
        "error: you may not mint tokens for ServiceAccount ci/deployer on cluster prod (403 Forbidden): ask a cluster admin for 'create' on serviceaccounts/token in ci, or mint through Vault with --via-vault ROLE\n",
      );
    });
  });
});
