import { join } from 'node:path';

/**
 * Which cached tokens belong to which kubeconfig user. The key is the identity of the sign-in,
 * not the cluster: issuer + client + scopes (+ an optional login hint naming the user). Two
 * clusters behind the same issuer and client share one sign-in; a different scope set is a
 * different token (its groups differ). The user is NOT known when kubectl runs the plugin (the
 * ID token is what we are asked for), so the "user" part is only the login hint the kubeconfig
 * carries: without one there is one slot per issuer/client/scopes, with `--login-hint` a person
 * keeps several identities apart.
 *
 * This module is on the exec hot path: node builtins only.
 */
export interface TokenCacheKey {
  issuer: string;
  clientId: string;
  scopes: readonly string[];
  loginHint?: string;
}

/** One canonical form, so `a b` and `b a`, or a trailing slash, do not split the cache. */
export function normalizeCacheKey(key: TokenCacheKey): TokenCacheKey {
  const normal: TokenCacheKey = {
    issuer: key.issuer.trim().replace(/\/+$/, ''),
    clientId: key.clientId.trim(),
    scopes: [...new Set(key.scopes.map((s) => s.trim()).filter((s) => s.length > 0))].sort(),
  };
  const hint = key.loginHint?.trim();
  if (hint) normal.loginHint = hint;
  return normal;
}

/** Scopes as one exec argument: space-separated, the OAuth wire form. */
export function formatScopes(scopes: readonly string[]): string {
  return scopes.join(' ');
}

/** Reads `--scopes` (space- or comma-separated). */
export function parseScopes(value: string): string[] {
  return value.split(/[\s,]+/).filter((s) => s.length > 0);
}

function readable(text: string, max: number): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[_.]+|_+$/g, '');
  return (cleaned || 'x').slice(0, max);
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

/** FNV-1a, 64 bit, over the UTF-8 bytes. */
export function fnv1a64(text: string): bigint {
  let hash = FNV_OFFSET;
  for (const byte of Buffer.from(text, 'utf8')) hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK_64;
  return hash;
}

/**
 * Short, stable digest of the whole key (the readable part is lossy and truncated). Not a
 * security boundary: a file's key fields are compared on every read, so a collision is caught.
 * FNV-1a rather than SHA-256 because loading OpenSSL costs the hot path ~4 ms per kubectl call.
 */
export function cacheKeyHash(key: TokenCacheKey): string {
  const k = normalizeCacheKey(key);
  return fnv1a64(JSON.stringify([k.issuer, k.clientId, k.scopes, k.loginHint ?? ''])).toString(16).padStart(16, '0').slice(0, 12);
}

/**
 * `<issuer host+path>_<client>[_<hint>]_<hash>.json`: a person listing the directory sees which
 * provider and client each file is for (kubelogin's opaque names were a complaint).
 */
export function cacheFileName(key: TokenCacheKey): string {
  const k = normalizeCacheKey(key);
  let issuerPart: string;
  try {
    const url = new URL(k.issuer);
    issuerPart = `${url.host}${url.pathname}`;
  } catch {
    issuerPart = k.issuer;
  }
  const parts = [readable(issuerPart, 60), readable(k.clientId, 40)];
  if (k.loginHint) parts.push(readable(k.loginHint, 40));
  parts.push(cacheKeyHash(k));
  return `${parts.join('_')}.json`;
}

/**
 * `--token-cache-dir`, else `$KUBECACHEDIR/k8s-auth`, else `~/.kube/cache/k8s-auth` (kubectl's
 * cache directory, as kubelogin does).
 */
export function tokenCacheDirectory(env: Readonly<Record<string, string | undefined>>, home: string, override?: string): string {
  if (override) return override;
  const kubeCache = env['KUBECACHEDIR'];
  if (kubeCache) return join(kubeCache, 'k8s-auth');
  return join(home, '.kube', 'cache', 'k8s-auth');
}

export function cacheFilePath(directory: string, key: TokenCacheKey): string {
  return join(directory, cacheFileName(key));
}

/** kubectl-compatible lock file next to the entry it protects. */
export function cacheLockPath(cacheFile: string): string {
  return `${cacheFile}.lock`;
}

export function sameCacheKey(a: TokenCacheKey, b: TokenCacheKey): boolean {
  const x = normalizeCacheKey(a);
  const y = normalizeCacheKey(b);
  return x.issuer === y.issuer && x.clientId === y.clientId && (x.loginHint ?? '') === (y.loginHint ?? '') && x.scopes.join(' ') === y.scopes.join(' ');
}
