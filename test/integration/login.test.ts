// The full login: the built CLI against a real OpenID provider (oidc-provider over HTTPS with a
// throwaway CA), Debian Chromium as the person signing in, a catalog file, a kubeconfig.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { chromiumAvailable, launchChromium } from '../support/browser.js';
import { base64, cleanEnv, signInWithBrowser, startCli, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { skipUnless } from '../support/skip.js';

const skip = skipUnless(chromiumAvailable(), 'Debian chromium (/usr/bin/chromium) is not installed');

describe.skipIf(skip)('login through a real browser sign-in', () => {
  let provider: TestProvider;
  let browser: Browser;
  let dir: TempDir;
  let catalog: string;
  const jane = { login: 'jane@example.com', password: 'jane-password' };

  beforeAll(async () => {
    [provider, browser] = await Promise.all([startTestProvider(), launchChromium()]);
    dir = tempDir();
    const common = { 'issuer-url': provider.issuer, 'client-id': provider.clientId, 'idp-certificate-authority-data': base64(provider.caPem) };
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      prod: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': base64(provider.caPem), namespace: 'team-a', ...common },
      staging: { server: 'https://127.0.0.1:7443', ...common },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await provider?.close();
    dir?.remove();
  });

  it('signs in once for two clusters sharing a provider and keeps the rest of the kubeconfig', async () => {
    const kubeconfig = dir.file('kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        '# my clusters (keep this comment)',
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: other # a cluster I added by hand',
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
        'preferences: {}',
        '',
      ].join('\n'),
    );
    provider.resetStats();
    const cli = startCli(['login', 'prod', 'staging', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser', '-o', 'json'], cleanEnv());
    const url = new URL(await cli.url);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'email', 'profile', 'groups', 'offline_access']));
    expect(url.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[\w-]{20,}$/);
    expect(url.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);

    const page = await signInWithBrowser(browser, url.href, jane).catch((e: unknown) => { throw new Error(`${String(e)}\nCLI stderr: ${cli.stderr()}`); });
    expect(page.status).toBe(200);
    expect(page.text).toContain('You are signed in');
    expect(page.text).toContain('jane@example.com');
    expect(page.text).toContain('prod, staging');

    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(provider.stats.authorization_code).toBe(1);
    const outcomes = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(outcomes).toHaveLength(2);
    expect(outcomes[0]).toMatchObject({ cluster: 'prod', context: 'prod', user: 'jane@example.com@prod', issuer: provider.issuer, email: 'jane@example.com', groups: ['developers'] });
    expect(Object.keys(outcomes[0] as object).sort()).toEqual(['cluster', 'context', 'email', 'expiry', 'groups', 'issuer', 'subject', 'user']);
    expect(Date.parse(String(outcomes[0]?.['expiry']))).toBeGreaterThan(Date.now());
    // never the tokens on stdout or stderr
    expect(result.stdout + result.stderr).not.toMatch(/eyJ[\w-]{10,}\./);

    const text = readFileSync(kubeconfig, 'utf8');
    expect(text).toContain('# my clusters (keep this comment)');
    expect(text).toContain('# a cluster I added by hand');
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const config = parse(text) as Record<string, any>;
    expect(config['current-context']).toBe('prod');
    expect(config.preferences).toEqual({});
    expect(config.clusters.map((c: { name: string }) => c.name)).toEqual(['other', 'prod', 'staging']);
    expect(config.users.find((u: { name: string }) => u.name === 'other-user').user).toEqual({ token: 'static-token-value' });
    expect(config.clusters.find((c: { name: string }) => c.name === 'prod').cluster).toEqual({ server: 'https://127.0.0.1:6443', 'certificate-authority-data': base64(provider.caPem) });
    expect(config.contexts.find((c: { name: string }) => c.name === 'prod').context).toEqual({ cluster: 'prod', user: 'jane@example.com@prod', namespace: 'team-a' });
    const prodUser = config.users.find((u: { name: string }) => u.name === 'jane@example.com@prod').user;
    expect(prodUser['auth-provider'].name).toBe('oidc');
    const oidcConfig = prodUser['auth-provider'].config as Record<string, string>;
    expect(Object.keys(oidcConfig).sort()).toEqual(['client-id', 'id-token', 'idp-certificate-authority-data', 'idp-issuer-url', 'refresh-token']);
    expect(oidcConfig['idp-issuer-url']).toBe(provider.issuer);
    const claims = JSON.parse(Buffer.from(String(oidcConfig['id-token']).split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: provider.issuer, aud: 'k8s-auth', email: 'jane@example.com', groups: ['developers'] });
    // the second cluster reuses the same sign-in
    const stagingUser = config.users.find((u: { name: string }) => u.name === 'jane@example.com@staging').user;
    expect(stagingUser['auth-provider'].config['id-token']).toBe(oidcConfig['id-token']);

    // whoami reads it back without printing the token
    const who = startCli(['whoami', '--kubeconfig', kubeconfig, '-o', 'json'], cleanEnv());
    const whoResult = await who.exited;
    expect(whoResult.code, whoResult.stderr).toBe(0);
    expect(JSON.parse(whoResult.stdout)).toMatchObject({ context: 'prod', cluster: 'prod', issuer: provider.issuer, email: 'jane@example.com', groups: ['developers'], expired: false, refreshable: true });
    expect(whoResult.stdout).not.toContain(String(oidcConfig['id-token']));
  });

  it('prints the same result fields as YAML with -o yaml', async () => {
    const kubeconfig = dir.file('kubeconfig-yaml');
    const cli = startCli(['login', 'staging', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser', '-o', 'yaml'], cleanEnv());
    await signInWithBrowser(browser, (await cli.url), jane);
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    const outcome = parse(result.stdout) as Record<string, unknown>;
    expect(outcome).toMatchObject({ cluster: 'staging', context: 'staging', user: 'jane@example.com@staging', issuer: provider.issuer, groups: ['developers'] });
    expect(Object.keys(outcome).sort()).toEqual(['cluster', 'context', 'email', 'expiry', 'groups', 'issuer', 'subject', 'user']);
    expect(result.stdout).not.toMatch(/eyJ[\w-]{10,}\./);
  });

  it('logout revokes the refresh token and removes the tokens, keeping the entries', async () => {
    const kubeconfig = dir.file('kubeconfig-logout');
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser'], cleanEnv());
    await signInWithBrowser(browser, await cli.url, jane);
    expect((await cli.exited).code).toBe(0);
    provider.resetStats();
    const out = await startCli(['logout', 'prod', '--kubeconfig', kubeconfig], cleanEnv()).exited;
    expect(out.code, out.stderr).toBe(0);
    expect(provider.stats.revocations).toBe(1);
    const doc = parseDocument(readFileSync(kubeconfig, 'utf8'));
    const config = doc.getIn(['users', 0, 'user', 'auth-provider', 'config']) as { toJSON(): Record<string, string> };
    expect(Object.keys(config.toJSON()).sort()).toEqual(['client-id', 'idp-certificate-authority-data', 'idp-issuer-url']);
    expect(doc.getIn(['contexts', 0, 'name'])).toBe('prod');
  });
});
