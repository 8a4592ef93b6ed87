// HTTPS_PROXY / HTTP_PROXY / NO_PROXY with real traffic: the built CLI talks to the identity
// provider, Vault (real OpenBao 2.7.2, over https and on a second, plain-http listener) and the
// Kubernetes API double through a CONNECT proxy on loopback, per
// command and per HTTP client (undici for the provider and direct TokenRequests, axios under
// node-vault, @kubernetes/client-node through src/adapters/kube-http.ts). NO_PROXY keeps all of
// it off the proxy; a proxy that refuses the tunnel or the credentials gives one line and the
// peer's exit code, quickly.
//
// Loopback is proxied like any host unless NO_PROXY lists it (curl's rule, and undici's and
// axios's): that is what lets every peer here sit on 127.0.0.1.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createHttpSignIn, type HttpSignIn } from '../../bench/lib/provider-sign-in.js';
import { ExitCode } from '../../src/errors.js';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy.js';
import { execInfo, startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { closedPort } from '../support/fault-server.js';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { startCli } from '../support/login-harness.js';
import { expectOneLineError } from '../support/reliability-harness.js';
import { cleanEnv, runCli, type CliRun } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';
import { OPENBAO_MISSING, openbaoAvailable, startOpenBao, type OpenBao } from '../peers/openbao/openbao.js';

const built = existsSync(join(repoRoot, 'dist', 'cli.js'));
const JANE = { login: 'jane@example.com', password: 'jane-password' };

/** GET the loopback callback directly (this process has no proxy variables; node:http ignores them anyway). */
function getDirect(url: URL): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('callback did not answer')));
    req.on('error', reject);
  });
}

function hostPort(url: string): string {
  return new URL(url).host;
}

describe.skipIf(skipUnless(built, 'dist/ is not built: run `npm run build` first', 'proxy') || skipUnless(openbaoAvailable(), OPENBAO_MISSING, 'proxy'))('HTTPS_PROXY / HTTP_PROXY / NO_PROXY with a real CONNECT proxy', () => {
  let proxy: ConnectProxy;
  let fx: CredentialFixture;
  /** one OpenBao: https at bao.addr, plain http at bao.plainAddr */
  let bao: OpenBao;
  let kube: KubeApiDouble;
  let signIn: HttpSignIn;
  let provider: string;
  let tokenFile: string;
  let mappingFile: string;
  let execKubeconfig: string;

  beforeAll(async () => {
    [proxy, fx, bao, kube] = await Promise.all([startConnectProxy(), startCredentialFixture(), startOpenBao({ tls: true, plainListener: true }), startKubeApiDouble()]);
    signIn = createHttpSignIn(fx.op.caPem);
    provider = hostPort(fx.op.issuer);
    const entry = {
      server: kube.url,
      'certificate-authority-data': Buffer.from(kube.ca.certPem).toString('base64'),
      'issuer-url': fx.op.issuer,
      'client-id': fx.op.clientId,
      'idp-certificate-authority-data': Buffer.from(fx.op.caPem).toString('base64'),
    };
    await bao.kvPut('k8s-auth/clusters/prod', entry);
    // the plain-http listener's catalog: its own mount, so a listing tells which one answered
    await bao.enableSecrets('plainkv', 'kv', { options: { version: '2' } });
    await bao.kvPut('k8s-auth/clusters/plain', entry, { mount: 'plainkv' });
    kube.seed('namespaces', { metadata: { name: 'team-a' } });
    kube.seed('namespaces', { metadata: { name: 'ci' } });
    kube.seed('serviceaccounts', { metadata: { name: 'deployer', namespace: 'ci' } });
    kube.seed('clusterroles', { metadata: { name: 'edit' }, rules: [] });
    tokenFile = join(fx.dir, 'id-token');
    writeFileSync(tokenFile, await fx.op.mintIdToken({ email: 'jane@example.com', groups: ['developers'] }), { mode: 0o600 });
    mappingFile = join(fx.dir, 'mapping.yaml');
    writeFileSync(mappingFile, 'groups:\n  developers:\n    clusterRole: edit\n    namespaces: [team-a]\n');
    // a user whose credentials only client-node knows (an exec plugin): `token` goes through client-node
    const plugin = join(fx.dir, 'exec-plugin.mjs');
    writeFileSync(plugin, `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: ${JSON.stringify(kube.adminToken)} } }));\n`);
    const source = parseYaml(readFileSync(kube.kubeconfigPath, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
    execKubeconfig = join(fx.dir, 'exec-kubeconfig');
    writeFileSync(
      execKubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'exec',
        clusters: [{ name: 'double', cluster: source.clusters[0]?.cluster }],
        users: [{ name: 'plugin', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: process.execPath, args: [plugin], interactiveMode: 'Never' } } }],
        contexts: [{ name: 'exec', context: { cluster: 'double', user: 'plugin' } }],
      }),
      { mode: 0o600 },
    );
  });
  afterAll(async () => {
    await signIn?.close();
    await Promise.all([proxy?.close(), bao?.stop(), kube?.close()]);
    await fx?.close();
  });
  beforeEach(() => {
    proxy.reset();
    proxy.refuseConnect = false;
    fx.op.resetStats();
  });

  /** The child's environment: every proxy variable set, NO_PROXY empty unless given. */
  const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv =>
    cleanEnv({
      HOME: fx.home,
      HTTPS_PROXY: proxy.url,
      HTTP_PROXY: proxy.url,
      NO_PROXY: '',
      VAULT_ADDR: bao.addr,
      VAULT_TOKEN: bao.token,
      VAULT_CACERT: String(bao.caFile),
      KUBECONFIG: kube.kubeconfigPath,
      K8S_AUTH_RBAC_MAPPING: mappingFile,
      ...extra,
    });

  const rbacApplyArgs = () => ['rbac', 'apply', '--dry-run', '--id-token', tokenFile, '--issuer-url', fx.op.issuer, '--client-id', fx.op.clientId, '--idp-ca-file', fx.op.caFile];
  const tokenArgs = ['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h', '-o', 'json'];

  async function refreshWithExpiredToken(environment: NodeJS.ProcessEnv): Promise<CliRun> {
    const real = await fx.realTokens();
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: real.refreshToken });
    fx.op.resetStats();
    return runCli(fx.credentialArgs(), { ...environment, K8S_AUTH_CATALOG: fx.catalogFile, KUBERNETES_EXEC_INFO: execInfo(false) });
  }

  it('login: Vault catalog, discovery, JWKS and the token exchange all go through the proxy', async () => {
    const kubeconfig = join(fx.dir, 'login-kubeconfig');
    const cli = startCli(['login', 'prod', '--kubeconfig', kubeconfig, '--no-browser'], env());
    const url = await cli.url;
    // discovery (and the JWKS prefetch) happened before the URL was shown; let the prefetch land
    await new Promise((r) => setTimeout(r, 300));
    expect(proxy.targets()).toEqual(expect.arrayContaining([hostPort(bao.addr), provider]));
    // cut the open tunnels: the token exchange after the sign-in has to open a new one
    const before = proxy.records.length;
    proxy.closeTunnels();
    const callback = await signIn.signIn(url, JANE);
    expect(await getDirect(callback)).toBe(200);
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(fx.op.stats.authorization_code).toBe(1);
    const later = proxy.records.slice(before);
    expect(later.filter((r) => r.target === provider && r.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(readFileSync(kubeconfig, 'utf8')).toContain(fx.op.issuer);
    // the callback is never proxied, and the proxy only ever saw CONNECTs to known peers
    expect(proxy.records.every((r) => r.kind === 'connect' && [provider, hostPort(bao.addr)].includes(r.target))).toBe(true);
  });

  it('credential: the refresh of an expired token goes through the proxy', async () => {
    const run = await refreshWithExpiredToken(env());
    expect(run.code, run.stderr).toBe(0);
    expect(fx.op.stats.refresh_token).toBe(1);
    expect(proxy.targets()).toEqual([provider]);
  });

  it('rbac apply --dry-run: the ID token check (provider) and the API calls (client-node) go through the proxy', async () => {
    const run = await runCli(rbacApplyArgs(), env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('dry run');
    expect(proxy.targets()).toEqual([provider, hostPort(kube.url)]);
    expect(kube.writes()).toEqual([]);
  });

  it('rbac list: client-node through the proxy', async () => {
    kube.resetRecords();
    const run = await runCli(['rbac', 'list', '-o', 'json'], env());
    expect(run.code, run.stderr).toBe(0);
    expect(kube.requests.length).toBeGreaterThan(0);
    expect(proxy.targets()).toEqual([hostPort(kube.url)]);
  });

  it('token: both the direct TokenRequest and the client-node path go through the proxy', async () => {
    const direct = await runCli([...tokenArgs, '-v'], env());
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stderr).toContain('direct HTTPS');
    expect(proxy.targets()).toEqual([hostPort(kube.url)]);
    proxy.reset();
    const viaClientNode = await runCli([...tokenArgs, '-v'], env({ KUBECONFIG: execKubeconfig }));
    expect(viaClientNode.code, viaClientNode.stderr).toBe(0);
    expect(viaClientNode.stderr).toContain('via @kubernetes/client-node');
    expect(proxy.targets()).toEqual([hostPort(kube.url)]);
  });

  it('clusters: Vault over https through a CONNECT tunnel, plain-http Vault as absolute-URI requests (LIST included)', async () => {
    const https = await runCli(['clusters', '-o', 'json'], env());
    expect(https.code, https.stderr).toBe(0);
    expect(https.stderr).toBe('');
    expect(JSON.parse(https.stdout)).toMatchObject({ clusters: ['prod'] });
    expect(proxy.records.map((r) => `${r.kind} ${r.target} ${r.status}`)).toContain(`connect ${hostPort(bao.addr)} 200`);
    proxy.reset();
    bao.clearRequests();
    const plain = await runCli(['clusters', '-o', 'json'], env({ VAULT_ADDR: bao.plainAddr, VAULT_CACERT: undefined, K8S_AUTH_VAULT_MOUNT: 'plainkv' }));
    expect(plain.code, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout)).toMatchObject({ clusters: ['plain'] });
    expect(proxy.records.map((r) => `${r.kind} ${r.method} ${r.target}`)).toEqual([`forward LIST ${hostPort(String(bao.plainAddr))}`]);
    // and OpenBao received that forwarded LIST as a list of the catalog
    expect(bao.requests().map((r) => `${r.operation} ${r.path}`)).toEqual(['list plainkv/metadata/k8s-auth/clusters/']);
  });

  it('the tunnel does not weaken TLS: Vault and the provider are still verified end to end', async () => {
    const vaultRun = await runCli(['clusters'], env({ VAULT_CACERT: undefined }));
    expect(vaultRun.code).toBe(ExitCode.VAULT);
    expectOneLineError(vaultRun.stderr, { message: /TLS certificate of Vault at .* is not trusted/ });
    expect(proxy.targets()).toContain(hostPort(bao.addr));
  });

  it('NO_PROXY listing 127.0.0.1: every command connects directly, nothing reaches the proxy', async () => {
    const bypass = env({ NO_PROXY: '127.0.0.1' });
    const runs = [
      await runCli(['clusters'], bypass),
      await runCli(rbacApplyArgs(), bypass),
      await runCli(['rbac', 'list'], bypass),
      await runCli(tokenArgs, bypass),
      await runCli(tokenArgs, { ...bypass, KUBECONFIG: execKubeconfig }),
      await runCli(['clusters'], { ...bypass, VAULT_ADDR: bao.plainAddr, K8S_AUTH_VAULT_MOUNT: 'plainkv' }),
      await refreshWithExpiredToken(bypass),
    ];
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(fx.op.stats.refresh_token).toBe(1);
    // the login flow through a catalog in Vault, with the lower-case name and the port form
    const kubeconfig = join(fx.dir, 'login-direct');
    const cli = startCli(['login', 'prod', '--kubeconfig', kubeconfig, '--no-browser'], env({ NO_PROXY: undefined, no_proxy: `localhost,127.0.0.1:${new URL(fx.op.issuer).port},127.0.0.1:${new URL(bao.addr).port}` }));
    expect(await getDirect(await signIn.signIn(await cli.url, JANE))).toBe(200);
    const login = await cli.exited;
    expect(login.code, login.stderr).toBe(0);
    expect(proxy.records).toEqual([]);
  });

  it('a proxy that refuses the tunnel (403 to CONNECT): one line naming the proxy, the peer\'s exit code, no hang', async () => {
    proxy.refuseConnect = true;
    const cases: [string, () => Promise<CliRun>, number][] = [
      ['provider (credential refresh)', () => refreshWithExpiredToken(env()), ExitCode.PROVIDER],
      ['Vault (clusters)', () => runCli(['clusters'], env()), ExitCode.VAULT],
      ['API server, client-node (rbac list)', () => runCli(['rbac', 'list'], env()), ExitCode.KUBERNETES],
      ['API server, direct (token)', () => runCli(tokenArgs, env()), ExitCode.KUBERNETES],
    ];
    for (const [peer, run, code] of cases) {
      proxy.reset();
      const result = await run();
      expect(result.code, `${peer}: ${result.stderr}`).toBe(code);
      expectOneLineError(result.stderr, { message: new RegExp(`proxy ${proxy.url.replace(/[.]/g, '\\.')} refused`) });
      expect(result.ms, peer).toBeLessThan(10_000);
      expect(proxy.records.length, peer).toBeGreaterThan(0);
      expect(proxy.records.every((r) => r.status === 403)).toBe(true);
    }
  });

  it('a proxy that is down: one line naming the proxy (not the peer), the peer\'s exit code', async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const at = env({ HTTPS_PROXY: down, HTTP_PROXY: down });
    const cases: [string, () => Promise<CliRun>, number][] = [
      ['provider (credential refresh)', () => refreshWithExpiredToken(at), ExitCode.PROVIDER],
      ['Vault (clusters)', () => runCli(['clusters'], at), ExitCode.VAULT],
      ['API server, client-node (rbac list)', () => runCli(['rbac', 'list'], at), ExitCode.KUBERNETES],
      ['API server, direct (token)', () => runCli(tokenArgs, at), ExitCode.KUBERNETES],
    ];
    for (const [peer, run, code] of cases) {
      const result = await run();
      expect(result.code, `${peer}: ${result.stderr}`).toBe(code);
      expectOneLineError(result.stderr, { message: new RegExp(`cannot reach proxy ${down.replace(/[.]/g, '\\.')} \\(ECONNREFUSED\\)`) });
      expect(result.ms, peer).toBeLessThan(15_000);
    }
  });
});

describe.skipIf(skipUnless(built, 'dist/ is not built: run `npm run build` first', 'proxy auth') || skipUnless(openbaoAvailable(), OPENBAO_MISSING, 'proxy auth'))('a proxy that wants credentials (Proxy-Authorization: Basic)', () => {
  let proxy: ConnectProxy;
  let fx: CredentialFixture;
  let bao: OpenBao;
  let kube: KubeApiDouble;
  const password = 'pr0xy-s3cret';

  beforeAll(async () => {
    [proxy, fx, bao, kube] = await Promise.all([startConnectProxy({ auth: { username: 'jane', password } }), startCredentialFixture(), startOpenBao({ tls: true }), startKubeApiDouble()]);
    await bao.kvPut('k8s-auth/clusters/prod', { server: kube.url, 'issuer-url': fx.op.issuer, 'client-id': fx.op.clientId });
    kube.seed('serviceaccounts', { metadata: { name: 'deployer', namespace: 'default' } });
  });
  afterAll(async () => {
    await Promise.all([proxy?.close(), bao?.stop(), kube?.close()]);
    await fx?.close();
  });
  beforeEach(() => proxy.reset());

  const env = (proxyUrl: string): NodeJS.ProcessEnv =>
    cleanEnv({ HOME: fx.home, HTTPS_PROXY: proxyUrl, VAULT_ADDR: bao.addr, VAULT_TOKEN: bao.token, VAULT_CACERT: String(bao.caFile), KUBECONFIG: kube.kubeconfigPath, K8S_AUTH_CATALOG: fx.catalogFile });

  it('sends the credentials from the proxy URL with every client, and never prints them', async () => {
    const real = await fx.realTokens();
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: real.refreshToken });
    const runs = [
      await runCli([...fx.credentialArgs(), '-v'], { ...env(proxy.urlWithCredentials), KUBERNETES_EXEC_INFO: execInfo(false) }),
      await runCli(['clusters', '-v'], { ...env(proxy.urlWithCredentials), K8S_AUTH_CATALOG: undefined }),
      await runCli(['rbac', 'list', '-v'], env(proxy.urlWithCredentials)),
      await runCli(['token', '--service-account', 'deployer', '-n', 'default', '--ttl', '1h', '-o', 'json', '-v'], env(proxy.urlWithCredentials)),
    ];
    for (const run of runs) {
      expect(run.stderr).not.toContain(password);
      expect(run.stdout).not.toContain(password);
    }
    expect(runs.map((r) => r.code), runs.map((r) => r.stderr).join('\n')).toEqual([0, 0, 0, 0]);
    expect(proxy.records.length).toBeGreaterThanOrEqual(4);
    expect(proxy.records.filter((r) => !r.authorized || r.status !== 200), JSON.stringify(proxy.records)).toEqual([]);
    expect(new Set(proxy.records.map((r) => r.target))).toEqual(new Set([hostPort(fx.op.issuer), hostPort(bao.addr), hostPort(kube.url)]));
  });

  it('without them: 407, one line naming the proxy (not the peer), the peer\'s exit code', async () => {
    const runs: [CliRun, number][] = [
      [await runCli(['clusters'], { ...env(proxy.url), K8S_AUTH_CATALOG: undefined }), ExitCode.VAULT],
      [await runCli(['rbac', 'list'], env(proxy.url)), ExitCode.KUBERNETES],
      [await runCli(['token', '--service-account', 'deployer', '-n', 'default', '--ttl', '1h', '-o', 'json'], env(proxy.url)), ExitCode.KUBERNETES],
    ];
    for (const [run, code] of runs) {
      expect(run.code, run.stderr).toBe(code);
      expectOneLineError(run.stderr, { message: /proxy http:\/\/127\.0\.0\.1:\d+ .*(407|credentials)/ });
    }
    expect(proxy.records.every((r) => r.status === 407 && !r.authorized)).toBe(true);
  });
});
