import { type Command, Option } from 'commander';
import { outputOption, resolveOutput } from '../config/output-options.js';
import { collect, httpTimeoutOption } from '../config/sign-in-flags.js';
import type { TokenOutputFormat } from '../core/token-output.js';
import { CliError, ExitCode } from '../errors.js';

/**
 * `k8s-auth token --ttl 12h`: a ServiceAccount token that expires on its own, for CI shells and
 * scripts. Everything CI needs is settable from the environment (docs/token.md).
 */
interface TokenFlags {
  serviceAccount?: string;
  namespace: string;
  ttl: string;
  audience?: string[];
  cluster?: string;
  context?: string;
  kubeconfig?: string;
  output?: string;
  kubeconfigOut?: string;
  viaVault?: string;
  vaultK8sMount: string;
  usernameClaim: string;
  httpTimeout?: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** core/token-output.ts's TOKEN_OUTPUT_FORMATS, listed here so registering the command does not load yaml. */
const TOKEN_OUTPUT_FORMATS = ['token', 'json', 'yaml', 'exec-credential', 'kubeconfig'] as const satisfies readonly TokenOutputFormat[];

export function register(program: Command): void {
  program
    .command('token')
    .summary('mint a short-lived ServiceAccount token (TokenRequest API or Vault)')
    .description(
      'Mint a ServiceAccount token that expires on its own. By default the ServiceAccount is your own (named from your login ' +
        'like `k8s-auth rbac` names it) and the token is minted with the TokenRequest API using your current kubeconfig ' +
        'credentials; --via-vault ROLE mints it through Vault\'s Kubernetes secrets engine instead. The token goes to stdout ' +
        '(never to a terminal unless -o is given), or into a kubeconfig with -o kubeconfig.',
    )
    .addOption(new Option('--ttl <duration>', 'lifetime, e.g. 12h, 90m, 1h30m, 2d (at least 10m)').env('K8S_AUTH_TTL').makeOptionMandatory())
    .addOption(new Option('--service-account <name>', 'ServiceAccount to mint for (default: your own, from the current login)').env('K8S_AUTH_SERVICE_ACCOUNT'))
    .addOption(new Option('-n, --namespace <namespace>', 'namespace of the ServiceAccount').env('K8S_AUTH_SA_NAMESPACE').default('default'))
    .addOption(new Option('--audience <audience>', 'intended audience of the token, repeatable (default: $K8S_AUTH_AUDIENCES, comma-separated, else the API server)').argParser(collect))
    .argument('[cluster]', "catalog cluster to mint through (its context; default: the current context); a context name works too")
    .addOption(new Option('--context <name>', 'kubeconfig context to mint through; K8S_AUTH_CLUSTER is deprecated (default: the current context)').env('K8S_AUTH_CONTEXT'))
    .addOption(new Option('--cluster <name>', 'deprecated: the cluster positional or --context').hideHelp())
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig to read (default: $KUBECONFIG, else ~/.kube/config)'))
    .addOption(outputOption(TOKEN_OUTPUT_FORMATS, 'token'))
    .addOption(new Option('--kubeconfig-out <file>', 'with -o kubeconfig: write a self-contained kubeconfig here (mode 0600) instead of merging into the current one').env('K8S_AUTH_KUBECONFIG_OUT'))
    .addOption(new Option('--via-vault <role>', "mint through Vault's Kubernetes secrets engine with this role (VAULT_ADDR/VAULT_TOKEN as for the vault CLI)").env('K8S_AUTH_VIA_VAULT'))
    .addOption(new Option('--vault-k8s-mount <mount>', 'mount path of the Kubernetes secrets engine').env('K8S_AUTH_VAULT_K8S_MOUNT').default('kubernetes'))
    .addOption(new Option('--username-claim <claim>', 'ID token claim that names you (as the catalog entry says)').env('K8S_AUTH_USERNAME_CLAIM').default('email'))
    .addOption(httpTimeoutOption({ what: 'request' }))
    .action(async (positional: string | undefined, flags: TokenFlags, command: Command) => {
      await runToken(positional, flags, command);
    });
}

async function runToken(positional: string | undefined, flags: TokenFlags, command: Command): Promise<void> {
  const { clusterFromEnv } = await import('../config/cluster-env.js');
  const { deprecatedClusterFlag, resolveCommandTarget } = await import('../config/cluster-target-options.js');
  // the old spelling --cluster meant "a context, or a cluster": that is what the positional means now
  if (flags.cluster !== undefined) {
    if (positional !== undefined) throw new CliError(ExitCode.USAGE, `--cluster ${flags.cluster} and the cluster ${positional} both name the cluster: drop --cluster (deprecated)`);
    deprecatedClusterFlag('token', flags.cluster, 'either');
    positional = flags.cluster;
  }
  // K8S_AUTH_CLUSTER (deprecated) only when neither the flags nor K8S_AUTH_CONTEXT name one
  if (positional === undefined && command.getOptionValueSource('context') === undefined && clusterFromEnv(command, 'token', 'kubeconfig context')) {
    flags.context = command.getOptionValue('cluster') as string;
  }
  // a cluster on the command line beats a context from the environment
  if (positional !== undefined && command.getOptionValueSource('context') === 'env') delete flags.context;
  const target = await resolveCommandTarget({ positional, context: flags.context, kubeconfig: flags.kubeconfig, needsContext: true });
  const through = target.context ?? target.cluster;
  const { parseTokenTtl } = await import('../core/duration.js');
  const { checkTokenOutput, renderTokenOutput } = await import('../core/token-output.js');
  const { httpTimeoutMs } = await import('../config/sign-in-flags.js');

  // Everything checkable is checked before any request.
  const ttlSeconds = parseTokenTtl(flags.ttl, command.getOptionValueSource('ttl') === 'env' ? 'K8S_AUTH_TTL' : '--ttl');
  const { format, source: outputSource } = resolveOutput(flags.output, TOKEN_OUTPUT_FORMATS, 'token');
  checkTokenOutput({ format, explicit: outputSource !== 'default', stdoutIsTty: Boolean(process.stdout.isTTY) });
  if (flags.kubeconfigOut && format !== 'kubeconfig') {
    throw new CliError(ExitCode.USAGE, `--kubeconfig-out needs -o kubeconfig (the output is ${format}): add -o kubeconfig, or drop --kubeconfig-out`);
  }
  if (!DNS_LABEL.test(flags.namespace) || flags.namespace.length > 63) {
    throw new CliError(ExitCode.USAGE, `namespace '${flags.namespace}' is not a valid Kubernetes name: lowercase letters, digits and '-', at most 63`);
  }
  if (flags.serviceAccount !== undefined && (!DNS_SUBDOMAIN.test(flags.serviceAccount) || flags.serviceAccount.length > 253)) {
    throw new CliError(ExitCode.USAGE, `ServiceAccount name '${flags.serviceAccount}' is not a valid Kubernetes name: lowercase letters, digits, '-' and '.'`);
  }
  if (flags.viaVault !== undefined && !process.env['VAULT_ADDR']?.trim()) {
    const from = command.getOptionValueSource('viaVault') === 'env' ? 'K8S_AUTH_VIA_VAULT' : '--via-vault';
    throw new CliError(ExitCode.USAGE, `${from} needs VAULT_ADDR: export the address of your Vault (e.g. VAULT_ADDR=https://vault.example.com:8200), then VAULT_TOKEN or \`vault login\``);
  }
  const audiences = flags.audience ?? splitList(process.env['K8S_AUTH_AUDIENCES']);
  const timeoutMs = httpTimeoutMs(flags.httpTimeout);

  const { mintToken } = await import('../usecases/mint-token.js');
  const { withSpinner } = await import('../ui/spinner.js');
  const result = await withSpinner('requesting a ServiceAccount token…', () => mintToken({
    ttlSeconds,
    ...(flags.serviceAccount === undefined ? {} : { serviceAccount: flags.serviceAccount }),
    namespace: flags.namespace,
    audiences,
    ...(through === undefined ? {} : { cluster: through }),
    ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
    usernameClaim: flags.usernameClaim,
    ...(flags.viaVault === undefined ? {} : { viaVault: { role: flags.viaVault, mount: flags.vaultK8sMount } }),
    needConnection: format === 'kubeconfig',
    timeoutMs,
  }));

  const { info, warn } = await import('../ui/log.js');
  for (const warning of result.warnings) warn(`Vault: ${warning}`);
  if (result.grant.note) warn(result.grant.note);
  if (result.minted.leaseId) info(`Vault lease ${result.minted.leaseId} (revoke early with: vault lease revoke ${result.minted.leaseId})`);

  if (format !== 'kubeconfig') {
    // the bare token carries no expiry: say what the server granted (json/yaml hold it; an
    // exec-credential is read by kubectl on every call, where a line would be noise)
    if (format === 'token' && !result.grant.note) {
      const { formatDuration } = await import('../core/duration.js');
      info(`token for ServiceAccount ${result.minted.namespace}/${result.minted.serviceAccount} on ${result.minted.cluster}, valid until ${result.minted.expirationTimestamp} (${formatDuration(result.grant.grantedSeconds)})`);
    }
    if (format === 'yaml') {
      const [{ stringify }, { renderTokenYaml }] = await Promise.all([import('yaml'), import('../core/token-output.js')]);
      process.stdout.write(renderTokenYaml(result.minted, stringify));
    } else {
      process.stdout.write(renderTokenOutput(format, result.minted));
    }
    return;
  }
  const { writeTokenKubeconfig } = await import('../usecases/token-kubeconfig.js');
  const written = await writeTokenKubeconfig(result, { out: flags.kubeconfigOut, kubeconfig: flags.kubeconfig });
  info(written.merged
    ? `wrote context ${written.context} (expires ${result.minted.expirationTimestamp}) to ${written.path}: use it with kubectl --context ${written.context}`
    : `wrote kubeconfig ${written.path} with context ${written.context} (expires ${result.minted.expirationTimestamp})`);
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}
