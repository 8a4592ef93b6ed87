import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveDeviceCode, chromiumAvailable, launchChromium, newPage, signInOnProviderPage } from '../support/browser.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { skipUnless } from '../support/skip.js';
import { fetchTrusting, type TrustingFetch } from '../support/tls-fetch.js';

const SCOPE = 'openid email profile groups offline_access federated:id';

/** A loopback redirect catcher, like a CLI's callback listener. */
async function startCatcher(host: '127.0.0.1' | '::1'): Promise<{ redirectUri: string; next: Promise<URL>; server: Server }> {
  let resolveUrl!: (u: URL) => void;
  const next = new Promise<URL>((r) => (resolveUrl = r));
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<p>Signed in. You can close this window.</p>');
    const hostPart = host === '::1' ? '[::1]' : host;
    resolveUrl(new URL(req.url ?? '/', `http://${hostPart}:${(server.address() as AddressInfo).port}`));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as AddressInfo;
  return { redirectUri: `http://${host === '::1' ? '[::1]' : host}:${port}/callback`, next, server };
}

describe('support: test OIDC provider (oidc-provider shaped like Dex)', () => {
  let op: TestProvider;
  let trustingFetch: TrustingFetch;
  let config: client.Configuration;

  beforeAll(async () => {
    op = await startTestProvider();
    trustingFetch = fetchTrusting(op.caPem);
    config = await client.discovery(new URL(op.issuer), op.clientId, undefined, client.None(), {
      [client.customFetch]: trustingFetch as client.CustomFetch,
    });
  });
  afterAll(async () => {
    await trustingFetch?.close();
    await op?.close();
  });

  it('serves discovery over HTTPS (test CA) with the /dex issuer and Dex-like endpoints', async () => {
    expect(op.issuer).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/dex$/);
    const res = await trustingFetch(`${op.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(op.issuer);
    expect(doc.jwks_uri).toBe(`${op.issuer}/keys`);
    expect(doc.token_endpoint).toBe(`${op.issuer}/token`);
    expect(doc.device_authorization_endpoint).toBe(`${op.issuer}/device/code`);
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
    expect(doc.authorization_response_iss_parameter_supported).toBe(true);
    expect(doc.scopes_supported).toEqual(expect.arrayContaining(['groups', 'federated:id', 'offline_access']));
    expect(doc.grant_types_supported).toEqual(expect.arrayContaining(['password', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code']));
    // without the CA, TLS fails
    await expect(fetch(`${op.issuer}/.well-known/openid-configuration`)).rejects.toThrow();
  });

  it('mints ID tokens that verify against the published JWKS', async () => {
    const jwks = (await (await trustingFetch(`${op.issuer}/keys`)).json()) as JSONWebKeySet;
    expect(jwks.keys).toHaveLength(1);
    expect(JSON.stringify(jwks)).not.toContain('"d"');
    const token = await op.mintIdToken({ email: 'ops@example.com', expiresInSeconds: 120 });
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: op.issuer, audience: 'k8s-auth' });
    expect(payload.email).toBe('ops@example.com');
    expect(payload.groups).toEqual(['admins', 'developers']);
    expect(payload.email_verified).toBe(true);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(120);
    const custom = await op.mintIdToken({ sub: 'someone', groups: [], emailVerified: false, audience: 'other', extraClaims: { x: 1 } });
    await expect(jwtVerify(custom, createLocalJWKSet(jwks), { issuer: op.issuer, audience: 'k8s-auth' })).rejects.toThrow(/aud/);
  });

  it('password grant issues ID, access and refresh tokens with Dex claims; wrong password fails', async () => {
    const tokens = await client.genericGrantRequest(config, 'password', { username: 'jane@example.com', password: 'jane-password', scope: SCOPE });
    const claims = tokens.claims();
    expect(claims?.email).toBe('jane@example.com');
    expect(claims?.groups).toEqual(['developers']);
    expect(claims?.federated_claims).toEqual({ connector_id: 'ldap', user_id: 'jane' });
    expect(claims?.sub).toBe('CgRqYW5lEgRsZGFw');
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.access_token).toBeTruthy();
    await expect(
      client.genericGrantRequest(config, 'password', { username: 'jane@example.com', password: 'nope', scope: SCOPE }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    const noOffline = await client.genericGrantRequest(config, 'password', { username: 'ops', password: 'ops-password', scope: 'openid email' });
    expect(noOffline.refresh_token).toBeUndefined();
    expect(noOffline.claims()?.groups).toBeUndefined();
    expect(op.stats.password).toBe(3);
  });

  it('refresh rotates, keeps claims, and a reused refresh token fails with invalid_grant', async () => {
    const first = await client.genericGrantRequest(config, 'password', { username: 'ops@example.com', password: 'ops-password', scope: SCOPE });
    const rt1 = first.refresh_token as string;
    const second = await client.refreshTokenGrant(config, rt1);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(rt1);
    expect(second.claims()?.groups).toEqual(['admins', 'developers']);
    expect(second.claims()?.federated_claims).toEqual({ connector_id: 'ldap', user_id: 'ops' });
    await expect(client.refreshTokenGrant(config, rt1)).rejects.toMatchObject({ error: 'invalid_grant' });

    // revocation (RFC 7009) of a refresh token ends it
    const revokedBefore = op.stats.revocations;
    await client.tokenRevocation(config, second.refresh_token as string);
    expect(op.stats.revocations).toBe(revokedBefore + 1);
    await expect(client.refreshTokenGrant(config, second.refresh_token as string)).rejects.toMatchObject({ error: 'invalid_grant' });

    op.setRefreshOmitsIdToken(true);
    try {
      const third = await client.genericGrantRequest(config, 'password', { username: 'ops@example.com', password: 'ops-password', scope: SCOPE });
      const refreshed = await client.refreshTokenGrant(config, third.refresh_token as string);
      expect(refreshed.id_token).toBeUndefined();
      expect(refreshed.access_token).toBeTruthy();
    } finally {
      op.setRefreshOmitsIdToken(false);
    }
  });

  it('injects discovery and token endpoint faults, counts grants, and honours the ID token TTL', async () => {
    op.faults.discovery = 'issuer-mismatch';
    await expect(client.discovery(new URL(op.issuer), op.clientId, undefined, client.None(), { [client.customFetch]: trustingFetch as client.CustomFetch })).rejects.toThrow();
    op.faults.discovery = 'invalid-json';
    const bad = await trustingFetch(`${op.issuer}/.well-known/openid-configuration`);
    await expect(bad.json()).rejects.toThrow();
    op.faults.discovery = 'not-found';
    expect((await trustingFetch(`${op.issuer}/.well-known/openid-configuration`)).status).toBe(404);
    op.resetFaults();

    const t = await client.genericGrantRequest(config, 'password', { username: 'jane', password: 'jane-password', scope: SCOPE });
    op.resetStats();
    op.faults.token500 = true;
    await expect(client.refreshTokenGrant(config, t.refresh_token as string)).rejects.toThrow();
    expect(op.stats).toMatchObject({ refresh_token: 1, tokenErrors: 1 });
    op.resetFaults();
    op.faults.tokenDelayMs = 300;
    const started = Date.now();
    await client.refreshTokenGrant(config, t.refresh_token as string);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    op.resetFaults();
    expect(op.stats.refresh_token).toBe(2);

    op.setIdTokenTtl(90);
    try {
      const short = await client.genericGrantRequest(config, 'password', { username: 'jane', password: 'jane-password', scope: 'openid' });
      const c = short.claims();
      expect((c?.exp ?? 0) - (c?.iat ?? 0)).toBe(90);
      expect(short.expires_in).toBe(90);
    } finally {
      op.setIdTokenTtl(3600);
    }
  });

  describe.skipIf(skipUnless(chromiumAvailable(), 'chromium not installed (apt-get install chromium)', 'support-oidc-provider browser flows'))('in Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('authorization code + PKCE through a loopback catcher, then a second login on [::1] without a form', async () => {
      const catcher = await startCatcher('127.0.0.1');
      const page = await newPage(browser);
      try {
        const verifier = client.randomPKCECodeVerifier();
        const state = client.randomState();
        const nonce = client.randomNonce();
        const url = client.buildAuthorizationUrl(config, {
          redirect_uri: catcher.redirectUri,
          scope: SCOPE,
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        });
        await page.goto(url.href);
        // wrong password re-renders the form with an error
        await signInOnProviderPage(page, { login: 'jane@example.com', password: 'wrong' });
        expect(await page.textContent('#login-error')).toContain('Invalid');
        await signInOnProviderPage(page, { login: 'jane@example.com', password: 'jane-password' });
        const callback = await catcher.next;
        expect(callback.searchParams.get('iss')).toBe(op.issuer);
        expect(await page.textContent('body')).toContain('Signed in');
        const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
        const claims = tokens.claims();
        expect(claims?.email).toBe('jane@example.com');
        expect(claims?.email_verified).toBe(true);
        expect(claims?.groups).toEqual(['developers']);
        expect(claims?.federated_claims).toEqual({ connector_id: 'ldap', user_id: 'jane' });
        expect(tokens.refresh_token).toBeTruthy();

        // same browser session, IPv6 loopback, another port: no form, consent auto-granted
        const catcher6 = await startCatcher('::1');
        try {
          const v2 = client.randomPKCECodeVerifier();
          const url2 = client.buildAuthorizationUrl(config, {
            redirect_uri: catcher6.redirectUri, scope: SCOPE, state: 's2',
            code_challenge: await client.calculatePKCECodeChallenge(v2), code_challenge_method: 'S256',
          });
          await page.goto(url2.href);
          const cb2 = await catcher6.next;
          const t2 = await client.authorizationCodeGrant(config, cb2, { pkceCodeVerifier: v2, expectedState: 's2' });
          expect(t2.claims()?.email).toBe('jane@example.com');
        } finally {
          catcher6.server.close();
        }

        // PKCE is required for the public client: the error comes back to the redirect URI
        const catcher3 = await startCatcher('127.0.0.1');
        try {
          const noPkce = client.buildAuthorizationUrl(config, { redirect_uri: catcher3.redirectUri, scope: 'openid', state: 's3' });
          await page.goto(noPkce.href);
          const cb3 = await catcher3.next;
          expect(cb3.searchParams.get('error')).toBe('invalid_request');
          expect(cb3.searchParams.get('error_description')).toMatch(/PKCE/);
        } finally {
          catcher3.server.close();
        }
      } finally {
        await page.context().close();
        catcher.server.close();
      }
    });

    it('device flow approved in Chromium', async () => {
      const before = op.stats.device_code;
      const da = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
      expect(da.verification_uri).toBe(`${op.issuer}/device`);
      const [tokens, text] = await Promise.all([
        client.pollDeviceAuthorizationGrant(config, da),
        approveDeviceCode(browser, { verificationUri: da.verification_uri, userCode: da.user_code }, { login: 'ops@example.com', password: 'ops-password' }),
      ]);
      expect(text).toContain('Login Successful');
      expect(tokens.claims()?.email).toBe('ops@example.com');
      expect(tokens.claims()?.groups).toEqual(['admins', 'developers']);
      expect(tokens.refresh_token).toBeTruthy();
      expect(op.stats.device_code).toBeGreaterThan(before);

      const da2 = await client.initiateDeviceAuthorization(config, { scope: 'openid email' });
      const [t2] = await Promise.all([
        client.pollDeviceAuthorizationGrant(config, da2),
        approveDeviceCode(browser, da2.verification_uri_complete as string, { login: 'jane@example.com', password: 'jane-password' }),
      ]);
      expect(t2.claims()?.email).toBe('jane@example.com');
    });
  });
});
