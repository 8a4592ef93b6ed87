import { CliError, ExitCode } from '../errors.js';
import { needsSignInMessage } from '../core/login-mode.js';
import { type CurrentLogin, readCurrentLogin } from './current-login.js';

/**
 * Whether a context's k8s-auth user holds no tokens at all (logged out, or never signed in):
 * an `auth-provider: oidc` user with neither ID nor refresh token, or an exec plugin user whose
 * token cache entry is absent. Read-only, no network: `whoami`, `token` and `rbac` decide "needs a
 * sign-in" (exit 10) from it before they call anything (issue 17, point 5).
 */
export async function holdsNoTokens(login: CurrentLogin, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (login.kind === 'oidc') return login.idToken === undefined && login.refreshToken === undefined;
  if (login.kind !== 'exec') return false;
  const { execTokenCache, readCachedTokens } = await import('../adapters/token-cache-read.js');
  const cache = execTokenCache(login.execArgs ?? [], env);
  // a hand-written `credential <cluster>` without the key flags: the plugin decides itself
  if (!cache) return false;
  return readCachedTokens(cache) === undefined;
}

export function needsSignIn(login: CurrentLogin): CliError {
  return new CliError(ExitCode.INTERACTION_REQUIRED, needsSignInMessage({ cluster: login.execCluster ?? login.clusterName, userName: login.userName, contextName: login.contextName, kind: login.kind }));
}

/**
 * Throws "needs a sign-in" (exit 10) when the context's user is ours and holds no tokens. A
 * kubeconfig problem is left to the command's own checks (they name it with their flags).
 */
export async function requireSignedIn(options: { kubeconfig?: string | undefined; context?: string | undefined; env?: NodeJS.ProcessEnv }): Promise<void> {
  let login: CurrentLogin;
  try {
    login = readCurrentLogin({
      ...(options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : {}),
      ...(options.context !== undefined ? { context: options.context } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
  } catch {
    return;
  }
  if (await holdsNoTokens(login, options.env ?? process.env)) throw needsSignIn(login);
}
