// A current kube-apiserver (built from the Go module proxy, ./install.sh) with structured
// authentication trusting two real issuers at once, Dex (in front of LDAP) and Keycloak, each with its own username/groups prefix and a
// CEL claim validation rule. For each issuer: `k8s-auth login --grant password` (the built CLI)
// writes the kubeconfig, then the kubectl built beside the apiserver and Debian's kubectl 1.32
// act as that user: `auth whoami` shows the prefixed user and groups, a read allowed by a
// ClusterRoleBinding to the prefixed group succeeds, a write is Forbidden naming the user.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { apiRequest } from '../../cluster/api-client.js';
import { base64, cleanEnv, tempDir, writeCatalog, type TempDir } from '../../support/login-harness.js';
import { cliEntry, runCli } from '../../support/run-cli.js';
import { kubectlPaths, repoRoot, skipUnless } from '../../support/skip.js';
import { issuersAvailable, issuersMissing, startIssuers, type IssuerUnderTest } from './issuers.js';
import { currentKubectl, currentKubernetesAvailable, currentKubernetesMissing, kubernetesVersion, startCurrentApiServer, waitForJwtAuthenticator, type CurrentApiServer } from './kubernetes.js';

const execFileAsync = promisify(execFile);
const kubectl132 = kubectlPaths().v1_32;
const skip =
  skipUnless(currentKubernetesAvailable(), currentKubernetesMissing()) ||
  skipUnless(issuersAvailable(), issuersMissing) ||
  skipUnless(kubectl132.available, `${kubectl132.path} not found: run scripts/fetch-kubectl.sh`);

interface KubectlRun {
  code: number;
  stdout: string;
  stderr: string;
}

const KUBECTLS = [
  { name: `kubectl ${kubernetesVersion} (built)`, path: currentKubectl },
  { name: 'kubectl 1.32 (Debian)', path: kubectl132.path },
];

describe.skipIf(skip)(`structured authentication on kube-apiserver ${kubernetesVersion}: two issuers, prefixes, a CEL rule`, () => {
  let issuers: IssuerUnderTest[] = [];
  let cp: CurrentApiServer;
  let dir: TempDir;
  const kubeconfigs = new Map<string, string>();

  const kubectl = (path: string, kubeconfig: string, args: string[]): Promise<KubectlRun> =>
    execFileAsync(path, [...args, '--kubeconfig', kubeconfig], { env: cleanEnv({ HOME: dir.path }), timeout: 30_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );

  beforeAll(async () => {
    if (!existsSync(join(repoRoot, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build`');
    dir = tempDir('k8s-auth-structured-');
    const t0 = Date.now();
    issuers = await startIssuers();
    const t1 = Date.now();
    cp = await startCurrentApiServer({ authenticationConfig: issuers.map((i) => i.jwt) });
    process.stderr.write(`structured authentication: issuers ${t1 - t0} ms (${issuers.map((i) => i.kind).join(', ')}), control plane ${kubernetesVersion} ${Date.now() - t1} ms\n`);
    // each issuer's prefixed group may read namespaces, nothing else
    for (const issuer of issuers) {
      const readNamespaces = await apiRequest(cp, {
        method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/clusterroles', auth: cp.adminAuth,
        body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `${issuer.name}-namespace-reader` }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list'] }] },
      });
      expect(readNamespaces.status).toBe(201);
      const nsBinding = await apiRequest(cp, {
        method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', auth: cp.adminAuth,
        body: {
          apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${issuer.name}-namespace-reader` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${issuer.name}-namespace-reader` },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: `${issuer.groupsPrefix}developers` }],
        },
      });
      expect(nsBinding.status).toBe(201);
    }
  }, 300_000);

  afterAll(async () => {
    await cp?.stop();
    for (const issuer of issuers) await issuer.stop();
    dir?.remove();
  });

  it('runs the release it was built as, with --authentication-config and no --oidc-* flag', async () => {
    const version = await apiRequest(cp, { path: '/version', auth: cp.adminAuth });
    expect((version.json as { gitVersion?: string }).gitVersion).toBe(kubernetesVersion);
    const args = readFileSync(`/proc/${cp.pids[1]}/cmdline`, 'utf8').split('\0');
    expect(args).toContain(`--authentication-config=${cp.authenticationConfigFile}`);
    expect(args.some((a) => a.startsWith('--oidc-'))).toBe(false);
    const config = parse(readFileSync(cp.authenticationConfigFile, 'utf8')) as { jwt: { issuer: { url: string } }[] };
    expect(config.jwt.map((j) => j.issuer.url)).toEqual(issuers.map((i) => i.issuer));
  });

  for (const [which, name] of ['Dex', 'Keycloak'].entries()) {
    it(`${name}: k8s-auth login --grant password, then both kubectls act as the prefixed user`, async () => {
      const issuer = issuers[which] as IssuerUnderTest;
      const cluster = `current-${issuer.name}`;
      const kubeconfig = dir.file(`${issuer.name}.kubeconfig`);
      const catalog = writeCatalog(dir.file(`${issuer.name}-clusters.yaml`), {
        [cluster]: {
          server: cp.server,
          'certificate-authority-data': cp.caData,
          'issuer-url': issuer.issuer,
          'client-id': issuer.clientId,
          'idp-certificate-authority-data': base64(issuer.caPem),
        },
      });
      const login = await runCli(
        ['login', cluster, '--catalog', catalog, '--kubeconfig', kubeconfig, '--grant', 'password', '--username', issuer.user.login, '-o', 'json'],
        cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: issuer.user.password }),
        { timeoutMs: 60_000 },
      );
      expect(login.code, login.stderr).toBe(0);
      expect(JSON.parse(login.stdout)).toMatchObject({ cluster, issuer: issuer.issuer });
      kubeconfigs.set(issuer.name, kubeconfig);
      const doc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { user: { 'auth-provider'?: { config: Record<string, string> } } }[] };
      const idToken = doc.users[0]?.user['auth-provider']?.config['id-token'] ?? '';
      expect(idToken.split('.')).toHaveLength(3);
      // the JWT authenticator starts once it has the issuer's discovery and keys
      await waitForJwtAuthenticator(cp, idToken);

      for (const k of KUBECTLS) {
        const whoami = await kubectl(k.path, kubeconfig, ['auth', 'whoami', '-o', 'json']);
        expect(whoami.code, `${k.name}: ${whoami.stderr}`).toBe(0);
        const info = (JSON.parse(whoami.stdout) as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
        expect(info.username, k.name).toBe(issuer.user.expectedUsername);
        expect(info.groups, k.name).toEqual(expect.arrayContaining([...issuer.user.expectedGroups, 'system:authenticated']));

        const read = await kubectl(k.path, kubeconfig, ['get', 'namespace', 'default', '-o', 'name']);
        expect(read.code, `${k.name}: ${read.stderr}`).toBe(0);
        expect(read.stdout.trim()).toBe('namespace/default');

        const write = await kubectl(k.path, kubeconfig, ['create', 'namespace', `${issuer.name}-forbidden`]);
        expect(write.code, k.name).toBe(1);
        expect(write.stderr).toContain('Error from server (Forbidden)');
        expect(write.stderr).toContain(`User "${issuer.user.expectedUsername}" cannot create resource "namespaces"`);
      }
    }, 120_000);
  }

  it("one issuer's user is not the other's: a binding to dex:jane@example.com grants Keycloak's jane nothing", async () => {
    const [dex, keycloak] = issuers as [IssuerUnderTest, IssuerUnderTest];
    const dexConfig = kubeconfigs.get(dex.name);
    const keycloakConfig = kubeconfigs.get(keycloak.name);
    expect(dexConfig && keycloakConfig, 'the login tests must pass first').toBeTruthy();
    const role = await apiRequest(cp, {
      method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/clusterroles', auth: cp.adminAuth,
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'pod-lister' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] },
    });
    expect(role.status).toBe(201);
    const binding = await apiRequest(cp, {
      method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', auth: cp.adminAuth,
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'dex-jane-pod-lister' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pod-lister' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: dex.user.expectedUsername }],
      },
    });
    expect(binding.status).toBe(201);
    const allowed = await kubectl(currentKubectl, dexConfig as string, ['get', 'pods', '--all-namespaces', '-o', 'name']);
    expect(allowed.code, allowed.stderr).toBe(0);
    const refused = await kubectl(currentKubectl, keycloakConfig as string, ['get', 'pods', '--all-namespaces', '-o', 'name']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`User "${keycloak.user.expectedUsername}" cannot list resource "pods" in API group "" at the cluster scope`);
  });

  it('Dex with login --exec: both kubectls run `k8s-auth credential` (ExecCredential v1) and are the prefixed user', async () => {
    const dex = issuers[0] as IssuerUnderTest;
    const cluster = 'current-dex-exec';
    const kubeconfig = dir.file('dex-exec.kubeconfig');
    const cacheDir = dir.file('token-cache');
    const catalog = writeCatalog(dir.file('dex-exec-clusters.yaml'), {
      [cluster]: { server: cp.server, 'certificate-authority-data': cp.caData, 'issuer-url': dex.issuer, 'client-id': dex.clientId, 'idp-certificate-authority-data': base64(dex.caPem) },
    });
    const login = await runCli(
      ['login', cluster, '--exec', '--exec-api-version', 'v1', '--exec-command', cliEntry, '--grant', 'password', '--username', dex.user.login, '--kubeconfig', kubeconfig, '--catalog', catalog, '--token-cache-dir', cacheDir],
      cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: dex.user.password }),
      { timeoutMs: 60_000 },
    );
    expect(login.code, login.stderr).toBe(0);
    const exec = (parse(readFileSync(kubeconfig, 'utf8')) as { users: { user: { exec?: { apiVersion?: string; args?: string[] } } }[] }).users[0]?.user.exec;
    expect(exec?.apiVersion).toBe('client.authentication.k8s.io/v1');
    expect(exec?.args?.slice(0, 2)).toEqual(['credential', cluster]);
    for (const k of KUBECTLS) {
      const whoami = await kubectl(k.path, kubeconfig, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
      expect(whoami.code, `${k.name}: ${whoami.stderr}`).toBe(0);
      expect(whoami.stdout, k.name).toBe(dex.user.expectedUsername);
    }
  }, 120_000);
});
