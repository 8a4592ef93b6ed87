import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { isLoopbackHost } from '../core/cluster-entry.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { debug } from '../ui/log.js';
import { registerSecret } from '../ui/redact.js';
import { DEFAULT_HTTP_TIMEOUT_MS, type FetchFunction, createFetch } from './http.js';

/**
 * Verifies an ID token before anything is granted from it (jwt-to-rbac skipped this on some
 * paths): signature against the issuer's JWKS found through discovery, issuer, audience,
 * expiry, and email_verified when the email names the user. Only asymmetric algorithms are
 * accepted: `none` and HS* (a shared secret anyone holding the client secret could sign with)
 * are refused before any network call.
 */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export interface VerifyIdTokenOptions {
  issuerUrl: string;
  /** The client id the token must be issued to (`aud`). */
  audience: string;
  /** Provider CA certificates (PEM), added to the system roots. */
  caPems?: readonly string[];
  /** Accept email_verified false/missing when the email is the username. */
  allowUnverifiedEmail?: boolean;
  /** Claim naming the user; email_verified only matters when it is `email`. */
  usernameClaim?: string;
  timeoutMs?: number;
  /** Seconds of clock skew tolerated on exp/iat/nbf. Default 30. */
  clockToleranceSeconds?: number;
  /** Where this provider's CA goes, for an untrusted certificate (createFetch's trustHint). */
  trustHint?: string;
  /** Injected for tests; default createFetch with the CAs above (HTTPS_PROXY honoured). */
  fetch?: FetchFunction;
  currentDate?: Date;
  /**
   * Default true: a CLI run registers the token with the redactor so no later line can print it.
   * A long-running server (proxy serve) passes false: the redactor's set lives as long as the
   * process, and one entry per caller's token would grow without bound; it never prints tokens.
   */
  registerWithRedactor?: boolean;
}

export type VerifiedClaims = JWTPayload & Record<string, unknown>;

function invalid(message: string, cause?: unknown): CliError {
  return new CliError(ExitCode.PROVIDER, message, cause === undefined ? undefined : { cause });
}

/** Refuses what is not a compact JWS with an asymmetric algorithm, without the network. */
export function checkTokenShape(token: string): string {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p, i) => i < 2 && p.length === 0)) throw invalid('the ID token is not a JWT (three dot-separated parts): pass the raw id_token');
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch (error) {
    throw invalid('the ID token header is not readable JSON: pass the raw id_token', error);
  }
  if (typeof alg !== 'string' || !(ALLOWED_ALGORITHMS as readonly string[]).includes(alg)) {
    throw invalid(`the ID token is signed with '${String(alg)}', which is refused: only asymmetric algorithms (${ALLOWED_ALGORITHMS.join(', ')}) are accepted`);
  }
  return alg;
}

interface Discovery {
  issuer: string;
  jwksUri: string;
}

function checkHttpsUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`${what} '${value}' is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) throw invalid(`${what} '${value}' must be https://`);
  return url;
}

async function discover(issuerUrl: string, fetch: FetchFunction): Promise<Discovery> {
  const issuer = issuerUrl.replace(/\/+$/, '');
  checkHttpsUrl(issuer, 'issuer URL');
  const url = `${issuer}/.well-known/openid-configuration`;
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw invalid(`identity provider discovery at ${url} answered ${response.status}: check the issuer URL`);
  let document: Record<string, unknown>;
  try {
    document = (await response.json()) as Record<string, unknown>;
  } catch (error) {
    throw invalid(`identity provider discovery at ${url} is not JSON: check the issuer URL`, error);
  }
  const advertised = typeof document['issuer'] === 'string' ? document['issuer'] : '';
  if (advertised.replace(/\/+$/, '') !== issuer) throw invalid(`identity provider at ${issuer} calls itself '${advertised}': the issuer URL must match exactly`);
  const jwksUri = document['jwks_uri'];
  if (typeof jwksUri !== 'string') throw invalid(`identity provider discovery at ${url} has no jwks_uri`);
  checkHttpsUrl(jwksUri, 'jwks_uri');
  return { issuer: advertised, jwksUri };
}

function describeClaim(error: { claim?: string; reason?: string; message: string }, options: VerifyIdTokenOptions, payload: JWTPayload | undefined): string {
  switch (error.claim) {
    case 'iss':
      return `the ID token was issued by '${String(payload?.iss ?? '?')}', not ${options.issuerUrl}: use a token from that issuer or name the matching cluster`;
    case 'aud':
      return `the ID token is for audience '${[payload?.aud ?? '?'].flat().join(', ')}', not '${options.audience}': use a token issued to that client (or pass --audience)`;
    case 'nbf':
      return 'the ID token is not valid yet (nbf in the future): check this machine\'s clock';
    case 'iat':
      return 'the ID token was issued in the future (iat): check this machine\'s clock';
    default:
      return `the ID token failed verification (${error.message})`;
  }
}

export async function verifyIdToken(token: string, options: VerifyIdTokenOptions): Promise<VerifiedClaims> {
  const raw = token.trim();
  if (options.registerWithRedactor !== false) registerSecret(raw);
  checkTokenShape(raw);
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const fetch = options.fetch ?? createFetch({ caPems: options.caPems ?? [], timeoutMs, peer: 'identity provider', exitCode: ExitCode.PROVIDER, ...(options.trustHint ? { trustHint: options.trustHint } : {}) });
  const discovery = await discover(options.issuerUrl, fetch);
  debug(`verifying the ID token against ${discovery.jwksUri}`);
  const jwks = createRemoteJWKSet(new URL(discovery.jwksUri), {
    timeoutDuration: timeoutMs,
    [customFetch]: (url, init) => fetch(url, init),
  });
  let payload: VerifiedClaims;
  try {
    const verified = await jwtVerify(raw, jwks, {
      issuer: discovery.issuer,
      audience: options.audience,
      algorithms: [...ALLOWED_ALGORITHMS],
      clockTolerance: options.clockToleranceSeconds ?? 30,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
      ...(options.currentDate ? { currentDate: options.currentDate } : {}),
    });
    payload = verified.payload as VerifiedClaims;
  } catch (error) {
    throw verificationError(error, options);
  }
  // jose checks iat only together with maxTokenAge: refuse a token issued in the future here
  const nowSeconds = (options.currentDate ?? new Date()).getTime() / 1000;
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds + (options.clockToleranceSeconds ?? 30)) {
    throw invalid(describeClaim({ claim: 'iat', message: 'iat in the future' }, options, payload));
  }
  const usernameClaim = options.usernameClaim ?? 'email';
  if (usernameClaim === 'email' && payload['email_verified'] !== true && options.allowUnverifiedEmail !== true) {
    throw invalid(`the ID token's email ${typeof payload['email'] === 'string' ? `${payload['email']} ` : ''}is not verified by the provider (email_verified is ${String(payload['email_verified'] ?? 'missing')}): verify it there, or pass --allow-unverified-email if the provider never sets it`);
  }
  return payload;
}

function verificationError(error: unknown, options: VerifyIdTokenOptions): CliError {
  if (error instanceof CliError) return error;
  const code = (error as { code?: string }).code;
  const payload = (error as { payload?: JWTPayload }).payload;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return invalid(`the ID token expired at ${payload?.exp ? new Date(payload.exp * 1000).toISOString() : 'an earlier time'}: log in again (k8s-auth login) or pass a fresh token`, error);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return invalid(describeClaim(error as { claim?: string; message: string }, options, payload), error);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return invalid(`the ID token's signature does not verify against ${options.issuerUrl}'s keys: it was altered or signed by someone else`, error);
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return invalid(`no key of ${options.issuerUrl} matches the ID token's key id: it was signed by someone else (or the provider rotated keys; log in again)`, error);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return invalid(`the ID token's algorithm is refused: only asymmetric algorithms (${ALLOWED_ALGORITHMS.join(', ')}) are accepted`, error);
    case 'ERR_JWKS_TIMEOUT':
      return invalid(`the identity provider's key set did not arrive in time from ${options.issuerUrl}: check the network and try again`, error);
    case 'ERR_JWKS_INVALID':
      return invalid(`the identity provider's key set at ${options.issuerUrl} is malformed`, error);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return invalid(`the ID token is malformed (${(error as Error).message}): pass the raw id_token`, error);
    default:
      return invalid(`the ID token could not be verified: ${describeError(error)}`, error);
  }
}
