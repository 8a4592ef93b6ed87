// `k8s-auth login` flags and environment that the other login tests leave unproven, against the
// real test provider (oidc-provider over HTTPS) and a catalog file: --no-set-current,
// --context-name, --listen-port (browser flow through Debian Chromium), a catalog entry with
// non-default username/groups claims, the password grant chosen from the environment alone, and
// the two kubeconfig user forms (`login --exec` with the default command, and auth-provider oidc).
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chromiumAvailable, launchChromium } from '../support/browser.js';
import { base64, cleanEnv, signInWithBrowser, startCli, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { runCli } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';

interface Kubeconfig {
  'current-context'?: string;
  clusters: { name: string; cluster: Record<string, string> }[];
  contexts: { name: string; context: Record<string, string> }[];
  users: { name: string; user: { exec?: Record<string, unknown>; 'auth-provider'?: { name: string; config: Record<string, string> } } }[];
}

const built = existsSync(`${repoRoot}/dist/cli.js`);
const JANE = { username: 'jane@example.com', password: 'jane-password' };

function readKubeconfig(path: string): Kubeconfig {
  return parse(readFileSync(path, 'utf8')) as Kubeconfig;
}

/** A port nobody listens on right now (the OS picks it; we close it before the CLI binds it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

describe.skipIf(skipUnless(built, 'dist/ is not built: run `npm run build` first'))('login flags and environment (password grant)', () => {
  let provider: TestProvider;
  let dir: TempDir;
  let catalog: string;
  let env: NodeJS.ProcessEnv;
  const passwordArgs = ['--grant', 'password', '--username', JANE.username];

  beforeAll(async () => {
    provider = await startTestProvider();
    dir = tempDir('k8s-auth-login-flags-');
    const common = { 'issuer-url': provider.issuer, 'client-id': provider.clientId, 'idp-certificate-authority-data': base64(provider.caPem) };
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      prod: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': base64(provider.caPem), namespace: 'team-a', ...common },
      // the test provider emits groups only as `groups`; these are the other claims it does emit
      claims: { server: 'https://127.0.0.1:7443', 'username-claim': 'preferred_username', 'groups-claim': 'name', ...common },
    });
  });
  afterAll(async () => {
    await provider?.close();
    dir?.remove();
  });
  beforeEach(() => {
    provider.resetStats();
    env = cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: JANE.password, KUBECONFIG: dir.file('unused-kubeconfig') });
  });

  function otherKubeconfig(name: string): string {
    const path = dir.file(name);
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: other',
        '  cluster:',
        '    server: https://other.example:6443',
        'contexts:',
        '- name: other',
        '  context:',
        '    cluster: other',
        '    user: other-user',
        'users:',
        '- name: other-user',
        '  user:',
        '    token: static-token-value',
        'current-context: other',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return path;
  }

  it('--no-set-current writes the context but keeps current-context: other', async () => {
    const kubeconfig = otherKubeconfig('no-set-current');
    const run = await runCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, ...passwordArgs, '--no-set-current'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(provider.stats.password).toBe(1);
    const config = readKubeconfig(kubeconfig);
    expect(config['current-context']).toBe('other');
    expect(config.contexts.map((c) => c.name)).toEqual(['other', 'prod']);
    expect(config.contexts.find((c) => c.name === 'prod')?.context).toEqual({ cluster: 'prod', user: 'jane@example.com@prod', namespace: 'team-a' });
    expect(run.stderr).not.toContain('(now current)');

    // the same login without the flag does make it current (so the flag is what kept it)
    const again = await runCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, ...passwordArgs], env);
    expect(again.code, again.stderr).toBe(0);
    expect(readKubeconfig(kubeconfig)['current-context']).toBe('prod');
  });

  it('login myprod (a context of cluster prod, as whoami shows it) signs in to prod and refreshes context myprod, not a new context prod', async () => {
    const kubeconfig = otherKubeconfig('context-as-name');
    const first = await runCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, ...passwordArgs, '--context-name', 'myprod'], env);
    expect(first.code, first.stderr).toBe(0);
    const again = await runCli(['login', 'myprod', '--catalog', catalog, '--kubeconfig', kubeconfig, ...passwordArgs, '-o', 'json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr.split('\n')[0]).toBe('myprod is a context of cluster prod: signing in to cluster prod and refreshing context myprod (next time: `k8s-auth login prod`)');
    expect(JSON.parse(again.stdout)).toMatchObject({ cluster: 'prod', context: 'myprod' });
    expect(readKubeconfig(kubeconfig).contexts.map((c) => c.name)).toEqual(['other', 'myprod']);
    expect(provider.stats.password).toBe(2);
  });

  it('--context-name myprod writes context myprod pointing at the entry\'s cluster and user', async () => {
    const kubeconfig = otherKubeconfig('context-name');
    const run = await runCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, ...passwordArgs, '--context-name', 'myprod', '-o', 'json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ cluster: 'prod', context: 'myprod', user: 'jane@example.com@prod' });
    const config = readKubeconfig(kubeconfig);
    expect(config['current-context']).toBe('myprod');
    expect(config.contexts.map((c) => c.name)).toEqual(['other', 'myprod']);
    expect(config.contexts.find((c) => c.name === 'myprod')?.context).toEqual({ cluster: 'prod', user: 'jane@example.com@prod', namespace: 'team-a' });
    expect(config.clusters.map((c) => c.name)).toEqual(['other', 'prod']);
    expect(config.clusters.find((c) => c.name === 'prod')?.cluster['server']).toBe('https://127.0.0.1:6443');
    expect(config.users.map((u) => u.name)).toEqual(['other-user', 'jane@example.com@prod']);
  });

  it('a catalog entry with username-claim preferred_username and groups-claim name: login -o json shows them; whoami reads the login back', async () => {
    const kubeconfig = dir.file('claims');
    const run = await runCli(['login', 'claims', '--catalog', catalog, '--kubeconfig', kubeconfig, ...passwordArgs, '-o', 'json'], env);
    expect(run.code, run.stderr).toBe(0);
    const outcome = JSON.parse(run.stdout) as Record<string, unknown>;
    // the groups come from the `name` claim ("Jane Doe"), not from the `groups` claim (developers)
    expect(outcome).toMatchObject({ cluster: 'claims', context: 'claims', user: 'jane@claims', email: 'jane@example.com', groups: ['Jane Doe'], issuer: provider.issuer });
    const config = readKubeconfig(kubeconfig);
    expect(config.users.map((u) => u.name)).toEqual(['jane@claims']);
    expect(config.contexts).toEqual([{ name: 'claims', context: { cluster: 'claims', user: 'jane@claims' } }]);

    // whoami's groups are left out here: it reads the `groups` claim whatever the entry says
    // (it has no catalog), so it shows [developers] for this login; reported, not asserted
    const who = await runCli(['whoami', '--kubeconfig', kubeconfig, '-o', 'json'], env);
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ context: 'claims', cluster: 'claims', user: 'jane@claims', email: 'jane@example.com', issuer: provider.issuer, expired: false });
  });

  it('K8S_AUTH_GRANT=password and K8S_AUTH_USERNAME from the environment sign in without any flag', async () => {
    const kubeconfig = dir.file('env-only');
    const run = await runCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '-o', 'json'], { ...env, K8S_AUTH_GRANT: 'password', K8S_AUTH_USERNAME: 'ops@example.com', K8S_AUTH_PASSWORD: 'ops-password' });
    expect(run.code, run.stderr).toBe(0);
    expect(provider.stats).toMatchObject({ password: 1, authorization_code: 0, device_code: 0, tokenErrors: 0 });
    expect(JSON.parse(run.stdout)).toMatchObject({ user: 'ops@example.com@prod', email: 'ops@example.com', groups: ['admins', 'developers'] });
    const user = readKubeconfig(kubeconfig).users.find((u) => u.name === 'ops@example.com@prod')?.user;
    expect(user?.['auth-provider']?.name).toBe('oidc');
    expect(run.stdout + run.stderr).not.toContain('ops-password');

    // and the environment's username is what is used: a wrong password for it is refused
    provider.resetStats();
    const wrong = await runCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('env-only-wrong')], { ...env, K8S_AUTH_GRANT: 'password', K8S_AUTH_USERNAME: 'ops@example.com', K8S_AUTH_PASSWORD: 'jane-password' });
    expect(wrong.code).not.toBe(0);
    expect(provider.stats.password).toBe(1);
    expect(existsSync(dir.file('env-only-wrong'))).toBe(false);
  });

  it('login --exec without --exec-command writes command k8s-auth, apiVersion v1, interactiveMode IfAvailable and an installHint', async () => {
    const kubeconfig = dir.file('exec-default');
    const cacheDir = dir.file('exec-cache');
    const run = await runCli(['login', 'prod', '--exec', '--catalog', catalog, '--kubeconfig', kubeconfig, '--token-cache-dir', cacheDir, ...passwordArgs], env);
    expect(run.code, run.stderr).toBe(0);
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const user = readKubeconfig(kubeconfig).users.find((u) => u.name === 'jane@example.com@prod')?.user;
    expect(user).toBeDefined();
    expect(Object.keys(user ?? {})).toEqual(['exec']);
    const exec = user?.exec ?? {};
    expect(exec['command']).toBe('k8s-auth');
    expect(exec['apiVersion']).toBe('client.authentication.k8s.io/v1');
    expect(exec['interactiveMode']).toBe('IfAvailable');
    expect(typeof exec['installHint']).toBe('string');
    expect(exec['installHint']).toMatch(/k8s-auth/);
    expect(exec['installHint']).toMatch(/install/i);
    // the args run `k8s-auth credential prod` with the catalog and the grant, never a secret
    const args = exec['args'] as string[];
    expect(args.slice(0, 2)).toEqual(['credential', 'prod']);
    expect(args).toEqual(expect.arrayContaining(['--catalog', catalog, '--grant', 'password', '--token-cache-dir', cacheDir]));
    expect(JSON.stringify(exec)).not.toContain(JANE.password);
    expect(JSON.stringify(exec)).not.toMatch(/eyJ[\w-]{10,}\./);
    // the tokens went to the token cache, not the kubeconfig
    expect(readFileSync(kubeconfig, 'utf8')).not.toMatch(/id-token|refresh-token/);
    expect(run.stderr).toContain('kubectl gets it from `k8s-auth credential`');
  });

  it('without --exec the user is an auth-provider: oidc user holding the tokens', async () => {
    const kubeconfig = dir.file('auth-provider');
    const run = await runCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, ...passwordArgs], env);
    expect(run.code, run.stderr).toBe(0);
    const user = readKubeconfig(kubeconfig).users.find((u) => u.name === 'jane@example.com@prod')?.user;
    expect(Object.keys(user ?? {})).toEqual(['auth-provider']);
    expect(user?.['auth-provider']?.name).toBe('oidc');
    const config = user?.['auth-provider']?.config ?? {};
    expect(config['idp-issuer-url']).toBe(provider.issuer);
    expect(config['client-id']).toBe(provider.clientId);
    expect(config['id-token']).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(config['refresh-token']).toBeTruthy();
  });
});

describe.skipIf(skipUnless(built && chromiumAvailable(), 'dist/ not built or Debian chromium (/usr/bin/chromium) missing'))('login --listen-port (browser flow)', () => {
  let provider: TestProvider;
  let browser: Browser;
  let dir: TempDir;
  let catalog: string;

  beforeAll(async () => {
    [provider, browser] = await Promise.all([startTestProvider(), launchChromium()]);
    dir = tempDir('k8s-auth-login-port-');
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      prod: { server: 'https://127.0.0.1:6443', 'issuer-url': provider.issuer, 'client-id': provider.clientId, 'idp-certificate-authority-data': base64(provider.caPem) },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await provider?.close();
    dir?.remove();
  });

  it('sends redirect_uri http://127.0.0.1:<port>/callback for the port given, and signs in through it', async () => {
    const port = await freePort();
    const kubeconfig = dir.file('kubeconfig');
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser', '--listen-port', String(port), '-o', 'json'], cleanEnv({ HOME: dir.path }));
    const url = new URL(await cli.url);
    expect(url.searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${port}/callback`);
    const page = await signInWithBrowser(browser, url.href, { login: JANE.username, password: JANE.password }).catch((e: unknown) => {
      throw new Error(`${String(e)}\nCLI stderr: ${cli.stderr()}`);
    });
    expect(page.status).toBe(200);
    expect(page.text).toContain('You are signed in');
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(provider.stats.authorization_code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ cluster: 'prod', user: 'jane@example.com@prod' });
    expect(readKubeconfig(kubeconfig).users.map((u) => u.name)).toEqual(['jane@example.com@prod']);
  });
});
