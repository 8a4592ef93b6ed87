import { readKubeconfig, readMergedKubeconfig, resolveKubeconfigPaths, updateKubeconfigFile } from '../adapters/kubeconfig-file.js';
import { decodeBase64Pem } from '../adapters/http.js';
import { checkClusterName } from '../core/cluster-entry.js';
import { clearOidcTokens, namesIn, readNamed } from '../core/kubeconfig-merge.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { registerSecret } from '../ui/redact.js';
import { debug, warn } from '../ui/log.js';

/**
 * `k8s-auth logout <cluster>`: revoke the refresh token where the provider offers revocation,
 * then remove id-token and refresh-token from every oidc user of the cluster's contexts. The
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
  /** users whose refresh token the provider revoked */
  revoked: string[];
  /** users with a refresh token the provider could not revoke (no endpoint or an error) */
  notRevoked: string[];
}

interface OidcUser {
  name: string;
  path: string;
  config: Record<string, unknown>;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The oidc users that contexts of `cluster` refer to, each in the file that defines it. */
function oidcUsersOf(paths: readonly string[], cluster: string): OidcUser[] {
  const merged = readMergedKubeconfig(paths);
  const userNames = new Set<string>();
  for (const path of paths) {
    const { doc } = readKubeconfig(path);
    for (const name of namesIn(doc, 'contexts')) {
      const context = readNamed(doc, 'contexts', name);
      if (context && context['cluster'] === cluster && typeof context['user'] === 'string') userNames.add(context['user']);
    }
  }
  const users: OidcUser[] = [];
  for (const name of userNames) {
    const found = merged.find('users', name);
    const provider = found?.value['auth-provider'] as Record<string, unknown> | undefined;
    if (!found || !provider || provider['name'] !== 'oidc') continue;
    const config = (provider['config'] ?? {}) as Record<string, unknown>;
    users.push({ name, path: found.path, config });
  }
  return users;
}

export async function logout(request: LogoutRequest): Promise<LogoutOutcome> {
  checkClusterName(request.cluster);
  const paths = resolveKubeconfigPaths(request.kubeconfig, request.env ?? process.env);
  const users = oidcUsersOf(paths, request.cluster);
  if (users.length === 0) {
    throw new CliError(ExitCode.KUBECONFIG, `no OpenID Connect login for cluster '${request.cluster}' in ${paths.join(':')}: nothing to log out of`);
  }
  const outcome: LogoutOutcome = { cluster: request.cluster, users: users.map((u) => u.name), revoked: [], notRevoked: [] };
  for (const user of users) {
    const refreshToken = str(user.config['refresh-token']);
    registerSecret(refreshToken);
    registerSecret(str(user.config['id-token']));
    const issuerUrl = str(user.config['idp-issuer-url']);
    const clientId = str(user.config['client-id']);
    if (refreshToken && issuerUrl && clientId) {
      try {
        const { discoverProvider, revokeRefreshToken } = await import('../adapters/oidc-client.js');
        const clientSecret = str(user.config['client-secret']);
        registerSecret(clientSecret);
        const caPem = decodeBase64Pem(str(user.config['idp-certificate-authority-data']));
        const config = await discoverProvider({
          issuerUrl,
          clientId,
          ...(clientSecret ? { clientSecret } : {}),
          caPems: caPem ? [caPem] : [],
          caFiles: request.caFiles,
          insecureSkipTlsVerify: request.insecureSkipTlsVerify,
          timeoutMs: request.httpTimeoutMs,
        });
        if (await revokeRefreshToken(config, refreshToken)) outcome.revoked.push(user.name);
        else {
          outcome.notRevoked.push(user.name);
          warn(`${issuerUrl} offers no token revocation: the refresh token of ${user.name} stays valid at the provider until it expires`);
        }
      } catch (error) {
        outcome.notRevoked.push(user.name);
        // the local tokens still go: a provider that is down must not keep you logged in here
        warn(`could not revoke the refresh token of ${user.name}: ${describeError(error)}`);
      }
    }
    await updateKubeconfigFile(user.path, (doc) => {
      const had = clearOidcTokens(doc, user.name);
      debug(`${user.name} in ${user.path}: ${had ? 'tokens removed' : 'no tokens stored'}`);
    });
  }
  return outcome;
}
