// kubectl's own refresh of an `auth-provider: oidc` login, and its write-back into the kubeconfig,
// against the REAL kube-apiserver 1.20 (whose OIDC authenticator trusts the test provider): the
// built CLI signs jane in (`login --grant password`), the test swaps her ID token for an expired
// one the provider really signed (the apiserver refuses it: 401), and kubectl must refresh through
// our refresh token and the provider CA data, be let in, and write the new ID token and the
// rotated refresh token back.
//
// Binaries: the kubectl 1.20.2 built from Debian's source with the reflect2 fix (the cluster build,
// test/cluster/build-control-plane.sh), Debian's packaged kubectl 1.20 and 1.32 (.tools/bin).
// Debian's 1.20 is known to crash in the write-back (its vendored reflect2 1.0.1 under Go 1.19);
// what it does is recorded as it happens: the refresh, the crash, what the kubeconfig holds after,
// and the consequence for the next call (the provider rotated the refresh token it still holds).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { base64, cleanEnv, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { runCli } from '../support/run-cli.js';
import { kubectlPaths, skipUnless, sourceBuiltKubectl120, type KubectlBinary } from '../support/skip.js';
import { apiRequest, selfSubjectAccessReview } from './api-client.js';
import { startClusterFixture, type ClusterFixture } from './fixture.js';
import { clusterTierSkip } from './tier.js';

const execFileAsync = promisify(execFile);
const skipTier = clusterTierSkip();
const CLUSTER = 'wb';
const rbac = '/apis/rbac.authorization.k8s.io/v1';

interface KubectlRun {
  code: number;
  stdout: string;
  stderr: string;
}

interface KubeconfigDoc {
  users: { name: string; user: { 'auth-provider': { name: string; config: Record<string, string> } } }[];
}

const claimsOf = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

function oidcConfig(path: string): Record<string, string> {
  const doc = parse(readFileSync(path, 'utf8')) as KubeconfigDoc;
  return doc.users[0]?.user['auth-provider'].config ?? {};
}

function setIdToken(path: string, idToken: string): void {
  const doc = parse(readFileSync(path, 'utf8')) as KubeconfigDoc;
  const user = doc.users[0];
  if (!user) throw new Error(`no user in ${path}`);
  user.user['auth-provider'].config['id-token'] = idToken;
  writeFileSync(path, stringify(doc), { mode: 0o600 });
}

const { v1_20: debian120, v1_32: debian132 } = kubectlPaths();
const binaries: { binary: KubectlBinary; install: string }[] = [
  { binary: sourceBuiltKubectl120(), install: 'test/cluster/build-control-plane.sh' },
  { binary: debian120, install: 'scripts/fetch-kubectl.sh' },
  { binary: debian132, install: 'scripts/fetch-kubectl.sh' },
];

describe.skipIf(skipTier)('kubectl refreshes an expired oidc login and writes it back (real kube-apiserver 1.20)', () => {
  let fx: ClusterFixture;
  let dir: TempDir;
  let catalog: string;

  beforeAll(async () => {
    fx = await startClusterFixture();
    dir = tempDir('k8s-auth-write-back-');
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      [CLUSTER]: {
        server: fx.cp.server,
        'certificate-authority-data': fx.cp.caData,
        'issuer-url': fx.provider.issuer,
        'client-id': fx.provider.clientId,
        'idp-certificate-authority-data': base64(fx.provider.caPem),
      },
    });
    const binding = await apiRequest(fx.cp, {
      method: 'POST', path: `${rbac}/clusterrolebindings`, auth: fx.cp.adminAuth,
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'developers-view' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'developers' }],
      },
    });
    expect(binding.status, binding.body).toBe(201);
    const probe = await fx.provider.mintIdToken({ email: 'jane@example.com', groups: ['developers'] });
    const deadline = Date.now() + 15_000;
    while ((await selfSubjectAccessReview(fx.cp, { kind: 'bearer', token: probe }, { verb: 'list', resource: 'namespaces' })).allowed !== true) {
      if (Date.now() > deadline) throw new Error('the developers-view binding did not take effect within 15 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 240_000);
  afterAll(async () => {
    await fx?.stop();
    dir?.remove();
  });

  /** `k8s-auth login` as jane (password grant), then her ID token replaced by an expired, validly signed one. */
  async function expiredLogin(kubeconfig: string): Promise<{ expired: string; refreshToken: string }> {
    const login = await runCli(['login', CLUSTER, '--catalog', catalog, '--kubeconfig', kubeconfig, '--grant', 'password', '--username', 'jane@example.com', '-q'], cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: 'jane-password' }), { timeoutMs: 60_000 });
    expect(login.code, login.stderr).toBe(0);
    const written = oidcConfig(kubeconfig);
    expect(written['refresh-token']).toBeTruthy();
    const now = Math.floor(Date.now() / 1000);
    const expired = await fx.provider.mintIdToken({ email: 'jane@example.com', groups: ['developers'], issuedAt: now - 7200, expiresInSeconds: 3600 });
    // the apiserver itself refuses it: without a refresh kubectl would get 401
    expect((await selfSubjectAccessReview(fx.cp, { kind: 'bearer', token: expired }, { verb: 'list', resource: 'namespaces' })).status).toBe(401);
    setIdToken(kubeconfig, expired);
    return { expired, refreshToken: String(written['refresh-token']) };
  }

  const kubectl = (binary: KubectlBinary, kubeconfig: string): Promise<KubectlRun> =>
    execFileAsync(binary.path, ['--kubeconfig', kubeconfig, 'get', 'namespaces', '-o', 'name'], { env: cleanEnv({ HOME: dir.path }), timeout: 60_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );
  const successfulRefreshes = (): number => fx.provider.stats.refresh_token - fx.provider.stats.tokenErrors;

  /** The full write-back: let in as jane, new ID token and rotated refresh token in the file, used by the next call. */
  async function expectWriteBack(binary: KubectlBinary, kubeconfig: string, before: { expired: string; refreshToken: string }, run: KubectlRun, refreshesBefore: number): Promise<void> {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(expect.arrayContaining(['namespace/default', 'namespace/kube-system']));
    expect(successfulRefreshes()).toBe(refreshesBefore + 1);
    const after = oidcConfig(kubeconfig);
    expect(after['id-token']).not.toBe(before.expired);
    expect(after['refresh-token']).not.toBe(before.refreshToken);
    const claims = claimsOf(String(after['id-token']));
    expect(claims['email']).toBe('jane@example.com');
    expect(Number(claims['exp']) * 1000).toBeGreaterThan(Date.now());
    // the fields our login wrote survive kubectl's rewrite
    expect(after['idp-issuer-url']).toBe(fx.provider.issuer);
    expect(after['client-id']).toBe(fx.provider.clientId);
    expect(after['idp-certificate-authority-data']).toBe(base64(fx.provider.caPem));
    // the written-back token is what the next call uses: no second refresh
    const next = await kubectl(binary, kubeconfig);
    expect(next.code, next.stderr).toBe(0);
    expect(successfulRefreshes()).toBe(refreshesBefore + 1);
    expect(oidcConfig(kubeconfig)['id-token']).toBe(after['id-token']);
  }

  for (const { binary, install } of binaries) {
    const skip = skipUnless(binary.available, `${binary.path} is absent (run ${install})`, `kubectl ${binary.version} write-back`);
    const title =
      binary.version === '1.20'
        ? 'kubectl 1.20 (Debian package): its refresh and write-back, recorded as they behave'
        : `kubectl ${binary.version}${binary.version === '1.20-source' ? ' (built from source)' : ''}: refresh, be let in, and write the refreshed tokens back`;
    it.skipIf(skip)(title, async () => {
      const kubeconfig = dir.file(`kubeconfig-${binary.version}`);
      const before = await expiredLogin(kubeconfig);
      const refreshesBefore = successfulRefreshes();
      const run = await kubectl(binary, kubeconfig);

      const crashedWritingBack = /mapiterinit/.test(run.stderr) && /oidc\.\(\*oidcAuthProvider\)\.idToken/.test(run.stderr);
      if (binary.version === '1.20' && crashedWritingBack) {
        // Debian's packaged 1.20: recorded as it behaves. It refreshed with our refresh token and CA
        // data (the provider counted one successful refresh), then faulted inside the write-back,
        // so the kubeconfig still holds the expired ID token and the now rotated refresh token.
        expect(run.code).not.toBe(0);
        expect(successfulRefreshes()).toBe(refreshesBefore + 1);
        const after = oidcConfig(kubeconfig);
        expect(after['id-token']).toBe(before.expired);
        expect(after['refresh-token']).toBe(before.refreshToken);
        // the consequence: the next call refreshes with the rotated-away token, which the provider
        // refuses (reuse), so this login is dead until `k8s-auth login` runs again
        const errorsBefore = fx.provider.stats.tokenErrors;
        const next = await kubectl(binary, kubeconfig);
        expect(next.code).not.toBe(0);
        expect(fx.provider.stats.tokenErrors).toBeGreaterThan(errorsBefore);
        expect(successfulRefreshes()).toBe(refreshesBefore + 1);
        process.stderr.write(
          `NOTE kubectl 1.20 (Debian package ${binary.path}): refreshed once through the real provider, then crashed writing the tokens back (exit ${run.code}, reflect2 mapiterinit in oidcAuthProvider.idToken); the kubeconfig kept the expired ID token and the rotated refresh token, so the next call failed (exit ${next.code}: ${next.stderr.trim().split('\n').slice(-1)[0] ?? ''})\n`,
        );
        return;
      }
      await expectWriteBack(binary, kubeconfig, before, run, refreshesBefore);
      if (binary.version === '1.20') process.stderr.write(`NOTE kubectl 1.20 (Debian package): did NOT crash this time; the full write-back was checked\n`);
    }, 120_000);
  }
});
