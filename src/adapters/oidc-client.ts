import * as oidc from 'openid-client';
import { sanitizeProviderText } from '../core/oauth-callback.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { debug } from '../ui/log.js';
import { registerSecret } from '../ui/redact.js';
import type { FetchFunction } from './http.js';
import { type DiscoveredProvider, type ProviderOptions, discoverProviderMetadata } from './oidc-discovery.js';

/**
 * The identity provider through openid-client v6, for everything after discovery: the code
 * exchange, refresh, revocation. ID tokens are verified fully: signature against the provider's
 * JWKS (non-repudiation checks on), issuer, audience, expiry, nonce. Discovery itself is
 * oidc-discovery.ts and the browser flow browser-sign-in.ts, so that this module (and
 * openid-client) loads only once the browser is open.
 */
export type ProviderConfiguration = oidc.Configuration;
export type { ProviderOptions } from './oidc-discovery.js';

const configurations = new WeakMap<DiscoveredProvider, oidc.Configuration>();
/** Each configuration's HTTP client, for the JWKS prefetch. */
const fetches = new WeakMap<oidc.Configuration, FetchFunction>();

/** openid-client's Configuration over metadata already discovered (one per provider). */
export function configurationFor(provider: DiscoveredProvider): ProviderConfiguration {
  let config = configurations.get(provider);
  if (config) return config;
  const { clientId, clientSecret } = provider.options;
  config = new oidc.Configuration(provider.metadata, clientId, clientSecret ? { client_secret: clientSecret } : undefined, clientAuthFor(clientSecret));
  config[oidc.customFetch] = toCustomFetch(provider.fetch);
  config.timeout = Math.ceil(provider.timeoutMs / 1000);
  oidc.enableNonRepudiationChecks(config);
  if (provider.allowHttp) oidc.allowInsecureRequests(config);
  configurations.set(provider, config);
  fetches.set(config, provider.fetch);
  return config;
}

/** Discovery, then openid-client's Configuration: for the commands that need both at once. */
export async function discoverProvider(options: ProviderOptions): Promise<ProviderConfiguration> {
  return configurationFor(await discoverProviderMetadata(options));
}

/**
 * openid-client defaults to client_secret_post; kubectl's refresh (Go oauth2) tries basic first,
 * so use basic unless the provider doesn't list it, decided when the token endpoint is called.
 */
function clientAuthFor(clientSecret: string | undefined): oidc.ClientAuth {
  if (!clientSecret) return oidc.None();
  const basic = oidc.ClientSecretBasic(clientSecret);
  const post = oidc.ClientSecretPost(clientSecret);
  return (as, client, body, headers) => {
    const methods = as.token_endpoint_auth_methods_supported;
    (methods === undefined || methods.includes('client_secret_basic') ? basic : post)(as, client, body, headers);
  };
}

function toCustomFetch(fetch: FetchFunction): oidc.CustomFetch {
  return (url, options) => fetch(url, options as unknown as RequestInit);
}

/**
 * Fetches the JWKS while the user is still signing in, so verifying the ID token after the
 * callback costs no round trip. Best effort: on failure openid-client fetches it itself.
 */
export async function prefetchJwks(config: ProviderConfiguration): Promise<void> {
  const jwksUri = config.serverMetadata().jwks_uri;
  const fetch = fetches.get(config);
  if (!jwksUri || !fetch) return;
  try {
    const response = await fetch(jwksUri, { headers: { accept: 'application/json, application/jwk-set+json' } });
    if (!response.ok) return;
    const jwks = (await response.json()) as oidc.JWKS;
    if (Array.isArray(jwks.keys)) oidc.setJwksCache(config, { jwks, uat: Math.floor(Date.now() / 1000) });
  } catch (error) {
    debug(`JWKS prefetch failed (${describeError(error)}); it will be fetched after the callback`);
  }
}

export interface SignInResult {
  idToken: string;
  refreshToken?: string;
  accessToken?: string;
  /** Unix seconds, from the ID token's exp. */
  expiresAt: number;
  claims: Record<string, unknown>;
  /** The token response's `scope`: what the provider granted, when it says (RFC 6749 §5.1). */
  scope?: string;
}

/** How far in the future an ID token's iat may be (clock drift between this machine and the provider). */
export const ID_TOKEN_IAT_TOLERANCE_SECONDS = 300;

/** Turns a token endpoint response into a SignInResult (also for refresh and other grants). */
export function signInResultFrom(tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): SignInResult {
  const idToken = tokens.id_token;
  if (!idToken) throw new CliError(ExitCode.PROVIDER, 'the identity provider returned no ID token: is the openid scope allowed for this client?');
  const claims = tokens.claims();
  if (!claims) throw new CliError(ExitCode.PROVIDER, 'the identity provider returned an unreadable ID token');
  // openid-client checks exp but not an iat in the future (OIDC Core 3.1.3.7 leaves it to the
  // client): refuse one issued beyond ordinary clock drift, as the RBAC verifier does
  if (typeof claims.iat === 'number' && claims.iat > Date.now() / 1000 + ID_TOKEN_IAT_TOLERANCE_SECONDS) {
    throw new CliError(ExitCode.PROVIDER, `the ID token was issued in the future (iat ${new Date(claims.iat * 1000).toISOString()}): check this machine's clock, then sign in again; nothing was written`);
  }
  registerSecret(idToken);
  registerSecret(tokens.refresh_token);
  registerSecret(tokens.access_token);
  const result: SignInResult = { idToken, expiresAt: claims.exp, claims: { ...claims } };
  if (tokens.refresh_token) result.refreshToken = tokens.refresh_token;
  if (tokens.access_token) result.accessToken = tokens.access_token;
  if (typeof tokens.scope === 'string') result.scope = tokens.scope;
  return result;
}

/** The code exchange of the browser flow: openid-client checks state, PKCE, the nonce and the ID token. */
export async function exchangeAuthorizationCode(config: ProviderConfiguration, callbackUrl: URL, checks: { verifier: string; state: string; nonce: string }): Promise<SignInResult> {
  try {
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce, idTokenExpected: true });
    return signInResultFrom(tokens);
  } catch (error) {
    throw providerError(error, 'the authorization code exchange');
  }
}

/** Revokes a refresh token where the provider offers revocation; says whether it did. */
export async function revokeRefreshToken(config: ProviderConfiguration, refreshToken: string): Promise<boolean> {
  if (!config.serverMetadata().revocation_endpoint) return false;
  try {
    await oidc.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' });
    return true;
  } catch (error) {
    throw providerError(error, 'revoking the refresh token');
  }
}

function findCliError(error: unknown): CliError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof CliError) return current;
    current = current instanceof Error ? current.cause : undefined;
  }
  return undefined;
}

/** One line for any openid-client failure; `what` names the step. Secrets never appear. */
export function providerError(error: unknown, what: string): CliError {
  const wrapped = findCliError(error);
  if (wrapped) return wrapped;
  if (error instanceof oidc.AuthorizationResponseError) {
    const detail = `${sanitizeProviderText(error.error, 80)}${error.error_description ? `: ${sanitizeProviderText(error.error_description)}` : ''}`;
    return new CliError(ExitCode.LOGIN_DENIED, `the identity provider refused the sign-in (${detail})`, { cause: error });
  }
  if (error instanceof oidc.ResponseBodyError) {
    const detail = `${sanitizeProviderText(error.error, 80)}${error.error_description ? `: ${sanitizeProviderText(error.error_description)}` : ''}`;
    return new CliError(ExitCode.PROVIDER, `the identity provider rejected ${what} (HTTP ${error.status}, ${detail})`, { cause: error });
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  const inner = error instanceof Error && error.cause instanceof Error ? sanitizeProviderText(error.cause.message) : undefined;
  const message = error instanceof Error ? sanitizeProviderText(error.message) : String(error);
  const full = inner && !message.includes(inner) ? `${message}: ${inner}` : message;
  if (/signature verification failed/i.test(full)) {
    return new CliError(ExitCode.PROVIDER, `the ID token failed verification during ${what}: its signature does not match the provider's published keys (JWKS)`, { cause: error });
  }
  switch (code) {
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return new CliError(ExitCode.PROVIDER, `the ID token failed its time checks during ${what} (${full}): check this machine's clock`, { cause: error });
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
    case 'OAUTH_KEY_SELECTION_FAILED':
      return new CliError(ExitCode.PROVIDER, `the ID token failed verification during ${what}: ${full}`, { cause: error });
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
    case 'OAUTH_RESPONSE_IS_NOT_JSON': {
      const response = error instanceof Error ? error.cause : undefined;
      const status = response instanceof Response ? ` (HTTP ${response.status} from ${response.url ? new URL(response.url).pathname : 'the provider'})` : '';
      return new CliError(ExitCode.PROVIDER, `the identity provider answered ${what} unexpectedly${status}: is the issuer URL right?`, { cause: error });
    }
    case 'OAUTH_HTTP_REQUEST_FORBIDDEN':
      return new CliError(ExitCode.PROVIDER, `${what} needs https: the provider advertised a plain http endpoint`, { cause: error });
    default:
      return new CliError(ExitCode.PROVIDER, `identity provider: ${what} failed: ${full}`, { cause: error });
  }
}
