import type { OpenBrowser } from '../adapters/browser-launcher.js';
import { checkKubeconfigBeforeSignIn, checkKubeconfigDirectory, kubeconfigPaths } from '../adapters/kubeconfig-check.js';
import { type ClusterEntry, checkClusterName, scopesFor } from '../core/cluster-entry.js';
import { groupsFrom, isoFromUnix } from '../core/id-token-claims.js';
import { checkHintedUser } from '../core/signed-in-user.js';
import { CliError, ExitCode } from '../errors.js';
import type { Catalog } from './catalog.js';
import type { ExecLoginOptions } from './login-exec.js';
import type { SignInSettings } from './sign-in.js';
import { debug, info, warn } from '../ui/log.js';
import { loginTargets } from './login-targets.js';
import { chooseLoginForm, keptExecArgs, type LoginForm } from '../core/login-mode.js';
import { EXEC_API_V1, parseExecApiVersion } from '../core/exec-credential.js';
import { type CurrentLogin, readCurrentLogin } from './current-login.js';
import { createProviderSession, type ProviderEndpoint } from './provider-session.js';
import { decodeBase64Pem } from '../core/base64-pem.js';
import { extraSignInReasons, missingAudiences, planSignIns } from '../core/clusters/index.js';

/**
 * `k8s-auth login <cluster>...`: catalog entries → one browser sign-in per distinct
 * (issuer, client-id) → kubeconfig cluster/user/context per cluster, with an
 * `auth-provider: oidc` user that kubectl refreshes by itself.
 */
export interface LoginRequest {
  clusters: readonly string[];
  catalog: Catalog;
  kubeconfig?: string;
  contextName?: string;
  setCurrent: boolean;
  timeoutMs: number;
  listenPort?: number;
  openBrowser: OpenBrowser;
  caFiles: readonly string[];
  insecureSkipTlsVerify: boolean;
  httpTimeoutMs: number;
  env?: Record<string, string | undefined>;
  /** Told before each sign-in starts (e.g. to start a spinner). */
  onSignInStart?: (issuer: string, clusters: readonly string[]) => void;
  /** --grant and friends: device code or password instead of the browser (usecases/sign-in.ts). */
  grant?: SignInSettings;
  /** --exec: write an exec credential plugin user and fill the token cache (usecases/login-exec.ts). */
  exec?: ExecLoginOptions;
  /** --no-exec: write the auth-provider form even where the user is an exec plugin user now. */
  authProvider?: boolean;
  /** --trusted-client: clusters sharing an issuer sign in once as this client (Dex cross-client trust, docs/fleet.md). */
  trustedClient?: string;
}

/** The user the context names now, if k8s-auth wrote it in one of its two forms. */
function existingLogin(request: LoginRequest, contextName: string): (CurrentLogin & { form: LoginForm }) | undefined {
  try {
    const login = readCurrentLogin({ ...(request.kubeconfig !== undefined ? { kubeconfig: request.kubeconfig } : {}), context: contextName, ...(request.env ? { env: request.env } : {}) });
    if (login.kind === 'exec') return { ...login, form: 'exec' };
    if (login.kind === 'oidc') return { ...login, form: 'auth-provider' };
  } catch {
    // no such context yet (or not one of ours): nothing to keep
  }
  return undefined;
}

/** An exec user's plugin settings, kept for the new sign-in: command, version, env and options. */
function keptExecOptions(login: CurrentLogin): ExecLoginOptions {
  const kept = keptExecArgs(login.execArgs ?? []) ?? { extraArgs: [] };
  return {
    command: login.execCommand ?? 'k8s-auth',
    apiVersion: parseExecApiVersion(login.execApiVersion ?? '') ?? EXEC_API_V1,
    extraArgs: kept.extraArgs,
    ...(login.execEnv ? { env: login.execEnv } : {}),
    ...(kept.loginHint ? { loginHint: kept.loginHint } : {}),
    ...(kept.cacheDir ? { cacheDir: kept.cacheDir } : {}),
  };
}

/**
 * Per cluster, the form login writes: --exec / --no-exec when typed, else the form the user has
 * (exec stays exec, with its arguments), else auth-provider. A change of form is said on stderr.
 */
function execOptionsPerCluster(request: LoginRequest, entries: readonly ClusterEntry[], contextNameOf: (entry: ClusterEntry) => string): Map<string, ExecLoginOptions | undefined> {
  const typed: LoginForm | undefined = request.exec ? 'exec' : request.authProvider ? 'auth-provider' : undefined;
  const chosen = new Map<string, ExecLoginOptions | undefined>();
  for (const entry of entries) {
    const contextName = contextNameOf(entry);
    const existing = existingLogin(request, contextName);
    const { form, changed } = chooseLoginForm(typed, existing?.form);
    if (changed && existing) {
      warn(
        form === 'exec'
          ? `context ${contextName}: the user ${existing.userName} changes from auth-provider: oidc (tokens in ${existing.kubeconfigPath}) to an exec plugin user (\`k8s-auth credential\`, tokens in the token cache), as --exec asks`
          : `context ${contextName}: the user ${existing.userName} changes from an exec plugin user (\`k8s-auth credential\`, tokens in the token cache) to auth-provider: oidc (the refresh token goes into ${existing.kubeconfigPath}), as --no-exec asks; \`k8s-auth login ${entry.name} --exec\` changes it back`,
      );
    } else if (!typed && existing?.form === 'exec') {
      debug(`context ${contextName}: keeping the exec plugin user ${existing.userName} and its arguments`);
    }
    chosen.set(entry.name, form === 'exec' ? (request.exec ?? (existing ? keptExecOptions(existing) : undefined)) : undefined);
  }
  return chosen;
}

/** What -o json prints per cluster; the key set is a documented contract. */
export interface LoginOutcome {
  cluster: string;
  context: string;
  user: string;
  issuer: string;
  subject: string;
  email: string | null;
  groups: string[];
  /** RFC 3339, the ID token's exp. */
  expiry: string;
  /** Not in -o json: where the entries went. */
  kubeconfig: string;
  currentContextSet: boolean;
  /** Not in -o json: the token cache file, with --exec. */
  cacheFile?: string;
}

/** The Kubernetes username for an entry: the username-claim value (email by default). */
export function usernameFor(entry: ClusterEntry, claims: Record<string, unknown>): string {
  const value = claims[entry.usernameClaim];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  throw new CliError(
    ExitCode.PROVIDER,
    `the ID token from ${entry.issuerUrl} has no '${entry.usernameClaim}' claim (username-claim of cluster '${entry.name}'): allow the matching scope for client '${entry.clientId}', or set username-claim in the catalog`,
  );
}

/**
 * The kubeconfig writer (and with it the yaml library) loads while the person is at the
 * provider, not after the callback: it was the largest part of callback → exit (bench/login.ts).
 */
function preloadWriters(): void {
  Promise.all([import('../adapters/kubeconfig-file.js'), import('../core/kubeconfig-merge.js')]).catch(() => undefined);
  // Node loads its fetch classes on first use (~4 ms); openid-client's token request uses Headers
  void globalThis.Headers;
}

export async function login(request: LoginRequest): Promise<LoginOutcome[]> {
  const names = [...new Set(request.clusters.map(checkClusterName))];
  if (names.length === 0) throw new CliError(ExitCode.USAGE, 'name at least one cluster: k8s-auth login <cluster>');
  if (request.contextName !== undefined && names.length > 1) throw new CliError(ExitCode.USAGE, '--context-name renames one context: name a single cluster with it');
  const paths = kubeconfigPaths(request.kubeconfig, request.env ?? process.env);
  // load the HTTP stack while the catalog answers; openid-client and the kubeconfig writer load
  // once the browser is open (docs/performance.md)
  import('../adapters/oidc-discovery.js').catch(() => undefined); // a failure to load is reported by the session's discovery
  // the provider session `credential` uses too: discovery once per provider, the --grant choice
  const session = createProviderSession({
    caFiles: request.caFiles,
    insecureSkipTlsVerify: request.insecureSkipTlsVerify,
    httpTimeoutMs: request.httpTimeoutMs,
    timeoutMs: request.timeoutMs,
    ...(request.listenPort !== undefined ? { listenPort: request.listenPort } : {}),
    // the command's opener already honours --no-browser and names --listen-port for ssh -L
    opener: () => async (url) => {
      await request.openBrowser(url);
      preloadWriters();
    },
    ...(request.grant ? { grant: request.grant } : {}),
  });
  const targets = await loginTargets(names, { catalog: request.catalog, ...(request.kubeconfig !== undefined ? { kubeconfig: request.kubeconfig } : {}), ...(request.env ? { env: request.env } : {}), note: info });
  const entries = targets.map((t) => t.entry);
  const contextOf = new Map(targets.flatMap((t) => (t.context !== undefined ? [[t.entry.name, t.context] as const] : [])));
  const contextNameOf = (entry: ClusterEntry): string => request.contextName ?? contextOf.get(entry.name) ?? entry.name;
  if (request.trustedClient && request.exec) throw new CliError(ExitCode.USAGE, '--trusted-client writes auth-provider users (one kubeconfig user per issuer): drop --exec');
  const groups = planSignIns(entries, request.trustedClient);
  for (const reason of extraSignInReasons(groups)) info(reason);
  // discovery for every provider at once, while the kubeconfig is checked
  const endpoints = groups.map((group): ProviderEndpoint => {
    const caPems = group.entries.map((e) => decodeBase64Pem(e.idpCertificateAuthorityData)).filter((p): p is string => p !== undefined);
    // the trusted client is the CLI's own, public client: the clusters' secrets are not its
    const clientSecret = group.trusted ? undefined : group.entries.find((e) => e.clientSecret)?.clientSecret;
    return { issuerUrl: group.issuerUrl, clientId: group.clientId, ...(clientSecret ? { clientSecret } : {}), caPems };
  });
  for (const endpoint of endpoints) session.discover(endpoint).catch(() => undefined); // reported at the sign-in below
  // one turn of the event loop, so that discovery's connection is under way (its TLS handshake at
  // the provider) while the kubeconfig is checked below, not after: the check of a 2 MB file
  // takes ~8 ms, a remote provider's round trips far more
  await new Promise((resolve) => setImmediate(resolve));
  // an unreadable or malformed kubeconfig, or a kubeconfig or token cache directory someone else
  // controls, fails now, not after the person has signed in
  const writes = { clusters: entries.map((e) => e.name), contexts: entries.map(contextNameOf) };
  for (const path of paths) await checkKubeconfigBeforeSignIn(path, writes);
  checkKubeconfigDirectory(paths[0] as string);
  const execFor = execOptionsPerCluster(request, entries, contextNameOf);
  for (const entry of entries) {
    const options = execFor.get(entry.name);
    if (options) (await import('./login-exec.js')).checkExecCache([entry], options);
  }

  const outcomes: LoginOutcome[] = [];
  for (const [index, group] of groups.entries()) {
    const endpoint = endpoints[index] as ProviderEndpoint;
    await session.discover(endpoint);
    const clusterNames = group.entries.map((e) => e.name);
    request.onSignInStart?.(group.issuerUrl, clusterNames);
    const redirectUri = group.trusted ? undefined : group.entries.find((e) => e.redirectUri)?.redirectUri;
    const scopes = [...new Set([...group.entries.flatMap(scopesFor), ...group.audienceScopes])];
    const loginHint = group.entries.map((e) => execFor.get(e.name)?.loginHint).find((h) => h !== undefined);
    // --grant: the flow is chosen (and device code / password run) by the session's grant use case
    const result = await session.signIn(
      { ...endpoint, ...(redirectUri ? { redirectUri } : {}) },
      {
        scopes,
        clusters: clusterNames,
        ...(loginHint ? { loginHint } : {}),
        // every entry's username claim is checked before the page says who signed in
        describeUser: (claims) => {
          if (loginHint) for (const entry of group.entries) checkHintedUser(entry.name, loginHint, claims, entry.usernameClaim);
          return group.entries.map((entry) => usernameFor(entry, claims))[0] as string;
        },
      },
    );
    debug(`signed in at ${group.issuerUrl}; ID token valid until ${isoFromUnix(result.expiresAt)}`);
    const lacking = group.trusted ? missingAudiences(group, result.claims['aud']) : [];
    if (lacking.length > 0) throw new CliError(ExitCode.PROVIDER, `the ID token from ${group.issuerUrl} for client ${group.clientId} is not for ${lacking.join(', ')} (its aud lacks their client-id): make ${group.clientId} a trusted peer of their clients (\`k8s-auth clusters add --trusted-peer ${group.clientId}\`)`);
    const [{ setCurrentContextInFiles, updateKubeconfig }, { oidcAuthProviderUser, setCluster, setContext, setCurrentContext, setUser }] = await Promise.all([
      import('../adapters/kubeconfig-file.js'),
      import('../core/kubeconfig-merge.js'),
    ]);

    for (const entry of group.entries) {
      const username = usernameFor(entry, result.claims);
      // a trusted-client sign-in: one user for the whole group, so kubectl's refresh (rotating
      // the one refresh token) writes back where every context of the group reads it
      const userName = `${username}@${group.trusted ? group.clientId : entry.name}`;
      const contextName = contextNameOf(entry);
      const setCurrentHere = request.setCurrent && outcomes.length === 0 && paths.length === 1;
      // the cache first: a kubeconfig naming the plugin must never point at an empty cache
      // loaded only for --exec: the token cache and grant modules are not needed otherwise
      const execOptions = execFor.get(entry.name);
      const execLogin = execOptions ? await import('./login-exec.js') : undefined;
      // the cache key names the person (--login-hint, else who just signed in), so people
      // signed in at the same provider and client never share, or overwrite, a cached token
      const exec = execOptions ? { ...execOptions, loginHint: execOptions.loginHint ?? username } : undefined;
      if (exec) checkHintedUser(entry.name, exec.loginHint, result.claims, entry.usernameClaim);
      const cacheFile = exec && execLogin ? await execLogin.storeForExec(entry, result, exec) : undefined;
      const written = await updateKubeconfig(paths, { cluster: entry.name, user: userName, context: contextName }, (doc) => {
        setCluster(doc, entry.name, { server: entry.server, ...(entry.certificateAuthorityData ? { caData: entry.certificateAuthorityData } : {}) });
        setUser(
          doc,
          userName,
          exec && execLogin
            ? execLogin.execUserFor(entry, exec)
            : oidcAuthProviderUser({
                issuerUrl: entry.issuerUrl,
                clientId: group.clientId,
                ...(entry.clientSecret && !group.trusted ? { clientSecret: entry.clientSecret } : {}),
                idToken: result.idToken,
                ...(result.refreshToken ? { refreshToken: result.refreshToken } : {}),
                ...(entry.idpCertificateAuthorityData ? { idpCaData: entry.idpCertificateAuthorityData } : {}),
              }),
        );
        setContext(doc, contextName, { cluster: entry.name, user: userName, ...(entry.namespace ? { namespace: entry.namespace } : {}) });
        if (setCurrentHere) setCurrentContext(doc, contextName);
      });
      // the first cluster named becomes current; with several files, where kubectl reads it
      const currentContextSet = request.setCurrent && outcomes.length === 0;
      if (currentContextSet && !setCurrentHere) await setCurrentContextInFiles(paths, contextName, written);
      const email = result.claims['email'];
      outcomes.push({
        cluster: entry.name,
        context: contextName,
        user: userName,
        issuer: String(result.claims['iss'] ?? entry.issuerUrl),
        subject: String(result.claims['sub'] ?? ''),
        email: typeof email === 'string' ? email : null,
        groups: groupsFrom(result.claims[entry.groupsClaim]),
        expiry: isoFromUnix(result.expiresAt) as string,
        kubeconfig: written,
        currentContextSet,
        ...(cacheFile ? { cacheFile } : {}),
      });
    }
  }
  return outcomes;
}
