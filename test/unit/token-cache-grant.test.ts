// The cache entry's newer fields (issue 13): the granted scope and the clusters a sign-in serves.
// Older entries stay readable; what a refresh sends; the failed-sign-in cool-down rule; the
// directory scan behind a bare `credential <cluster>`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAnyCachedTokens, parseCachedTokens, serializeCachedTokens, type CachedTokens } from '../../src/core/token-cache-entry.js';
import { cooldownRemainingSeconds, cooldownSecondsFrom, parseSignInFailure, serializeSignInFailure } from '../../src/core/sign-in-cooldown.js';
import { cacheFilePath, type TokenCacheKey } from '../../src/core/token-cache-key.js';
import { cachedEntriesForCluster } from '../../src/credential/hot-path.js';
import { cacheEntryFrom, refreshScopeFor } from '../../src/usecases/credential.js';
import type { ClusterEntry } from '../../src/core/cluster-entry.js';
import { ambiguousIdentitiesMessage } from '../../src/core/cached-identities.js';

const key: TokenCacheKey = { issuer: 'https://idp.example/dex', clientId: 'k8s-auth', scopes: ['openid', 'groups', 'offline_access', 'federated:id'], loginHint: 'jane@example.com' };
const base: CachedTokens = { key, idToken: 'a.b.c', refreshToken: 'r', expiresAt: '2030-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };

describe('cache entry: granted scope and clusters', () => {
  it('round-trips both; the key keeps the requested scopes', () => {
    const text = serializeCachedTokens({ ...base, grantedScope: 'openid groups offline_access', clusters: ['prod', 'dev', 'prod'] });
    const parsed = parseCachedTokens(text, key);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.entry.grantedScope).toBe('openid groups offline_access');
    expect(parsed.entry.clusters).toEqual(['dev', 'prod']);
    expect(parsed.entry.key.scopes).toEqual(['federated:id', 'groups', 'offline_access', 'openid']);
  });

  it('an entry written before these fields parses, and its refresh sends the key scopes', () => {
    const old = JSON.stringify({ version: 1, issuer: key.issuer, clientId: key.clientId, scopes: key.scopes, loginHint: key.loginHint, expiresAt: base.expiresAt, updatedAt: base.updatedAt, idToken: 'a.b.c', refreshToken: 'r' });
    const parsed = parseCachedTokens(old, key);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.entry.grantedScope).toBeUndefined();
    expect(parsed.entry.clusters).toBeUndefined();
    expect(refreshScopeFor(parsed.entry.key, parsed.entry)).toBe('federated:id groups offline_access openid');
  });

  it('a refresh sends the granted scope exactly as the provider wrote it (an empty grant too)', () => {
    expect(refreshScopeFor(key, { ...base, grantedScope: 'openid  offline_access groups' })).toBe('openid  offline_access groups');
    const empty = parseAnyCachedTokens(serializeCachedTokens({ ...base, grantedScope: '' }));
    expect(empty.ok && empty.entry.grantedScope).toBe('');
  });

  it('another key is still refused; junk in the new fields is ignored', () => {
    expect(parseCachedTokens(serializeCachedTokens(base), { ...key, loginHint: 'ops@example.com' })).toMatchObject({ ok: false });
    const junk = JSON.parse(serializeCachedTokens(base)) as Record<string, unknown>;
    junk['grantedScope'] = 42;
    junk['clusters'] = ['ok', 7];
    const parsed = parseAnyCachedTokens(JSON.stringify(junk));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect([parsed.entry.grantedScope, parsed.entry.clusters]).toEqual([undefined, undefined]);
  });

  it('cacheEntryFrom keeps the clusters of the entry it replaces and takes the granted scope of the response', () => {
    const entry = { name: 'dev', clientSecret: undefined, idpCertificateAuthorityData: undefined, usernameClaim: 'email' } as unknown as ClusterEntry;
    const tokens = { idToken: 'x.y.z', expiresAt: 1_900_000_000, claims: { email: 'jane@example.com' }, scope: 'openid groups' };
    const cached = cacheEntryFrom(key, tokens, entry, 0, { ...base, clusters: ['prod'], grantedScope: 'old' }, 'dev');
    expect(cached.clusters).toEqual(['dev', 'prod']);
    expect(cached.grantedScope).toBe('openid groups');
    const { scope: _dropped, ...withoutScope } = tokens;
    expect(cacheEntryFrom(key, withoutScope, entry, 0).grantedScope).toBeUndefined();
  });
});

describe('sign-in cool-down', () => {
  it('reads K8S_AUTH_SIGNIN_COOLDOWN: default 30, seconds or units, 0 off, junk undefined', () => {
    expect(cooldownSecondsFrom({})).toBe(30);
    expect(cooldownSecondsFrom({ K8S_AUTH_SIGNIN_COOLDOWN: '' })).toBe(30);
    expect(cooldownSecondsFrom({ K8S_AUTH_SIGNIN_COOLDOWN: '2m' })).toBe(120);
    expect(cooldownSecondsFrom({ K8S_AUTH_SIGNIN_COOLDOWN: '0' })).toBe(0);
    expect(cooldownSecondsFrom({ K8S_AUTH_SIGNIN_COOLDOWN: '-1' })).toBeUndefined();
  });

  it('counts down from the failure; off at 0; a failure in the future (clock set back) counts from now', () => {
    const failure = { failedAtMs: 100_000, reason: 'no sign-in within 180s' };
    expect(cooldownRemainingSeconds(failure, 100_000, 30)).toBe(30);
    expect(cooldownRemainingSeconds(failure, 110_500, 30)).toBe(20);
    expect(cooldownRemainingSeconds(failure, 130_000, 30)).toBe(0);
    expect(cooldownRemainingSeconds(failure, 100_000, 0)).toBe(0);
    expect(cooldownRemainingSeconds(undefined, 100_000, 30)).toBe(0);
    expect(cooldownRemainingSeconds(failure, 40_000, 30)).toBe(30);
  });

  it('the record round-trips; a broken one is no record; control characters never reach the terminal', () => {
    expect(parseSignInFailure(serializeSignInFailure({ failedAtMs: 1_700_000_000_000, reason: 'denied' }))).toEqual({ failedAtMs: 1_700_000_000_000, reason: 'denied' });
    expect(parseSignInFailure('{')).toBeUndefined();
    expect(parseSignInFailure('{"failedAt":"not a date"}')).toBeUndefined();
    expect(parseSignInFailure('{"failedAt":"2026-01-01T00:00:00Z","reason":"a\\u001b[31mb\\nc"}')?.reason).toBe('a [31mb c');
  });
});

describe('the cache directory scan for a bare credential <cluster>', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-scan-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the entries naming the cluster, filters by login hint, skips other files and broken ones', () => {
    const ops: TokenCacheKey = { ...key, loginHint: 'ops@example.com' };
    writeFileSync(cacheFilePath(dir, key), serializeCachedTokens({ ...base, clusters: ['dev', 'prod'] }));
    writeFileSync(cacheFilePath(dir, ops), serializeCachedTokens({ ...base, key: ops, clusters: ['prod'] }));
    writeFileSync(join(dir, 'old-entry.json'), serializeCachedTokens({ ...base, key: { ...key, loginHint: 'old' } }));
    writeFileSync(join(dir, 'broken.json'), '{');
    writeFileSync(`${cacheFilePath(dir, key)}.signin-failed`, '{}');
    expect(cachedEntriesForCluster(dir, 'dev').map((m) => m.entry.key.loginHint)).toEqual(['jane@example.com']);
    expect(cachedEntriesForCluster(dir, 'prod').map((m) => m.entry.key.loginHint).sort()).toEqual(['jane@example.com', 'ops@example.com']);
    expect(cachedEntriesForCluster(dir, 'prod', 'ops@example.com').map((m) => m.entry.key.loginHint)).toEqual(['ops@example.com']);
    expect(cachedEntriesForCluster(dir, 'staging')).toEqual([]);
    expect(cachedEntriesForCluster(join(dir, 'missing'), 'dev')).toEqual([]);
  });
});

describe('several cached sign-ins for one cluster', () => {
  it('told apart by login hint: names them and suggests --login-hint', () => {
    const ops = { ...base, key: { ...key, loginHint: 'ops@example.com' } };
    expect(ambiguousIdentitiesMessage('dev', [base, ops])).toBe(
      "2 cached sign-ins serve 'dev' (jane@example.com; ops@example.com): pick one with --login-hint, e.g. `k8s-auth credential dev --login-hint jane@example.com`",
    );
  });

  it('same hint at two issuers: says what differs and to give the identity args', () => {
    const other = { ...base, key: { ...key, issuer: 'https://other.example/dex' } };
    expect(ambiguousIdentitiesMessage('dev', [base, other])).toBe(
      "2 cached sign-ins serve 'dev' (jane@example.com at https://idp.example/dex; jane@example.com at https://other.example/dex): pick one with --issuer, --client-id, --scopes and --login-hint as `login --exec` wrote them in the kubeconfig",
    );
  });
});
