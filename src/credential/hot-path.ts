import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { CREDENTIAL_FLAGS, formatExecCredential, parseExecInfo, readCredentialFlags } from '../core/exec-credential.js';
import { parseAnyCachedTokens, parseCachedTokens, type CachedTokens } from '../core/token-cache-entry.js';
import { parseSeconds } from '../core/seconds.js';
import { DEFAULT_SKEW_SECONDS, decideFreshness } from '../core/token-cache-freshness.js';
import { cacheFilePath, parseScopes, tokenCacheDirectory, type TokenCacheKey } from '../core/token-cache-key.js';

/**
 * kubectl runs the plugin on every invocation, often many at once, so the common case (a cached
 * ID token still valid beyond the skew) must cost little more than starting node. This module
 * and everything it imports use node builtins only: no commander, openid-client, Vault or
 * Kubernetes library, no catalog lookup, no network, no lock (cache writes are atomic renames,
 * so a read sees a whole file). Anything unusual returns undefined and bin/k8s-auth.js falls
 * back to the full CLI, which does the same check again and explains itself.
 */

export interface HotPathInput {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  nowMs: number;
  home: string;
}

/** The ExecCredential JSON to print, or undefined when the full path must run. */
export function cachedCredential(input: HotPathInput): string | undefined {
  const { argv, env } = input;
  if (argv[2] !== 'credential') return undefined;
  const cluster = argv[3];
  if (!cluster || cluster.startsWith('-')) return undefined;
  if (env['K8S_AUTH_VERBOSE']) return undefined;
  const flags = readCredentialFlags(argv.slice(4));
  if (!flags) return undefined;
  const issuer = flags.get(CREDENTIAL_FLAGS.issuer);
  const clientId = flags.get(CREDENTIAL_FLAGS.clientId);
  const scopes = flags.get(CREDENTIAL_FLAGS.scopes);
  const bare = issuer === undefined && clientId === undefined && scopes === undefined;
  if (!bare && (!issuer || !clientId || scopes === undefined)) return undefined;
  const skewText = flags.get(CREDENTIAL_FLAGS.skew) ?? env['K8S_AUTH_SKEW'];
  const skew = skewText === undefined ? DEFAULT_SKEW_SECONDS : parseSeconds(skewText);
  if (skew === undefined) return undefined;
  const execInfo = parseExecInfo(env['KUBERNETES_EXEC_INFO']);
  if (!execInfo.ok) return undefined;
  const directory = tokenCacheDirectory(env, input.home, flags.get(CREDENTIAL_FLAGS.cacheDir));
  const loginHint = flags.get(CREDENTIAL_FLAGS.loginHint);

  let entry: CachedTokens;
  if (bare) {
    // `credential <cluster>` alone: the one cached sign-in that serves this cluster, if there is exactly one
    const matches = cachedEntriesForCluster(directory, cluster, loginHint);
    const only = matches[0];
    if (matches.length !== 1 || !only) return undefined;
    entry = only.entry;
  } else if (issuer && clientId && scopes !== undefined) {
    const key: TokenCacheKey = { issuer, clientId, scopes: parseScopes(scopes) };
    if (loginHint) key.loginHint = loginHint;
    const text = readOwnCacheFile(cacheFilePath(directory, key));
    if (text === undefined) return undefined;
    const parsed = parseCachedTokens(text, key);
    if (!parsed.ok) return undefined;
    entry = parsed.entry;
  } else {
    return undefined;
  }
  const freshness = decideFreshness(entry, input.nowMs, skew);
  if (freshness.state !== 'fresh') return undefined;
  return formatExecCredential(execInfo.info.apiVersion, entry.idToken, freshness.expiresAtMs, execInfo.info.interactive);
}

/**
 * A bare `k8s-auth credential <cluster>` (typed by hand, or an IDE's kubeconfig without the
 * identity args): the cache entries that name the cluster, found by reading the cache directory
 * (no catalog, no Vault). Shared with the full path (usecases/credential.ts).
 */
export interface CachedMatch {
  file: string;
  entry: CachedTokens;
}

/** Entries serving `cluster` (and, given one, written for `loginHint`); unreadable files are skipped. */
export function cachedEntriesForCluster(directory: string, cluster: string, loginHint?: string): CachedMatch[] {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return [];
  }
  const matches: CachedMatch[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.json')) continue;
    const file = join(directory, name);
    // never through a symlink, never a file someone else owns
    const text = readOwnCacheFile(file);
    if (text === undefined) continue;
    const parsed = parseAnyCachedTokens(text);
    if (!parsed.ok || !parsed.entry.clusters?.includes(cluster)) continue;
    if (loginHint !== undefined && parsed.entry.key.loginHint !== loginHint.trim()) continue;
    matches.push({ file, entry: parsed.entry });
  }
  return matches;
}

/**
 * The cache file, only when it is a plain file (never through a symlink: O_NOFOLLOW) owned by
 * us or root; anything else goes to the full path, which refuses it in one line.
 */
function readOwnCacheFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid && st.uid !== 0)) return undefined;
    return readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Prints the cached credential and returns true, or returns false for the full path. */
export function runHotPath(argv: readonly string[] = process.argv): boolean {
  let out: string | undefined;
  try {
    out = cachedCredential({ argv, env: process.env, nowMs: Date.now(), home: homedir() });
  } catch {
    return false; // whatever went wrong, the full path will say it properly
  }
  if (out === undefined) return false;
  try {
    writeStdout(out);
  } catch (error) {
    // part of it may be out already: never fall back to the full path and print a second one
    process.stderr.write(`error: cannot write the credential to stdout (${(error as NodeJS.ErrnoException).code ?? String(error)})\n`);
    process.exitCode = 1;
  }
  return true;
}

/**
 * A direct write to fd 1: setting up process.stdout as a stream costs more (~1.5 ms) than the
 * rest of the answer. The JSON is far below a pipe's capacity; if the descriptor is
 * non-blocking and says EAGAIN, the rest goes through process.stdout, which waits for it.
 */
function writeStdout(text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(1, bytes, written, bytes.length - written);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    process.stdout.write(bytes.subarray(written));
  }
}
