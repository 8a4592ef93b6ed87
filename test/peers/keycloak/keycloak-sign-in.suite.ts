// Sign-in against a real Keycloak (test/peers/keycloak): the browser flow in real Chromium on
// Keycloak's own login page (loopback redirect on any port, on 127.0.0.1 and on localhost, a
// confidential client with its one registered redirect), the device code flow approved in
// Chromium, the password grant, and what Keycloak refuses (a scope the client has not got).
// The Keycloak is the one keycloak.test.ts starts for all Keycloak suites (keycloak-shared.ts).
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chromiumAvailable, launchChromium, newPage } from '../../support/browser.js';
import { decodeClaims } from '../../support/credential-fixture.js';
import { base64, cleanEnv, startCli, tempDir, writeCatalog, type TempDir } from '../../support/login-harness.js';
import { cliEntry, runCli } from '../../support/run-cli.js';
import { repoRoot, skipUnless } from '../../support/skip.js';
import { freeLoopbackPort } from '../process.js';
import { keycloakAvailable, keycloakInstallHint, type KeycloakPeer } from './keycloak.js';
import { sharedKeycloak } from './keycloak-shared.js';
import { approveKeycloakDevice, signInOnKeycloakPage, signInThroughKeycloak } from './keycloak-pages.js';
import { watchDevicePrompt } from '../../support/device-prompt.js';

const skip = skipUnless(keycloakAvailable() && chromiumAvailable(), keycloakAvailable() ? 'Debian chromium (/usr/bin/chromium) is not installed' : keycloakInstallHint);

interface OidcUser {
  'auth-provider': { name: string; config: Record<string, string> };
}
function oidcUser(kubeconfig: string, name: string): Record<string, string> {
  const doc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { name: string; user: OidcUser }[] };
  const user = doc.users.find((u) => u.name === name);
  if (!user) throw new Error(`no user ${name} in ${kubeconfig}: ${doc.users.map((u) => u.name).join(', ')}`);
  return user.user['auth-provider'].config;
}

describe.skipIf(skip)('Keycloak: sign-in', () => {
  let kc: KeycloakPeer;
  let browser: Browser;
  let dir: TempDir;
  let catalog: string;
  let localhostPort: number;
  const jane = { login: 'jane@example.com', password: 'jane-password' };
  const ops = { login: 'ops', password: 'ops-password' };

  beforeAll(async () => {
    kc = sharedKeycloak();
    [localhostPort, browser] = await Promise.all([freeLoopbackPort(), launchChromium()]);
    dir = tempDir('k8s-auth-keycloak-');
    const common = { server: 'https://127.0.0.1:6443', 'issuer-url': kc.issuer, 'idp-certificate-authority-data': base64(kc.caPem) };
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      kc: { ...common, 'client-id': kc.publicClientId },
      'kc-localhost': { ...common, 'client-id': kc.publicClientId, 'redirect-uri': `http://localhost:${localhostPort}/callback` },
      'kc-confidential': { ...common, 'client-id': kc.confidentialClient.id, 'client-secret': kc.confidentialClient.secret, 'redirect-uri': kc.confidentialClient.redirectUris[0] as string },
      'kc-plain': { ...common, 'client-id': kc.plainClientId },
    });
  }, 420_000);
  afterAll(async () => {
    await browser?.close();
    dir?.remove();
  });

  const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => cleanEnv({ HOME: dir.path, ...extra });

  it('discovery: what Keycloak advertises that the CLI relies on', () => {
    const d = kc.discovery;
    expect(d['issuer']).toBe(kc.issuer);
    expect(d['code_challenge_methods_supported']).toContain('S256');
    expect(d['authorization_response_iss_parameter_supported']).toBe(true);
    expect(d['revocation_endpoint']).toBe(`${kc.issuer}/protocol/openid-connect/revoke`);
    expect(d['device_authorization_endpoint']).toBe(`${kc.issuer}/protocol/openid-connect/auth/device`);
    expect(d['grant_types_supported']).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'password', 'urn:ietf:params:oauth:grant-type:device_code']));
    // Keycloak lists only its realm's client scopes: `groups` is ours (added by startKeycloak)
    expect(d['scopes_supported']).toEqual(expect.arrayContaining(['openid', 'offline_access', 'profile', 'email']));
  });

  it("browser: jane signs in on Keycloak's login page; loopback redirect on a free 127.0.0.1 port, PKCE S256, iss on the redirect", async () => {
    const kubeconfig = dir.file('browser.yaml');
    const cli = startCli(['login', 'kc', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser'], env(), 120_000);
    const url = new URL(await cli.url);
    expect(url.origin + url.pathname).toBe(`${kc.issuer}/protocol/openid-connect/auth`);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'groups', 'offline_access']));
    const redirect = new URL(url.searchParams.get('redirect_uri') as string);
    expect(redirect.hostname).toBe('127.0.0.1');
    const landed = await signInThroughKeycloak(browser, url.href, jane);
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/Signed in to kc as jane@example\.com/);
    expect(landed.text).toMatch(/jane@example\.com/);
    // Keycloak sends iss (RFC 9207) with the code; the CLI checked it
    const callback = new URL(landed.callbackUrl);
    expect(callback.searchParams.get('iss')).toBe(kc.issuer);
    const config = oidcUser(kubeconfig, 'jane@example.com@kc');
    expect(config['idp-issuer-url']).toBe(kc.issuer);
    expect(config['refresh-token']).toMatch(/^ey/);
    const claims = decodeClaims(config['id-token'] as string);
    expect(claims).toMatchObject({ iss: kc.issuer, aud: 'k8s-auth', azp: 'k8s-auth', typ: 'ID', email: 'jane@example.com', email_verified: true, preferred_username: 'jane', groups: ['developers'] });
    // Keycloak's subject is the user's UUID, not Dex's connector-encoded ID
    expect(claims['sub']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // offline_access was granted: the refresh token is an offline token
    expect(decodeClaims(config['refresh-token'] as string)['typ']).toBe('Offline');
  }, 180_000);

  it('browser: a localhost redirect on a fixed port (registered as http://localhost/*), signing in with the username', async () => {
    const kubeconfig = dir.file('localhost.yaml');
    const cli = startCli(['login', 'kc-localhost', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser'], env(), 120_000);
    const url = new URL(await cli.url);
    expect(url.searchParams.get('redirect_uri')).toBe(`http://localhost:${localhostPort}/callback`);
    await signInThroughKeycloak(browser, url.href, ops);
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    const claims = decodeClaims(oidcUser(kubeconfig, 'ops@example.com@kc-localhost')['id-token'] as string);
    expect(claims['groups']).toEqual(['admins', 'developers']);
  }, 180_000);

  it('browser: the confidential client with its single registered redirect URI; -o json', async () => {
    const kubeconfig = dir.file('confidential.yaml');
    const cli = startCli(['login', 'kc-confidential', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser', '-o', 'json'], env(), 120_000);
    const url = new URL(await cli.url);
    expect(url.searchParams.get('redirect_uri')).toBe(kc.confidentialClient.redirectUris[0]);
    await signInThroughKeycloak(browser, url.href, jane);
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ cluster: 'kc-confidential', issuer: kc.issuer, email: 'jane@example.com', groups: ['developers'] });
    expect(decodeClaims(oidcUser(kubeconfig, 'jane@example.com@kc-confidential')['id-token'] as string)['aud']).toBe(kc.confidentialClient.id);
    // kubectl's auth-provider needs the secret to refresh: it is in the 0600 kubeconfig, never in the output
    expect(oidcUser(kubeconfig, 'jane@example.com@kc-confidential')['client-secret']).toBe(kc.confidentialClient.secret);
    expect(statSync(kubeconfig).mode & 0o077).toBe(0);
    expect(result.stderr + result.stdout).not.toContain(kc.confidentialClient.secret);
  }, 180_000);

  it('a wrong password stays on Keycloak\'s page with its error; the right one then finishes the login', async () => {
    const kubeconfig = dir.file('retry.yaml');
    const cli = startCli(['login', 'kc', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser'], env(), 120_000);
    const page = await newPage(browser);
    try {
      await page.goto(await cli.url);
      await signInOnKeycloakPage(page, { login: 'jane', password: 'not-her-password' });
      await page.waitForSelector('#kc-form-login #username', { timeout: 30_000 });
      expect((await page.textContent('body')) ?? '').toMatch(/Invalid username or password/);
      await signInOnKeycloakPage(page, jane);
      await page.waitForURL((u) => u.protocol === 'http:', { timeout: 60_000 });
    } finally {
      await page.context().close();
    }
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('not-her-password');
  }, 180_000);

  it('Keycloak refuses a scope the client has not got (invalid_scope) instead of dropping it: exit 7, one line naming it', async () => {
    // k8s-auth-plain puts groups in the token through a mapper on the client, but has no client
    // scope called `groups`; every sign-in asks for that scope
    const cli = startCli(['login', 'kc-plain', '--catalog', catalog, '--kubeconfig', dir.file('plain.yaml'), '--no-browser'], env(), 120_000);
    const page = await newPage(browser);
    try {
      await page.goto(await cli.url);
      // no login form: Keycloak redirects straight back with error=invalid_scope
      await page.waitForURL((u) => u.protocol === 'http:', { timeout: 30_000 });
      expect(new URL(page.url()).searchParams.get('error')).toBe('invalid_scope');
    } finally {
      await page.context().close();
    }
    const result = await cli.exited;
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/invalid_scope/);
    expect(result.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    // the password grant is refused the same way, before any password check
    const password = await runCli(['login', 'kc-plain', '--catalog', catalog, '--kubeconfig', dir.file('plain2.yaml'), '--grant', 'password', '--username', 'jane'], env({ K8S_AUTH_PASSWORD: 'jane-password' }), { timeoutMs: 60_000 });
    expect(password.code).not.toBe(0);
    expect(password.stderr).toMatch(/Invalid scopes/);
  }, 180_000);

  it('device code: the code is approved in Chromium on Keycloak\'s device page (user code, sign-in, consent)', async () => {
    const kubeconfig = dir.file('device.yaml');
    const deviceStarted = Date.now() - 1_000;
    const child = spawn(process.execPath, [cliEntry, 'login', 'kc', '--catalog', catalog, '--kubeconfig', kubeconfig, '--grant', 'device-code'], { env: env(), cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const watch = watchDevicePrompt(child, 60_000);
    const target = await watch.prompt;
    expect(target.verificationUri).toBe(`${kc.issuer}/device`);
    expect(target.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    // Keycloak also sends verification_uri_complete; the CLI prints it as the alternative
    expect(watch.stderr).toContain(`${kc.issuer}/device?user_code=${target.userCode}`);
    const approved = await approveKeycloakDevice(browser, target, { login: 'ops@example.com', password: 'ops-password' });
    expect(approved.steps).toEqual(['user-code', 'login', 'consent', 'success']);
    expect(await watch.exited, watch.stderr).toBe(0);
    const claims = decodeClaims(oidcUser(kubeconfig, 'ops@example.com@kc')['id-token'] as string);
    expect(claims['groups']).toEqual(['admins', 'developers']);
    // Keycloak's own record: the device code was exchanged once, for ops
    const exchanged = (await kc.events('OAUTH2_DEVICE_CODE_TO_TOKEN', 'k8s-auth')).filter((e) => e.time >= deviceStarted);
    expect(exchanged).toHaveLength(1);
    expect(exchanged[0]?.details?.['username'] ?? exchanged[0]?.userId).toBeTruthy();
  }, 180_000);

  it('password grant (exec user, as CI does): a wrong password is exit 7 without the password; the right one fills the cache', async () => {
    const kubeconfig = dir.file('password.yaml');
    const cacheDir = dir.file('cache-password');
    const args = ['login', 'kc', '--catalog', catalog, '--kubeconfig', kubeconfig, '--exec', '--grant', 'password', '--username', 'jane', '--token-cache-dir', cacheDir];
    const wrong = await runCli(args, env({ K8S_AUTH_PASSWORD: 'wrong-password-42' }), { timeoutMs: 60_000 });
    expect(wrong.code).toBe(7);
    expect(wrong.stderr).toMatch(/refused the username or password for 'jane' \(invalid_grant/);
    expect(wrong.stderr).not.toContain('wrong-password-42');
    const right = await runCli(args, env({ K8S_AUTH_PASSWORD: 'jane-password' }), { timeoutMs: 60_000 });
    expect(right.code, right.stderr).toBe(0);
    // Keycloak answers the username `jane`; the user is named by the email claim
    expect(right.stderr).toMatch(/jane@example\.com/);
    const doc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { name: string; user: { exec?: { args: string[] } } }[] };
    expect(doc.users[0]?.user.exec?.args).toContain('credential');
  }, 120_000);
});
