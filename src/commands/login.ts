import { type Command, Option } from 'commander';
import { DATA_FORMATS, outputOption, resolveOutput } from '../config/output-options.js';
import { addCatalogOptions, type CatalogOptions } from '../config/catalog-options.js';
import { addExecLoginOptions, type ExecLoginFlags } from '../config/exec-login-options.js';
import { addSignInOptions, valueSourceOf, type ValueSource } from '../config/sign-in-flags.js';
import { CliError, ExitCode } from '../errors.js';

/**
 * `k8s-auth login <cluster>...`: sign in through the browser and write the kubeconfig
 * (docs/usage.md#login). Heavy modules load inside the action.
 */
interface LoginFlags extends CatalogOptions, ExecLoginFlags {
  kubeconfig?: string;
  contextName?: string;
  setCurrent: boolean;
  output?: string;
  quiet?: boolean;
  all?: boolean;
  trustedClient?: string;
}

export function register(program: Command): void {
  const command = program
    .command('login')
    .summary('sign in through the browser and write the kubeconfig')
    .description(
      'Sign in to one or more clusters of the catalog through your browser (OpenID Connect, authorization code with PKCE) ' +
        'and write a cluster, a user and a context for each into your kubeconfig. Clusters that share an identity provider ' +
        'and client share one sign-in. kubectl refreshes the ID token by itself afterwards.',
    )
    .argument('[cluster...]', 'cluster names from the catalog (or --all)');
  addCatalogOptions(command)
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig to write (default: $KUBECONFIG, else ~/.kube/config)'))
    .addOption(new Option('--context-name <name>', 'name of the context to write (default: the cluster name)'))
    .addOption(new Option('--no-set-current', 'leave current-context as it is'))
    .addOption(new Option('--all', 'every cluster of the catalog'))
    .addOption(new Option('--trusted-client <client-id>', "sign in once per issuer as this client, asking for each cluster's client as an audience (Dex cross-client trust; docs/fleet.md)").env('K8S_AUTH_TRUSTED_CLIENT'));
  // --grant, --username, --no-browser, --browser-command, --listen-port, --certificate-authority, --insecure-skip-tls-verify, --timeout, --http-timeout
  addSignInOptions(command)
    .addOption(outputOption(DATA_FORMATS, 'text'))
    .action(async (clusters: string[], flags: LoginFlags, cmd: Command) => {
      await runLogin(clusters, { ...flags, quiet: Boolean(cmd.optsWithGlobals<{ quiet?: boolean }>().quiet) }, valueSourceOf(cmd));
    });
  // --exec, --exec-command, --exec-api-version, --login-hint, --token-cache-dir
  addExecLoginOptions(command);
}

async function runLogin(clusters: string[], flags: LoginFlags, source: ValueSource): Promise<void> {
  const { parseSignInFlags } = await import('../config/sign-in-flags.js');
  const signIn = parseSignInFlags(flags);
  const { timeoutMs, listenPort } = signIn;
  const { catalogFromOptions } = await import('../config/catalog-options.js');
  const catalog = catalogFromOptions(flags);
  if (flags.all && clusters.length > 0) throw new CliError(ExitCode.USAGE, '--all signs in to every cluster of the catalog: name no cluster with it');
  if (flags.all) clusters = await catalog.list();
  if (clusters.length === 0) throw new CliError(ExitCode.USAGE, flags.all ? `no clusters in ${catalog.describe()}` : "missing required argument 'cluster': name at least one cluster of the catalog, or --all");
  const { createBrowserOpener } = await import('../adapters/browser-launcher.js');
  const { login } = await import('../usecases/login.js');
  const { info, style } = await import('../ui/log.js');
  const openBrowser = createBrowserOpener({ noBrowser: signIn.noBrowser, ...(signIn.browserCommand !== undefined ? { browserCommand: signIn.browserCommand } : {}), ...(listenPort !== undefined ? { listenPort } : {}) });
  const mode = (await import('../config/exec-login-options.js')).loginModeFrom(flags, timeoutMs, process.env, source);

  const outcomes = await login({
    clusters,
    catalog,
    ...(flags.kubeconfig !== undefined ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.contextName !== undefined ? { contextName: flags.contextName } : {}),
    setCurrent: flags.setCurrent,
    timeoutMs,
    ...(listenPort !== undefined ? { listenPort } : {}),
    openBrowser,
    caFiles: signIn.caFiles,
    insecureSkipTlsVerify: signIn.insecureSkipTlsVerify,
    httpTimeoutMs: signIn.httpTimeoutMs,
    onSignInStart: (issuer, names) => info(`Signing in to ${names.join(', ')} at ${issuer} (waiting up to ${Math.round(timeoutMs / 1000)}s)…`),
    grant: mode.grant,
    ...(mode.exec ? { exec: mode.exec } : {}),
    ...(mode.authProvider ? { authProvider: true } : {}),
    ...(flags.trustedClient ? { trustedClient: flags.trustedClient } : {}),
  });

  const output = resolveOutput(flags.output, DATA_FORMATS, 'text').format;
  if (output === 'json' || output === 'yaml') {
    const data = outcomes.map(({ cluster, context, user, issuer, subject, email, groups, expiry }) => ({ cluster, context, user, issuer, subject, email, groups, expiry }));
    const { printData } = await import('../ui/output.js');
    printData(output, data.length === 1 ? data[0] : data);
    return;
  }
  for (const o of outcomes) {
    const groups = o.groups.length > 0 ? ` (groups: ${o.groups.join(', ')})` : '';
    info(`${style.green('✓')} Signed in to ${style.bold(o.cluster)} as ${style.bold(o.user.slice(0, o.user.lastIndexOf('@')))}${groups}`);
    const renewal = o.cacheFile ? `cached in ${o.cacheFile}; kubectl gets it from \`k8s-auth credential\`` : 'kubectl refreshes it';
    info(`  context ${o.context} in ${o.kubeconfig}${o.currentContextSet ? ' (now current)' : ''}; ID token valid until ${o.expiry}, ${renewal}`);
  }
}
