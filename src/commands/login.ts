import { type Command, Option } from 'commander';
import { DATA_FORMATS, outputOption, resolveOutput } from '../config/output-options.js';
import { addCatalogOptions, type CatalogOptions } from '../config/catalog-options.js';
import { addExecLoginOptions, type ExecLoginFlags } from '../config/exec-login-options.js';
import { CliError, ExitCode } from '../errors.js';
import { flagLabel } from '../config/option-source.js';

/**
 * `k8s-auth login <cluster>...`: sign in through the browser and write the kubeconfig
 * (docs/usage.md#login). Heavy modules load inside the action.
 */
interface LoginFlags extends CatalogOptions, ExecLoginFlags {
  timeout: string;
  listenPort?: string;
  browserCommand?: string;
  browser: boolean;
  kubeconfig?: string;
  contextName?: string;
  setCurrent: boolean;
  certificateAuthority?: string[];
  insecureSkipTlsVerify?: boolean;
  output?: string;
  quiet?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export const DEFAULT_LOGIN_TIMEOUT_SECONDS = 180;

export function register(program: Command): void {
  const command = program
    .command('login')
    .summary('sign in through the browser and write the kubeconfig')
    .description(
      'Sign in to one or more clusters of the catalog through your browser (OpenID Connect, authorization code with PKCE) ' +
        'and write a cluster, a user and a context for each into your kubeconfig. Clusters that share an identity provider ' +
        'and client share one sign-in. kubectl refreshes the ID token by itself afterwards.',
    )
    .argument('<cluster...>', 'cluster names from the catalog');
  addCatalogOptions(command)
    .addOption(new Option('--timeout <seconds>', 'give up when the sign-in is not finished within this time').env('K8S_AUTH_TIMEOUT').default(String(DEFAULT_LOGIN_TIMEOUT_SECONDS)))
    .addOption(new Option('--listen-port <port>', 'fixed port of the loopback redirect http://127.0.0.1:<port>/callback (default: any free port)'))
    .addOption(new Option('--browser-command <command>', 'open the sign-in URL with this command: no shell, the URL is added as the last argument (default: $BROWSER, else the system browser)'))
    .addOption(new Option('--no-browser', 'do not open a browser: print the URL on stderr and wait'))
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig to write (default: $KUBECONFIG, else ~/.kube/config)'))
    .addOption(new Option('--context-name <name>', 'name of the context to write (default: the cluster name)'))
    .addOption(new Option('--no-set-current', 'leave current-context as it is'))
    .addOption(new Option('--certificate-authority <file>', "CA certificate (PEM) for the identity provider, added to the system's (repeatable)").argParser(collect))
    .addOption(new Option('--insecure-skip-tls-verify', "don't verify the identity provider's TLS certificate (unsafe; warns)"))
    .addOption(new Option('--http-timeout <seconds>', 'timeout of each HTTP request').env('K8S_AUTH_HTTP_TIMEOUT'))
    .addOption(outputOption(DATA_FORMATS, 'text'))
    .action(async (clusters: string[], flags: LoginFlags, cmd: Command) => {
      const typed = (name: string) => (cmd.getOptionValueSource(name) === 'cli' ? (cmd.getOptionValue(name) as string) : undefined);
      const typedTimeouts = { ...(typed('timeout') !== undefined ? { timeout: typed('timeout') } : {}), ...(typed('httpTimeout') !== undefined ? { httpTimeout: typed('httpTimeout') } : {}) };
      await runLogin(clusters, { ...flags, typedTimeouts, quiet: Boolean(cmd.optsWithGlobals<{ quiet?: boolean }>().quiet) });
    });
  // --exec, --exec-command, --exec-api-version, --login-hint, --token-cache-dir, --grant, --username
  addExecLoginOptions(command);
}

export function parseSeconds(value: string, flag: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError(ExitCode.USAGE, `${flagLabel(flag)} must be a positive number of seconds, not '${value}'`);
  return Math.round(seconds * 1000);
}

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new CliError(ExitCode.USAGE, `--listen-port must be a port number (1-65535), not '${value}'`);
  return port;
}

async function runLogin(clusters: string[], flags: LoginFlags): Promise<void> {
  const timeoutMs = parseSeconds(flags.timeout, '--timeout');
  const listenPort = parsePort(flags.listenPort);
  const { catalogFromOptions, httpTimeoutMs } = await import('../config/catalog-options.js');
  const catalog = catalogFromOptions(flags);
  const { createBrowserOpener } = await import('../adapters/browser-launcher.js');
  const { login } = await import('../usecases/login.js');
  const { info, style } = await import('../ui/log.js');
  const openBrowser = createBrowserOpener({ noBrowser: !flags.browser, ...(flags.browserCommand !== undefined ? { browserCommand: flags.browserCommand } : {}), ...(listenPort !== undefined ? { listenPort } : {}) });
  const mode = (await import('../config/exec-login-options.js')).loginModeFrom(flags, timeoutMs);

  const outcomes = await login({
    clusters,
    catalog,
    ...(flags.kubeconfig !== undefined ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.contextName !== undefined ? { contextName: flags.contextName } : {}),
    setCurrent: flags.setCurrent,
    timeoutMs,
    ...(listenPort !== undefined ? { listenPort } : {}),
    openBrowser,
    caFiles: flags.certificateAuthority ?? [],
    insecureSkipTlsVerify: Boolean(flags.insecureSkipTlsVerify),
    httpTimeoutMs: httpTimeoutMs(flags.httpTimeout),
    onSignInStart: (issuer, names) => info(`Signing in to ${names.join(', ')} at ${issuer} (waiting up to ${Math.round(timeoutMs / 1000)}s)…`),
    grant: mode.grant,
    ...(mode.exec ? { exec: mode.exec } : {}),
    ...(mode.authProvider ? { authProvider: true } : {}),
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
