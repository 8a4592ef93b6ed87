import * as oidc from 'openid-client';
import { isLoopbackHost } from '../core/cluster-entry.js';
import { decideCallback, planRedirect, sanitizeProviderText } from '../core/oauth-callback.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { renderCallbackPage } from '../ui/callback-page.js';
import { debug } from '../ui/log.js';
import { registerSecret } from '../ui/redact.js';
import { DEFAULT_HTTP_TIMEOUT_MS, type FetchFunction, createFetch } from './http.js';
import { type LoopbackReply, type LoopbackRequest, startLoopbackServer } from './loopback-server.js';

/**
 * The identity provider through openid-client v6: discovery, then the authorization code grant
 * with PKCE (S256), state and nonce over a loopback redirect. ID tokens are verified fully:
 * signature against the provider's JWKS (non-repudiation checks on), issuer, audience, expiry,
 * nonce; the RFC 9207 `iss` callback parameter is checked when present.
 */
export type ProviderConfiguration = oidc.Configuration;

export interface ProviderOptions {
  issuerUrl: string;
  clientId: string;
  clientSecret?: string;
  /** PEM texts added to the system roots (e.g. the catalog's idp-certificate-authority-data, decoded). */
  caPems?: readonly string[];
  /** PEM files added to the system roots (--certificate-authority). */
  caFiles?: readonly string[];
  insecureSkipTlsVerify?: boolean;
  /** Per-request timeout (--http-timeout). */
  timeoutMs?: number;
}

export async function discoverProvider(options: ProviderOptions): Promise<ProviderConfiguration> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const fetch = createFetch({
    caPems: options.caPems ?? [],
    caFiles: options.caFiles ?? [],
    insecureSkipTlsVerify: options.insecureSkipTlsVerify === true,
    timeoutMs,
    peer: 'identity provider',
    exitCode: ExitCode.PROVIDER,
  });
  let issuer: URL;
  try {
    issuer = new URL(options.issuerUrl);
  } catch {
    throw new CliError(ExitCode.CATALOG, `issuer URL '${options.issuerUrl}' is not a URL`);
  }
  const execute: ((config: oidc.Configuration) => void)[] = [oidc.enableNonRepudiationChecks];
  // plain http only for a provider on this machine (a local test IdP), as the catalog allows
  if (issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname)) execute.push(oidc.allowInsecureRequests);
  if (options.clientSecret) registerSecret(options.clientSecret);
  const started = Date.now();
  let config: oidc.Configuration;
  try {
    config = await oidc.discovery(issuer, options.clientId, options.clientSecret ? { client_secret: options.clientSecret } : undefined, clientAuthFor(options.clientSecret), {
      [oidc.customFetch]: toCustomFetch(fetch),
      execute,
      timeout: Math.ceil(timeoutMs / 1000),
    });
  } catch (error) {
    throw providerError(error, `discovery at ${options.issuerUrl}`);
  }
  debug(`discovered ${config.serverMetadata().issuer} in ${Date.now() - started} ms`);
  fetches.set(config, fetch);
  return config;
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

const fetches = new WeakMap<oidc.Configuration, FetchFunction>();

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

export interface SignInOptions {
  scopes: readonly string[];
  /** A fixed loopback redirect (the catalog's redirect-uri). */
  redirectUri?: string;
  /** --listen-port. */
  listenPort?: number;
  /** Shows the authorization URL to the user (browser or stderr). */
  openBrowser: (url: string) => Promise<void>;
  /** Whole sign-in budget (--timeout). */
  timeoutMs: number;
  /**
   * Who signed in, for the browser page (default: email, else sub); throws (a CliError) when the
   * claims cannot be used, so the page shows that failure instead of a success.
   */
  describeUser?: (claims: Record<string, unknown>) => string;
  /** Clusters named on the browser page. */
  clusters?: readonly string[];
  /** Extra authorization request parameters (e.g. prompt, login_hint). */
  extraParameters?: Record<string, string>;
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

function defaultDescribeUser(claims: Record<string, unknown>): string {
  const email = claims['email'];
  const sub = claims['sub'];
  return typeof email === 'string' && email ? email : typeof sub === 'string' ? sub : 'unknown user';
}

export async function authorizationCodeSignIn(config: ProviderConfiguration, options: SignInOptions): Promise<SignInResult> {
  const plan = planRedirect({ ...(options.redirectUri ? { redirectUri: options.redirectUri } : {}), ...(options.listenPort !== undefined ? { listenPort: options.listenPort } : {}) });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const challenge = await oidc.calculatePKCECodeChallenge(verifier);
  const issuer = config.serverMetadata().issuer;

  let settle!: { resolve: (r: SignInResult) => void; reject: (e: unknown) => void };
  const outcome = new Promise<SignInResult>((resolve, reject) => (settle = { resolve, reject }));
  let busy = false;
  let redirectUri = '';

  const handle = async (request: LoopbackRequest): Promise<LoopbackReply> => {
    const decision = decideCallback(request, { path: plan.path, state, issuer });
    switch (decision.kind) {
      case 'not-found':
        return { status: 404, html: 'not found\n' };
      case 'method-not-allowed':
        return { status: 405, html: 'method not allowed\n' };
      case 'bad-request':
        debug(`callback refused: ${decision.reason}`);
        return { status: 400, html: renderCallbackPage({ kind: 'notice', title: 'Not this sign-in', detail: `${decision.reason}. The login in your terminal is still waiting for its own sign-in.` }) };
      default:
        break;
    }
    if (busy) return { status: 409, html: renderCallbackPage({ kind: 'notice', title: 'Already handled', detail: 'This sign-in has already been received.' }) };
    busy = true;
    if (decision.kind === 'wrong-issuer') {
      settle.reject(new CliError(ExitCode.PROVIDER, `the sign-in response names issuer '${sanitizeProviderText(decision.issuer)}', not '${issuer}' (RFC 9207 mix-up protection): nothing was written`));
      return { status: 400, html: renderCallbackPage({ kind: 'error', title: 'Sign-in refused', detail: 'The response came from an unexpected identity provider.' }), final: true };
    }
    if (decision.kind === 'denied') {
      const detail = `${sanitizeProviderText(decision.error, 80)}${decision.description ? `: ${sanitizeProviderText(decision.description)}` : ''}`;
      settle.reject(new CliError(ExitCode.LOGIN_DENIED, `the identity provider refused the sign-in (${detail}): check that your account may use this cluster, then log in again`));
      return { status: 200, html: renderCallbackPage({ kind: 'error', title: 'Sign-in refused', detail: `The identity provider answered: ${detail}.` }), final: true };
    }
    let result: SignInResult;
    try {
      const current = new URL(redirectUri);
      current.search = request.query.toString();
      const tokens = await oidc.authorizationCodeGrant(config, current, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
      result = signInResultFrom(tokens);
    } catch (error) {
      const failure = providerError(error, 'the authorization code exchange');
      settle.reject(failure);
      return { status: 502, html: renderCallbackPage({ kind: 'error', title: 'Sign-in failed', detail: failure.message }), final: true };
    }
    // the page must not say "signed in" for a token the command is about to refuse
    let who: string;
    try {
      who = (options.describeUser ?? defaultDescribeUser)(result.claims);
    } catch (error) {
      const failure = error instanceof CliError ? error : new CliError(ExitCode.PROVIDER, `the ID token cannot be used: ${describeError(error)}`, { cause: error });
      settle.reject(failure);
      return { status: 200, html: renderCallbackPage({ kind: 'error', title: 'Signed in, but not usable here', detail: failure.message }), final: true };
    }
    settle.resolve(result);
    return { status: 200, html: renderCallbackPage({ kind: 'success', who, clusters: [...(options.clusters ?? [])] }), final: true };
  };

  const server = await startLoopbackServer(plan, handle);
  redirectUri = server.redirectUri;
  let timer: NodeJS.Timeout | undefined;
  try {
    const parameters: Record<string, string> = {
      ...options.extraParameters,
      redirect_uri: redirectUri,
      scope: [...new Set(options.scopes)].join(' '),
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    };
    const url = oidc.buildAuthorizationUrl(config, parameters);
    await options.openBrowser(url.href);
    void prefetchJwks(config);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new CliError(ExitCode.LOGIN_TIMEOUT, `no sign-in within ${Math.round(options.timeoutMs / 1000)}s: run the command again and finish signing in, or raise --timeout`));
      }, options.timeoutMs);
    });
    return await Promise.race([outcome, timeout]);
  } finally {
    if (timer) clearTimeout(timer);
    // the outcome settles just before the final page is written: let it reach the browser
    if (busy) await Promise.race([server.finished, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    server.close();
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
    case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED':
      return new CliError(ExitCode.PROVIDER, `${what} failed: ${full} (does the catalog's issuer-url match the provider's issuer exactly?)`, { cause: error });
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
