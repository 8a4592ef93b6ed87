// k8s-auth against real Dex in front of real LDAP (Debian slapd): sign-in in Chromium on Dex's
// own pages (LDAP and static-password connectors), device code approved in Chromium, the
// password grant through oauth2.passwordConnector, groups read from LDAP into the ID token, and
// Dex's gRPC API over mutual TLS.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chromiumAvailable, launchChromium, newPage } from '../../support/browser.js';
import { decodeClaims } from '../../support/credential-fixture.js';
import { base64, cleanEnv, startCli, tempDir, writeCatalog, type TempDir } from '../../support/login-harness.js';
import { createCa, issueCert, removeCa } from '../../support/pki.js';
import { cliEntry, runCli } from '../../support/run-cli.js';
import { skipUnless } from '../../support/skip.js';
import { fetchTrusting } from '../../support/tls-fetch.js';
import { freeLoopbackPort } from '../process.js';
import { dexapiBinary, dexAvailable, dexVersion, startDex, type DexPeer } from './dex.js';
import { approveOnDex, signInAtAuthUrl } from './dex-pages.js';
import { watchDevicePrompt } from '../../support/device-prompt.js';

const run = promisify(execFile);
const skip = skipUnless(dexAvailable() && chromiumAvailable(), `Dex ${dexVersion} (bash test/peers/dex/install.sh), Debian slapd (test/peers/slapd/install.sh) or Debian chromium is missing`);

interface OidcUserConfig {
  'id-token': string;
  'refresh-token'?: string;
  'idp-issuer-url': string;
}

function oidcUser(kubeconfig: string): OidcUserConfig {
  const doc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { user: { 'auth-provider': { config: OidcUserConfig } } }[] };
  const config = doc.users[0]?.user['auth-provider'].config;
  if (!config) throw new Error(`no auth-provider user in ${kubeconfig}`);
  return config;
}

describe.skipIf(skip)(`k8s-auth login against Dex ${dexVersion} with LDAP`, () => {
  let dex: DexPeer;
  let browser: Browser;
  let dir: TempDir;
  let catalog: string;
  let env: NodeJS.ProcessEnv;
  let confidentialRedirect: string;

  beforeAll(async () => {
    confidentialRedirect = `http://127.0.0.1:${await freeLoopbackPort()}/callback`;
    [dex, browser] = await Promise.all([startDex({ confidentialRedirectUris: [confidentialRedirect] }), launchChromium()]);
    dir = tempDir('k8s-auth-dex-login-');
    const common = { server: 'https://127.0.0.1:6443', 'issuer-url': dex.issuer, 'idp-certificate-authority-data': base64(dex.caPem) };
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      prod: { ...common, 'client-id': dex.publicClientId },
      // a confidential client: Dex matches its redirect URI exactly, so the port is fixed
      conf: { ...common, 'client-id': dex.confidentialClient.id, 'client-secret': dex.confidentialClient.secret, 'redirect-uri': confidentialRedirect },
      // the same client with a redirect URI Dex does not know
      confwrong: { ...common, 'client-id': dex.confidentialClient.id, 'client-secret': dex.confidentialClient.secret, 'redirect-uri': confidentialRedirect.replace('/callback', '/other') },
    });
    env = cleanEnv({ HOME: dir.path });
  });
  afterAll(async () => {
    await browser?.close();
    await dex?.stop();
    dir?.remove();
  });

  it("serves its discovery document and its embedded login pages (connector choice, then the LDAP form)", async () => {
    const trusting = fetchTrusting(dex.caPem);
    try {
      const discovery = (await (await trusting(`${dex.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(discovery['issuer']).toBe(dex.issuer);
      expect(discovery['device_authorization_endpoint']).toBe(`${dex.issuer}/device/code`);
      expect(discovery['grant_types_supported']).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'password', 'urn:ietf:params:oauth:grant-type:device_code']));
      expect(discovery['code_challenge_methods_supported']).toEqual(expect.arrayContaining(['S256']));
      // Dex offers no RFC 7009 revocation endpoint (only gRPC RevokeRefresh)
      expect(discovery['revocation_endpoint']).toBeUndefined();
    } finally {
      await trusting.close();
    }
    const page = await newPage(browser);
    try {
      const auth = `${dex.issuer}/auth?client_id=k8s-auth&redirect_uri=${encodeURIComponent('http://127.0.0.1:1/callback')}&response_type=code&scope=openid&state=s0123456789`;
      const response = await page.goto(auth);
      expect(response?.status()).toBe(200);
      await expect(page.getByRole('button', { name: 'Log in with LDAP' }).isVisible()).resolves.toBe(true);
      await expect(page.getByRole('button', { name: 'Log in with Email' }).isVisible()).resolves.toBe(true);
      await page.getByRole('button', { name: 'Log in with LDAP' }).click();
      await page.waitForSelector('input#login');
      expect(await page.getAttribute('input#login', 'placeholder')).toBe('email address');
      // the theme's stylesheet is served from the binary too
      const css = await page.evaluate(() => Array.from(document.querySelectorAll('link[rel="stylesheet"]')).map((l) => (l as HTMLLinkElement).href));
      expect(css.length).toBeGreaterThan(0);
      const styles = await page.request.get(css[0] ?? '');
      expect(styles.status()).toBe(200);
    } finally {
      await page.context().close();
    }
  });

  it('login in Chromium on Dex\'s page as an LDAP user: groups from LDAP in the ID token, a refresh token, Dex\'s sub', async () => {
    const kubeconfig = dir.file('kc-browser');
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser'], env, 90_000);
    const url = await cli.url;
    expect(url.startsWith(`${dex.issuer}/auth?`)).toBe(true);
    const params = new URL(url).searchParams;
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'groups', 'offline_access']));
    const landing = await signInAtAuthUrl(browser, url, { login: 'ops@example.com', password: 'ops-password' });
    expect(landing).toMatch(/ops@example\.com/);
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/Signed in to prod as ops@example\.com/);
    const user = oidcUser(kubeconfig);
    expect(user['idp-issuer-url']).toBe(dex.issuer);
    expect(user['refresh-token']?.length).toBeGreaterThan(10);
    const claims = decodeClaims(user['id-token']);
    const ops = dex.users.find((u) => u.email === 'ops@example.com');
    expect(claims).toMatchObject({ iss: dex.issuer, aud: 'k8s-auth', email: 'ops@example.com', email_verified: true, name: 'Ops Person', preferred_username: 'ops', sub: ops?.sub });
    expect(claims['groups']).toEqual(['admins', 'developers']);
  });

  it('login in Chromium through the static-passwords connector (no groups there)', async () => {
    const kubeconfig = dir.file('kc-static');
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser'], env, 90_000);
    await signInAtAuthUrl(browser, await cli.url, { login: dex.staticUser.email, password: dex.staticUser.password }, 'Email');
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    const claims = decodeClaims(oidcUser(kubeconfig)['id-token']);
    // the local connector puts the username in `name` and sends no preferred_username
    expect(claims).toMatchObject({ email: 'admin@example.com', email_verified: true, sub: dex.staticUser.sub, name: 'admin' });
    expect(claims['preferred_username']).toBeUndefined();
    expect(claims['groups']).toBeUndefined();
  });

  it('the confidential client: its exact redirect URI signs in; another one is refused on Dex\'s error page', async () => {
    const kubeconfig = dir.file('kc-confidential');
    const cli = startCli(['login', 'conf', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser'], env, 90_000);
    const url = await cli.url;
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(confidentialRedirect);
    await signInAtAuthUrl(browser, url, { login: 'jane@example.com', password: 'jane-password' });
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    const doc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { user: { 'auth-provider': { config: Record<string, string> } } }[] };
    const config = doc.users[0]?.user['auth-provider'].config ?? {};
    expect(config['client-id']).toBe(dex.confidentialClient.id);
    expect(config['client-secret']).toBe(dex.confidentialClient.secret);
    expect(decodeClaims(config['id-token'] ?? '')).toMatchObject({ aud: dex.confidentialClient.id, email: 'jane@example.com', groups: ['developers'] });

    const wrong = startCli(['login', 'confwrong', '--catalog', catalog, '--kubeconfig', dir.file('kc-confwrong'), '--no-browser', '--timeout', '60'], env, 90_000);
    const page = await newPage(browser);
    try {
      // with two connectors Dex shows its connector choice first and checks the redirect URI only
      // when one is picked
      const first = await page.goto(await wrong.url);
      expect(first?.status()).toBe(200);
      const [chosen] = await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/dex/auth/ldap'), page.getByRole('button', { name: 'Log in with LDAP' }).click()]);
      expect(chosen.status()).toBe(400);
      expect(await page.textContent('body')).toMatch(/Unregistered redirect_uri/);
      expect(await page.locator('input#login').count()).toBe(0);
    } finally {
      await page.context().close();
      wrong.kill();
      await wrong.exited;
    }
  });

  it('a wrong LDAP password stays on Dex\'s form with its error; the CLI is still waiting', async () => {
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('kc-wrong'), '--no-browser', '--timeout', '60'], env, 90_000);
    const refused = await signInAtAuthUrl(browser, await cli.url, { login: 'jane@example.com', password: 'not-her-password' }).then(
      () => 'signed in',
      (e: Error) => e.message,
    );
    expect(refused).toMatch(/^Dex refused the login: Invalid Email Address and password\.?$/);
    expect(cli.stderr()).not.toMatch(/error:/);
    cli.kill();
    await cli.exited;
  });

  it('device code: the code is approved in Chromium on Dex\'s /device page', async () => {
    const kubeconfig = dir.file('kc-device');
    const child = spawn(process.execPath, [cliEntry, 'login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--grant', 'device-code'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const watch = watchDevicePrompt(child, 30_000);
    const target = await watch.prompt;
    expect(target.verificationUri).toBe(`${dex.issuer}/device`);
    expect(target.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    const success = await approveOnDex(browser, target, { login: 'jane@example.com', password: 'jane-password' });
    expect(success).toMatch(/Login Successful for k8s-auth/);
    expect(await watch.exited, watch.stderr).toBe(0);
    const claims = decodeClaims(oidcUser(kubeconfig)['id-token']);
    expect(claims).toMatchObject({ email: 'jane@example.com', groups: ['developers'] });
    expect(oidcUser(kubeconfig)['refresh-token']?.length).toBeGreaterThan(10);
  });

  it('password grant through oauth2.passwordConnector (LDAP), and a wrong password refused', async () => {
    const kubeconfig = dir.file('kc-password');
    const ok = await runCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--grant', 'password', '--username', 'ops@example.com'], cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: 'ops-password' }));
    expect(ok.code, ok.stderr).toBe(0);
    const claims = decodeClaims(oidcUser(kubeconfig)['id-token']);
    expect(claims).toMatchObject({ email: 'ops@example.com', groups: ['admins', 'developers'] });
    expect(oidcUser(kubeconfig)['refresh-token']?.length).toBeGreaterThan(10);

    const wrong = await runCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('kc-password-wrong'), '--grant', 'password', '--username', 'ops@example.com'], cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: 'wrong' }));
    // Dex answers a wrong password with HTTP 401 access_denied (RFC 6749 says invalid_grant): exit 7, the sign-in was refused
    expect(wrong.code).toBe(7);
    const errors = wrong.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toEqual([`error: the identity provider at ${dex.issuer} refused the username or password for 'ops@example.com' (access_denied: Invalid username or password)`]);
  });

  it('the gRPC API answers over mutual TLS, and refuses a client certificate from another CA', async () => {
    const version = (await dex.dexapi('version')) as { server?: string; api?: number };
    expect(version.server).toBe(dexVersion);
    // the API module is api/v2, but GetVersion reports api 3 on this commit
    expect(version.api).toBe(3);
    const clients = (await dex.dexapi('list-clients')) as { clients?: { id: string; public?: boolean }[] };
    expect(clients.clients?.map((c) => c.id).sort()).toEqual(['k8s-auth', 'k8s-auth-confidential']);
    // one refresh token per user, connector and client, however often ops signed in here
    const again = await runCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('kc-grpc'), '--grant', 'password', '--username', 'ops@example.com'], cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: 'ops-password' }));
    expect(again.code, again.stderr).toBe(0);
    const ops = dex.users.find((u) => u.email === 'ops@example.com');
    const refresh = (await dex.dexapi('list-refresh', ops?.sub ?? '')) as { refresh_tokens?: { client_id: string }[] };
    expect(refresh.refresh_tokens?.map((r) => r.client_id)).toEqual(['k8s-auth']);

    const stranger = await createCa('not Dex');
    try {
      const cert = await issueCert(stranger, { commonName: 'stranger', kind: 'client' });
      const refused = await run(dexapiBinary, ['-addr', dex.grpc.address, '-ca', dex.grpc.caFile, '-cert', cert.certFile, '-key', cert.keyFile, 'version'], { timeout: 15_000 }).then(
        () => 'answered',
        (e: { code?: number; stderr?: string }) => `${e.code}: ${e.stderr ?? ''}`,
      );
      // TLS 1.3: Dex checks the client certificate after the handshake, so the refusal reaches the
      // client as a TLS alert or as the connection closed under it (seen: "bad certificate", "broken pipe")
      expect(refused).toMatch(/^1: dexapi: rpc error: code = Unavailable desc = .*(certificate|tls|handshake|broken pipe|connection reset|EOF)/i);
    } finally {
      await removeCa(stranger);
    }
  });
});
