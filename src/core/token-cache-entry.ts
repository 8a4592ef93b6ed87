import { readJwtPayload } from './jwt-payload.js';
import { normalizeCacheKey, sameCacheKey, type TokenCacheKey } from './token-cache-key.js';

/**
 * What one cache file holds (JSON, mode 0600). The key fields are stored too, so a reader can
 * tell the file is really for the identity it asked about (and a person can read what it is).
 * On the exec hot path: node builtins only.
 */
export interface CachedTokens {
  key: TokenCacheKey;
  idToken: string;
  refreshToken?: string;
  /** When the ID token expires (its `exp`), ISO 8601; informative, `exp` in the token rules. */
  expiresAt: string;
  /** Who signed in (username claim), for `status`-style displays; not part of the key. */
  user?: string;
  /**
   * What a refresh needs besides the key, so a public client refreshes without the catalog
   * (whose Vault token may well have expired): the provider's CA, and whether the client has a
   * secret (which is never stored here: confidential clients read it from the catalog).
   */
  connection?: CachedConnection;
  /**
   * The `scope` the provider said it GRANTED (token response, RFC 6749 §5.1), exactly as sent.
   * A refresh resends this, never more (§6). Absent in entries written before it was stored,
   * and when the provider did not say (then it granted what was asked: the key's scopes).
   */
  grantedScope?: string;
  /** Catalog clusters this sign-in serves, so a bare `credential <cluster>` finds it without the catalog. */
  clusters?: string[];
  updatedAt: string;
}

export interface CachedConnection {
  /** base64 PEM, the catalog's idp-certificate-authority-data (public data). */
  idpCertificateAuthorityData?: string;
  confidentialClient: boolean;
}

export const CACHE_FORMAT_VERSION = 1;

/** The `exp` of a JWT in milliseconds, read without verifying (as kubectl does), or undefined. */
export function jwtExpiryMs(token: string): number | undefined {
  const exp = readJwtPayload(token)?.['exp'];
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}

export function serializeCachedTokens(entry: CachedTokens): string {
  const key = normalizeCacheKey(entry.key);
  const out: Record<string, unknown> = {
    version: CACHE_FORMAT_VERSION,
    issuer: key.issuer,
    clientId: key.clientId,
    scopes: key.scopes,
  };
  if (key.loginHint) out['loginHint'] = key.loginHint;
  if (entry.user) out['user'] = entry.user;
  if (entry.connection) {
    out['confidentialClient'] = entry.connection.confidentialClient;
    if (entry.connection.idpCertificateAuthorityData) out['idpCertificateAuthorityData'] = entry.connection.idpCertificateAuthorityData;
  }
  if (entry.grantedScope !== undefined) out['grantedScope'] = entry.grantedScope;
  if (entry.clusters && entry.clusters.length > 0) out['clusters'] = [...new Set(entry.clusters)].sort();
  out['expiresAt'] = entry.expiresAt;
  out['updatedAt'] = entry.updatedAt;
  out['idToken'] = entry.idToken;
  if (entry.refreshToken) out['refreshToken'] = entry.refreshToken;
  return `${JSON.stringify(out, null, 2)}\n`;
}

export type ParsedCache =
  | { ok: true; entry: CachedTokens }
  | { ok: false; problem: string };

/**
 * Reads a cache file's text, whatever key it holds (for a scan of the cache directory). Fields
 * added later (grantedScope, clusters) are optional, so older files stay readable.
 */
export function parseAnyCachedTokens(text: string): ParsedCache {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'is not valid JSON' };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, problem: 'is not a JSON object' };
  const r = raw as Record<string, unknown>;
  if (r['version'] !== CACHE_FORMAT_VERSION) return { ok: false, problem: `has format version ${String(r['version'])}, expected ${CACHE_FORMAT_VERSION}` };
  const str = (name: string): string | undefined => (typeof r[name] === 'string' && r[name] !== '' ? (r[name] as string) : undefined);
  const strings = (name: string): string[] | undefined => (Array.isArray(r[name]) && (r[name] as unknown[]).every((s) => typeof s === 'string') ? (r[name] as string[]) : undefined);
  const issuer = str('issuer');
  const clientId = str('clientId');
  const idToken = str('idToken');
  const scopes = strings('scopes');
  if (!issuer || !clientId || !scopes || !idToken) return { ok: false, problem: 'lacks issuer, clientId, scopes or idToken' };
  const key: TokenCacheKey = { issuer, clientId, scopes };
  const loginHint = str('loginHint');
  if (loginHint) key.loginHint = loginHint;
  const entry: CachedTokens = {
    key: normalizeCacheKey(key),
    idToken,
    expiresAt: str('expiresAt') ?? '',
    updatedAt: str('updatedAt') ?? '',
  };
  const refreshToken = str('refreshToken');
  if (refreshToken) entry.refreshToken = refreshToken;
  const user = str('user');
  if (user) entry.user = user;
  if (typeof r['confidentialClient'] === 'boolean') {
    entry.connection = { confidentialClient: r['confidentialClient'] };
    const ca = str('idpCertificateAuthorityData');
    if (ca) entry.connection.idpCertificateAuthorityData = ca;
  }
  // '' is a grant of no scope at all, kept as given
  if (typeof r['grantedScope'] === 'string') entry.grantedScope = r['grantedScope'];
  const clusters = strings('clusters');
  if (clusters && clusters.length > 0) entry.clusters = clusters;
  return { ok: true, entry };
}

/**
 * Reads a cache file's text. A file for another key (hash collision, copied file) or of an
 * unknown format is reported, never used.
 */
export function parseCachedTokens(text: string, expected: TokenCacheKey): ParsedCache {
  const parsed = parseAnyCachedTokens(text);
  if (parsed.ok && !sameCacheKey(parsed.entry.key, expected)) return { ok: false, problem: 'belongs to another issuer, client, scope set or login hint' };
  return parsed;
}
