// End to end against a real kube-apiserver 1.20 whose OIDC authenticator trusts the test
// provider: `k8s-auth login` (built CLI, --no-browser, headless Chromium signs in as jane) writes
// the kubeconfig; the real Debian kubectl 1.20 and 1.32 then act as jane with it. RBAC binds
// ClusterRole `view` to the group `developers` from jane's ID token: reads succeed, a write is
// refused with Forbidden naming jane. (`kubectl auth whoami` is not used: a 1.20 server has no
// SelfSubjectReview API.)
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chromiumAvailable, launchChromium } from '../support/browser.js';
import { base64, cleanEnv, signInWithBrowser, startCli, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { repoRoot, skipUnless } from '../support/skip.js';
import { apiRequest, selfSubjectAccessReview } from './api-client.js';
import { startClusterFixture, type ClusterFixture } from './fixture.js';
import { clusterTierSkip, KUBECTLS, kubectlSkip } from './tier.js';

const requireAll = process.env.K8S_AUTH_REQUIRE_ALL === '1';
const skipTier = clusterTierSkip();
const skipKubectl = !skipTier && kubectlSkip();
// like tier.ts: a missing Chromium skips plainly, except under K8S_AUTH_REQUIRE_ALL=1 where it fails
const skipBrowser = !skipTier && !skipKubectl && skipUnless(chromiumAvailable() || requireAll, 'Debian chromium (/usr/bin/chromium) is not installed');
const execFileAsync = promisify(execFile);

const CLUSTER = 'e2e';
const JANE = { login: 'jane@example.com', password: 'jane-password' };
const rbac = '/apis/rbac.authorization.k8s.io/v1';

interface KubectlRun {
  code: number;
  stdout: string;
  stderr: string;
}

interface LoginJson {
  cluster: string;
  context: string;
  user: string;
  issuer: string;
  email: string | null;
  groups: string[];
  expiry: string;
}

interface KubeconfigDoc {
  'current-context'?: string;
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users: { name: string; user: { 'auth-provider'?: { name: string; config: Record<string, string> } } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
}

describe.skipIf(skipTier || skipKubectl || skipBrowser)('login end to end: k8s-auth login, then real kubectl against a real kube-apiserver', () => {
  let fx: ClusterFixture;
  let browser: Browser;
  let dir: TempDir;
  let kubeconfig: string;
  let idToken: string;

  const kubectl = (path: string, args: string[]): Promise<KubectlRun> =>
    execFileAsync(path, [...args, '--kubeconfig', kubeconfig], { env: cleanEnv({ HOME: dir.path }), timeout: 30_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );

  beforeAll(async () => {
    if (!existsSync(join(repoRoot, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` (npm run test:cluster does)');
    [fx, browser] = await Promise.all([startClusterFixture(), launchChromium()]);
    process.stderr.write(`cluster fixture: control plane ${fx.timings.controlPlaneMs} ms, OIDC authenticator wait ${fx.timings.oidcWaitMs} ms\n`);
    dir = tempDir('k8s-auth-login-e2e-');
    kubeconfig = dir.file('kubeconfig');
  });
  afterAll(async () => {
    await browser?.close();
    await fx?.stop();
    dir?.remove();
  });

  it('login signs jane in through the browser and writes an oidc user for the real apiserver', async () => {
    const catalog = writeCatalog(dir.file('clusters.yaml'), {
      [CLUSTER]: {
        server: fx.cp.server,
        'certificate-authority-data': fx.cp.caData,
        'issuer-url': fx.provider.issuer,
        'client-id': 'k8s-auth',
        'idp-certificate-authority-data': base64(fx.provider.caPem),
      },
    });
    const cli = startCli(['login', CLUSTER, '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser', '-o', 'json'], cleanEnv({ HOME: dir.path }));
    const landed = await signInWithBrowser(browser, await cli.url, JANE);
    const login = await cli.exited;
    expect(login.code, login.stderr).toBe(0);
    expect(landed.status).toBe(200);
    expect(landed.text).toContain('jane@example.com');

    const out = JSON.parse(login.stdout) as LoginJson;
    expect(out).toMatchObject({ cluster: CLUSTER, context: CLUSTER, user: `jane@example.com@${CLUSTER}`, issuer: fx.provider.issuer, email: 'jane@example.com', groups: ['developers'] });

    const doc = parse(readFileSync(kubeconfig, 'utf8')) as KubeconfigDoc;
    expect(doc['current-context']).toBe(CLUSTER);
    expect(doc.clusters).toEqual([{ name: CLUSTER, cluster: { server: fx.cp.server, 'certificate-authority-data': fx.cp.caData } }]);
    const provider = doc.users.find((u) => u.name === out.user)?.user['auth-provider'];
    expect(provider?.name).toBe('oidc');
    expect(provider?.config['idp-issuer-url']).toBe(fx.provider.issuer);
    expect(provider?.config['client-id']).toBe('k8s-auth');
    expect(provider?.config['refresh-token']).toBeTruthy();
    idToken = String(provider?.config['id-token']);
    // the token the login wrote is one the apiserver authenticates (201, not 401)
    expect(await selfSubjectAccessReview(fx.cp, { kind: 'bearer', token: idToken }, { verb: 'list', resource: 'namespaces' })).toEqual({ status: 201, allowed: false });
  }, 90_000);

  it('before any binding, kubectl is authenticated as jane and refused (Forbidden)', async () => {
    expect(idToken, 'the login test must pass first').toBeTruthy();
    const path = (KUBECTLS.find((k) => k.version === '1.32') ?? KUBECTLS[0])?.path as string;
    const run = await kubectl(path, ['get', 'namespaces', '-o', 'name']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Error from server (Forbidden)');
    expect(run.stderr).toContain('User "jane@example.com" cannot list resource "namespaces"');
  });

  describe('with ClusterRole view bound to group developers', () => {
    beforeAll(async () => {
      expect(idToken, 'the login test must pass first').toBeTruthy();
      const binding = await apiRequest(fx.cp, {
        method: 'POST', path: `${rbac}/clusterrolebindings`, auth: fx.cp.adminAuth,
        body: {
          apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'developers-view' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'developers' }],
        },
      });
      expect(binding.status, binding.body).toBe(201);
      // the RBAC authorizer sees new bindings through an informer: wait (bounded) until it does
      const deadline = Date.now() + 15_000;
      for (;;) {
        const check = await selfSubjectAccessReview(fx.cp, { kind: 'bearer', token: idToken }, { verb: 'list', resource: 'namespaces' });
        if (check.allowed === true) break;
        if (Date.now() > deadline) throw new Error(`the binding did not take effect within 15 s (last ${JSON.stringify(check)})`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });

    for (const k of KUBECTLS) {
      it(`kubectl ${k.version}: get namespaces succeeds as jane; create namespace is Forbidden naming jane`, async () => {
        const version = await kubectl(k.path, ['version', '--client', '-o', 'json']);
        expect(version.code, version.stderr).toBe(0);
        expect((JSON.parse(version.stdout) as { clientVersion: { minor: string } }).clientVersion.minor).toBe(k.version.split('.')[1]);

        const get = await kubectl(k.path, ['get', 'namespaces', '-o', 'name']);
        expect(get.code, get.stderr).toBe(0);
        const names = get.stdout.trim().split('\n');
        expect(names).toContain('namespace/default');
        expect(names).toContain('namespace/kube-system');

        const canCreate = await kubectl(k.path, ['auth', 'can-i', 'create', 'namespaces']);
        expect([canCreate.code, canCreate.stdout.trim()]).toEqual([1, 'no']);

        const name = `x-${k.version.replace('.', '-')}`;
        const create = await kubectl(k.path, ['create', 'namespace', name]);
        expect(create.code).toBe(1);
        expect(create.stderr).toContain('Error from server (Forbidden)');
        expect(create.stderr).toContain('User "jane@example.com" cannot create resource "namespaces"');
        // and nothing was created
        expect((await apiRequest(fx.cp, { path: `/api/v1/namespaces/${name}`, auth: fx.cp.adminAuth })).status).toBe(404);

        // kubectl sent the ID token as it was (fresh for an hour: no refresh, nothing rewritten)
        const doc = parse(readFileSync(kubeconfig, 'utf8')) as KubeconfigDoc;
        expect(doc.users[0]?.user['auth-provider']?.config['id-token']).toBe(idToken);
      }, 60_000);
    }
  });
});
