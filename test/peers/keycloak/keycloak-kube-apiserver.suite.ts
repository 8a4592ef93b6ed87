// Keycloak's ID tokens at a real kube-apiserver: the 1.20 tier (test/cluster/control-plane.ts,
// legacy --oidc-* flags: issuer = the Keycloak realm, client k8s-auth, username claim email,
// groups claim groups) and Debian kubectl 1.32 running `k8s-auth credential` as its exec plugin
// after `k8s-auth login --exec --grant password`. RBAC grants the group `developers` (from
// Keycloak's group mapper) read access to namespaces: that read works, a read of pods is
// Forbidden for the user named by Keycloak's `email` claim. The Keycloak is the one keycloak.test.ts
// starts for all Keycloak suites (keycloak-shared.ts); one control plane.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeClaims } from '../../support/credential-fixture.js';
import { base64, cleanEnv, tempDir, writeCatalog, type TempDir } from '../../support/login-harness.js';
import { runCli } from '../../support/run-cli.js';
import { kubectlPaths, repoRoot, skipUnless } from '../../support/skip.js';
import { startControlPlane, waitForOidcAuthenticator, type ControlPlane } from '../../cluster/control-plane.js';
import { controlPlaneBinaries } from '../../cluster/processes.js';
import { keycloakAvailable, keycloakInstallHint, type KeycloakPeer } from './keycloak.js';
import { sharedKeycloak } from './keycloak-shared.js';

const execFileAsync = promisify(execFile);
const kubectl = kubectlPaths().v1_32;
const bins = controlPlaneBinaries();
const skip = skipUnless(
  keycloakAvailable() && bins.ok && kubectl.available,
  !keycloakAvailable() ? keycloakInstallHint : !bins.ok ? `control plane: ${bins.missing}` : `${kubectl.path} is missing (scripts/fetch-kubectl.sh)`,
);

async function kubectlRun(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(kubectl.path, args, { env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe.skipIf(skip)('Keycloak ID tokens at a real kube-apiserver 1.20 through kubectl 1.32 and the exec plugin', () => {
  let kc: KeycloakPeer;
  let cp: ControlPlane;
  let dir: TempDir;
  let kubeconfig: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    kc = sharedKeycloak();
    cp = await startControlPlane({ oidc: { issuerUrl: kc.issuer, caFile: kc.caFile, clientId: kc.publicClientId, usernameClaim: 'email', groupsClaim: 'groups' } });
    dir = tempDir('k8s-auth-keycloak-kube-');
    kubeconfig = dir.file('kubeconfig');
    env = cleanEnv({ HOME: dir.path, KUBECONFIG: kubeconfig });
    const catalog = writeCatalog(dir.file('clusters.yaml'), {
      kc: { server: cp.server, 'certificate-authority-data': base64(cp.caPem), 'issuer-url': kc.issuer, 'client-id': kc.publicClientId, 'idp-certificate-authority-data': base64(kc.caPem) },
    });
    const admin = cleanEnv({ HOME: dir.path, KUBECONFIG: cp.adminKubeconfig });
    for (const args of [
      ['create', 'clusterrole', 'namespace-reader', '--verb=get,list', '--resource=namespaces'],
      ['create', 'clusterrolebinding', 'developers-read-namespaces', '--clusterrole=namespace-reader', '--group=developers'],
    ]) {
      const run = await kubectlRun(args, admin);
      if (run.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${run.stderr}`);
    }
    const login = await runCli(
      ['login', 'kc', '--catalog', catalog, '--kubeconfig', kubeconfig, '--exec', '--exec-command', join(repoRoot, 'bin', 'k8s-auth.js'), '--grant', 'password', '--username', 'jane@example.com', '--token-cache-dir', dir.file('cache')],
      cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: 'jane-password' }),
      { timeoutMs: 60_000 },
    );
    if (login.code !== 0) throw new Error(`login: ${login.stderr}`);
    const cacheFile = readdirSync(dir.file('cache')).find((f) => f.endsWith('.json'));
    if (!cacheFile) throw new Error('login --exec left no token cache entry');
    const idToken = (JSON.parse(readFileSync(join(dir.file('cache'), cacheFile), 'utf8')) as { idToken: string }).idToken;
    expect(decodeClaims(idToken)['iss']).toBe(kc.issuer);
    const waited = await waitForOidcAuthenticator(cp, idToken);
    process.stderr.write(`kube-apiserver 1.20 OIDC authenticator accepted the Keycloak token after ${waited} ms\n`);
  }, 600_000);
  afterAll(async () => {
    await cp?.stop();
    dir?.remove();
  });

  it("kubectl acts as jane@example.com with Keycloak's groups: namespaces readable (group developers), pods Forbidden", async () => {
    const allowed = await kubectlRun(['get', 'namespaces', '-o', 'name'], env);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout.split('\n')).toContain('namespace/default');
    const denied = await kubectlRun(['get', 'pods', '-n', 'default'], env);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/pods is forbidden: User "jane@example\.com" cannot list resource "pods"/);
  }, 120_000);
});
