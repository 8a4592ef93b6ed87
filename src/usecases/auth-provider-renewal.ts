import { setOidcTokens } from '../core/kubeconfig-merge.js';
import { authProviderTokenDue } from '../core/proxy-request.js';
import { jwtTimes } from '../core/token-output.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { debug, info } from '../ui/log.js';
import { readCurrentLogin, type CurrentLogin } from './current-login.js';

/**
 * The current `id-token` of an `auth-provider: oidc` user (what `k8s-auth login` writes without
 * --exec), renewed when it is missing, expired or in its renewal window, the way kubectl's oidc
 * auth-provider does it: a refresh grant at the user's `idp-issuer-url` with its `refresh-token`
 * (the refresh of `k8s-auth credential`: adapters/oidc-grants.ts refreshGrant, after
 * adapters/oidc-client.ts discoverProvider), then both tokens written back into the kubeconfig
 * file that holds the user, atomically under its `<file>.lock` (adapters/kubeconfig-file.ts).
 * The network call is made outside the lock (kubectl fails at once on a held lock); the write
 * happens only while the file still holds the refresh token used, so a renewal by kubectl
 * meanwhile is never overwritten. Used by `k8s-auth proxy` (adapters/proxy-credentials.ts).
 */
export interface AuthProviderSelection {
  kubeconfig?: string;
  context: string;
  /** For the sign-in hint. */
  clusterName: string;
  httpTimeoutMs?: number;
  now?: () => number;
}

export interface RenewedToken {
  token: string;
  expiresAtMs: number | undefined;
}

function usable(login: CurrentLogin, nowMs: number): RenewedToken | undefined {
  if (!login.idToken) return undefined;
  const { exp, iat } = jwtTimes(login.idToken);
  const expMs = exp === undefined ? undefined : exp * 1000;
  return authProviderTokenDue(expMs, iat === undefined ? undefined : iat * 1000, nowMs) ? undefined : { token: login.idToken, expiresAtMs: expMs };
}

export async function currentAuthProviderToken(selection: AuthProviderSelection): Promise<RenewedToken> {
  const now = selection.now ?? Date.now;
  const read = () => readCurrentLogin({ ...(selection.kubeconfig !== undefined ? { kubeconfig: selection.kubeconfig } : {}), context: selection.context });
  const login = read();
  const fresh = usable(login, now());
  if (fresh) return fresh;
  const signIn = (why: string) =>
    new CliError(ExitCode.INTERACTION_REQUIRED, `the ID token of context '${selection.context}' is ${login.idToken ? 'expired or about to expire' : 'missing'} and ${why}: run \`k8s-auth login ${selection.clusterName}\``);
  if (!login.refreshToken) throw signIn('there is no refresh token to renew it with');
  if (!login.issuerUrl || !login.clientId) throw signIn('the user has no idp-issuer-url or client-id to renew it at');
  const refreshToken = login.refreshToken;
  debug(`renewing the ID token of context '${selection.context}' with its refresh token at ${login.issuerUrl}`);
  const [{ discoverProvider }, { refreshGrant }, { decodeBase64Pem }, { updateKubeconfigFile }] = await Promise.all([
    import('../adapters/oidc-client.js'),
    import('../adapters/oidc-grants.js'),
    import('../adapters/http.js'),
    import('../adapters/kubeconfig-file.js'),
  ]);
  const caPem = decodeBase64Pem(login.idpCaData);
  let renewed: Awaited<ReturnType<typeof refreshGrant>>;
  try {
    const config = await discoverProvider({
      issuerUrl: login.issuerUrl,
      clientId: login.clientId,
      ...(login.clientSecret ? { clientSecret: login.clientSecret } : {}),
      caPems: caPem ? [caPem] : [],
      ...(selection.httpTimeoutMs !== undefined ? { timeoutMs: selection.httpTimeoutMs } : {}),
    });
    // no scope parameter: the original grant, as kubectl's oidc plugin asks
    renewed = await refreshGrant(config, refreshToken, undefined);
  } catch (error) {
    // kubectl (or another k8s-auth) may have renewed it meanwhile, rotating the refresh token
    const again = usable(read(), now());
    if (again) return again;
    const { RefreshRejectedError } = await import('../adapters/grant-errors.js');
    if (error instanceof RefreshRejectedError) throw signIn(`the identity provider refused its refresh token (${error.reason})`);
    throw error instanceof CliError ? error : new CliError(ExitCode.PROVIDER, `cannot renew the ID token of context '${selection.context}': ${describeError(error)}`);
  }
  const tokens = { idToken: renewed.idToken, refreshToken: renewed.refreshToken ?? refreshToken };
  let wrote = false;
  // scoped to the one user: a large kubeconfig is edited only there (core/kubeconfig-splice.ts)
  await updateKubeconfigFile(
    login.kubeconfigPath,
    (doc) => {
      wrote = setOidcTokens(doc, login.userName, tokens, refreshToken);
    },
    { scope: { users: [login.userName] } },
  );
  if (wrote) info(`renewed the ID token of context '${selection.context}' (written to ${login.kubeconfigPath})`);
  else debug(`the kubeconfig ${login.kubeconfigPath} was renewed by someone else meanwhile: its tokens stay`);
  return { token: tokens.idToken, expiresAtMs: renewed.expiresAt * 1000 };
}
