import { describe, expect, it } from 'vitest';
import { CACHE_FORMAT_VERSION, jwtExpiryMs, parseCachedTokens, serializeCachedTokens, type CachedTokens } from '../../src/core/token-cache-entry.js';
import { parseSeconds } from '../../src/core/seconds.js';
import { decideFreshness } from '../../src/core/token-cache-freshness.js';
import {
  cacheFileName,
  cacheFilePath,
  cacheKeyHash,
  fnv1a64,
  cacheLockPath,
  normalizeCacheKey,
  parseScopes,
  sameCacheKey,
  tokenCacheDirectory,
  type TokenCacheKey,
} from '../../src/core/token-cache-key.js';

const key: TokenCacheKey = { issuer: 'https://dex.example.com/dex', clientId: 'k8s-auth', scopes: ['openid', 'email', 'groups', 'offline_access'] };

/** An unsigned JWT-shaped token: the cache never verifies signatures, only reads `exp`. */
function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.c2lnbmF0dXJl`;
}

function entry(expSeconds: number, refreshToken?: string): CachedTokens {
  const e: CachedTokens = { key, idToken: jwt({ exp: expSeconds, sub: 'jane' }), expiresAt: new Date(expSeconds * 1000).toISOString(), updatedAt: '2025-01-01T00:00:00.000Z' };
  if (refreshToken) e.refreshToken = refreshToken;
  return e;
}

describe('token cache key', () => {
  it('ignores scope order, duplicates and a trailing slash on the issuer', () => {
    const other = { issuer: 'https://dex.example.com/dex/', clientId: ' k8s-auth', scopes: ['offline_access', 'groups', 'email', 'openid', 'email'] };
    expect(cacheFileName(other)).toBe(cacheFileName(key));
    expect(sameCacheKey(other, key)).toBe(true);
    expect(normalizeCacheKey(other).scopes).toEqual(['email', 'groups', 'offline_access', 'openid']);
  });

  it('separates scope sets, clients, issuers and login hints', () => {
    const names = new Set([
      cacheFileName(key),
      cacheFileName({ ...key, scopes: [...key.scopes, 'federated:id'] }),
      cacheFileName({ ...key, clientId: 'other' }),
      cacheFileName({ ...key, issuer: 'https://login.example.com' }),
      cacheFileName({ ...key, loginHint: 'jane@example.com' }),
      cacheFileName({ ...key, loginHint: 'ops@example.com' }),
    ]);
    expect(names.size).toBe(6);
    expect(sameCacheKey(key, { ...key, loginHint: 'jane@example.com' })).toBe(false);
  });

  it('names files readably, with a short hash of the whole key', () => {
    const name = cacheFileName({ ...key, loginHint: 'jane@example.com' });
    expect(name).toMatch(/^dex\.example\.com_dex_k8s-auth_jane_example\.com_[0-9a-f]{12}\.json$/);
    expect(name.endsWith(`_${cacheKeyHash({ ...key, loginHint: 'jane@example.com' })}.json`)).toBe(true);
    // a hostile client id cannot climb out of the directory
    expect(cacheFileName({ ...key, clientId: '../../etc/passwd' })).not.toContain('/');
  });

  it('lives in --token-cache-dir, else $KUBECACHEDIR/k8s-auth, else ~/.kube/cache/k8s-auth', () => {
    expect(tokenCacheDirectory({}, '/home/jane')).toBe('/home/jane/.kube/cache/k8s-auth');
    expect(tokenCacheDirectory({ KUBECACHEDIR: '/var/cache/kube' }, '/home/jane')).toBe('/var/cache/kube/k8s-auth');
    expect(tokenCacheDirectory({ KUBECACHEDIR: '/var/cache/kube' }, '/home/jane', '/tmp/c')).toBe('/tmp/c');
    const file = cacheFilePath('/tmp/c', key);
    expect(file.startsWith('/tmp/c/')).toBe(true);
    expect(cacheLockPath(file)).toBe(`${file}.lock`);
  });

  it('hashes with FNV-1a 64 (published test vectors)', () => {
    expect(fnv1a64('').toString(16)).toBe('cbf29ce484222325');
    expect(fnv1a64('a').toString(16)).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar').toString(16)).toBe('85944171f73967e8');
    expect(cacheKeyHash(key)).toMatch(/^[0-9a-f]{12}$/);
  });

  it('reads scopes separated by spaces or commas', () => {
    expect(parseScopes('openid email,groups  offline_access')).toEqual(['openid', 'email', 'groups', 'offline_access']);
  });
});

describe('cache file format', () => {
  it('round-trips, storing the key fields next to the tokens', () => {
    const e = { ...entry(2_000_000_000, 'refresh-1'), user: 'jane@example.com' };
    const text = serializeCachedTokens(e);
    const raw = JSON.parse(text) as Record<string, unknown>;
    expect(raw['version']).toBe(CACHE_FORMAT_VERSION);
    expect(raw['issuer']).toBe(key.issuer);
    expect(raw['scopes']).toEqual(['email', 'groups', 'offline_access', 'openid']);
    const parsed = parseCachedTokens(text, key);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(parsed.entry.idToken).toBe(e.idToken);
      expect(parsed.entry.refreshToken).toBe('refresh-1');
      expect(parsed.entry.user).toBe('jane@example.com');
    }
  });

  it('keeps the connection details (CA, whether the client is confidential), never a client secret', () => {
    const e: CachedTokens = { ...entry(2_000_000_000, 'rt'), connection: { confidentialClient: false, idpCertificateAuthorityData: 'Q0E=' } };
    const parsed = parseCachedTokens(serializeCachedTokens(e), key);
    expect(parsed.ok && parsed.entry.connection).toEqual({ confidentialClient: false, idpCertificateAuthorityData: 'Q0E=' });
    const without = parseCachedTokens(serializeCachedTokens(entry(2_000_000_000)), key);
    expect(without.ok && without.entry.connection).toBeUndefined();
    expect(serializeCachedTokens(e)).not.toMatch(/secret/i);
  });

  it('refuses a file written for another key, another version, or garbage', () => {
    const text = serializeCachedTokens(entry(2_000_000_000));
    expect(parseCachedTokens(text, { ...key, clientId: 'other' })).toEqual({ ok: false, problem: expect.stringContaining('another') });
    expect(parseCachedTokens(text.replace('"version": 1', '"version": 2'), key).ok).toBe(false);
    expect(parseCachedTokens('{', key)).toEqual({ ok: false, problem: 'is not valid JSON' });
    expect(parseCachedTokens('{"version":1,"issuer":"x"}', key).ok).toBe(false);
  });
});

describe('freshness decision', () => {
  const now = 1_700_000_000_000;

  it('is fresh only while the token stays valid beyond the skew', () => {
    expect(decideFreshness(entry(now / 1000 + 61), now, 60)).toEqual({ state: 'fresh', expiresAtMs: now + 61_000 });
    expect(decideFreshness(entry(now / 1000 + 60), now, 60)).toMatchObject({ state: 'stale', reason: 'expiring' });
    expect(decideFreshness(entry(now / 1000 + 60), now, 0)).toMatchObject({ state: 'fresh' });
    expect(decideFreshness(entry(now / 1000 - 1, 'rt'), now, 60)).toEqual({ state: 'stale', reason: 'expired', refreshToken: 'rt', expiresAtMs: now - 1000 });
  });

  it('says whether a refresh can help, and never trusts a token without exp', () => {
    expect(decideFreshness(undefined, now, 60)).toEqual({ state: 'stale', reason: 'missing' });
    expect(decideFreshness(entry(now / 1000 - 1), now, 60)).not.toHaveProperty('refreshToken');
    const noExp = { ...entry(0, 'rt'), idToken: jwt({ sub: 'jane' }) };
    expect(decideFreshness(noExp, now, 60)).toEqual({ state: 'stale', reason: 'no-expiry', refreshToken: 'rt' });
    expect(jwtExpiryMs('not-a-jwt')).toBeUndefined();
    expect(jwtExpiryMs(jwt({ exp: 'soon' }))).toBeUndefined();
  });

  it('reads seconds as 90, 90s, 2m or 1h', () => {
    expect(parseSeconds('90')).toBe(90);
    expect(parseSeconds('90s')).toBe(90);
    expect(parseSeconds('2m')).toBe(120);
    expect(parseSeconds('1H')).toBe(3600);
    expect(parseSeconds('-1')).toBeUndefined();
    expect(parseSeconds('1.5m')).toBe(90);
    expect(parseSeconds('120.5')).toBe(120.5);
    expect(parseSeconds('1e3')).toBeUndefined();
    expect(parseSeconds('')).toBeUndefined();
  });
});
