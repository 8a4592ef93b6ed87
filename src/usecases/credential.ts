import type { ClusterEntry } from '../core/cluster-entry.js';
import { scopesFor } from '../core/cluster-entry.js';
import type { CachedConnection, CachedTokens } from '../core/token-cache-entry.js';
import { decideFreshness, type Freshness } from '../core/token-cache-freshness.js';
import { normalizeCacheKey, sameCacheKey, type TokenCacheKey } from '../core/token-cache-key.js';
import { checkHintedUser } from '../core/signed-in-user.js';
import type { TokenCache } from '../adapters/token-cache.js';
import type { GrantTokens } from '../adapters/oidc-grants.js';
import { RefreshRejectedError, RefreshWithoutIdTokenError } from '../adapters/grant-errors.js';
import { cooldownRemainingSeconds, DEFAULT_SIGN_IN_COOLDOWN_SECONDS, SIGN_IN_COOLDOWN_ENV, type SignInFailure } from '../core/sign-in-cooldown.js';
import { ambiguousIdentitiesMessage } from '../core/cached-identities.js';
import type { ProviderConnection, ProviderSession } from './provider-session.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { debug, info } from '../ui/log.js';

/**
 * `k8s-auth credential`: the full path, run when the hot path (src/credential/hot-path.ts)
 * found no usable token. Order: re-check the cache; take the entry's lock; re-check again
 * (another process may just have refreshed); only then read the catalog, refresh with the
 * refresh token, and as a last resort sign in, if this run may be interactive. The lock is held
 * only for that network work and always with a timeout.
 */
export interface CredentialRequest {
  cluster: string;
  /** From the exec args (--issuer/--client-id/--scopes/--login-hint); else derived from the catalog entry. */
  key?: TokenCacheKey;
  loginHint?: string;
  cacheDir?: string;
  skewSeconds: number;
  lockTimeoutMs: number;
  /** kubectl's spec.interactive (or a TTY check) and not forbidden by --no-interactive. */
  interactive: boolean;
  /** Why not, for the refusal message, e.g. "kubectl says this run has no terminal". */
  nonInteractiveReason?: string;
  /** After a failed sign-in, no new one from `credential` for this long (K8S_AUTH_SIGNIN_COOLDOWN; 0 = off). */
  signInCooldownSeconds?: number;
}

export type { ProviderConnection } from './provider-session.js';

/**
 * The token cache as this use case needs it (the port adapters/token-store.ts implements on
 * disk): entries, their per-entry lock, and the failed-sign-in record beside each entry.
 */
export interface TokenStore {
  open(key: TokenCacheKey, cacheDir: string | undefined): TokenCache;
  read(cache: TokenCache): CachedTokens | undefined;
  write(cache: TokenCache, entry: CachedTokens): void;
  lock(cache: TokenCache, options: { timeoutMs: number; onWait?: () => void }): Promise<() => void>;
  /** The cached sign-ins that serve `cluster` (a bare `credential <cluster>`), read from the directory alone. */
  entriesServing(cluster: string, cacheDir: string | undefined, loginHint: string | undefined): { file: string; entry: CachedTokens }[];
  readFailure(cacheFile: string): SignInFailure | undefined;
  recordFailure(cacheFile: string, failure: SignInFailure): void;
  clearFailure(cacheFile: string): void;
}

export interface CredentialDeps {
  /** The catalog lookup; only called on a miss, and for a refresh only when the cache cannot say how to connect. */
  resolveEntry(): Promise<ClusterEntry>;
  /** Discovery, refresh (`scope`: exactly what to send, the granted scope) and sign-in. */
  session: Pick<ProviderSession, 'refresh' | 'signIn' | 'endpointOf'>;
  /** Whether a sign-in needs a person (browser, device code, password from stdin) or not (password from env). */
  signInNeedsPerson: boolean;
  store: TokenStore;
  now?: () => number;
}

export interface Credential {
  token: string;
  expiresAtMs: number;
  source: 'cache' | 'refresh' | 'sign-in';
}

export function keyForEntry(entry: ClusterEntry, loginHint?: string): TokenCacheKey {
  const key: TokenCacheKey = { issuer: entry.issuerUrl, clientId: entry.clientId, scopes: scopesFor(entry) };
  if (loginHint) key.loginHint = loginHint;
  return normalizeCacheKey(key);
}

/** The exec args name an identity; the catalog must still agree, or the kubeconfig is stale. */
export function checkEntryMatchesKey(cluster: string, entry: ClusterEntry, key: TokenCacheKey): void {
  const fromCatalog = keyForEntry(entry, key.loginHint);
  if (!sameCacheKey(fromCatalog, key)) {
    throw new CliError(ExitCode.KUBECONFIG, `the kubeconfig's exec arguments for '${cluster}' name issuer ${key.issuer} / client ${key.clientId} / scopes "${key.scopes.join(' ')}", but the catalog now says ${fromCatalog.issuer} / ${fromCatalog.clientId} / "${fromCatalog.scopes.join(' ')}"`, {
      hint: `run \`k8s-auth login ${cluster} --exec\` to rewrite the kubeconfig entry`,
    });
  }
}

export function usernameOf(tokens: GrantTokens, entry: ClusterEntry | undefined): string | undefined {
  const claim = tokens.claims[entry?.usernameClaim ?? 'email'] ?? tokens.claims['sub'];
  return typeof claim === 'string' ? claim : undefined;
}

export function connectionOf(entry: ClusterEntry): CachedConnection {
  const connection: CachedConnection = { confidentialClient: Boolean(entry.clientSecret) };
  if (entry.idpCertificateAuthorityData) connection.idpCertificateAuthorityData = entry.idpCertificateAuthorityData;
  return connection;
}

/** A public client's cached connection is enough to refresh: no catalog (and no Vault token) needed. */
export function connectionFromCache(key: TokenCacheKey, cached: CachedTokens | undefined): ProviderConnection | undefined {
  const c = cached?.connection;
  if (!c || c.confidentialClient) return undefined;
  return { issuerUrl: key.issuer, clientId: key.clientId, ...(c.idpCertificateAuthorityData ? { idpCertificateAuthorityData: c.idpCertificateAuthorityData } : {}) };
}

/**
 * The cache entry for a token response. `previous` is the entry it replaces (same key): its
 * clusters are kept, and, for a refresh whose response named no scope, its granted scope.
 */
export function cacheEntryFrom(key: TokenCacheKey, tokens: GrantTokens, entry: ClusterEntry | undefined, nowMs: number, previous?: CachedTokens, cluster?: string): CachedTokens {
  const cached: CachedTokens = { key, idToken: tokens.idToken, expiresAt: new Date(tokens.expiresAt * 1000).toISOString(), updatedAt: new Date(nowMs).toISOString() };
  if (tokens.refreshToken) cached.refreshToken = tokens.refreshToken;
  const user = entry ? usernameOf(tokens, entry) : previous?.user;
  if (user) cached.user = user;
  const connection = entry ? connectionOf(entry) : previous?.connection;
  if (connection) cached.connection = connection;
  if (tokens.scope !== undefined) cached.grantedScope = tokens.scope;
  const clusters = new Set([...(previous?.clusters ?? []), ...(entry ? [entry.name] : []), ...(cluster ? [cluster] : [])]);
  if (clusters.size > 0) cached.clusters = [...clusters].sort();
  return cached;
}

/** What a refresh sends: the granted scope when known, else the key's scopes (entries from before it was stored). */
export function refreshScopeFor(key: TokenCacheKey, cached: CachedTokens | undefined): string {
  return cached?.grantedScope ?? key.scopes.join(' ');
}

/**
 * A bare `credential <cluster>` (no --issuer/--client-id/--scopes): the cached sign-in serving
 * the cluster, read from the cache directory alone. Undefined when none does (then the catalog
 * decides); several are a usage error naming them and how to pick one.
 */
function keyFromCache(store: TokenStore, cluster: string, cacheDir: string | undefined, loginHint: string | undefined): TokenCacheKey | undefined {
  const matches = store.entriesServing(cluster, cacheDir, loginHint);
  const only = matches[0];
  if (matches.length === 1 && only) {
    debug(`the cached sign-in ${only.file} serves '${cluster}'`);
    return only.entry.key;
  }
  if (matches.length === 0) return undefined;
  throw new CliError(ExitCode.USAGE, ambiguousIdentitiesMessage(cluster, matches.map((m) => m.entry)));
}

function fromFreshness(entry: CachedTokens | undefined, freshness: Freshness): Credential | undefined {
  return entry && freshness.state === 'fresh' ? { token: entry.idToken, expiresAtMs: freshness.expiresAtMs, source: 'cache' } : undefined;
}

function staleReason(freshness: Freshness): string {
  if (freshness.state === 'fresh') return 'fresh';
  switch (freshness.reason) {
    case 'missing': return 'no cached token';
    case 'expired': return 'the cached ID token has expired';
    case 'expiring': return 'the cached ID token expires within the skew margin';
    case 'no-expiry': return 'the cached ID token has no readable expiry';
  }
}

export async function getCredential(request: CredentialRequest, deps: CredentialDeps): Promise<Credential> {
  const now = deps.now ?? Date.now;
  let entry: ClusterEntry | undefined;
  const store = deps.store;
  let key = request.key ?? keyFromCache(store, request.cluster, request.cacheDir, request.loginHint);
  if (!key) {
    // a hand-written `credential <cluster>` without identity args, and no cached sign-in names it: the catalog does
    entry = await deps.resolveEntry();
    key = keyForEntry(entry, request.loginHint);
  }
  const cache = store.open(normalizeCacheKey(key), request.cacheDir);
  const first = store.read(cache);
  const firstFreshness = decideFreshness(first, now(), request.skewSeconds);
  const hit = fromFreshness(first, firstFreshness);
  if (hit) {
    debug(`using the cached ID token from ${cache.file}`);
    return hit;
  }
  debug(`${staleReason(firstFreshness)} in ${cache.file}`);

  const release = await store.lock(cache, {
    timeoutMs: request.lockTimeoutMs,
    onWait: () => info(`waiting for another k8s-auth to refresh the token for '${request.cluster}'…`),
  });
  try {
    // someone may have refreshed while we waited: reuse their result
    const current = store.read(cache);
    const freshness = decideFreshness(current, now(), request.skewSeconds);
    const reused = fromFreshness(current, freshness);
    if (reused) {
      debug('another process refreshed the token while we waited; reusing it');
      return reused;
    }
    return await renew(request, deps, cache, entry, current, freshness, now);
  } finally {
    release();
  }
}

async function renew(
  request: CredentialRequest,
  deps: CredentialDeps,
  cache: TokenCache,
  known: ClusterEntry | undefined,
  current: CachedTokens | undefined,
  freshness: Freshness,
  now: () => number,
): Promise<Credential> {
  let entry = known;
  const catalogEntry = async (): Promise<ClusterEntry> => {
    entry ??= await deps.resolveEntry();
    checkEntryMatchesKey(request.cluster, entry, cache.key);
    return entry;
  };
  let why = staleReason(freshness);
  const refreshToken = freshness.state === 'stale' ? freshness.refreshToken : undefined;
  if (refreshToken) {
    try {
      const fromCache = entry ? undefined : connectionFromCache(cache.key, current);
      if (fromCache) debug('refreshing with the connection details in the cache (no catalog lookup)');
      const tokens = await deps.session.refresh(fromCache ?? (await catalogEntry()), refreshToken, refreshScopeFor(cache.key, current));
      return save(request, deps.store, cache, tokens, entry, now, 'refresh', current);
    } catch (error) {
      // the provider rotated the refresh token but sent no ID token: keep the new refresh token
      if (error instanceof RefreshWithoutIdTokenError && error.rotatedRefreshToken && current) {
        deps.store.write(cache, { ...current, refreshToken: error.rotatedRefreshToken, updatedAt: new Date(now()).toISOString() });
      }
      // only a refused refresh token may lead to a sign-in; a network or provider failure would fail that too
      if (!(error instanceof RefreshRejectedError)) throw error;
      // Dex keeps one refresh token per user, connector and client: a sign-in elsewhere ends this one
      why = `the provider no longer accepts the cached refresh token (${error.reason}): it was revoked or expired, or a sign-in with the same account and client elsewhere replaced it`;
    }
  } else if (current) {
    why = `${why}, and there is no refresh token`;
  }
  if (deps.signInNeedsPerson && !request.interactive) {
    throw new CliError(ExitCode.INTERACTION_REQUIRED, `'${request.cluster}' needs a new sign-in: ${why}. This run may not interact, so no browser was opened: run \`k8s-auth login ${request.cluster} --exec\``, {
      hint: `not interactive because ${request.nonInteractiveReason ?? 'kubectl gave this run no terminal'}`,
    });
  }
  const cooldownSeconds = request.signInCooldownSeconds ?? DEFAULT_SIGN_IN_COOLDOWN_SECONDS;
  if (deps.signInNeedsPerson) {
    // after a failed sign-in, background callers (and those queued behind it) open no new tab for a while
    const failure = deps.store.readFailure(cache.file);
    const left = cooldownRemainingSeconds(failure, now(), cooldownSeconds);
    if (failure && left > 0) {
      const ago = Math.max(0, Math.round((now() - failure.failedAtMs) / 1000));
      throw new CliError(ExitCode.INTERACTION_REQUIRED, `'${request.cluster}' needs a new sign-in, but the last one failed ${ago}s ago (${failure.reason}): no new browser sign-in from credential for ${left}s; run \`k8s-auth login ${request.cluster} --exec\` to sign in now`, {
        hint: `${SIGN_IN_COOLDOWN_ENV}=0 turns the pause off (default ${DEFAULT_SIGN_IN_COOLDOWN_SECONDS}s)`,
      });
    }
  }
  const signInEntry = await catalogEntry();
  info(`signing in to '${request.cluster}': ${why}`);
  const hint = cache.key.loginHint;
  let tokens: GrantTokens;
  try {
    tokens = await deps.session.signIn(
      { ...deps.session.endpointOf(signInEntry), ...(signInEntry.redirectUri ? { redirectUri: signInEntry.redirectUri } : {}) },
      {
        scopes: cache.key.scopes,
        clusters: [request.cluster],
        // the browser page must not say "signed in" for a person this kubeconfig user is not
        ...(hint ? { loginHint: hint, describeUser: (claims) => (checkHintedUser(request.cluster, hint, claims, signInEntry.usernameClaim), hint) } : {}),
      },
    );
    if (hint) checkHintedUser(request.cluster, hint, tokens.claims, signInEntry.usernameClaim);
  } catch (error) {
    // recorded under the entry's lock, so the callers waiting on it see it before they try
    if (deps.signInNeedsPerson && cooldownSeconds > 0) deps.store.recordFailure(cache.file, { failedAtMs: now(), reason: error instanceof CliError ? error.message : describeError(error) });
    throw error;
  }
  deps.store.clearFailure(cache.file);
  return save(request, deps.store, cache, tokens, signInEntry, now, 'sign-in', current);
}

function save(request: CredentialRequest, store: TokenStore, cache: TokenCache, tokens: GrantTokens, entry: ClusterEntry | undefined, now: () => number, source: Credential['source'], previous: CachedTokens | undefined): Credential {
  const cached = cacheEntryFrom(cache.key, tokens, entry, now(), previous, request.cluster);
  if (source === 'refresh') {
    if (!cached.refreshToken && previous?.refreshToken) cached.refreshToken = previous.refreshToken;
    // refreshed without a scope parameter and the response named none: the grant is unchanged
    if (cached.grantedScope === undefined && previous?.grantedScope !== undefined) cached.grantedScope = previous.grantedScope;
  }
  store.write(cache, cached);
  return { token: tokens.idToken, expiresAtMs: tokens.expiresAt * 1000, source };
}
