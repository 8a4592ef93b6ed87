import { isAbsolute, resolve } from 'node:path';
import type { SignInResult } from '../adapters/oidc-client.js';
import { checkTokenCache, lockTokenCache, openTokenCache, readCachedTokens, writeCachedTokens } from '../adapters/token-cache.js';
import { clearSignInFailure } from '../adapters/sign-in-cooldown.js';
import { scopesFor, type ClusterEntry } from '../core/cluster-entry.js';
import { buildCredentialArgs, buildExecUser, type ExecApiVersion } from '../core/exec-credential.js';
import { DEFAULT_LOCK_TIMEOUT_SECONDS } from '../core/token-cache-freshness.js';
import { cacheEntryFrom, keyForEntry } from './credential.js';

/**
 * `login --exec`: the kubeconfig user becomes an exec credential plugin (`k8s-auth credential`)
 * instead of an auth-provider holding the tokens, and the tokens go to the token cache, so the
 * first kubectl call is answered from it at once.
 */
export interface ExecLoginOptions {
  /** `k8s-auth` (found on kubectl's PATH) or --exec-command PATH. */
  command: string;
  apiVersion: ExecApiVersion;
  /** --token-cache-dir, repeated into the exec args. */
  cacheDir?: string;
  /** --login-hint: part of the cache key, repeated into the exec args. */
  loginHint?: string;
  /** Options the full credential path needs on a miss: catalog, grant, CA files… */
  extraArgs: readonly string[];
  /** Non-secret environment the plugin needs (e.g. VAULT_ADDR), written into user.exec.env. */
  env?: readonly { name: string; value: string }[];
  lockTimeoutMs?: number;
}

/** The kubeconfig `user` for an entry, running `k8s-auth credential <cluster> …`. */
export function execUserFor(entry: ClusterEntry, options: ExecLoginOptions): Record<string, unknown> {
  const args = buildCredentialArgs({
    cluster: entry.name,
    issuer: entry.issuerUrl,
    clientId: entry.clientId,
    scopes: scopesFor(entry),
    ...(options.loginHint ? { loginHint: options.loginHint } : {}),
    ...(options.cacheDir ? { cacheDir: absolute(options.cacheDir) } : {}),
    extra: options.extraArgs,
  });
  return buildExecUser({ apiVersion: options.apiVersion, command: options.command, args, ...(options.env ? { env: options.env } : {}) });
}

/** kubectl runs the plugin from wherever the user is: relative paths would break. */
export function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}

/** Stores a sign-in under the entry's cache key (under the entry's lock); returns the file. */
export async function storeForExec(entry: ClusterEntry, result: SignInResult, options: ExecLoginOptions, nowMs = Date.now()): Promise<string> {
  const key = keyForEntry(entry, options.loginHint);
  const cache = openTokenCache(key, options.cacheDir ? absolute(options.cacheDir) : undefined);
  const release = await lockTokenCache(cache, { timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_SECONDS * 1000 });
  try {
    // the same sign-in may already serve other clusters: keep them, so a bare `credential <cluster>` finds each
    writeCachedTokens(cache, cacheEntryFrom(key, result, entry, nowMs, readCachedTokens(cache)));
    // a person signed in: background callers may sign in again when they must
    clearSignInFailure(cache.file);
  } finally {
    release();
  }
  return cache.file;
}

/**
 * Before anyone signs in: the token cache directory (and, with --login-hint, the entry's file and
 * lock) must be ours, not writable by others, and not symlinks. Without a hint the entry is named
 * after whoever signs in; its file and lock are checked again before the write.
 */
export function checkExecCache(entries: readonly ClusterEntry[], options: ExecLoginOptions): void {
  for (const entry of entries) {
    const key = keyForEntry(entry, options.loginHint);
    const cache = openTokenCache(key, options.cacheDir ? absolute(options.cacheDir) : undefined);
    checkTokenCache(cache, { entry: options.loginHint !== undefined });
  }
}
