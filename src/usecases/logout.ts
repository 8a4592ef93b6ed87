import { rmSync } from 'node:fs';
import { readKubeconfig, readMergedKubeconfig, resolveKubeconfigPaths, updateKubeconfigFile } from '../adapters/kubeconfig-file.js';
import { decodeBase64Pem } from '../adapters/http.js';
import { checkClusterName } from '../core/cluster-entry.js';
import { clearOidcTokens, namesIn, readNamed } from '../core/kubeconfig-merge.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { registerSecret } from '../ui/redact.js';
import { execTokenCache } from './current-login.js';
import { debug, warn } from '../ui/log.js';

/**
 * `k8s-auth logout <cluster>`: revoke the refresh token where the provider offers revocation,
 * then remove the tokens of every user of the cluster's contexts: id-token and refresh-token of
 * an oidc auth-provider user, the token cache entry of an exec-plugin user. The cluster, user
 * and context entries stay, so `k8s-auth login` restores them in place.
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
  /** users whose refresh token the provider revoked */
  revoked: string[];
  /** users with a refresh token the provider could not revoke (no endpoint or an error) */
  notRevoked: string[];
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
}

/** Best effort: says whether the provider revoked it; warns (never throws) otherwise. */
async function revoke(target: RevokeTarget, userName: string, request: LogoutRequest): Promise<boolean> {
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
    if (await revokeRefreshToken(config, target.refreshToken)) return true;
    warn(`${target.issuerUrl} offers no token revocation: the refresh token of ${userName} stays valid at the provider until it expires`);
  } catch (error) {
    // the local tokens still go: a provider that is down must not keep you logged in here
    warn(`could not revoke the refresh token of ${userName}: ${describeError(error)}`);
  }
  return false;
}

export async function logout(request: LogoutRequest): Promise<LogoutOutcome> {
  checkClusterName(request.cluster);
  const paths = resolveKubeconfigPaths(request.kubeconfig, request.env ?? process.env);
  const logins = loginsOf(paths, request.cluster);
  if (logins.length === 0) {
    throw new CliError(ExitCode.KUBECONFIG, `no k8s-auth login for cluster '${request.cluster}' in ${paths.join(':')}: nothing to log out of`);
  }
  const outcome: LogoutOutcome = { cluster: request.cluster, users: logins.map((u) => u.name), revoked: [], notRevoked: [] };
  const record = (name: string, revoked: boolean) => (revoked ? outcome.revoked : outcome.notRevoked).push(name);
  for (const login of logins) {
    if (login.kind === 'oidc') {
      const refreshToken = str(login.config['refresh-token']);
      registerSecret(refreshToken);
      registerSecret(str(login.config['id-token']));
      const clientSecret = str(login.config['client-secret']);
      registerSecret(clientSecret);
      const issuerUrl = str(login.config['idp-issuer-url']);
      const clientId = str(login.config['client-id']);
      if (refreshToken && issuerUrl && clientId) {
        const idpCaData = str(login.config['idp-certificate-authority-data']);
        record(login.name, await revoke({ issuerUrl, clientId, refreshToken, ...(clientSecret ? { clientSecret } : {}), ...(idpCaData ? { idpCaData } : {}) }, login.name, request));
      }
      await updateKubeconfigFile(login.path, (doc) => {
        const had = clearOidcTokens(doc, login.name);
        debug(`${login.name} in ${login.path}: ${had ? 'tokens removed' : 'no tokens stored'}`);
      });
      continue;
    }
    // an exec-plugin user: the tokens live in the token cache entry its arguments name
    const cache = await execTokenCache(login.args);
    if (!cache) continue;
    const { lockTokenCache, readCachedTokens } = await import('../adapters/token-cache.js');
    const cached = readCachedTokens(cache);
    if (cached?.refreshToken) {
      if (cached.connection?.confidentialClient) {
        warn(`the refresh token of ${login.name} belongs to a confidential client whose secret is not stored: it stays valid at the provider until it expires`);
        record(login.name, false);
      } else {
        const idpCaData = cached.connection?.idpCertificateAuthorityData;
        record(login.name, await revoke({ issuerUrl: cached.key.issuer, clientId: cached.key.clientId, refreshToken: cached.refreshToken, ...(idpCaData ? { idpCaData } : {}) }, login.name, request));
      }
    }
    const release = await lockTokenCache(cache, { timeoutMs: 10_000 });
    try {
      rmSync(cache.file, { force: true });
      debug(`${login.name}: removed ${cache.file}`);
    } finally {
      release();
    }
  }
  return outcome;
}
