import { createHash } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { identityFromClaims, type ClaimMapping, type Identity } from '../core/proxy-request.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { debug } from '../ui/log.js';
import { createFetch, type FetchFunction } from './http.js';
import { ALLOWED_ALGORITHMS, checkTokenShape, verifyIdToken } from './id-token-verifier.js';

/**
 * Serve mode's gate: the client's `Authorization: Bearer <ID token>` verified with the verifier
 * `login` uses (adapters/id-token-verifier.ts: signature against the issuer's JWKS, iss, aud,
 * exp/nbf/iat, only asymmetric algorithms, email_verified when the username is the email), then
 * mapped to a user and groups like the API server's OIDC authenticator would.
 *
 * The verifier looks the issuer up on every call; here its discovery document and key set are
 * kept for five minutes (fetched again at once when a token names a key we do not have, at most
 * every 10 s: the provider rotated keys), and a token already verified is remembered until it
 * expires (by its SHA-256, never the token), so a request costs a hash and a map lookup.
 *
 * Before the verifier sees a token, its shape and signature are checked against the cached key
 * set here, so only tokens the issuer really signed reach it. The verifier is told not to
 * register tokens with the redactor (ui/redact.ts keeps them for the life of the process: a
 * server that does would grow by one entry per caller's token); the proxy never prints a token.
 */
export interface IdTokenGateOptions {
  issuerUrl: string;
  clientId: string;
  caPems: readonly string[];
  mapping: ClaimMapping;
  timeoutMs: number;
  now?: () => number;
  /** Injected for tests; default createFetch with the CAs above (HTTPS_PROXY honoured). */
  fetch?: FetchFunction;
}

export type GateResult = { ok: true; identity: Identity } | { ok: false; message: string };

const DOCUMENT_TTL_MS = 5 * 60_000;
const REFETCH_MIN_INTERVAL_MS = 10_000;
const MAX_REMEMBERED = 10_000;

interface CachedDocument {
  status: number;
  body: string;
  contentType: string;
  fetchedAt: number;
}

/** A fetch that keeps GET answers (discovery, JWKS) for DOCUMENT_TTL_MS; `forget()` drops them. */
function cachingFetch(inner: FetchFunction, now: () => number): FetchFunction & { forget(): void } {
  const cache = new Map<string, CachedDocument>();
  const pending = new Map<string, Promise<CachedDocument>>();
  const f = (async (input: string | URL, init?: RequestInit) => {
    const url = String(input);
    if (init?.method !== undefined && init.method !== 'GET') return inner(input, init);
    const hit = cache.get(url);
    const doc =
      hit && now() - hit.fetchedAt < DOCUMENT_TTL_MS
        ? hit
        : await (pending.get(url) ??
            (() => {
              const p = (async () => {
                const response = await inner(input, init);
                const body = await response.text();
                const entry = { status: response.status, body, contentType: response.headers.get('content-type') ?? 'application/json', fetchedAt: now() };
                if (response.ok) cache.set(url, entry);
                return entry;
              })().finally(() => pending.delete(url));
              pending.set(url, p);
              return p;
            })());
    return new Response(doc.body, { status: doc.status, headers: { 'content-type': doc.contentType } });
  }) as FetchFunction & { forget(): void };
  f.forget = () => cache.clear();
  return f;
}

export interface IdTokenGate {
  check(authorization: string | undefined): Promise<GateResult>;
  /** Fetches discovery and keys once, so a wrong issuer or CA is one line at start, not a 401 per request. */
  warmUp(): Promise<void>;
}

export function createIdTokenGate(options: IdTokenGateOptions): IdTokenGate {
  const now = options.now ?? Date.now;
  const fetch = cachingFetch(options.fetch ?? createFetch({ caPems: [...options.caPems], timeoutMs: options.timeoutMs, peer: 'identity provider', exitCode: ExitCode.PROVIDER }), now);
  const remembered = new Map<string, { identity: Identity; expiresAtMs: number }>();
  let lastRefetch = 0;

  const base = options.issuerUrl.replace(/\/+$/, '');
  const keySet = async () => {
    const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as { jwks_uri?: unknown };
    if (typeof discovery.jwks_uri !== 'string') throw new CliError(ExitCode.PROVIDER, `identity provider discovery at ${base} has no jwks_uri`);
    return createLocalJWKSet((await (await fetch(discovery.jwks_uri)).json()) as JSONWebKeySet);
  };
  /** Shape and signature only (claims are the verifier's), without registering the token anywhere. */
  const signedByIssuer = async (token: string): Promise<void> => {
    checkTokenShape(token);
    const attempt = async () => jwtVerify(token, await keySet(), { algorithms: [...ALLOWED_ALGORITHMS], clockTolerance: 1e9 });
    try {
      await attempt();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ERR_JWKS_NO_MATCHING_KEY' && now() - lastRefetch >= REFETCH_MIN_INTERVAL_MS) {
        debug('no key matches the ID token: fetching the issuer\'s key set again');
        lastRefetch = now();
        fetch.forget();
        await attempt().catch((again: unknown) => {
          throw signatureError(again, base);
        });
        return;
      }
      throw signatureError(error, base);
    }
  };

  const verify = async (token: string): Promise<Identity> => {
    await signedByIssuer(token);
    const run = () =>
      verifyIdToken(token, {
        issuerUrl: options.issuerUrl,
        audience: options.clientId,
        usernameClaim: options.mapping.usernameClaim,
        timeoutMs: options.timeoutMs,
        fetch,
        currentDate: new Date(now()),
        registerWithRedactor: false,
      });
    let claims: Awaited<ReturnType<typeof verifyIdToken>>;
    try {
      claims = await run();
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (code !== 'ERR_JWKS_NO_MATCHING_KEY' || now() - lastRefetch < REFETCH_MIN_INTERVAL_MS) throw error;
      debug('no key matches the ID token: fetching the issuer\'s key set again');
      lastRefetch = now();
      fetch.forget();
      claims = await run();
    }
    const mapped = identityFromClaims(claims, options.mapping);
    if (!mapped.ok) throw new CliError(ExitCode.PROVIDER, mapped.problem);
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : now();
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(hash(token), { identity: mapped.identity, expiresAtMs: exp });
    return mapped.identity;
  };

  return {
    async check(authorization) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (!match?.[1]) return { ok: false, message: 'no ID token: send Authorization: Bearer <ID token> (k8s-auth proxy serve accepts only ID tokens of its issuer)' };
      const token = match[1];
      const key = hash(token);
      const known = remembered.get(key);
      if (known) {
        if (known.expiresAtMs > now()) return { ok: true, identity: known.identity };
        remembered.delete(key);
      }
      try {
        return { ok: true, identity: await verify(token) };
      } catch (error) {
        return { ok: false, message: error instanceof CliError ? error.message : `the ID token could not be verified: ${describeError(error)}` };
      }
    },
    async warmUp() {
      const base = options.issuerUrl.replace(/\/+$/, '');
      const response = await fetch(`${base}/.well-known/openid-configuration`);
      if (!response.ok) throw new CliError(ExitCode.PROVIDER, `identity provider discovery at ${base}/.well-known/openid-configuration answered ${response.status}: check --issuer`);
      const doc = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (typeof doc.issuer !== 'string' || doc.issuer.replace(/\/+$/, '') !== base) throw new CliError(ExitCode.PROVIDER, `identity provider at ${base} calls itself '${String(doc.issuer)}': --issuer must match exactly`);
      if (typeof doc.jwks_uri === 'string') await (await fetch(doc.jwks_uri)).text();
    },
  };
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function signatureError(error: unknown, issuer: string): CliError {
  if (error instanceof CliError) return error;
  const code = (error as { code?: string }).code;
  if (code === 'ERR_JWKS_NO_MATCHING_KEY') return new CliError(ExitCode.PROVIDER, `no key of ${issuer} matches the ID token's key id: it was signed by someone else (or the provider rotated keys; log in again)`);
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return new CliError(ExitCode.PROVIDER, `the ID token's signature does not verify against ${issuer}'s keys: it was altered or signed by someone else`);
  return new CliError(ExitCode.PROVIDER, `the ID token is malformed: ${describeError(error)}`);
}
