// HTTPS_PROXY / NO_PROXY through a REAL forward proxy (Debian's tinyproxy, forward-proxy.ts), with
// real peers behind it: the oidc-provider (login's discovery, JWKS and token exchange; the exec
// plugin's refresh), OpenBao (the catalog, read by node-vault) and the real kube-apiserver 1.20
// (`rbac list` through @kubernetes/client-node, `token` through the direct TokenRequest). Proof
// that traffic went through the proxy is tinyproxy's own log; with NO_PROXY the log stays empty
// and the same commands still work.
//
// The CONNECT proxy in test/support/connect-proxy.ts stays for faults only (a proxy that refuses
// the tunnel with 403, wants credentials and answers 407, or cuts open tunnels): tinyproxy can't
// be told to misbehave on demand, and its BasicAuth answers 407 to CONNECT only after reading a
// whole request; test/integration/proxy.test.ts keeps those cases.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { controlPlaneBinaries, startControlPlane, type ControlPlane } from '../../cluster/control-plane.js';
import { decodeClaims, execInfo, startCredentialFixture, type CredentialFixture } from '../../support/credential-fixture.js';
import { base64 } from '../../support/login-harness.js';
import { ExitCode } from '../../../src/errors.js';
import { cleanEnv, runCli, type CliRun } from '../../support/run-cli.js';
import { repoRoot, skipUnless } from '../../support/skip.js';
import { OPENBAO_MISSING, openbaoAvailable, startOpenBao, type OpenBao } from '../openbao/openbao.js';
import { FORWARD_PROXY_MISSING, forwardProxyAvailable, startForwardProxy, type ForwardProxy } from './forward-proxy.js';

const built = existsSync(join(repoRoot, 'dist', 'cli.js'));
const hostPort = (url: string): string => new URL(url).host;

const skipProviderVault =
  skipUnless(built, 'dist/ is not built: run `npm run build` first', 'forward proxy') ||
  skipUnless(forwardProxyAvailable(), FORWARD_PROXY_MISSING, 'forward proxy') ||
  skipUnless(openbaoAvailable(), OPENBAO_MISSING, 'forward proxy: provider and Vault');

describe.skipIf(skipProviderVault)('tinyproxy: login (provider) and the catalog (OpenBao through node-vault)', () => {
  let proxy: ForwardProxy;
  let fx: CredentialFixture;
  let bao: OpenBao;

  beforeAll(async () => {
    [proxy, fx, bao] = await Promise.all([startForwardProxy(), startCredentialFixture(), startOpenBao({ tls: true })]);
    await bao.kvPut('k8s-auth/clusters/prod', {
      server: 'https://127.0.0.1:6443',
      'issuer-url': fx.op.issuer,
      'client-id': fx.op.clientId,
      'idp-certificate-authority-data': base64(fx.op.caPem),
    });
  });
  afterAll(async () => {
    await Promise.all([proxy?.stop(), bao?.stop()]);
    await fx?.close();
  });

  const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv =>
    cleanEnv({
      HOME: fx.home,
      HTTPS_PROXY: proxy.url,
      HTTP_PROXY: proxy.url,
      NO_PROXY: '',
      VAULT_ADDR: bao.addr,
      VAULT_TOKEN: bao.token,
      VAULT_CACERT: String(bao.caFile),
      K8S_AUTH_PASSWORD: 'jane-password',
      ...extra,
    });
  const login = (kubeconfig: string, environment: NodeJS.ProcessEnv): Promise<CliRun> =>
    runCli(['login', 'prod', '--grant', 'password', '--username', 'jane@example.com', '--kubeconfig', kubeconfig, '-q'], environment, { timeoutMs: 60_000 });

  it('login prod: the Vault read and every provider call (discovery, JWKS, token) are CONNECT tunnels through tinyproxy', async () => {
    proxy.clear();
    bao.clearRequests();
    fx.op.resetStats();
    const kubeconfig = join(fx.dir, 'kubeconfig-proxied');
    const run = await login(kubeconfig, env());
    expect(run.code, run.stderr).toBe(0);
    expect(fx.op.stats.password).toBe(1);
    // OpenBao really served the catalog read, and the provider really issued jane's tokens
    expect(bao.requests().map((r) => `${r.operation} ${r.path}`)).toContain('read secret/data/k8s-auth/clusters/prod');
    const user = (parse(readFileSync(kubeconfig, 'utf8')) as { users: { user: { 'auth-provider': { config: Record<string, string> } } }[] }).users[0];
    expect(decodeClaims(String(user?.user['auth-provider'].config['id-token']))['email']).toBe('jane@example.com');
    // tinyproxy's log: CONNECTs to exactly OpenBao and the provider, nothing sent in the clear
    const requests = proxy.requests();
    expect(requests.every((r) => r.method === 'CONNECT'), proxy.log()).toBe(true);
    expect(new Set(proxy.targets())).toEqual(new Set([hostPort(bao.addr), hostPort(fx.op.issuer)]));
  });

  it('clusters: node-vault lists the catalog through a tunnel, and TLS is still verified end to end', async () => {
    proxy.clear();
    const run = await runCli(['clusters', '-o', 'json'], env());
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ clusters: ['prod'] });
    expect(proxy.requests()).toEqual([{ method: 'CONNECT', target: hostPort(bao.addr) }]);
    // without the CA the tunnel carries TLS that fails verification: the proxy does not weaken it
    proxy.clear();
    const untrusted = await runCli(['clusters'], env({ VAULT_CACERT: undefined }));
    expect(untrusted.code, untrusted.stderr).toBe(ExitCode.VAULT);
    expect(untrusted.stderr).toMatch(/TLS certificate of Vault at .* is not trusted/);
    expect(proxy.targets()).toEqual([hostPort(bao.addr)]);
  });

  it('credential: the refresh of an expired token goes through tinyproxy (lower-case https_proxy too)', async () => {
    const real = await fx.realTokens();
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: real.refreshToken });
    fx.op.resetStats();
    proxy.clear();
    const run = await runCli(fx.credentialArgs(), env({ HTTPS_PROXY: undefined, HTTP_PROXY: undefined, https_proxy: proxy.url, K8S_AUTH_CATALOG: fx.catalogFile, KUBERNETES_EXEC_INFO: execInfo(false) }));
    expect(run.code, run.stderr).toBe(0);
    expect(fx.op.stats.refresh_token).toBe(1);
    expect((JSON.parse(run.stdout) as { status: { token: string } }).status.token).not.toBe(expired);
    expect(proxy.requests().length).toBeGreaterThan(0);
    expect(proxy.targets()).toEqual([hostPort(fx.op.issuer)]);
  });

  it('NO_PROXY=127.0.0.1: login, clusters and the refresh connect directly; tinyproxy logs nothing at all', async () => {
    proxy.clear();
    fx.op.resetStats();
    const bypass = env({ NO_PROXY: '127.0.0.1' });
    const loginRun = await login(join(fx.dir, 'kubeconfig-direct'), bypass);
    const clusters = await runCli(['clusters', '-o', 'json'], bypass);
    const real = await fx.realTokens();
    fx.writeCache({ idToken: await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 }), refreshToken: real.refreshToken });
    const refresh = await runCli(fx.credentialArgs(), { ...bypass, K8S_AUTH_CATALOG: fx.catalogFile, KUBERNETES_EXEC_INFO: execInfo(false) });
    for (const run of [loginRun, clusters, refresh]) expect(run.code, run.stderr).toBe(0);
    expect(fx.op.stats.password + fx.op.stats.refresh_token).toBe(3); // two logins (one by this test's own fetch) + one refresh
    // no request line, and not even a client connection
    expect(proxy.log()).toBe('');
    // the proxy is still up: the same login with NO_PROXY for another host goes through it again
    const again = await login(join(fx.dir, 'kubeconfig-again'), env({ NO_PROXY: 'example.com,.internal' }));
    expect(again.code, again.stderr).toBe(0);
    expect(new Set(proxy.targets())).toEqual(new Set([hostPort(bao.addr), hostPort(fx.op.issuer)]));
  });
});

const skipApiServer =
  skipUnless(built, 'dist/ is not built: run `npm run build` first', 'forward proxy') ||
  skipUnless(forwardProxyAvailable(), FORWARD_PROXY_MISSING, 'forward proxy') ||
  skipUnless(controlPlaneBinaries().ok, 'the 1.20 control plane is not built: run test/cluster/build-control-plane.sh', 'forward proxy: API server');

describe.skipIf(skipApiServer)('tinyproxy: the real kube-apiserver 1.20 (client-node and the direct TokenRequest)', () => {
  let proxy: ForwardProxy;
  let cp: ControlPlane;

  beforeAll(async () => {
    [proxy, cp] = await Promise.all([startForwardProxy(), startControlPlane()]);
  }, 180_000);
  afterAll(async () => {
    await Promise.all([proxy?.stop(), cp?.stop()]);
  });

  const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv =>
    cleanEnv({ HOME: join(cp.dir, 'home'), HTTPS_PROXY: proxy.url, NO_PROXY: '', KUBECONFIG: cp.adminKubeconfig, ...extra });
  const tokenArgs = ['token', '--service-account', 'default', '-n', 'default', '--ttl', '1h', '-o', 'json', '-v'];

  /** the controller-manager creates the default ServiceAccount shortly after start */
  async function defaultServiceAccount(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const run = await runCli(['token', '--service-account', 'default', '-n', 'default', '--ttl', '1h', '-o', 'json'], env({ HTTPS_PROXY: undefined }));
      if (run.code === 0) return;
      if (Date.now() > deadline) throw new Error(`no default ServiceAccount: ${run.stderr}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  it('rbac list (client-node) and token (direct TokenRequest) reach the API server only through tinyproxy', async () => {
    await defaultServiceAccount();
    proxy.clear();
    const list = await runCli(['rbac', 'list', '-o', 'json'], env());
    expect(list.code, list.stderr).toBe(0);
    expect(proxy.requests().length).toBeGreaterThan(0);
    expect(proxy.requests().every((r) => r.method === 'CONNECT' && r.target === hostPort(cp.server)), proxy.log()).toBe(true);

    proxy.clear();
    const token = await runCli(tokenArgs, env());
    expect(token.code, token.stderr).toBe(0);
    expect(token.stderr).toContain('direct HTTPS');
    const minted = JSON.parse(token.stdout) as { token: string };
    expect(decodeClaims(minted.token)['sub']).toBe('system:serviceaccount:default:default');
    expect(proxy.requests()).toEqual([{ method: 'CONNECT', target: hostPort(cp.server) }]);
  });

  it('NO_PROXY naming the API server by host:port: both paths connect directly, tinyproxy logs nothing', async () => {
    await defaultServiceAccount();
    proxy.clear();
    const bypass = env({ NO_PROXY: hostPort(cp.server) });
    const list = await runCli(['rbac', 'list', '-o', 'json'], bypass);
    const token = await runCli(tokenArgs, bypass);
    for (const run of [list, token]) expect(run.code, run.stderr).toBe(0);
    expect(proxy.log()).toBe('');
  });
});
