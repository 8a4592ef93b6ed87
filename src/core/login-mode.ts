/**
 * Which form a kubeconfig user has (`exec:` running `k8s-auth credential`, or `auth-provider:
 * oidc`), so `login` keeps it and every hint names the command that restores it (issue 17,
 * point 2). Pure.
 */
import { CREDENTIAL_FLAGS } from './exec-credential.js';

export type LoginForm = 'exec' | 'auth-provider';

/** The `k8s-auth login` line that signs a user in again in the form it has now. */
export function loginCommand(cluster: string, kind: string | undefined): string {
  return `k8s-auth login ${cluster}${kind === 'exec' ? ' --exec' : ''}`;
}

/** The form `login` writes: the typed flag, else the form the user already has, else auth-provider. */
export function chooseLoginForm(typed: LoginForm | undefined, existing: LoginForm | undefined): { form: LoginForm; changed: boolean } {
  const form = typed ?? existing ?? 'auth-provider';
  return { form, changed: existing !== undefined && existing !== form };
}

/** The flags of `credential` that login writes itself from the catalog entry (values follow). */
const REWRITTEN: ReadonlySet<string> = new Set([CREDENTIAL_FLAGS.issuer, CREDENTIAL_FLAGS.clientId, CREDENTIAL_FLAGS.scopes, CREDENTIAL_FLAGS.loginHint, CREDENTIAL_FLAGS.cacheDir]);

export interface KeptExecArgs {
  loginHint?: string;
  cacheDir?: string;
  /** Every other option of the existing `credential` args, in order (catalog, grant, CA files…). */
  extraArgs: string[];
}

/**
 * Splits an existing `k8s-auth credential <cluster> …` argument list into what login writes
 * again from the catalog and what it keeps as it is. Undefined when it is not such a list.
 */
export function keptExecArgs(args: readonly string[]): KeptExecArgs | undefined {
  const at = args.indexOf('credential');
  if (at === -1) return undefined;
  let i = at + 1;
  if (args[i] !== undefined && !(args[i] as string).startsWith('-')) i++; // the cluster
  const kept: KeptExecArgs = { extraArgs: [] };
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!REWRITTEN.has(name)) {
      kept.extraArgs.push(arg);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) break;
    if (name === CREDENTIAL_FLAGS.loginHint) kept.loginHint = value;
    if (name === CREDENTIAL_FLAGS.cacheDir) kept.cacheDir = value;
  }
  return kept;
}

/** The `--catalog FILE` an exec user's args name, if any. */
export function catalogFromExecArgs(args: readonly string[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--catalog') found = args[++i];
    else if (arg.startsWith('--catalog=')) found = arg.slice('--catalog='.length);
  }
  return found === '' ? undefined : found;
}

/**
 * The one line for "this kubeconfig user holds no tokens": exit 10 (INTERACTION_REQUIRED) from
 * every command, said before any network call (issue 17, point 5).
 */
export function needsSignInMessage(login: { cluster: string; userName: string; contextName: string; kind: string }): string {
  const where = login.kind === 'exec' ? 'no cached sign-in in the token cache' : 'no ID or refresh token in the kubeconfig';
  return `'${login.cluster}' needs a sign-in: user ${login.userName} of context ${login.contextName} holds no tokens (${where}; logged out?): run \`${loginCommand(login.cluster, login.kind)}\``;
}
