import * as client from 'openid-client';
import { offersDeviceCode } from '../core/authorization-request.js';
import { sanitizeProviderText } from '../core/oauth-callback.js';
import { CliError, ExitCode } from '../errors.js';
import { registerSecret } from '../ui/redact.js';
import { debug } from '../ui/log.js';
import { providerError, signInResultFrom, type SignInResult } from './oidc-client.js';
import { RefreshRejectedError, RefreshWithoutIdTokenError } from './grant-errors.js';

/**
 * The token-endpoint grants besides the browser flow: refresh (resending the granted scope,
 * which kubectl's auth-provider does not, so Okta-style providers dropped groups), device code
 * (RFC 8628, for SSH sessions and machines without a browser) and password (CI). Each returns
 * the same shape as the browser sign-in. All HTTP goes through the fetch given to discovery.
 */
/** The same shape as the browser sign-in's result (ID token `exp` in unix seconds). */
export type GrantTokens = SignInResult;

type TokenResponse = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

function issuerOf(config: client.Configuration): string {
  return config.serverMetadata().issuer;
}

/**
 * A token response without an ID token is useless to kubectl: say so plainly (OIDC allows a
 * provider to omit it on refresh; kubectl's auth-provider then failed with a cryptic error).
 */
export function toGrantTokens(config: client.Configuration, response: TokenResponse, grant: string): GrantTokens {
  registerSecret(response.access_token);
  registerSecret(response.refresh_token);
  if (!response.id_token) throw new RefreshWithoutIdTokenError(issuerOf(config), grant, response.refresh_token);
  return signInResultFrom(response);
}

/**
 * Whether a refresh error says the refresh token itself is dead (so a new sign-in is the way
 * out), not that the provider failed. RFC 6749 §5.2 says invalid_grant; Dex answers HTTP 400
 * invalid_request "Refresh token is invalid or has already been claimed by another client." for
 * a rotated, replaced (a sign-in elsewhere) or revoked token, and "Refresh token expired.".
 */
export function refreshTokenRejected(error: string, description: string | undefined): boolean {
  if (error === 'invalid_grant') return true;
  return error === 'invalid_request' && /^refresh token (is invalid|expired)/i.test(description ?? '');
}

/** The provider's error text, trimmed and stripped of control characters. */
function oauthReason(error: client.ResponseBodyError): string {
  const code = sanitizeProviderText(error.error, 80);
  return error.error_description ? `${code}: ${sanitizeProviderText(error.error_description)}` : code;
}

/** Names a grant step and its provider for the one provider error mapper (oidc-client's providerError). */
function grantStep(config: client.Configuration, what: string): string {
  return `the ${what} at ${issuerOf(config)}`;
}

/**
 * Refresh (RFC 6749 §6), sending `scope` exactly as given: the scope the provider GRANTED
 * (never more, or Dex and Keycloak answer invalid_scope), or undefined to send none (which
 * means the original grant). On invalid_scope it retries once without a scope parameter.
 * A rotated refresh token comes back in the result; when the provider keeps the old one,
 * `refreshToken` is the one we sent. `scope` of the result is what was granted now: the
 * response's, else what was sent (an omitted response scope means "as requested").
 */
export async function refreshGrant(config: client.Configuration, refreshToken: string, scope: string | undefined): Promise<GrantTokens> {
  registerSecret(refreshToken);
  const request = async (sent: string | undefined): Promise<TokenResponse> => {
    debug(`refreshing the ID token at ${issuerOf(config)} ${sent === undefined ? 'without a scope parameter (the original grant)' : `with scope: ${sent}`}`);
    return client.refreshTokenGrant(config, refreshToken, sent === undefined ? undefined : { scope: sent });
  };
  let sent = scope;
  let response: TokenResponse;
  try {
    try {
      response = await request(sent);
    } catch (error) {
      if (!(sent !== undefined && error instanceof client.ResponseBodyError && error.error === 'invalid_scope')) throw error;
      debug(`the provider refused scope "${sent}" on refresh (${oauthReason(error)}); once more without a scope parameter`);
      sent = undefined;
      response = await request(sent);
    }
  } catch (error) {
    if (error instanceof client.ResponseBodyError && refreshTokenRejected(error.error, error.error_description)) {
      throw new RefreshRejectedError(issuerOf(config), oauthReason(error), error);
    }
    throw providerError(error, grantStep(config, 'refresh'));
  }
  const tokens = toGrantTokens(config, response, 'refresh');
  if (!tokens.refreshToken) tokens.refreshToken = refreshToken;
  if (tokens.scope === undefined && sent !== undefined) tokens.scope = sent;
  return tokens;
}

export function supportsDeviceCode(config: client.Configuration): boolean {
  return offersDeviceCode(config.serverMetadata());
}

export interface DevicePrompt {
  verificationUri: string;
  verificationUriComplete?: string;
  userCode: string;
  expiresInSeconds: number;
}

export interface DeviceCodeOptions {
  scopes: readonly string[];
  /** Shows the URL and code (on stderr). */
  prompt: (prompt: DevicePrompt) => void;
  /** Gives up after this long, or the code's own expiry if sooner. */
  timeoutMs?: number;
}

/**
 * RFC 8628: ask for a user code, show it, poll the token endpoint at the provider's interval
 * (openid-client adds 5s on slow_down and keeps polling on authorization_pending).
 */
export async function deviceCodeGrant(config: client.Configuration, options: DeviceCodeOptions): Promise<GrantTokens> {
  if (!supportsDeviceCode(config)) {
    throw new CliError(ExitCode.PROVIDER, `the identity provider at ${issuerOf(config)} does not offer the device code flow (no device_authorization_endpoint)`, {
      hint: 'use --grant browser (with --no-browser over SSH: open the printed URL through `ssh -L`)',
    });
  }
  // PKCE on the device grant too, where the provider offers S256: Keycloak requires it for a
  // client whose PKCE method is set (400 "Missing parameter: code_challenge_method" otherwise);
  // providers that don't use it ignore the parameters (RFC 6749 §3.1)
  const methods = config.serverMetadata().code_challenge_methods_supported;
  const verifier = Array.isArray(methods) && methods.includes('S256') ? client.randomPKCECodeVerifier() : undefined;
  const pkce: Record<string, string> = verifier ? { code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' } : {};
  let start: client.DeviceAuthorizationResponse;
  try {
    start = await client.initiateDeviceAuthorization(config, { scope: options.scopes.join(' '), ...pkce });
  } catch (error) {
    throw providerError(error, grantStep(config, 'device authorization request'));
  }
  options.prompt({
    verificationUri: start.verification_uri,
    ...(start.verification_uri_complete ? { verificationUriComplete: start.verification_uri_complete } : {}),
    userCode: start.user_code,
    expiresInSeconds: start.expires_in,
  });
  const limitMs = Math.min(options.timeoutMs ?? Number.POSITIVE_INFINITY, start.expires_in * 1000);
  let response: TokenResponse;
  try {
    response = await client.pollDeviceAuthorizationGrant(config, start, verifier ? { code_verifier: verifier } : undefined, { signal: AbortSignal.timeout(limitMs) });
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new CliError(ExitCode.LOGIN_TIMEOUT, `the device code was not approved within ${Math.round(limitMs / 1000)}s`, { hint: 'run the command again and enter the new code', cause: error });
    }
    // the provider's own clock, which can run out before ours (RFC 8628 §3.5)
    if (error instanceof client.ResponseBodyError && error.error === 'expired_token') {
      throw new CliError(ExitCode.LOGIN_TIMEOUT, `the device code expired at the identity provider before it was approved (${oauthReason(error)})`, { hint: 'run the command again and enter the new code', cause: error });
    }
    if (error instanceof client.ResponseBodyError && error.error === 'access_denied') {
      throw new CliError(ExitCode.LOGIN_DENIED, `the sign-in was denied at the identity provider (${oauthReason(error)})`, { cause: error });
    }
    throw providerError(error, grantStep(config, 'device code sign-in'));
  }
  return toGrantTokens(config, response, 'device code sign-in');
}

export interface PasswordOptions {
  scopes: readonly string[];
  username: string;
  password: string;
}

/** Resource owner password grant, for CI accounts at providers that allow it. */
export async function passwordGrant(config: client.Configuration, options: PasswordOptions): Promise<GrantTokens> {
  registerSecret(options.password);
  let response: TokenResponse;
  try {
    response = await client.genericGrantRequest(config, 'password', {
      username: options.username,
      password: options.password,
      scope: options.scopes.join(' '),
    });
  } catch (error) {
    // RFC 6749 says invalid_grant; Dex answers a wrong password with HTTP 401 access_denied
    if (error instanceof client.ResponseBodyError && (error.error === 'invalid_grant' || error.error === 'access_denied')) {
      throw new CliError(ExitCode.LOGIN_DENIED, `the identity provider at ${issuerOf(config)} refused the username or password for '${options.username}' (${oauthReason(error)})`, { cause: error });
    }
    if (error instanceof client.ResponseBodyError && (error.error === 'unsupported_grant_type' || error.error === 'unauthorized_client')) {
      throw new CliError(ExitCode.PROVIDER, `the identity provider at ${issuerOf(config)} does not allow the password grant for this client (${oauthReason(error)})`, {
        hint: 'use --grant device-code or --grant browser, or ask the provider admin to enable the password grant',
        cause: error,
      });
    }
    throw providerError(error, grantStep(config, 'password sign-in'));
  }
  return toGrantTokens(config, response, 'password sign-in');
}
