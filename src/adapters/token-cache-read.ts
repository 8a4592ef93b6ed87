import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { CliError, ExitCode, describeError } from '../errors.js';
import { CREDENTIAL_FLAGS, readCredentialFlags } from '../core/exec-credential.js';
import { parseCachedTokens, type CachedTokens } from '../core/token-cache-entry.js';
import { cacheFilePath, normalizeCacheKey, parseScopes, tokenCacheDirectory, type TokenCacheKey } from '../core/token-cache-key.js';
import { registerSecret } from '../ui/redact.js';
import { debug, warn } from '../ui/log.js';

/**
 * The token cache on disk: one JSON file per key (see core/token-cache-key.ts) in a 0700
 * directory, each file 0600, written atomically so a concurrent reader (the hot path takes no
 * lock) sees the old or the new file, never half of one. Writers serialise on `<file>.lock`.
 */
export interface TokenCache {
  directory: string;
  file: string;
  key: TokenCacheKey;
  /** The tool's own default directory (no --token-cache-dir): only that one is ever tightened. */
  defaultDirectory: boolean;
}

export function openTokenCache(key: TokenCacheKey, directoryOverride?: string, env: NodeJS.ProcessEnv = process.env): TokenCache {
  const directory = tokenCacheDirectory(env, homedir(), directoryOverride);
  return { directory, file: cacheFilePath(directory, key), key, defaultDirectory: !directoryOverride };
}

/**
 * The cache file's text, opened without following a symlink (O_NOFOLLOW) nor blocking on a
 * FIFO, and only when it is a plain file owned by us (or root). Undefined when absent.
 */
function readOwnFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') {
      throw new CliError(ExitCode.KUBECONFIG, `the token cache file ${file} is a symbolic link: k8s-auth does not read or write credentials through one (someone may have planted it)`, { hint: 'remove it, then run again' });
    }
    throw new CliError(ExitCode.KUBECONFIG, `cannot read the token cache file ${file}: ${describeError(error)}`, { hint: 'check its owner and permissions, or remove it to sign in again' });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CliError(ExitCode.KUBECONFIG, `the token cache file ${file} is not a regular file`, { hint: 'remove it, then run again' });
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
      throw new CliError(ExitCode.KUBECONFIG, `the token cache file ${file} is owned by uid ${st.uid}, not you (uid ${uid}): another user put it there`, { hint: 'remove it, and keep the cache in a directory only you can write' });
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

const warnedAbout = new Set<string>();

/** Cached tokens, or undefined when absent; an unusable file is reported and ignored (the next write replaces it). */
export function readCachedTokens(cache: TokenCache): CachedTokens | undefined {
  const text = readOwnFile(cache.file);
  if (text === undefined) {
    debug(`no cached tokens in ${cache.file}`);
    return undefined;
  }
  const parsed = parseCachedTokens(text, cache.key);
  if (!parsed.ok) {
    // the file is read before and again after taking the lock: say it once
    const warning = `ignoring token cache file ${cache.file}: it ${parsed.problem}`;
    if (!warnedAbout.has(warning)) warn(warning);
    warnedAbout.add(warning);
    return undefined;
  }
  registerSecret(parsed.entry.idToken);
  registerSecret(parsed.entry.refreshToken);
  return parsed.entry;
}

/**
 * The cache entry an exec-plugin user reads: its `credential <cluster>` arguments name the key
 * (issuer, client, scopes, login hint) and the cache directory, so no catalog is needed.
 * Undefined when the arguments are not k8s-auth's or lack the key.
 */
export function execTokenCache(args: readonly string[], env: NodeJS.ProcessEnv = process.env): TokenCache | undefined {
  const at = args.indexOf('credential');
  if (at === -1) return undefined;
  const flags = readCredentialFlags(args.slice(at + 2), { hotPath: false });
  const flag = (name: string): string | undefined => flags?.get(name);
  const issuer = flag(CREDENTIAL_FLAGS.issuer);
  const clientId = flag(CREDENTIAL_FLAGS.clientId);
  const scopes = flag(CREDENTIAL_FLAGS.scopes);
  if (!issuer || !clientId || scopes === undefined) return undefined;
  const loginHint = flag(CREDENTIAL_FLAGS.loginHint);
  const key = normalizeCacheKey({ issuer, clientId, scopes: parseScopes(scopes), ...(loginHint ? { loginHint } : {}) });
  return openTokenCache(key, flag(CREDENTIAL_FLAGS.cacheDir), env);
}
