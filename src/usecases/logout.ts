import { kubeconfigPaths } from '../core/kubeconfig-paths.js';
import { rmSync } from 'node:fs';
import { readKubeconfig, readMergedKubeconfig, updateKubeconfigFile } from '../adapters/kubeconfig-file.js';
import { decodeBase64Pem } from '../adapters/http.js';
import { checkClusterName } from '../core/cluster-entry.js';
import { clearOidcTokens, namesIn, readNamed } from '../core/kubeconfig-merge.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { registerSecret } from '../ui/redact.js';
import { execTokenCache } from '../adapters/token-cache-read.js';
import { debug, warn } from '../ui/log.js';
import { loginCommand } from '../core/login-mode.js';

/**
 * `k8s-auth logout <cluster>`: remove the tokens of every user of the cluster's contexts (the
 * id-token and refresh-token of an oidc auth-provider user, the token cache entry of an
 * exec-plugin user), then revoke the refresh tokens where the provider offers revocation. The
 * cluster, user and context entries stay, so `k8s-auth login` restores them in place.
 */
export interface LogoutRequest {
  cluster: string;
  kubeconfig?: string;
  caFiles: readonly string[];
  insecureSkipTlsVerify: boolean;
  httpTimeoutMs: number;
  env?: Record<string, string | undefined>;
}

export interface LogoutOutcome {
  cluster: string;
  users: string[];
  /** users whose tokens were stored and are now removed (empty: there was nothing to remove) */
  removed: string[];
  /** users whose refresh token the provider revoked */
  revoked: string[];
  /** users with a refresh token the provider could not revoke (no endpoint or an error) */
  notRevoked: string[];
  /** The login command that signs in again in the form the users have (`--exec` for exec plugin users). */
  signInAgain: string;
}

type ClusterLogin =
  | { kind: 'oidc'; name: string; path: string; config: Record<string, unknown> }
  | { kind: 'exec'; name: string; path: string; args: string[] };

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The users that contexts of `cluster` refer to and that we wrote (oidc auth-provider or our exec plugin). */
function loginsOf(paths: readonly string[], cluster: string): ClusterLogin[] {
  const merged = readMergedKubeconfig(paths);
  const userNames = new Set<string>();
  for (const path of paths) {
    const { doc } = readKubeconfig(path);
    for (const name of namesIn(doc, 'contexts')) {
      const context = readNamed(doc, 'contexts', name);
      if (context && context['cluster'] === cluster && typeof context['user'] === 'string') userNames.add(context['user']);
    }
  }
  const logins: ClusterLogin[] = [];
  for (const name of userNames) {
    const found = merged.find('users', name);
    if (!found) continue;
    const provider = found.value['auth-provider'] as Record<string, unknown> | undefined;
    const exec = found.value['exec'] as Record<string, unknown> | undefined;
    if (provider && provider['name'] === 'oidc') {
      logins.push({ kind: 'oidc', name, path: found.path, config: (provider['config'] ?? {}) as Record<string, unknown> });
    } else if (exec && Array.isArray(exec['args']) && exec['args'].includes('credential')) {
      logins.push({ kind: 'exec', name, path: found.path, args: exec['args'].filter((a): a is string => typeof a === 'string') });
    }
  }
  return logins;
}

interface RevokeTarget {
  issuerUrl: string;
  clientId: string;
  clientSecret?: string;
  idpCaData?: string;
  refreshToken: string;
  userName: string;
}

/** Best effort: whether the provider revoked it, and otherwise why not (never throws). */
async function revoke(target: RevokeTarget, request: LogoutRequest): Promise<{ revoked: boolean; warning?: string }> {
  try {
    const { discoverProvider, revokeRefreshToken } = await import('../adapters/oidc-client.js');
    const caPem = decodeBase64Pem(target.idpCaData);
    const config = await discoverProvider({
      issuerUrl: target.issuerUrl,
      clientId: target.clientId,
      ...(target.clientSecret ? { clientSecret: target.clientSecret } : {}),
      caPems: caPem ? [caPem] : [],
      caFiles: request.caFiles,
      insecureSkipTlsVerify: request.insecureSkipTlsVerify,
      timeoutMs: request.httpTimeoutMs,
    });
    if (await revokeRefreshToken(config, target.refreshToken)) return { revoked: true };
    return { revoked: false, warning: `${target.issuerUrl} offers no token revocation: the refresh token of ${target.userName} stays valid at the provider until it expires` };
  } catch (error) {
    // the local tokens are already gone: a provider that is down must not keep you logged in here
    return { revoked: false, warning: `could not revoke the refresh token of ${target.userName}: ${describeError(error)}` };
  }
}

/** Removes the id-token and refresh-token of `names` in one kubeconfig file, under its lock; returns what was there. */
async function removeOidcTokens(path: string, names: readonly string[]): Promise<{ removed: string[]; targets: RevokeTarget[] }> {
  const removed: string[] = [];
  const targets: RevokeTarget[] = [];
  await updateKubeconfigFile(path, (doc) => {
    for (const name of names) {
      // read inside the lock: these are the values the file holds now
      const user = readNamed(doc, 'users', name);
      const config = ((user?.['auth-provider'] as Record<string, unknown> | undefined)?.['config'] ?? {}) as Record<string, unknown>;
      const refreshToken = str(config['refresh-token']);
      registerSecret(refreshToken);
      registerSecret(str(config['id-token']));
      const clientSecret = str(config['client-secret']);
      registerSecret(clientSecret);
      const issuerUrl = str(config['idp-issuer-url']);
      const clientId = str(config['client-id']);
      const idpCaData = str(config['idp-certificate-authority-data']);
      const had = clearOidcTokens(doc, name);
      debug(`${name} in ${path}: ${had ? 'tokens removed' : 'no tokens stored'}`);
      if (had) removed.push(name);
      if (refreshToken && issuerUrl && clientId) {
        targets.push({ issuerUrl, clientId, refreshToken, userName: name, ...(clientSecret ? { clientSecret } : {}), ...(idpCaData ? { idpCaData } : {}) });
      }
    }
  });
  return { removed, targets };
}

/**
 * The tokens leave the kubeconfig (under its lock) and the token cache first, kept in memory;
 * only then is anything revoked, so a lock that times out leaves the refresh token both stored
 * and valid rather than stored and dead.
 */
export async function logout(request: LogoutRequest, hooks: { revoking?: <T>(work: () => Promise<T>) => Promise<T> } = {}): Promise<LogoutOutcome> {
  checkClusterName(request.cluster);
  const paths = kubeconfigPaths(request.kubeconfig, request.env ?? process.env);
  const logins = loginsOf(paths, request.cluster);
  if (logins.length === 0) {
    throw new CliError(ExitCode.KUBECONFIG, `no k8s-auth login for cluster '${request.cluster}' in ${paths.join(':')}: nothing to log out of`);
  }
  const signInAgain = loginCommand(request.cluster, logins.some((l) => l.kind === 'exec') ? 'exec' : 'oidc');
  const outcome: LogoutOutcome = { cluster: request.cluster, users: logins.map((u) => u.name), removed: [], revoked: [], notRevoked: [], signInAgain };
  const targets: RevokeTarget[] = [];

  const oidcByPath = new Map<string, string[]>();
  for (const login of logins) if (login.kind === 'oidc') oidcByPath.set(login.path, [...(oidcByPath.get(login.path) ?? []), login.name]);
  for (const [path, names] of oidcByPath) {
    const done = await removeOidcTokens(path, names);
    outcome.removed.push(...done.removed);
    targets.push(...done.targets);
  }

  for (const login of logins) {
    if (login.kind !== 'exec') continue;
    // an exec-plugin user: the tokens live in the token cache entry its arguments name
    const cache = execTokenCache(login.args);
    if (!cache) continue;
    const { lockTokenCache, readCachedTokens } = await import('../adapters/token-cache.js');
    const release = await lockTokenCache(cache, { timeoutMs: 10_000 });
    let cached: ReturnType<typeof readCachedTokens>;
    try {
      cached = readCachedTokens(cache);
      if (cached) registerSecret(cached.refreshToken);
      rmSync(cache.file, { force: true });
      debug(`${login.name}: removed ${cache.file}`);
    } finally {
      release();
    }
    if (!cached) continue;
    outcome.removed.push(login.name);
    if (!cached.refreshToken) continue;
    if (cached.connection?.confidentialClient) {
      warn(`the refresh token of ${login.name} belongs to a confidential client whose secret is not stored: it stays valid at the provider until it expires`);
      outcome.notRevoked.push(login.name);
      continue;
    }
    const idpCaData = cached.connection?.idpCertificateAuthorityData;
    targets.push({ issuerUrl: cached.key.issuer, clientId: cached.key.clientId, refreshToken: cached.refreshToken, userName: login.name, ...(idpCaData ? { idpCaData } : {}) });
  }

  if (targets.length === 0) return outcome;
  const around = hooks.revoking ?? (<T>(work: () => Promise<T>) => work());
  const results = await around(() => Promise.all(targets.map((target) => revoke(target, request))));
  results.forEach((result, i) => {
    const name = (targets[i] as RevokeTarget).userName;
    (result.revoked ? outcome.revoked : outcome.notRevoked).push(name);
    if (result.warning) warn(result.warning);
  });
  return outcome;
}
