import { chmodSync, mkdirSync, statSync } from 'node:fs';
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

/** Creates the cache directory 0700 (tightening one we created earlier with looser bits). */
export function ensureCacheDirectory(directory: string): void {
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    if ((statSync(directory).mode & 0o077) !== 0) chmodSync(directory, 0o700);
  } catch (error) {
    throw new CliError(ExitCode.KUBECONFIG, `cannot create the token cache directory ${directory}: ${describeError(error)}`, {
      hint: 'set KUBECACHEDIR or --token-cache-dir to a writable directory',
    });
  }
}

export function writeCachedTokens(cache: TokenCache, entry: CachedTokens): void {
  registerSecret(entry.idToken);
  registerSecret(entry.refreshToken);
  ensureCacheDirectory(cache.directory);
  try {
    writeFileAtomic(cache.file, serializeCachedTokens(entry), 0o600);
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
  ensureCacheDirectory(cache.directory);
  return acquireLock(cacheLockPath(cache.file), {
    timeoutMs: options.timeoutMs,
    description: `the token cache entry ${cache.file}`,
    onWait: () => options.onWait?.(),
  });
}
