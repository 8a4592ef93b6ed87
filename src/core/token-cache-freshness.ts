import { jwtExpiryMs, type CachedTokens } from './token-cache-entry.js';

/**
 * Whether a cached ID token can be handed to kubectl as is. It must stay valid for more than
 * the skew margin: the API server's clock may run ahead, and the request still has to arrive.
 * On the exec hot path: node builtins only.
 */
export const DEFAULT_SKEW_SECONDS = 60;
export const DEFAULT_LOCK_TIMEOUT_SECONDS = 60;

export type Freshness =
  | { state: 'fresh'; expiresAtMs: number }
  /** Missing, expired or expiring within the skew: `refreshToken` says whether a refresh can fix it. */
  | { state: 'stale'; reason: 'missing' | 'expired' | 'expiring' | 'no-expiry'; refreshToken?: string; expiresAtMs?: number };

export function decideFreshness(entry: CachedTokens | undefined, nowMs: number, skewSeconds: number): Freshness {
  if (!entry) return { state: 'stale', reason: 'missing' };
  const withRefresh = <T extends object>(value: T): T & { refreshToken?: string } =>
    entry.refreshToken ? { ...value, refreshToken: entry.refreshToken } : value;
  const expiresAtMs = jwtExpiryMs(entry.idToken);
  // A token without a readable `exp` cannot be judged: never hand it out blindly.
  if (expiresAtMs === undefined) return withRefresh({ state: 'stale', reason: 'no-expiry' });
  if (expiresAtMs <= nowMs) return withRefresh({ state: 'stale', reason: 'expired', expiresAtMs });
  if (expiresAtMs - nowMs <= skewSeconds * 1000) return withRefresh({ state: 'stale', reason: 'expiring', expiresAtMs });
  return { state: 'fresh', expiresAtMs };
}
