import { chmodSync, mkdirSync } from 'node:fs';
import { checkDirectory, refuseLinkedFile, type DirectoryWords } from './directory-check.js';
import { acquireLock, type ReleaseLock } from './file-lock.js';
import { writeFileAtomic } from './atomic-file.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { serializeCachedTokens, type CachedTokens } from '../core/token-cache-entry.js';
import { cacheLockPath } from '../core/token-cache-key.js';
import { registerSecret } from '../ui/redact.js';
import { debug } from '../ui/log.js';

// reading lives apart from locking and writing, so read-only callers (`token`) load less
export { openTokenCache, readCachedTokens, type TokenCache } from './token-cache-read.js';
import { type TokenCache } from './token-cache-read.js';

const CACHE_DIRECTORY: DirectoryWords = {
  what: 'token cache directory',
  risk: 'read or replace your tokens there, or plant a link for k8s-auth to write through',
  hint: 'use a directory only you can write (mkdir -m 700 DIR) with --token-cache-dir or KUBECACHEDIR, or the default ~/.kube/cache/k8s-auth',
};

/**
 * Refuses, before anything is read or written (and before any sign-in), a cache directory that
 * is someone else's or writable by others, and a cache or lock file that is a symlink. A
 * directory that does not exist yet passes: it will be created 0700.
 */
export function checkTokenCache(cache: TokenCache, options: { entry?: boolean } = {}): void {
  checkDirectory(cache.directory, CACHE_DIRECTORY);
  if (options.entry === false) return; // the entry is not named yet (whoever signs in names it)
  refuseLinkedFile(cache.file, 'token cache file');
  refuseLinkedFile(cacheLockPath(cache.file), 'token cache lock file');
}

/**
 * Creates the cache directory 0700, or checks the one that exists: refused when it is someone
 * else's or writable by others, and never chmod'ed (`--token-cache-dir /tmp` must not close
 * /tmp), except the tool's own default directory, which an older version may have left 0755.
 */
export function ensureCacheDirectory(directory: string, ownDefault = false): void {
  let created: string | undefined;
  try {
    created = mkdirSync(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new CliError(ExitCode.KUBECONFIG, `cannot create the token cache directory ${directory}: ${describeError(error)}`, {
      hint: 'set KUBECACHEDIR or --token-cache-dir to a writable directory',
    });
  }
  if (created !== undefined) return; // ours, just made 0700 (a umask only removes bits)
  const facts = checkDirectory(directory, CACHE_DIRECTORY);
  if (ownDefault && facts && facts.linkUid === undefined && facts.uid === process.getuid?.() && (facts.mode & 0o077) !== 0) {
    try {
      chmodSync(directory, 0o700);
      debug(`tightened the token cache directory ${directory} to 0700`);
    } catch (error) {
      debug(`cannot tighten ${directory}: ${describeError(error)}`);
    }
  }
}

export function writeCachedTokens(cache: TokenCache, entry: CachedTokens): void {
  registerSecret(entry.idToken);
  registerSecret(entry.refreshToken);
  ensureCacheDirectory(cache.directory, cache.defaultDirectory);
  refuseLinkedFile(cache.file, 'token cache file');
  try {
    // never through a symlink: the rename replaces the name itself
    writeFileAtomic(cache.file, serializeCachedTokens(entry), 0o600, { followSymlink: false });
  } catch (error) {
    throw new CliError(ExitCode.KUBECONFIG, `cannot write the token cache file ${cache.file}: ${describeError(error)}`);
  }
  debug(`cached tokens in ${cache.file} (ID token valid until ${entry.expiresAt})`);
}

export interface CacheLockOptions {
  timeoutMs: number;
  onWait?: () => void;
}

/**
 * The per-entry lock: one refresh or sign-in per identity at a time, the others wait (bounded
 * by the timeout) and then re-read the cache. A holder that died is detected by pid.
 */
export async function lockTokenCache(cache: TokenCache, options: CacheLockOptions): Promise<ReleaseLock> {
  ensureCacheDirectory(cache.directory, cache.defaultDirectory);
  checkTokenCache(cache);
  return acquireLock(cacheLockPath(cache.file), {
    timeoutMs: options.timeoutMs,
    description: `the token cache entry ${cache.file}`,
    onWait: () => options.onWait?.(),
  });
}
