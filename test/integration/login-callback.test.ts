// The loopback callback under abuse and failure, with the built CLI and a real provider: a wrong
// state (400, keeps waiting), oversized and stray requests, error=access_denied (exit 7), a
// foreign `iss` (exit 5), the --timeout (exit 6, listener closed), and a fixed redirect-uri for
// a confidential client.
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chromiumAvailable, launchChromium } from '../support/browser.js';
import { base64, cleanEnv, signInWithBrowser, startCli, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { skipUnless } from '../support/skip.js';

const skip = skipUnless(chromiumAvailable(), 'Debian chromium (/usr/bin/chromium) is not installed');

/** A raw GET (fetch would refuse some of what we send), resolving with the status. */
function rawGet(url: string, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function callback(authUrl: string, params: Record<string, string>): string {
  const redirect = new URL(String(new URL(authUrl).searchParams.get('redirect_uri')));
  for (const [k, v] of Object.entries(params)) redirect.searchParams.set(k, v);
  return redirect.href;
}

describe.skipIf(skip)('the sign-in callback', () => {
  let provider: TestProvider;
  let browser: Browser;
  let dir: TempDir;
  let catalog: string;
  const fixedPort = 18000 + Math.floor(Math.random() * 1000);
  const jane = { login: 'jane@example.com', password: 'jane-password' };

  beforeAll(async () => {
    [provider, browser] = await Promise.all([startTestProvider({ confidentialRedirectUris: [`http://127.0.0.1:${fixedPort}/oidc/callback`] }), launchChromium()]);
    dir = tempDir();
    const idpCa = base64(provider.caPem);
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      prod: { server: 'https://127.0.0.1:6443', 'issuer-url': provider.issuer, 'client-id': provider.clientId, 'idp-certificate-authority-data': idpCa },
      confidential: {
        server: 'https://127.0.0.1:6443',
        'issuer-url': provider.issuer,
        'client-id': provider.confidentialClient.id,
        'client-secret': provider.confidentialClient.secret,
        'redirect-uri': `http://127.0.0.1:${fixedPort}/oidc/callback`,
        'idp-certificate-authority-data': idpCa,
        'extra-scopes': 'federated:id, audience:server:client_id:kube',
      },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await provider?.close();
    dir?.remove();
  });

  it('answers a wrong state with 400, ignores stray and oversized requests, and keeps waiting for the real sign-in', async () => {
    const kubeconfig = dir.file('kubeconfig-state');
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser'], cleanEnv());
    const url = await cli.url;
    expect(await rawGet(callback(url, { code: 'forged', state: 'not-the-state' }))).toBe(400);
    expect(await rawGet(callback(url, { code: 'forged' }))).toBe(400);
    const redirect = new URL(String(new URL(url).searchParams.get('redirect_uri')));
    expect(await rawGet(`${redirect.origin}/favicon.ico`)).toBe(404);
    expect(await rawGet(callback(url, { state: String(new URL(url).searchParams.get('state')) }), 'POST')).toBe(405);
    const oversized = await rawGet(callback(url, { state: 'x', padding: 'a'.repeat(20_000) })).catch(() => 0);
    expect([414, 431]).toContain(oversized);
    expect(await rawGet(callback(url, { state: 'x', padding: 'a'.repeat(9_000) }))).toBe(414);
    expect(existsSync(kubeconfig)).toBe(false);

    const page = await signInWithBrowser(browser, url, jane);
    expect(page.text).toContain('You are signed in');
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(kubeconfig)).toBe(true);
  });

  it('turns error=access_denied into exit 7 with one line, writing nothing', async () => {
    const kubeconfig = dir.file('kubeconfig-denied');
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser'], cleanEnv());
    const url = await cli.url;
    const state = String(new URL(url).searchParams.get('state'));
    expect(await rawGet(callback(url, { error: 'access_denied', error_description: 'User said no\n\u001b[31mred', state }))).toBe(200);
    const result = await cli.exited;
    expect(result.code).toBe(7);
    const errorLines = result.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errorLines).toEqual(["error: the identity provider refused the sign-in (access_denied: User said no [31mred): check that your account may use this cluster, then log in again"]);
    expect(existsSync(kubeconfig)).toBe(false);
  });

  it('refuses a callback naming another issuer (RFC 9207) with exit 5', async () => {
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('kubeconfig-iss'), '--no-browser'], cleanEnv());
    const url = await cli.url;
    const state = String(new URL(url).searchParams.get('state'));
    expect(await rawGet(callback(url, { code: 'c', state, iss: 'https://evil.example' }))).toBe(400);
    const result = await cli.exited;
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/names issuer 'https:\/\/evil\.example'/);
  });

  it('gives up after --timeout with exit 6 and closes the listener', async () => {
    const started = Date.now();
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('kubeconfig-timeout'), '--no-browser', '--timeout', '1.5'], cleanEnv());
    const url = await cli.url;
    const result = await cli.exited;
    expect(result.code).toBe(6);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.stderr).toMatch(/error: no sign-in within 2s/);
    await expect(rawGet(callback(url, { code: 'late', state: 'x' }))).rejects.toThrow(/ECONNREFUSED/);
  });

  it('uses the catalog redirect-uri (fixed port and path) and the client secret of a confidential client', async () => {
    const kubeconfig = dir.file('kubeconfig-confidential');
    const cli = startCli(['login', 'confidential', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser'], cleanEnv());
    const url = new URL(await cli.url);
    expect(url.searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${fixedPort}/oidc/callback`);
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['federated:id', 'audience:server:client_id:kube', 'offline_access']));
    const page = await signInWithBrowser(browser, url.href, { login: 'ops@example.com', password: 'ops-password' });
    expect(page.text).toContain('ops@example.com');
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toContain(provider.confidentialClient.secret);
    const config = parse(readFileSync(kubeconfig, 'utf8')) as { users: { name: string; user: { 'auth-provider': { config: Record<string, string> } } }[] };
    expect(config.users[0]?.name).toBe('ops@example.com@confidential');
    expect(config.users[0]?.user['auth-provider'].config['client-secret']).toBe(provider.confidentialClient.secret);
  });
});
