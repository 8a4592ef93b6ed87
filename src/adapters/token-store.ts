import { homedir } from 'node:os';
import { tokenCacheDirectory } from '../core/token-cache-key.js';
import { cachedEntriesForCluster } from '../credential/hot-path.js';
import type { TokenStore } from '../usecases/credential.js';
import { clearSignInFailure, readSignInFailure, recordSignInFailure } from './sign-in-cooldown.js';
import { lockTokenCache, openTokenCache, readCachedTokens, writeCachedTokens } from './token-cache.js';

/** The token cache on disk (adapters/token-cache.ts) as the credential use case's port. */
export const fileTokenStore: TokenStore = {
  open: (key, cacheDir) => openTokenCache(key, cacheDir),
  read: readCachedTokens,
  write: writeCachedTokens,
  lock: lockTokenCache,
  entriesServing: (cluster, cacheDir, loginHint) => cachedEntriesForCluster(tokenCacheDirectory(process.env, homedir(), cacheDir), cluster, loginHint),
  readFailure: readSignInFailure,
  recordFailure: recordSignInFailure,
  clearFailure: clearSignInFailure,
};
