import { formatDuration } from '../core/duration.js';
import { serviceAccountNameFor } from '../core/service-account-name.js';
import { checkGrant, type ClusterConnection, type GrantCheck, type MintedToken } from '../core/token-output.js';
import { readKubeconfigTarget, type KubeconfigTarget } from '../adapters/kubeconfig-target.js';
import { tokenMinterFor } from '../adapters/token-request.js';
import { CliError, ExitCode } from '../errors.js';
import { debug } from '../ui/log.js';
import { loginCommand } from '../core/login-mode.js';

/**
 * `k8s-auth token`: a ServiceAccount token that expires on its own. By default the
 * ServiceAccount is the caller's own (named from the current login's username claim by the rule
 * `k8s-auth rbac` uses), minted with the TokenRequest API using the caller's kubeconfig
 * credentials; or minted by Vault's Kubernetes secrets engine (--via-vault).
 */
export interface MintTokenOptions {
  ttlSeconds: number;
  /** Defaults to the current login's own ServiceAccount. */
  serviceAccount?: string;
  namespace: string;
  audiences: readonly string[];
  /** A kubeconfig context or cluster name; default the current context. */
  cluster?: string;
  kubeconfig?: string;
  /** The ID token claim that names the user (as in the catalog entry): default email. */
  usernameClaim: string;
  viaVault?: { role: string; mount: string };
  /** The caller needs the cluster's address and CA (kubeconfig output). */
  needConnection: boolean;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

export interface MintTokenResult {
  minted: MintedToken;
  grant: GrantCheck;
  /** Warnings the minting service gave (Vault's), to show as they are. */
  warnings: string[];
  /** How to reach the cluster; undefined only for --via-vault without a usable kubeconfig. */
  connection: ClusterConnection | undefined;
  via: 'direct' | 'client-node' | 'vault';
}

/** Seconds an ID token must still be valid to be sent as is (the exec plugin's own margin). */
const ID_TOKEN_SKEW_SECONDS = 60;

export async function mintToken(options: MintTokenOptions): Promise<MintTokenResult> {
  const now = options.now ?? (() => new Date());
  if (options.viaVault) return mintThroughVault(options, options.viaVault, now);

  const selection = { kubeconfig: options.kubeconfig, cluster: options.cluster, env: options.env ?? process.env };
  const target = await readKubeconfigTarget(selection);
  // a k8s-auth user holding no tokens needs a sign-in (exit 10), said before any request
  await (await import('./sign-in-state.js')).requireSignedIn({ kubeconfig: options.kubeconfig, context: target.contextName, env: selection.env });
  // The login is needed to name the ServiceAccount, or to stand in for an exec/auth-provider user.
  const login = options.serviceAccount === undefined || target.credentials === undefined ? await currentIdentity(target, options, now()) : undefined;
  const serviceAccount = options.serviceAccount ?? serviceAccountFor(login, target, options.usernameClaim);
  const minter = tokenMinterFor(target, { ...selection, timeoutMs: options.timeoutMs }, login?.freshIdToken);
  const requestedAt = now();
  const granted = await minter.request({ serviceAccount, namespace: options.namespace, expirationSeconds: options.ttlSeconds, audiences: options.audiences });
  const minted: MintedToken = { ...granted, serviceAccount, namespace: options.namespace, cluster: target.clusterName };
  const grant = checkGrant({ requestedSeconds: options.ttlSeconds, requestedAt, expirationTimestamp: granted.expirationTimestamp, token: granted.token });
  debug(`minted a ${formatDuration(grant.grantedSeconds)} token for ${options.namespace}/${serviceAccount} on ${target.clusterName} (${minter.via})`);
  return { minted, grant, warnings: [], connection: target.connection, via: minter.via };
}

interface Identity {
  /** The username claim's value, when the login has one. */
  username: string | undefined;
  /** The ID token, when still valid beyond the skew. */
  freshIdToken: string | undefined;
  kind: string;
}

/**
 * Who the context signs in as: the ID token in an `auth-provider: oidc` user, or the one our exec
 * plugin (`k8s-auth credential`) keeps in the token cache. Read-only, no network.
 */
async function currentIdentity(target: KubeconfigTarget, options: MintTokenOptions, now: Date): Promise<Identity> {
  // from the kubeconfig already read for the target: no second parse, no yaml library
  const isExec = target.userExec?.args.includes('credential') ?? false;
  const kind = target.userAuthProvider === 'oidc' ? 'oidc' : isExec ? 'exec' : target.credentials ? 'token' : 'other';
  let idToken = kind === 'oidc' ? target.oidcIdToken : undefined;
  let cachedUser: string | undefined;
  if (kind === 'exec' && target.userExec) {
    const cached = await cachedIdToken(target.userExec.args, options.env ?? process.env);
    idToken = cached?.idToken;
    cachedUser = cached?.user;
  }
  if (!idToken) return { username: cachedUser, freshIdToken: undefined, kind };
  const { decodeJwtClaims, summarizeClaims } = await import('../core/id-token-claims.js');
  const summary = summarizeClaims(decodeJwtClaims(idToken), options.usernameClaim);
  const fresh = summary.expiresAt !== undefined && summary.expiresAt - now.getTime() / 1000 > ID_TOKEN_SKEW_SECONDS;
  return { username: summary.username ?? cachedUser, freshIdToken: fresh ? idToken : undefined, kind };
}

/** The cached tokens our exec plugin would answer with, found from its own arguments. */
async function cachedIdToken(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ idToken: string; user?: string } | undefined> {
  const { execTokenCache, readCachedTokens } = await import('../adapters/token-cache-read.js');
  const cache = execTokenCache(args, env);
  const entry = cache ? readCachedTokens(cache) : undefined;
  if (!entry) return undefined;
  return entry.user ? { idToken: entry.idToken, user: entry.user } : { idToken: entry.idToken };
}

function serviceAccountFor(login: Identity | undefined, target: KubeconfigTarget, usernameClaim: string): string {
  if (login?.username) {
    const name = serviceAccountNameFor(login.username);
    debug(`ServiceAccount ${name} from ${usernameClaim} '${login.username}' of context ${target.contextName}`);
    return name;
  }
  const why =
    login?.kind === 'oidc' || login?.kind === 'exec'
      ? `its ID token has no '${usernameClaim}' claim or is not cached`
      : 'it does not sign in with k8s-auth';
  throw new CliError(
    ExitCode.USAGE,
    `cannot tell whose ServiceAccount to use from context ${target.contextName} (${why}): run \`${loginCommand(target.clusterName, target.userExec?.args.includes('credential') ? 'exec' : 'oidc')}\` first, or pass --service-account NAME`,
  );
}

async function mintThroughVault(options: MintTokenOptions, vault: { role: string; mount: string }, now: () => Date): Promise<MintTokenResult> {
  if (options.serviceAccount !== undefined) {
    throw new CliError(ExitCode.USAGE, `--service-account cannot be combined with --via-vault: the Vault role '${vault.role}' decides the ServiceAccount`);
  }
  // The kubeconfig only names the cluster (and gives its address for -o kubeconfig); Vault mints.
  let target: KubeconfigTarget | undefined;
  try {
    target = await readKubeconfigTarget({ kubeconfig: options.kubeconfig, cluster: options.cluster, env: options.env ?? process.env });
  } catch (error) {
    if (options.needConnection) throw error;
    debug(`no kubeconfig context for --via-vault (${error instanceof Error ? error.message : String(error)}); naming the cluster '${options.cluster ?? ''}'`);
  }
  const { requestVaultKubernetesCreds } = await import('../adapters/vault-kubernetes-creds.js');
  const requestedAt = now();
  const creds = await requestVaultKubernetesCreds(
    { mount: vault.mount, role: vault.role, namespace: options.namespace, ttlSeconds: options.ttlSeconds, audiences: options.audiences },
    { env: options.env ?? process.env, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }), now },
  );
  const minted: MintedToken = {
    token: creds.token,
    expirationTimestamp: creds.expirationTimestamp,
    serviceAccount: creds.serviceAccount,
    namespace: creds.namespace,
    cluster: target?.clusterName ?? options.cluster ?? '',
    leaseId: creds.leaseId,
  };
  const grant = checkGrant({ requestedSeconds: options.ttlSeconds, requestedAt, expirationTimestamp: creds.expirationTimestamp, token: creds.token });
  return { minted, grant, warnings: creds.warnings, connection: target?.connection, via: 'vault' };
}
