import type { OpenBrowser } from '../adapters/browser-launcher.js';
import type { SignInOptions } from '../adapters/browser-sign-in.js';
import type { ProviderConfiguration } from '../adapters/oidc-client.js';
import type { DiscoveredProvider, ProviderOptions } from '../adapters/oidc-discovery.js';
import type { GrantTokens } from '../adapters/oidc-grants.js';
import { decodeBase64Pem } from '../core/base64-pem.js';
import type { ClusterEntry } from '../core/cluster-entry.js';
import type { BrowserSignIn, GrantProvider, SignInSettings } from './sign-in.js';

/**
 * One provider session, shared by `login` and `credential`: discovery once per distinct
 * connection, the refresh grant, and a sign-in with the grant the user chose (browser, device
 * code, password). Its dependencies are ports (ProviderPorts), so what it decides is tested with
 * fakes (test/unit/provider-session.test.ts); the default ports load openid-client lazily.
 */

/** What talking to the provider needs; a catalog entry is one, a cache file can give one too. */
export type ProviderConnection = Pick<ClusterEntry, 'issuerUrl' | 'clientId' | 'clientSecret' | 'idpCertificateAuthorityData'>;

/** A connection as discovery takes it: PEMs decoded, several entries' CAs merged (login groups clusters). */
export interface ProviderEndpoint {
  issuerUrl: string;
  clientId: string;
  clientSecret?: string;
  caPems: readonly string[];
}

export interface SignInTarget extends ProviderEndpoint {
  /** The catalog's fixed loopback redirect-uri, when it names one. */
  redirectUri?: string;
}

export interface SignInRequest {
  scopes: readonly string[];
  /** Named on the browser page. */
  clusters: readonly string[];
  /** Sent as login_hint (a cache key naming a person). */
  loginHint?: string;
  /** Who signed in, for the browser page; throws when the claims cannot be used. */
  describeUser?: (claims: Record<string, unknown>) => string;
}

export interface ProviderPorts {
  /** Discovery only: the browser flow starts from its metadata, before openid-client loads. */
  discover(options: ProviderOptions): Promise<DiscoveredProvider>;
  /** openid-client's configuration of a discovered provider, for every grant but the browser's. */
  configure(provider: DiscoveredProvider): Promise<ProviderConfiguration>;
  refresh(config: ProviderConfiguration, refreshToken: string, scope: string | undefined): Promise<GrantTokens>;
  browserSignIn(provider: DiscoveredProvider, options: SignInOptions): Promise<GrantTokens>;
  /** The --grant use case (usecases/sign-in.ts): picks browser, device code or password. */
  grantSignIn(provider: GrantProvider, scopes: readonly string[], settings: SignInSettings, browser: BrowserSignIn): Promise<GrantTokens>;
}

export interface ProviderSessionOptions {
  caFiles: readonly string[];
  insecureSkipTlsVerify: boolean;
  /** Per request (--http-timeout). */
  httpTimeoutMs: number;
  /** The person's whole budget (--timeout). */
  timeoutMs: number;
  listenPort?: number;
  /** The opener for a browser sign-in; `allowed` false when the grant choice says print the URL only. */
  opener(allowed: boolean): OpenBrowser;
  /** --grant and friends; without it, the browser flow. */
  grant?: SignInSettings;
}

export interface ProviderSession {
  /** Discovery, once per distinct endpoint (the promise is shared, so it may start early). */
  discover(endpoint: ProviderEndpoint): Promise<DiscoveredProvider>;
  /** The discovered provider as openid-client configures it (refresh, device code, password). */
  configuration(endpoint: ProviderEndpoint): Promise<ProviderConfiguration>;
  refresh(connection: ProviderConnection, refreshToken: string, scope: string | undefined): Promise<GrantTokens>;
  signIn(target: SignInTarget, request: SignInRequest): Promise<GrantTokens>;
  endpointOf(connection: ProviderConnection): ProviderEndpoint;
}

/** The adapters behind the ports, loaded on first use (the exec hot path never gets here). */
export const defaultProviderPorts: ProviderPorts = {
  discover: async (options) => (await import('../adapters/oidc-discovery.js')).discoverProviderMetadata(options),
  configure: async (provider) => (await import('../adapters/oidc-client.js')).configurationFor(provider),
  refresh: async (config, refreshToken, scope) => (await import('../adapters/oidc-grants.js')).refreshGrant(config, refreshToken, scope),
  browserSignIn: async (provider, options) => (await import('../adapters/browser-sign-in.js')).authorizationCodeSignIn(provider, options),
  grantSignIn: async (provider, scopes, settings, browser) => (await import('./sign-in.js')).signIn(provider, scopes, settings, browser),
};

export function createProviderSession(options: ProviderSessionOptions, ports: ProviderPorts = defaultProviderPorts): ProviderSession {
  const discovered = new Map<string, Promise<DiscoveredProvider>>();
  const endpointOf = (connection: ProviderConnection): ProviderEndpoint => {
    const caPem = decodeBase64Pem(connection.idpCertificateAuthorityData);
    return { issuerUrl: connection.issuerUrl, clientId: connection.clientId, ...(connection.clientSecret ? { clientSecret: connection.clientSecret } : {}), caPems: caPem ? [caPem] : [] };
  };
  const discover = (endpoint: ProviderEndpoint): Promise<DiscoveredProvider> => {
    const caPems = [...new Set(endpoint.caPems)].sort();
    const id = JSON.stringify([endpoint.issuerUrl, endpoint.clientId, endpoint.clientSecret ?? '', caPems]);
    let provider = discovered.get(id);
    if (!provider) {
      provider = ports.discover({
        issuerUrl: endpoint.issuerUrl,
        clientId: endpoint.clientId,
        ...(endpoint.clientSecret ? { clientSecret: endpoint.clientSecret } : {}),
        caPems,
        caFiles: options.caFiles,
        insecureSkipTlsVerify: options.insecureSkipTlsVerify,
        timeoutMs: options.httpTimeoutMs,
      });
      // a failed discovery is reported where it is awaited, and tried again by the next caller
      provider.catch(() => discovered.delete(id));
      discovered.set(id, provider);
    }
    return provider;
  };
  const configuration = async (endpoint: ProviderEndpoint): Promise<ProviderConfiguration> => ports.configure(await discover(endpoint));
  return {
    discover,
    configuration,
    endpointOf,
    async refresh(connection, refreshToken, scope) {
      return ports.refresh(await configuration(endpointOf(connection)), refreshToken, scope);
    },
    async signIn(target, request) {
      const provider = await discover(target);
      const browser: BrowserSignIn = ({ openBrowser }) =>
        ports.browserSignIn(provider, {
          scopes: request.scopes,
          ...(target.redirectUri ? { redirectUri: target.redirectUri } : {}),
          ...(options.listenPort !== undefined ? { listenPort: options.listenPort } : {}),
          openBrowser: options.opener(openBrowser),
          timeoutMs: options.timeoutMs,
          clusters: request.clusters,
          ...(request.loginHint ? { extraParameters: { login_hint: request.loginHint } } : {}),
          ...(request.describeUser ? { describeUser: request.describeUser } : {}),
        });
      if (!options.grant) return browser({ openBrowser: true });
      // the grant choice reads the metadata; openid-client is configured only if it picks a grant that needs it
      return ports.grantSignIn({ metadata: provider.metadata, configuration: () => ports.configure(provider) }, request.scopes, options.grant, browser);
    },
  };
}
