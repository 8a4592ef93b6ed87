import { type Command, Option } from 'commander';
import { addCatalogOptions, type CatalogOptions } from '../../config/catalog-options.js';
import { DATA_FORMATS, outputOption, resolveOutput } from '../../config/output-options.js';
import { addSignInOptions, httpTimeoutOption } from '../../config/sign-in-flags.js';

/**
 * `k8s-auth doctor [<cluster>]`: every check a sign-in and kubectl depend on, one line each with
 * a verdict and a fix; exit 12 (CHECK_FAILED) when one fails (docs/usage.md#doctor).
 */
interface DoctorFlags extends CatalogOptions {
  kubeconfig?: string;
  context?: string;
  certificateAuthority?: string[];
  listenPort?: string;
  tokenCacheDir?: string;
  authenticationConfig?: string;
  output?: string;
}

export function register(program: Command): void {
  const command = program
    .command('doctor')
    .summary('check Vault, the catalog, the provider, the kubeconfig, tokens and the API server')
    .description(
      'Check, read-only, what signing in and kubectl depend on: Vault (token lookup-self), the catalog entry, the ' +
        "provider's discovery over TLS with the configured CA, the redirect URI against the loopback listener, the " +
        'kubeconfig, stale locks, cached tokens and their expiry, and whether the API server accepts the current ' +
        'credentials. Each check prints a verdict and, when it fails, a fix. Exit code 12 when a check fails.',
    )
    .argument('[cluster]', 'cluster from the catalog (default: the cluster of the current kubeconfig context)');
  addCatalogOptions(command)
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig to check (default: $KUBECONFIG, else ~/.kube/config)'))
    .addOption(new Option('--context <name>', 'kubeconfig context of the cluster (default: the cluster name, else the current context)'));
  addSignInOptions(command, ['certificateAuthority'])
    .addOption(new Option('--listen-port <port>', 'check this fixed callback port instead of the catalog redirect-uri / a free port'))
    .addOption(new Option('--token-cache-dir <dir>', 'token cache directory (default: $KUBECACHEDIR/k8s-auth, else ~/.kube/cache/k8s-auth)'))
    .addOption(new Option('--authentication-config <file>', "kube-apiserver's --authentication-config file (AuthenticationConfiguration): say which of its rules the ID token fails"))
    .addOption(httpTimeoutOption({ defaultSeconds: 10 }))
    .addOption(outputOption(DATA_FORMATS, 'text'))
    .action(async (cluster: string | undefined, flags: DoctorFlags, cmd: Command) => {
      await runDoctorCommand(cluster, flags, Boolean(cmd.optsWithGlobals<{ quiet?: boolean }>().quiet));
    });
}

async function runDoctorCommand(cluster: string | undefined, flags: DoctorFlags, quiet: boolean): Promise<void> {
  const { CliError, ExitCode } = await import('../../errors.js');
  const { httpTimeoutMs, parsePort } = await import('../../config/sign-in-flags.js');
  const { checkClusterName } = await import('../../core/cluster-entry.js');
  const { printData } = await import('../../ui/output.js');
  const { startSpinner } = await import('../../ui/spinner.js');
  const { style } = await import('../../ui/log.js');
  const { renderReport, reportData } = await import('../../core/doctor/report.js');
  const { runDoctor } = await import('../../usecases/doctor/index.js');

  const { format } = resolveOutput(flags.output, DATA_FORMATS, 'text');
  if (cluster !== undefined) {
    // a context name resolves to its cluster (docs/usage.md#naming-a-cluster); an explicit --context stays as given
    const { resolveCommandTarget } = await import('../../config/cluster-target-options.js');
    const target = await resolveCommandTarget({ positional: cluster, kubeconfig: flags.kubeconfig });
    cluster = target.cluster ?? cluster;
    if (flags.context === undefined && target.context !== undefined) flags.context = target.context;
  }
  if (cluster !== undefined) checkClusterName(cluster);
  const listenPort = parsePort(flags.listenPort);
  const spinner = await startSpinner(`checking ${cluster ?? 'the current context'}…`, quiet);
  let report;
  try {
    report = await runDoctor({
      ...(cluster === undefined ? {} : { cluster }),
      catalog: flags,
      ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
      ...(flags.context === undefined ? {} : { context: flags.context }),
      caFiles: flags.certificateAuthority ?? [],
      ...(listenPort === undefined ? {} : { listenPort }),
      ...(flags.tokenCacheDir === undefined ? {} : { tokenCacheDir: flags.tokenCacheDir }),
      ...(flags.authenticationConfig === undefined ? {} : { authenticationConfig: flags.authenticationConfig }),
      httpTimeoutMs: httpTimeoutMs(flags.httpTimeout, 10_000),
    });
  } finally {
    spinner.stop();
  }
  if (format === 'json' || format === 'yaml') printData(format, reportData(report));
  else process.stdout.write(renderReport(report, colorFor(style), quiet));
  if (!report.ok) {
    const failed = report.checks.filter((c) => c.verdict === 'fail').map((c) => c.id);
    throw new CliError(ExitCode.CHECK_FAILED, `${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.join(', ')}`);
  }
}

/** Colour the report only when stdout (where it goes) is a terminal; `style` follows NO_COLOR. */
function colorFor(style: typeof import('../../ui/log.js').style) {
  if (!process.stdout.isTTY) return undefined;
  return { green: style.green, red: style.red, yellow: style.yellow, dim: style.dim, bold: style.bold };
}
