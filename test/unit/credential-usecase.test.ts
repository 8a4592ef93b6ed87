// The credential use case (usecases/credential.ts) with fakes behind its ports: an in-memory
// token store with a lock that can let "another process" write while we wait, and a provider
// session that records what it was asked. The same rules run through child processes and real
// providers in test/integration/credential-*.test.ts; here each branch is one fast case.
import { describe, expect, it } from 'vitest';
import type { TokenCache } from '../../src/adapters/token-cache.js';
import { RefreshRejectedError, RefreshWithoutIdTokenError } from '../../src/adapters/grant-errors.js';
import type { GrantTokens } from '../../src/adapters/oidc-grants.js';
import type { ClusterEntry } from '../../src/core/cluster-entry.js';
import type { SignInFailure } from '../../src/core/sign-in-cooldown.js';
import type { CachedTokens } from '../../src/core/token-cache-entry.js';
import type { TokenCacheKey } from '../../src/core/token-cache-key.js';
import { ExitCode } from '../../src/errors.js';
import { getCredential, keyForEntry, type CredentialDeps, type CredentialRequest, type TokenStore } from '../../src/usecases/credential.js';
import type { SignInRequest, SignInTarget } from '../../src/usecases/provider-session.js';

const NOW = 1_800_000_000_000;
const ENTRY: ClusterEntry = { name: 'lab', server: 'https://api.lab', issuerUrl: 'https://idp.example', clientId: 'kube', extraScopes: [], usernameClaim: 'email', groupsClaim: 'groups' };
const KEY = keyForEntry(ENTRY);

/** An unsigned JWT-shaped token expiring at `expMs` (the use case reads `exp` without verifying, as kubectl does). */
function token(expMs: number, tag = 'x'): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part({ exp: Math.floor(expMs / 1000), email: 'jane@example.com', tag })}.sig`;
}

function grant(expMs: number, tag: string, refreshToken?: string): GrantTokens {
  return { idToken: token(expMs, tag), ...(refreshToken ? { refreshToken } : {}), expiresAt: Math.floor(expMs / 1000), claims: { email: 'jane@example.com' } };
}

function cached(expMs: number, refreshToken?: string, extra: Partial<CachedTokens> = {}): CachedTokens {
  return { key: KEY, idToken: token(expMs, 'cached'), ...(refreshToken ? { refreshToken } : {}), expiresAt: new Date(expMs).toISOString(), updatedAt: new Date(NOW - 60_000).toISOString(), ...extra };
}

interface FakeStore extends TokenStore {
  files: Map<string, CachedTokens>;
  failures: Map<string, SignInFailure>;
  locks: number;
  held: boolean;
  /** Runs while the lock is being waited for: another process's work. */
  whileWaiting?: () => void;
}

function fakeStore(initial?: CachedTokens): FakeStore {
  const store: FakeStore = {
    files: new Map(),
    failures: new Map(),
    locks: 0,
    held: false,
    open: (key: TokenCacheKey): TokenCache => ({ directory: '/mem', file: `/mem/${key.clientId}.json`, key, defaultDirectory: true }),
    read: (cache) => store.files.get(cache.file),
    write: (cache, entry) => void store.files.set(cache.file, entry),
    lock: async () => {
      if (store.held) throw new Error('lock taken twice');
      store.whileWaiting?.();
      store.locks++;
      store.held = true;
      return () => void (store.held = false);
    },
    entriesServing: () => [],
    readFailure: (file) => store.failures.get(file),
    recordFailure: (file, failure) => void store.failures.set(file, failure),
    clearFailure: (file) => void store.failures.delete(file),
  };
  if (initial) store.files.set('/mem/kube.json', initial);
  return store;
}

interface Calls {
  refresh: { refreshToken: string; scope: string | undefined }[];
  signIn: { target: SignInTarget; request: SignInRequest }[];
  catalog: number;
}

function deps(store: FakeStore, session: { refresh?: () => Promise<GrantTokens>; signIn?: () => Promise<GrantTokens> }, needsPerson = true): { deps: CredentialDeps; calls: Calls } {
  const calls: Calls = { refresh: [], signIn: [], catalog: 0 };
  return {
    calls,
    deps: {
      resolveEntry: async () => {
        calls.catalog++;
        return ENTRY;
      },
      session: {
        endpointOf: (c) => ({ issuerUrl: c.issuerUrl, clientId: c.clientId, caPems: [] }),
        refresh: async (_connection, refreshToken, scope) => {
          calls.refresh.push({ refreshToken, scope });
          if (!session.refresh) throw new Error('refresh not expected');
          return session.refresh();
        },
        signIn: async (target, request) => {
          calls.signIn.push({ target, request });
          if (!session.signIn) throw new Error('sign-in not expected');
          return session.signIn();
        },
      },
      signInNeedsPerson: needsPerson,
      store,
      now: () => NOW,
    },
  };
}

const request = (over: Partial<CredentialRequest> = {}): CredentialRequest => ({ cluster: 'lab', key: KEY, skewSeconds: 10, lockTimeoutMs: 1000, interactive: false, ...over });

describe('getCredential with fakes behind its ports', () => {
  it('a fresh cached token: returned without the lock, the catalog or the provider', async () => {
    const store = fakeStore(cached(NOW + 3_600_000, 'rt'));
    const { deps: d, calls } = deps(store, {});
    const result = await getCredential(request(), d);
    expect(result).toEqual({ token: token(NOW + 3_600_000, 'cached'), expiresAtMs: Math.floor((NOW + 3_600_000) / 1000) * 1000, source: 'cache' });
    expect([store.locks, calls.catalog, calls.refresh.length]).toEqual([0, 0, 0]);
  });

  it('expired with a refresh token: refreshed under the lock with the granted scope, written, lock released', async () => {
    const store = fakeStore(cached(NOW - 1000, 'rt-1', { grantedScope: 'openid email' }));
    const { deps: d, calls } = deps(store, { refresh: async () => grant(NOW + 3_600_000, 'refreshed', 'rt-2') });
    const result = await getCredential(request(), d);
    expect(result.source).toBe('refresh');
    expect(calls.refresh).toEqual([{ refreshToken: 'rt-1', scope: 'openid email' }]);
    expect(store.files.get('/mem/kube.json')).toMatchObject({ idToken: token(NOW + 3_600_000, 'refreshed'), refreshToken: 'rt-2', grantedScope: 'openid email' });
    expect([store.locks, store.held]).toEqual([1, false]);
  });

  it('another process refreshed while we waited for the lock: its token is reused, no refresh', async () => {
    const store = fakeStore(cached(NOW - 1000, 'rt-1'));
    store.whileWaiting = () => store.files.set('/mem/kube.json', cached(NOW + 600_000, 'rt-other'));
    const { deps: d, calls } = deps(store, {});
    const result = await getCredential(request(), d);
    expect(result.source).toBe('cache');
    expect(calls.refresh).toEqual([]);
    expect(store.held).toBe(false);
  });

  it('a refused refresh token in a run that may not interact: exit 10 with the reason, no sign-in, lock released', async () => {
    const store = fakeStore(cached(NOW - 1000, 'rt-dead'));
    const { deps: d, calls } = deps(store, { refresh: async () => Promise.reject(new RefreshRejectedError('https://idp.example', 'invalid_grant', undefined)) });
    const error = await getCredential(request({ nonInteractiveReason: 'kubectl says this run has no terminal' }), d).catch((e: unknown) => e);
    expect(error).toMatchObject({ exitCode: ExitCode.INTERACTION_REQUIRED, message: expect.stringContaining('no longer accepts the cached refresh token (invalid_grant)') });
    expect(calls.signIn).toEqual([]);
    expect(store.held).toBe(false);
  });

  it('a provider failure on refresh is not a reason to sign in: it propagates as is', async () => {
    const store = fakeStore(cached(NOW - 1000, 'rt'));
    const down = Object.assign(new Error('connect ECONNREFUSED'), { exitCode: ExitCode.PROVIDER });
    const { deps: d, calls } = deps(store, { refresh: async () => Promise.reject(down) });
    await expect(getCredential(request({ interactive: true }), d)).rejects.toBe(down);
    expect(calls.signIn).toEqual([]);
  });

  it('refused, interactive: signs in with the catalog entry and the key\'s scopes, and names the cluster on the page', async () => {
    const store = fakeStore(cached(NOW - 1000, 'rt-dead'));
    const { deps: d, calls } = deps(store, {
      refresh: async () => Promise.reject(new RefreshRejectedError('https://idp.example', 'invalid_grant', undefined)),
      signIn: async () => grant(NOW + 3_600_000, 'signed-in', 'rt-new'),
    });
    const result = await getCredential(request({ interactive: true }), d);
    expect(result.source).toBe('sign-in');
    expect(calls.catalog).toBe(1);
    expect(calls.signIn[0]?.target).toMatchObject({ issuerUrl: 'https://idp.example', clientId: 'kube' });
    expect(calls.signIn[0]?.request).toMatchObject({ scopes: KEY.scopes, clusters: ['lab'] });
    expect(store.files.get('/mem/kube.json')?.refreshToken).toBe('rt-new');
  });

  it('a failed sign-in is recorded; the next background caller within the cool-down opens no browser (exit 10)', async () => {
    const store = fakeStore();
    const first = deps(store, { signIn: async () => Promise.reject(Object.assign(new Error('the person closed the tab'), { exitCode: ExitCode.PROVIDER })) });
    await expect(getCredential(request({ interactive: true, signInCooldownSeconds: 60 }), first.deps)).rejects.toThrow('closed the tab');
    expect(store.failures.get('/mem/kube.json')).toMatchObject({ failedAtMs: NOW });
    const second = deps(store, { signIn: async () => grant(NOW + 3_600_000, 'never') });
    const error = await getCredential(request({ interactive: true, signInCooldownSeconds: 60 }), second.deps).catch((e: unknown) => e);
    expect(error).toMatchObject({ exitCode: ExitCode.INTERACTION_REQUIRED, message: expect.stringContaining('but the last one failed 0s ago') });
    expect(second.calls.signIn).toEqual([]);
  });

  it('a password from the environment needs no person: it signs in even when the run may not interact, and clears an old failure', async () => {
    const store = fakeStore();
    store.failures.set('/mem/kube.json', { failedAtMs: NOW - 1000, reason: 'earlier' });
    const { deps: d, calls } = deps(store, { signIn: async () => grant(NOW + 3_600_000, 'ci') }, false);
    expect((await getCredential(request({ interactive: false }), d)).source).toBe('sign-in');
    expect(calls.signIn).toHaveLength(1);
    expect(store.failures.size).toBe(0);
  });

  it('a public client\'s cached connection refreshes without the catalog (no Vault token needed)', async () => {
    const store = fakeStore(cached(NOW - 1000, 'rt', { connection: { confidentialClient: false } }));
    const { deps: d, calls } = deps(store, { refresh: async () => grant(NOW + 3_600_000, 'r') });
    await getCredential(request(), d);
    expect(calls.catalog).toBe(0);
    expect(calls.refresh).toHaveLength(1);
  });

  it('a refresh answered without an ID token keeps the rotated refresh token, then fails as the provider said', async () => {
    const store = fakeStore(cached(NOW - 1000, 'rt-1', { connection: { confidentialClient: false } }));
    const { deps: d } = deps(store, { refresh: async () => Promise.reject(new RefreshWithoutIdTokenError('https://idp.example', 'refresh', 'rt-rotated')) });
    await expect(getCredential(request(), d)).rejects.toMatchObject({ exitCode: ExitCode.PROVIDER });
    expect(store.files.get('/mem/kube.json')?.refreshToken).toBe('rt-rotated');
  });

  it('a login hint: sent to the provider, and a different person signing in is refused before the page says "signed in"', async () => {
    const store = fakeStore();
    const { deps: d, calls } = deps(store, { signIn: async () => grant(NOW + 3_600_000, 'h') }, false);
    await getCredential(request({ key: { ...KEY, loginHint: 'jane@example.com' } }), d);
    const sent = calls.signIn[0]?.request;
    expect(sent?.loginHint).toBe('jane@example.com');
    expect(sent?.describeUser?.({ email: 'jane@example.com' })).toBe('jane@example.com');
    expect(() => sent?.describeUser?.({ email: 'mallory@example.com' })).toThrow(/mallory@example\.com/);
  });
});
