import { type Command, Option } from 'commander';
import { addCatalogOptions, type CatalogOptions } from '../config/catalog-options.js';
import { addSignInOptions, parseSignInFlags, secondsFlag, type SignInFlags } from '../config/sign-in-flags.js';
import { checkClusterName } from '../core/cluster-entry.js';
import { CREDENTIAL_FLAGS, formatExecCredential, parseExecInfo } from '../core/exec-credential.js';
import { DEFAULT_LOCK_TIMEOUT_SECONDS, DEFAULT_SKEW_SECONDS } from '../core/token-cache-freshness.js';
import { parseScopes, type TokenCacheKey } from '../core/token-cache-key.js';
import { CliError, ExitCode } from '../errors.js';

/**
 * `k8s-auth credential <cluster>`: the kubectl exec credential plugin (docs/exec-plugin.md).
 * bin/k8s-auth.js answers from the token cache before this file is even loaded; this is the
 * full path for a miss: refresh, or sign in when the run may be interactive.
 */
export interface CredentialFlags extends CatalogOptions, SignInFlags {
  issuer?: string;
  clientId?: string;
  scopes?: string;
  loginHint?: string;
  tokenCacheDir?: string;
  skew: string;
  lockTimeout: string;
  interactive: boolean;
  httpTimeout?: string | number;
}

export function register(program: Command): void {
  const command = program
    .command('credential')
    .summary('print an ExecCredential for kubectl (the exec credential plugin)')
    .description(
      'Run by kubectl through the kubeconfig that `k8s-auth login --exec` writes: prints a client.authentication.k8s.io ' +
        'ExecCredential with the cached ID token on stdout, refreshing it (or signing in, when kubectl says the run is ' +
        'interactive) when it expires. Nothing else is ever written to stdout.',
    )
    .argument('<cluster>', 'cluster name from the catalog');
  addCatalogOptions(command)
    .addOption(new Option(`${CREDENTIAL_FLAGS.issuer} <url>`, 'issuer of the cached tokens (written by login --exec; with --client-id and --scopes the cache is found without the catalog)'))
    .addOption(new Option(`${CREDENTIAL_FLAGS.clientId} <id>`, 'OAuth client id of the cached tokens'))
    .addOption(new Option(`${CREDENTIAL_FLAGS.scopes} <scopes>`, 'scopes of the cached tokens, space- or comma-separated'))
    .addOption(new Option(`${CREDENTIAL_FLAGS.loginHint} <user>`, 'keep a separate cached sign-in per user at the same provider'))
    .addOption(new Option(`${CREDENTIAL_FLAGS.cacheDir} <dir>`, 'token cache directory (default: $KUBECACHEDIR/k8s-auth, else ~/.kube/cache/k8s-auth)'))
    .addOption(new Option(`${CREDENTIAL_FLAGS.skew} <seconds>`, 'refresh a token that expires within this margin').env('K8S_AUTH_SKEW').default(String(DEFAULT_SKEW_SECONDS)))
    .addOption(new Option('--lock-timeout <seconds>', 'wait at most this long for another k8s-auth refreshing the same token').env('K8S_AUTH_LOCK_TIMEOUT').default(String(DEFAULT_LOCK_TIMEOUT_SECONDS)))
    .addOption(new Option('--no-interactive', 'never sign in from here, even on a terminal: fail with exit 10 when the token cannot be refreshed'));
  // the flags login --exec writes back: --grant, --username, --no-browser, --browser-command, --listen-port, --certificate-authority, --insecure-skip-tls-verify, --timeout, --http-timeout
  addSignInOptions(command).action(async (cluster: string, flags: CredentialFlags) => {
    await runCredential(cluster, flags);
  });
}

async function clusterOfTypedName(name: string): Promise<string> {
  const { resolveCommandTarget } = await import('../config/cluster-target-options.js');
  return (await resolveCommandTarget({ positional: name, contextFlag: false })).cluster ?? name;
}

/** The identity args come as a set: all three (the hot path's key) or none (the catalog decides). */
function keyFrom(flags: CredentialFlags): TokenCacheKey | undefined {
  const given = [flags.issuer, flags.clientId, flags.scopes].filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (given !== 3 || !flags.issuer || !flags.clientId || flags.scopes === undefined) {
    throw new CliError(ExitCode.USAGE, `${CREDENTIAL_FLAGS.issuer}, ${CREDENTIAL_FLAGS.clientId} and ${CREDENTIAL_FLAGS.scopes} go together: give all three, or none to look the cluster up in the catalog`);
  }
  const key: TokenCacheKey = { issuer: flags.issuer, clientId: flags.clientId, scopes: parseScopes(flags.scopes) };
  if (flags.loginHint) key.loginHint = flags.loginHint;
  return key;
}

/**
 * Until the answer is ready, anything written to stdout (a library's console.log) goes to
 * stderr instead: kubectl parses our stdout, and it must hold the ExecCredential only.
 */
function guardStdout(): (text: string) => void {
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    (process.stderr.write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest)) as typeof process.stdout.write;
  return (text: string) => {
    process.stdout.write = original;
    original(text);
  };
}

async function runCredential(named: string, flags: CredentialFlags): Promise<void> {
  const emit = guardStdout();
  checkClusterName(named);
  const execInfo = parseExecInfo(process.env['KUBERNETES_EXEC_INFO']);
  if (!execInfo.ok) throw new CliError(ExitCode.USAGE, execInfo.problem);
  const skewSeconds = secondsFlag(flags.skew, CREDENTIAL_FLAGS.skew, { positive: false });
  const lockTimeoutMs = Math.round(secondsFlag(flags.lockTimeout, '--lock-timeout', { positive: false }) * 1000);
  const signInFlags = parseSignInFlags(flags);
  const { timeoutMs, listenPort, grant } = signInFlags;
  const key = keyFrom(flags);
  // kubectl's runs carry the identity args and the cluster login wrote; a person typing
  // `credential lab-ctx` (the context whoami shows) means that context's cluster
  const cluster = key === undefined ? await clusterOfTypedName(named) : named;
  const { cooldownSecondsFrom, SIGN_IN_COOLDOWN_ENV } = await import('../core/sign-in-cooldown.js');
  const signInCooldownSeconds = cooldownSecondsFrom(process.env);
  if (signInCooldownSeconds === undefined) throw new CliError(ExitCode.USAGE, `${SIGN_IN_COOLDOWN_ENV} must be a number of seconds (or 90s, 2m; 0 for none), not '${process.env[SIGN_IN_COOLDOWN_ENV] ?? ''}'`);
  // kubectl says whether it gave us a terminal; run by hand, a TTY on stdin decides
  const interactive = flags.interactive !== false && (execInfo.info.interactive ?? Boolean(process.stdin.isTTY));
  const nonInteractiveReason =
    flags.interactive === false ? '--no-interactive was given' : execInfo.info.interactive === false ? 'kubectl says this run has no terminal (spec.interactive: false)' : 'stdin is not a terminal';

  const { catalogFromOptions } = await import('../config/catalog-options.js');
  const [{ getCredential }, { createProviderSession }, { signInNeedsPerson }, { fileTokenStore }] = await Promise.all([
    import('../usecases/credential.js'),
    import('../usecases/provider-session.js'),
    import('../usecases/sign-in.js'),
    import('../adapters/token-store.js'),
  ]);
  const settings = {
    grant,
    noBrowser: signInFlags.noBrowser,
    timeoutMs,
    ...(signInFlags.browserCommand ? { browserCommand: signInFlags.browserCommand } : {}),
    ...(signInFlags.username ? { username: signInFlags.username } : {}),
  };
  const session = createProviderSession({
    caFiles: signInFlags.caFiles,
    insecureSkipTlsVerify: signInFlags.insecureSkipTlsVerify,
    httpTimeoutMs: signInFlags.httpTimeoutMs,
    timeoutMs,
    ...(listenPort !== undefined ? { listenPort } : {}),
    opener: (allowed) => async (url) => {
      const { createBrowserOpener } = await import('../adapters/browser-launcher.js');
      return createBrowserOpener({ noBrowser: !allowed, ...(signInFlags.browserCommand ? { browserCommand: signInFlags.browserCommand } : {}) })(url);
    },
    grant: settings,
  });

  const credential = await getCredential(
    {
      cluster,
      ...(key ? { key } : {}),
      ...(flags.loginHint ? { loginHint: flags.loginHint } : {}),
      ...(flags.tokenCacheDir ? { cacheDir: flags.tokenCacheDir } : {}),
      skewSeconds,
      lockTimeoutMs,
      interactive,
      nonInteractiveReason,
      signInCooldownSeconds,
    },
    { resolveEntry: () => catalogFromOptions(flags).get(cluster), session, signInNeedsPerson: signInNeedsPerson(settings), store: fileTokenStore },
  );
  emit(formatExecCredential(execInfo.info.apiVersion, credential.token, credential.expiresAtMs, execInfo.info.interactive));
}
