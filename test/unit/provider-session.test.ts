// The provider session (usecases/provider-session.ts) with fake ports: discovery once per
// distinct endpoint (and again after a failure), the refresh and sign-in routed through it, and
// --grant handed to the grant use case with a browser flow built from the session's settings.
import { describe, expect, it } from 'vitest';
import type { SignInOptions } from '../../src/adapters/browser-sign-in.js';
import type { ProviderConfiguration } from '../../src/adapters/oidc-client.js';
import type { DiscoveredProvider, ProviderOptions } from '../../src/adapters/oidc-discovery.js';
import type { GrantTokens } from '../../src/adapters/oidc-grants.js';
import { createProviderSession, type ProviderPorts, type ProviderSessionOptions } from '../../src/usecases/provider-session.js';

const TOKENS: GrantTokens = { idToken: 'id', expiresAt: 1, claims: {} };

function fakePorts(failFirstDiscovery = false) {
  const discovered: ProviderOptions[] = [];
  const browser: SignInOptions[] = [];
  const grants: string[] = [];
  const configured: string[] = [];
  let fail = failFirstDiscovery;
  const ports: ProviderPorts = {
    discover: async (options) => {
      discovered.push(options);
      if (fail) {
        fail = false;
        throw new Error('discovery failed');
      }
      return { options, metadata: { issuer: options.issuerUrl } } as unknown as DiscoveredProvider;
    },
    configure: async (provider) => {
      configured.push(provider.metadata.issuer);
      return { issuer: provider.metadata.issuer } as unknown as ProviderConfiguration;
    },
    refresh: async () => TOKENS,
    browserSignIn: async (_provider, options) => {
      browser.push(options);
      await options.openBrowser('https://idp.example/auth');
      return TOKENS;
    },
    grantSignIn: async (provider, _scopes, settings, runBrowser) => {
      grants.push(settings.grant);
      // as usecases/sign-in.ts does: the device code and password grants need openid-client
      if (settings.grant === 'device-code') {
        await provider.configuration();
        return TOKENS;
      }
      return runBrowser({ openBrowser: false });
    },
  };
  return { ports, discovered, browser, grants, configured };
}

const base = (opened: string[], over: Partial<ProviderSessionOptions> = {}): ProviderSessionOptions => ({
  caFiles: ['/etc/ca.pem'],
  insecureSkipTlsVerify: false,
  httpTimeoutMs: 5000,
  timeoutMs: 60_000,
  opener: (allowed) => async (url) => void opened.push(`${allowed ? 'open' : 'print'} ${url}`),
  ...over,
});

describe('provider session', () => {
  it('discovers once per distinct endpoint (CA order and duplicates do not matter), with the session\'s TLS settings', async () => {
    const { ports, discovered } = fakePorts();
    const session = createProviderSession(base([]), ports);
    const a = { issuerUrl: 'https://idp.example', clientId: 'kube', caPems: ['B', 'A'] };
    await Promise.all([session.configuration(a), session.discover({ ...a, caPems: ['A', 'B', 'A'] }), session.refresh({ issuerUrl: 'https://idp.example', clientId: 'other' }, 'rt', undefined)]);
    expect(discovered).toEqual([
      { issuerUrl: 'https://idp.example', clientId: 'kube', caPems: ['A', 'B'], caFiles: ['/etc/ca.pem'], insecureSkipTlsVerify: false, timeoutMs: 5000 },
      { issuerUrl: 'https://idp.example', clientId: 'other', caPems: [], caFiles: ['/etc/ca.pem'], insecureSkipTlsVerify: false, timeoutMs: 5000 },
    ]);
  });

  it('a failed discovery is not remembered: the next caller tries again', async () => {
    const { ports, discovered } = fakePorts(true);
    const session = createProviderSession(base([]), ports);
    const endpoint = { issuerUrl: 'https://idp.example', clientId: 'kube', caPems: [] };
    await expect(session.configuration(endpoint)).rejects.toThrow('discovery failed');
    await expect(session.configuration(endpoint)).resolves.toBeDefined();
    expect(discovered).toHaveLength(2);
  });

  it('a catalog connection\'s base64 CA is decoded for discovery', () => {
    const session = createProviderSession(base([]), fakePorts().ports);
    expect(session.endpointOf({ issuerUrl: 'https://i', clientId: 'c', idpCertificateAuthorityData: Buffer.from('PEM').toString('base64') })).toEqual({ issuerUrl: 'https://i', clientId: 'c', caPems: ['PEM'] });
  });

  it('without --grant: the browser flow with the redirect, port, hint and clusters, opening the browser; openid-client is not configured before it', async () => {
    const { ports, browser, grants, configured } = fakePorts();
    const opened: string[] = [];
    const session = createProviderSession(base(opened, { listenPort: 18000 }), ports);
    await session.signIn({ issuerUrl: 'https://idp.example', clientId: 'kube', caPems: [], redirectUri: 'http://127.0.0.1:18000/callback' }, { scopes: ['openid'], clusters: ['lab'], loginHint: 'jane' });
    expect(grants).toEqual([]);
    expect(browser[0]).toMatchObject({ scopes: ['openid'], redirectUri: 'http://127.0.0.1:18000/callback', listenPort: 18000, timeoutMs: 60_000, clusters: ['lab'], extraParameters: { login_hint: 'jane' } });
    expect(opened).toEqual(['open https://idp.example/auth']);
    expect(configured).toEqual([]);
  });

  it('with --grant: the grant use case decides, and a browser flow it runs gets the opener it asked for', async () => {
    const { ports, grants, configured } = fakePorts();
    const opened: string[] = [];
    const session = createProviderSession(base(opened, { grant: { grant: 'auto', noBrowser: true, timeoutMs: 60_000 } }), ports);
    await session.signIn({ issuerUrl: 'https://idp.example', clientId: 'kube', caPems: [] }, { scopes: ['openid'], clusters: ['lab'] });
    expect(grants).toEqual(['auto']);
    expect(opened).toEqual(['print https://idp.example/auth']);
    // the grant choice decides from the metadata: a browser flow it picks configures nothing either
    expect(configured).toEqual([]);
  });

  it('with --grant device-code: the grant configures openid-client through the session\'s configure port, for the discovered provider', async () => {
    const { ports, grants, configured, discovered } = fakePorts();
    const session = createProviderSession(base([], { grant: { grant: 'device-code', noBrowser: true, timeoutMs: 60_000 } }), ports);
    await expect(session.signIn({ issuerUrl: 'https://idp.example', clientId: 'kube', caPems: [] }, { scopes: ['openid'], clusters: ['lab'] })).resolves.toBe(TOKENS);
    expect(grants).toEqual(['device-code']);
    expect(discovered).toHaveLength(1);
    expect(configured).toEqual(['https://idp.example']);
  });
});
