// `k8s-auth token` (dist build) against the Kubernetes API double: TokenRequest calls, the
// granted-expiry check, error lines and exit codes, outputs, kubeconfig writing, and the
// identity-derived default ServiceAccount.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { serializeCachedTokens } from '../../src/core/token-cache-entry.js';
import { cacheFilePath, tokenCacheDirectory } from '../../src/core/token-cache-key.js';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { cleanEnv, cliEntry, runCli } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';

const built = existsSync(join(repoRoot, 'dist', 'cli.js'));
const scriptPath = '/usr/bin/script';

/** Runs the CLI with stdout on a pseudo-terminal (util-linux `script`), as a person would. */
function runOnTty(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, cliEntry, ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    execFile(scriptPath, ['-qec', command, '/dev/null'], { env, timeout: 20_000 }, (error, stdout) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, output: stdout.replace(/\r/g, '') });
    });
  });
}

function fakeIdToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'test' })}.${part(claims)}.${Buffer.from('not-a-real-signature-but-long-enough').toString('base64url')}`;
}

function tokenPosts(double: KubeApiDouble): { path: string; user: string | undefined; body: unknown; status: number }[] {
  return double.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/token')).map((r) => ({ path: r.path, user: r.user, body: r.body, status: r.status }));
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('error:'));
}

describe.skipIf(skipUnless(built, 'dist/ is not built: run `npm run build` first'))('k8s-auth token against the API double', () => {
  let double: KubeApiDouble;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    double = await startKubeApiDouble();
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-token-'));
    double.seed('namespaces', { metadata: { name: 'ci' } });
    double.seed('serviceaccounts', { metadata: { name: 'deployer', namespace: 'ci' } });
    double.seed('serviceaccounts', { metadata: { name: 'jane-example-com', namespace: 'default' } });
  });
  afterAll(async () => {
    await double?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    double.clearFaults();
    double.resetRecords();
    env = cleanEnv({ HOME: dir, KUBECONFIG: double.kubeconfigPath });
  });

  it('mints with TokenRequest as the kubeconfig user and prints JSON with the granted expiry', async () => {
    const before = Date.now();
    const run = await runCli(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h30m', '-o', 'json'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as Record<string, string>;
    expect(Object.keys(out).sort()).toEqual(['cluster', 'expirationTimestamp', 'namespace', 'serviceAccount', 'token']);
    expect(out).toMatchObject({ serviceAccount: 'deployer', namespace: 'ci', cluster: 'double' });
    expect(out['token']).toMatch(/^eyJ/);
    const expires = Date.parse(out['expirationTimestamp'] as string);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 5_400_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 5_400_000 + 1000);
    const posts = tokenPosts(double);
    expect(posts).toEqual([
      {
        path: '/api/v1/namespaces/ci/serviceaccounts/deployer/token',
        user: 'admin',
        status: 201,
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 5400 } },
      },
    ]);
  });

  it('prints the bare token by default on a pipe, and sends audiences', async () => {
    const run = await runCli(['token', '--service-account', 'deployer', '--ttl', '12h', '--audience', 'vault', '--audience', 'https://ci.example.com'], {
      ...env,
      K8S_AUTH_SA_NAMESPACE: 'ci',
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const payload = JSON.parse(Buffer.from(run.stdout.split('.')[1] as string, 'base64url').toString()) as { aud: string[]; sub: string };
    expect(payload).toMatchObject({ aud: ['vault', 'https://ci.example.com'], sub: 'system:serviceaccount:ci:deployer' });
    expect((tokenPosts(double)[0]?.body as { spec: unknown }).spec).toEqual({ audiences: ['vault', 'https://ci.example.com'], expirationSeconds: 43_200 });
  });

  it('takes everything from the environment (CI)', async () => {
    const run = await runCli(['token'], {
      ...env,
      K8S_AUTH_TTL: '2h',
      K8S_AUTH_SERVICE_ACCOUNT: 'deployer',
      K8S_AUTH_SA_NAMESPACE: 'ci',
      K8S_AUTH_OUTPUT: 'exec-credential',
      K8S_AUTH_AUDIENCES: 'a,b',
    });
    expect(run.code).toBe(0);
    const credential = JSON.parse(run.stdout) as { apiVersion: string; kind: string; status: { token: string; expirationTimestamp: string } };
    expect(credential.apiVersion).toBe('client.authentication.k8s.io/v1');
    expect(credential.kind).toBe('ExecCredential');
    expect(credential.status.token).toMatch(/^eyJ/);
    expect(Math.abs(Date.parse(credential.status.expirationTimestamp) - Date.now() - 7_200_000)).toBeLessThan(5_000);
    expect((tokenPosts(double)[0]?.body as { spec: unknown }).spec).toEqual({ audiences: ['a', 'b'], expirationSeconds: 7_200 });
  });

  it('says on stderr when the server grants less than asked, and reports what it granted', async () => {
    // the double caps lifetimes at 48h, as --service-account-max-token-expiration would
    const run = await runCli(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '3d', '-o', 'json'], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^warning: the server granted 2d, not the 3d asked \(it caps token lifetimes\); the token expires at \S+Z\n$/);
    const out = JSON.parse(run.stdout) as { expirationTimestamp: string };
    expect(Math.abs(Date.parse(out.expirationTimestamp) - Date.now() - 48 * 3_600_000)).toBeLessThan(5_000);
  });

  it.each([
    ['5m', /^error: --ttl 5m is shorter than the 10 minute minimum/],
    ['12', /^error: --ttl '12' has no unit/],
    ['1.5h', /^error: --ttl '1.5h' is not a duration/],
  ])('rejects --ttl %s with one USAGE line before any request', async (ttl, message) => {
    const run = await runCli(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', ttl], env);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(double.requests).toHaveLength(0);
  });

  it('names K8S_AUTH_TTL when the bad value came from the environment', async () => {
    const run = await runCli(['token', '--service-account', 'deployer'], { ...env, K8S_AUTH_TTL: '9m' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: K8S_AUTH_TTL 9m is shorter/);
  });

  it('requires --ttl', async () => {
    const run = await runCli(['token', '--service-account', 'deployer'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--ttl <duration>' not specified");
    expect(double.requests).toHaveLength(0);
  });

  it('a missing ServiceAccount points at `k8s-auth rbac apply` (exit 9)', async () => {
    const run = await runCli(['token', '--service-account', 'ghost', '-n', 'ci', '--ttl', '1h'], env);
    expect(run.code).toBe(9);
    expect(run.stdout).toBe('');
    expect(errorLines(run.stderr)).toEqual(['error: ServiceAccount ci/ghost does not exist on cluster double: create it with `k8s-auth rbac apply` (or name another with --service-account / --namespace)']);
  });

  it('403 says what permission is missing (exit 9)', async () => {
    double.addFault({ kind: 'forbidden', verb: 'create', resource: 'serviceaccounts/token' });
    const run = await runCli(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h'], env);
    expect(run.code).toBe(9);
    expect(errorLines(run.stderr)).toEqual([
      "error: you may not mint tokens for ServiceAccount ci/deployer on cluster double (403 Forbidden): ask a cluster admin for 'create' on serviceaccounts/token in ci, or mint through Vault with --via-vault ROLE",
    ]);
    expect(tokenPosts(double)).toHaveLength(1);
  });

  it('429 is retried after Retry-After, then succeeds', async () => {
    double.addFault({ kind: 'throttle', verb: 'create', resource: 'serviceaccounts/token', retryAfterSeconds: 1, times: 1 });
    const run = await runCli(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^eyJ/);
    expect(tokenPosts(double).map((p) => p.status)).toEqual([429, 201]);
    expect(run.ms).toBeGreaterThanOrEqual(1000);
  });

  it('a persistent 500 is retried a bounded number of times, then one line (exit 9)', async () => {
    double.addFault({ kind: 'error', status: 500, verb: 'create', resource: 'serviceaccounts/token' });
    const run = await runCli(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h'], env);
    expect(run.code).toBe(9);
    expect(tokenPosts(double).map((p) => p.status)).toEqual([500, 500, 500, 500]);
    const lines = errorLines(run.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: the API server failed to create serviceaccounts\/token deployer in namespace ci \(500 InternalError: Internal error occurred: etcdserver: request timed out\)/);
  });

  it('writes a self-contained kubeconfig (0600) with context <sa>@<cluster> that authenticates as the ServiceAccount', async () => {
    const out = join(dir, 'ci-kubeconfig');
    const run = await runCli(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h', '-o', 'kubeconfig', '--kubeconfig-out', out], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^wrote kubeconfig .*ci-kubeconfig with context deployer@double \(expires \S+Z\)\n$/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const config = parseYaml(readFileSync(out, 'utf8')) as {
      'current-context': string;
      clusters: { name: string; cluster: Record<string, string> }[];
      users: { name: string; user: { token: string } }[];
      contexts: { name: string; context: Record<string, string> }[];
    };
    const source = parseYaml(readFileSync(double.kubeconfigPath, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
    expect(config['current-context']).toBe('deployer@double');
    expect(config.clusters).toEqual([{ name: 'double', cluster: source.clusters[0]?.cluster }]);
    expect(config.contexts).toEqual([{ name: 'deployer@double', context: { cluster: 'double', user: 'deployer@double', namespace: 'ci' } }]);
    const token = config.users[0]?.user.token as string;
    expect(token).toMatch(/^eyJ/);
    // the written kubeconfig works: the double knows the minted token as the ServiceAccount
    double.addUser(token, 'system:serviceaccount:ci:deployer');
    double.resetRecords();
    const again = await runCli(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h'], { ...env, KUBECONFIG: out });
    expect(again.code).toBe(0);
    expect(tokenPosts(double)[0]?.user).toBe('system:serviceaccount:ci:deployer');
  });

  it('merges user and context into the current kubeconfig, leaving current-context alone', async () => {
    const kubeconfig = join(dir, 'merged-kubeconfig');
    writeFileSync(kubeconfig, readFileSync(double.kubeconfigPath), { mode: 0o600 });
    const run = await runCli(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h', '-o', 'kubeconfig'], { ...env, KUBECONFIG: kubeconfig });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('wrote context deployer@double');
    const config = parseYaml(readFileSync(kubeconfig, 'utf8')) as { 'current-context': string; users: { name: string; user: Record<string, string> }[]; contexts: { name: string; context: Record<string, string> }[] };
    expect(config['current-context']).toBe('double');
    expect(config.users.map((u) => u.name)).toEqual(['double-user', 'deployer@double']);
    expect(config.users[1]?.user['token']).toMatch(/^eyJ/);
    expect(config.contexts.find((c) => c.name === 'deployer@double')?.context).toEqual({ cluster: 'double', user: 'deployer@double', namespace: 'ci' });
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    expect(existsSync(`${kubeconfig}.lock`)).toBe(false);
  });

  it('--kubeconfig-out without -o kubeconfig is a usage error', async () => {
    const run = await runCli(['token', '--service-account', 'deployer', '--ttl', '1h', '--kubeconfig-out', join(dir, 'x')], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: --kubeconfig-out needs -o kubeconfig/);
    expect(double.requests).toHaveLength(0);
  });

  it("defaults to the caller's own ServiceAccount, named from the login's email, and mints with the fresh ID token", async () => {
    const idToken = fakeIdToken({ iss: 'https://idp.example.com', sub: 'jane', email: 'jane@example.com', exp: Math.floor(Date.now() / 1000) + 3600 });
    double.addUser(idToken, 'jane@example.com');
    const source = parseYaml(readFileSync(double.kubeconfigPath, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
    const kubeconfig = join(dir, 'oidc-kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'prod',
        clusters: [{ name: 'prod', cluster: source.clusters[0]?.cluster }],
        users: [{ name: 'jane', user: { 'auth-provider': { name: 'oidc', config: { 'idp-issuer-url': 'https://idp.example.com', 'client-id': 'k8s-auth', 'id-token': idToken } } } }],
        contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'jane' } }],
      }),
      { mode: 0o600 },
    );
    const run = await runCli(['token', '--ttl', '12h', '-o', 'json', '--verbose'], { ...env, KUBECONFIG: kubeconfig });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ serviceAccount: 'jane-example-com', namespace: 'default', cluster: 'prod' });
    expect(tokenPosts(double).map((p) => [p.path, p.user])).toEqual([['/api/v1/namespaces/default/serviceaccounts/jane-example-com/token', 'jane@example.com']]);
    // --verbose never shows the ID token or the minted token
    expect(run.stderr).toContain('direct HTTPS with the fresh ID token');
    expect(run.stderr).not.toContain(idToken);
    expect(run.stderr).not.toContain((JSON.parse(run.stdout) as { token: string }).token);
  });

  it("after a login through k8s-auth's exec plugin: the ServiceAccount and the bearer come from its token cache", async () => {
    const idToken = fakeIdToken({ iss: 'https://idp.example.com/dex', sub: 'ops', email: 'Ops.Team@Example.com', exp: Math.floor(Date.now() / 1000) + 3600 });
    double.addUser(idToken, 'Ops.Team@Example.com');
    double.seed('serviceaccounts', { metadata: { name: 'ops-team-example-com', namespace: 'default' } });
    const key = { issuer: 'https://idp.example.com/dex', clientId: 'k8s-auth', scopes: ['openid', 'email', 'groups', 'offline_access'] };
    const cacheDir = tokenCacheDirectory({ KUBECACHEDIR: join(dir, 'kube-cache') }, dir);
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const now = new Date().toISOString();
    writeFileSync(cacheFilePath(cacheDir, key), serializeCachedTokens({ key, idToken, expiresAt: now, updatedAt: now }), { mode: 0o600 });
    const source = parseYaml(readFileSync(double.kubeconfigPath, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
    const kubeconfig = join(dir, 'exec-login-kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: prod',
        'clusters:',
        '- name: prod',
        '  cluster:',
        `    server: ${source.clusters[0]?.cluster['server'] ?? ''}`,
        `    certificate-authority-data: ${source.clusters[0]?.cluster['certificate-authority-data'] ?? ''}`,
        'users:',
        '- name: prod-oidc',
        '  user:',
        '    exec:',
        '      apiVersion: client.authentication.k8s.io/v1',
        '      command: k8s-auth',
        '      args:',
        '      - credential',
        '      - prod',
        '      - --issuer',
        '      - https://idp.example.com/dex',
        '      - --client-id',
        '      - k8s-auth',
        '      - --scopes',
        '      - openid email groups offline_access',
        '      interactiveMode: IfAvailable',
        'contexts:',
        '- name: prod',
        '  context:',
        '    cluster: prod',
        '    user: prod-oidc',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const run = await runCli(['token', '--ttl', '1h', '-o', 'json', '-v'], { ...env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dir, 'kube-cache') });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ serviceAccount: 'ops-team-example-com', namespace: 'default', cluster: 'prod' });
    expect(run.stderr).toContain('direct HTTPS with the fresh ID token');
    expect(tokenPosts(double).map((p) => [p.path, p.user])).toEqual([['/api/v1/namespaces/default/serviceaccounts/ops-team-example-com/token', 'Ops.Team@Example.com']]);
  });

  it('without a login and without --service-account, says what to do (exit 2)', async () => {
    const run = await runCli(['token', '--ttl', '1h'], env);
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual([
      'error: cannot tell whose ServiceAccount to use from context double (it does not sign in with k8s-auth): run `k8s-auth login double` first, or pass --service-account NAME',
    ]);
    expect(double.requests).toHaveLength(0);
  });

  it('goes through @kubernetes/client-node for an exec-plugin user and gets the same result', async () => {
    const plugin = join(dir, 'exec-plugin.mjs');
    writeFileSync(
      plugin,
      `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: ${JSON.stringify(double.adminToken)} } }));\n`,
    );
    const source = parseYaml(readFileSync(double.kubeconfigPath, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
    const kubeconfig = join(dir, 'exec-kubeconfig');
    writeFileSync(
      kubeconfig,
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
    const run = await runCli(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h', '-o', 'json', '-v'], { ...env, KUBECONFIG: kubeconfig });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('via @kubernetes/client-node (the user uses exec)');
    expect(JSON.parse(run.stdout)).toMatchObject({ serviceAccount: 'deployer', namespace: 'ci', cluster: 'double' });
    expect(tokenPosts(double).map((p) => [p.user, p.status])).toEqual([['admin', 201]]);
    // and its errors read the same
    double.resetRecords();
    const missing = await runCli(['token', '--service-account', 'ghost', '-n', 'ci', '--ttl', '1h'], { ...env, KUBECONFIG: kubeconfig });
    expect(missing.code).toBe(9);
    expect(errorLines(missing.stderr)[0]).toMatch(/^error: ServiceAccount ci\/ghost does not exist on cluster double: create it with `k8s-auth rbac apply`/);
  });

  describe.skipIf(skipUnless(existsSync(scriptPath), `${scriptPath} (util-linux) is missing: cannot give the CLI a terminal`))('on a terminal', () => {
    it('refuses to print a token without an explicit -o, before minting anything', async () => {
      const run = await runOnTty(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h'], { ...env, NO_COLOR: '1' });
      expect(run.code).toBe(2);
      expect(run.output).toBe('error: refusing to print a token on a terminal: pass -o token to print it anyway, pipe it (TOKEN=$(k8s-auth token ...)), or use -o kubeconfig --kubeconfig-out FILE\n');
      expect(double.requests).toHaveLength(0);
    });

    it('prints it when asked with -o token (or K8S_AUTH_OUTPUT)', async () => {
      const run = await runOnTty(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h', '-o', 'token'], env);
      expect(run.code).toBe(0);
      // the terminal shows stderr too: the granted expiry, then the token itself
      expect(run.output).toMatch(/^token for ServiceAccount ci\/deployer on double, valid until \S+ \(1h\)\neyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
      const fromEnv = await runOnTty(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h'], { ...env, K8S_AUTH_OUTPUT: 'json' });
      expect(fromEnv.code).toBe(0);
      expect(JSON.parse(fromEnv.output)).toMatchObject({ serviceAccount: 'deployer' });
      expect(tokenPosts(double)).toHaveLength(2);
    });
  });
});
