import { decodeJwtClaims, isoFromUnix, summarizeClaims } from '../core/id-token-claims.js';
import { CliError, ExitCode } from '../errors.js';
import { execTokenCache } from '../adapters/token-cache-read.js';
import { type CurrentLogin, readCurrentLogin } from './current-login.js';
import { loginCommand } from '../core/login-mode.js';
import { needsSignIn } from './sign-in-state.js';

/**
 * `k8s-auth whoami [<context>]`: who the kubeconfig signs in as, from the ID token's claims.
 * No network and never the token itself.
 */
export interface WhoamiResult {
  context: string;
  cluster: string;
  user: string;
  server: string;
  issuer: string | null;
  subject: string | null;
  email: string | null;
  groups: string[];
  /** RFC 3339 */
  expiry: string | null;
  expired: boolean;
  /** Whether kubectl can renew the ID token by itself (a refresh token is stored). */
  refreshable: boolean;
}

export interface WhoamiOptions {
  kubeconfig?: string;
  context?: string;
  /** For kind 'exec': finds the ID token in the exec plugin's cache, if the caller can. */
  idTokenForExec?: (login: CurrentLogin) => Promise<string | undefined>;
  nowSeconds?: number;
}

export async function whoami(options: WhoamiOptions = {}): Promise<WhoamiResult> {
  const login = readCurrentLogin({ ...(options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : {}), ...(options.context !== undefined ? { context: options.context } : {}) });
  let idToken = login.idToken;
  if (login.kind === 'exec' && options.idTokenForExec) idToken = await options.idTokenForExec(login);
  // logged out (or never signed in): the one "needs a sign-in" line, exit 10, as token and rbac say it
  if (!idToken && (login.kind === 'exec' || (login.kind === 'oidc' && login.refreshToken === undefined))) throw needsSignIn(login);
  if (!idToken) {
    const why =
      login.kind === 'oidc'
        ? 'has no ID token (logged out?)'
        : login.kind === 'exec'
          ? 'uses the exec plugin and no cached ID token was found'
          : `does not sign in with OpenID Connect (${login.kind === 'token' ? 'a static token' : 'another method'})`;
    throw new CliError(ExitCode.KUBECONFIG, `user '${login.userName}' of context '${login.contextName}' ${why}: run \`${loginCommand(login.clusterName, login.kind)}\``);
  }
  const claims = summarizeClaims(decodeJwtClaims(idToken));
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  return {
    context: login.contextName,
    cluster: login.clusterName,
    user: login.userName,
    server: login.server,
    issuer: claims.issuer ?? login.issuerUrl ?? null,
    subject: claims.subject ?? null,
    email: claims.email ?? null,
    groups: claims.groups,
    expiry: isoFromUnix(claims.expiresAt) ?? null,
    expired: claims.expiresAt !== undefined && claims.expiresAt <= now,
    refreshable: login.kind === 'exec' || login.refreshToken !== undefined,
  };
}

/** For an exec-plugin user: the cached ID token (see execTokenCache). */
export async function idTokenFromExecCache(login: CurrentLogin): Promise<string | undefined> {
  const cache = execTokenCache(login.execArgs ?? []);
  if (!cache) return undefined;
  const { readCachedTokens } = await import('../adapters/token-cache.js');
  return readCachedTokens(cache)?.idToken;
}
