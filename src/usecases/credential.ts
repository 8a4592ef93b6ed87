import type { ClusterEntry } from '../core/cluster-entry.js';
import { scopesFor } from '../core/cluster-entry.js';
import type { CachedConnection, CachedTokens } from '../core/token-cache-entry.js';
import { decideFreshness, type Freshness } from '../core/token-cache-freshness.js';
import { normalizeCacheKey, sameCacheKey, type TokenCacheKey } from '../core/token-cache-key.js';
import { checkHintedUser } from '../core/signed-in-user.js';
import { lockTokenCache, openTokenCache, readCachedTokens, writeCachedTokens, type TokenCache } from '../adapters/token-cache.js';
import type { GrantTokens } from '../adapters/oidc-grants.js';
import { RefreshRejectedError, RefreshWithoutIdTokenError } from '../adapters/oidc-grants.js';
import { CliError, ExitCode } from '../errors.js';
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
}

/** What talking to the provider needs; a catalog entry is one, a cache file can give one too. */
export type ProviderConnection = Pick<ClusterEntry, 'issuerUrl' | 'clientId' | 'clientSecret' | 'idpCertificateAuthorityData'>;

export interface CredentialDeps {
  /** The catalog lookup; only called on a miss, and for a refresh only when the cache cannot say how to connect. */
  resolveEntry(): Promise<ClusterEntry>;
  refresh(connection: ProviderConnection, refreshToken: string, scopes: readonly string[]): Promise<GrantTokens>;
  signIn(entry: ClusterEntry, scopes: readonly string[]): Promise<GrantTokens>;
  /** Whether signIn needs a person (browser, device code, password from stdin) or not (password from env). */
  signInNeedsPerson: boolean;
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

export function cacheEntryFrom(key: TokenCacheKey, tokens: GrantTokens, entry: ClusterEntry | undefined, nowMs: number, previous?: CachedTokens): CachedTokens {
  const cached: CachedTokens = { key, idToken: tokens.idToken, expiresAt: new Date(tokens.expiresAt * 1000).toISOString(), updatedAt: new Date(nowMs).toISOString() };
  if (tokens.refreshToken) cached.refreshToken = tokens.refreshToken;
  const user = entry ? usernameOf(tokens, entry) : previous?.user;
  if (user) cached.user = user;
  const connection = entry ? connectionOf(entry) : previous?.connection;
  if (connection) cached.connection = connection;
  return cached;
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
  let key = request.key;
  if (!key) {
    // a hand-written `credential <cluster>` without identity args: the catalog names it
    entry = await deps.resolveEntry();
    key = keyForEntry(entry, request.loginHint);
  }
  const cache = openTokenCache(normalizeCacheKey(key), request.cacheDir);
  const first = readCachedTokens(cache);
  const firstFreshness = decideFreshness(first, now(), request.skewSeconds);
  const hit = fromFreshness(first, firstFreshness);
  if (hit) {
    debug(`using the cached ID token from ${cache.file}`);
    return hit;
  }
  debug(`${staleReason(firstFreshness)} in ${cache.file}`);

  const release = await lockTokenCache(cache, {
    timeoutMs: request.lockTimeoutMs,
    onWait: () => info(`waiting for another k8s-auth to refresh the token for '${request.cluster}'…`),
  });
  try {
    // someone may have refreshed while we waited: reuse their result
    const current = readCachedTokens(cache);
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
      const tokens = await deps.refresh(fromCache ?? (await catalogEntry()), refreshToken, cache.key.scopes);
      return save(cache, tokens, entry, now, 'refresh', current);
    } catch (error) {
      // the provider rotated the refresh token but sent no ID token: keep the new refresh token
      if (error instanceof RefreshWithoutIdTokenError && error.rotatedRefreshToken && current) {
        writeCachedTokens(cache, { ...current, refreshToken: error.rotatedRefreshToken, updatedAt: new Date(now()).toISOString() });
      }
      // only a refused refresh token may lead to a sign-in; a network or provider failure would fail that too
      if (!(error instanceof RefreshRejectedError)) throw error;
      why = `the provider refused the cached refresh token (${error.reason})`;
    }
  } else if (current) {
    why = `${why}, and there is no refresh token`;
  }
  if (deps.signInNeedsPerson && !request.interactive) {
    throw new CliError(ExitCode.INTERACTION_REQUIRED, `'${request.cluster}' needs a new sign-in: ${why}. This run may not interact, so no browser was opened: run \`k8s-auth login ${request.cluster} --exec\``, {
      hint: `not interactive because ${request.nonInteractiveReason ?? 'kubectl gave this run no terminal'}`,
    });
  }
  const signInEntry = await catalogEntry();
  info(`signing in to '${request.cluster}': ${why}`);
  const tokens = await deps.signIn(signInEntry, cache.key.scopes);
  const hint = cache.key.loginHint;
  if (hint) checkHintedUser(request.cluster, hint, tokens.claims, signInEntry.usernameClaim);
  return save(cache, tokens, signInEntry, now, 'sign-in', current);
}

function save(cache: TokenCache, tokens: GrantTokens, entry: ClusterEntry | undefined, now: () => number, source: Credential['source'], previous: CachedTokens | undefined): Credential {
  const cached = cacheEntryFrom(cache.key, tokens, entry, now(), previous);
  if (!cached.refreshToken && previous?.refreshToken && source === 'refresh') cached.refreshToken = previous.refreshToken;
  writeCachedTokens(cache, cached);
  return { token: tokens.idToken, expiresAtMs: tokens.expiresAt * 1000, source };
}
