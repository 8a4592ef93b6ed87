import { type Command, Option } from 'commander';
import { failOnRefusals, kubeFrom, kubeOptions, printData, printPlan, type KubeFlags } from './shared.js';
import type { ApplyOptions } from '../../usecases/rbac/apply.js';

// `k8s-auth rbac apply [<cluster>]`, and the option set and run that `rbac plan` shares.
export interface ApplyFlags extends KubeFlags {
  idToken?: string;
  cluster?: string;
  catalog?: string;
  vaultMount?: string;
  vaultPrefix?: string;
  issuerUrl?: string;
  clientId?: string;
  idpCaFile?: string;
  audience?: string;
  mapping?: string;
  githubOrg?: string;
  allowUnverifiedEmail?: boolean;
  usernameClaim?: string;
  groupsClaim?: string;
  usernamePrefix?: string;
  allClusters?: boolean;
  parallel?: string;
}

export const APPLY_CLUSTER_ARGUMENT = 'catalog cluster whose issuer and client id verify the token, and whose kubeconfig context makes the calls (default: the current context); a context name works too';

export function addApplyOptions(command: Command): Command {
  return kubeOptions(command)
    .addOption(new Option('--id-token <file>', "file holding the raw ID token, or '-' for stdin (default: the current login's ID token)"))
    .addOption(new Option('--cluster <name>', 'deprecated: the catalog cluster is the positional (K8S_AUTH_CLUSTER is deprecated too)').env('K8S_AUTH_CATALOG_ENTRY'))
    .addOption(new Option('--catalog <file>', 'read clusters from this YAML file instead of Vault').env('K8S_AUTH_CATALOG'))
    .addOption(new Option('--vault-mount <mount>', 'Vault KV v2 mount of the catalog (default: $K8S_AUTH_VAULT_MOUNT, else "secret")'))
    .addOption(new Option('--vault-prefix <path>', 'path of the catalog under the mount (default: $K8S_AUTH_VAULT_PREFIX)'))
    .addOption(new Option('--issuer-url <url>', 'verify against this issuer instead of a catalog entry (with --client-id)').env('K8S_AUTH_ISSUER_URL'))
    .addOption(new Option('--client-id <id>', 'client id the token must be issued to (with --issuer-url)').env('K8S_AUTH_CLIENT_ID'))
    .addOption(new Option('--idp-ca-file <file>', "PEM file of the provider's CA (with --issuer-url)").env('K8S_AUTH_IDP_CA_FILE'))
    .addOption(new Option('--audience <aud>', 'expected audience (default: the client id)'))
    .addOption(new Option('--mapping <file>', 'group mapping YAML (default: $K8S_AUTH_RBAC_MAPPING, else built-in groups only)'))
    .addOption(new Option('--github-org <org>', "GitHub organisation whose teams count by bare name (overrides the mapping's githubOrg)"))
    .addOption(new Option('--allow-unverified-email', 'accept a token whose email_verified is not true'))
    .addOption(new Option('--username-claim <claim>', 'claim naming the user (default: the catalog entry, else email)'))
    .addOption(new Option('--groups-claim <claim>', 'claim holding the groups (default: the catalog entry, else groups)'))
    .addOption(
      new Option('--username-prefix <prefix>', "the API server's --oidc-username-prefix, so the token RoleBinding names the user as it does (overrides the mapping's usernamePrefix; '' or '-' for none)").env(
        'K8S_AUTH_RBAC_USERNAME_PREFIX',
      ),
    )
    .addOption(new Option('--all-clusters', "every cluster of the catalog, each through its own kubeconfig context (one cluster's failure does not stop the others)"))
    .addOption(new Option('--parallel <n>', 'with --all-clusters: clusters at once, at most 16 (default: 4)').env('K8S_AUTH_RBAC_PARALLEL'));
}

/** "--cluster (from K8S_AUTH_CATALOG_ENTRY)" when the value came from the environment, for messages. */
function labelsOf(command: Command, clusterVariable: string | undefined): Partial<Record<'cluster' | 'issuerUrl' | 'clientId', string>> {
  const labels: Partial<Record<'cluster' | 'issuerUrl' | 'clientId', string>> = {};
  for (const [key, flag, variable] of [['cluster', '--cluster', clusterVariable ?? 'K8S_AUTH_CATALOG_ENTRY'], ['issuerUrl', '--issuer-url', 'K8S_AUTH_ISSUER_URL'], ['clientId', '--client-id', 'K8S_AUTH_CLIENT_ID']] as const) {
    if (command.getOptionValueSource(key) === 'env') labels[key] = `${flag} (from ${variable})`;
  }
  return labels;
}

/** The token, verifier, mapping and kubeconfig flags, as applyRbac's options: one cluster or all. */
export function applyInputs(flags: ApplyFlags): Pick<ApplyOptions, 'idToken' | 'issuerUrl' | 'clientId' | 'idpCaFile' | 'audience' | 'githubOrg' | 'usernameClaim' | 'groupsClaim' | 'usernamePrefix' | 'mappingFile' | 'kubeconfig' | 'allowUnverifiedEmail'> {
  const opt = <K extends keyof ApplyFlags>(key: K) => (flags[key] !== undefined ? { [key]: flags[key] } : {});
  return {
    ...opt('idToken'),
    ...opt('issuerUrl'),
    ...opt('clientId'),
    ...opt('idpCaFile'),
    ...opt('audience'),
    ...opt('githubOrg'),
    ...opt('usernameClaim'),
    ...opt('groupsClaim'),
    ...opt('usernamePrefix'),
    ...(flags.mapping !== undefined ? { mappingFile: flags.mapping } : {}),
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    allowUnverifiedEmail: flags.allowUnverifiedEmail === true,
  };
}

export async function runApply(positional: string | undefined, flags: ApplyFlags, dryRun: boolean, command: Command): Promise<void> {
  if (flags.allClusters === true) {
    const { runApplyFleet } = await import('./apply-fleet.js');
    return runApplyFleet(positional, flags, dryRun, command);
  }
  if (flags.parallel !== undefined && command.getOptionValueSource('parallel') === 'cli') {
    const { CliError, ExitCode } = await import('../../errors.js');
    throw new CliError(ExitCode.USAGE, '--parallel goes with --all-clusters: add it, or drop --parallel');
  }
  const { clusterFromEnv } = await import('../../config/cluster-env.js');
  const { deprecatedClusterFlag, resolveCommandTarget } = await import('../../config/cluster-target-options.js');
  const name = `rbac ${command.name()}`;
  // the old spelling --cluster (a catalog entry) is what the positional means now
  if (flags.cluster !== undefined && command.getOptionValueSource('cluster') === 'cli') {
    const { CliError, ExitCode } = await import('../../errors.js');
    if (positional !== undefined) throw new CliError(ExitCode.USAGE, `--cluster ${flags.cluster} and the cluster ${positional} both name the cluster: drop --cluster (deprecated)`);
    deprecatedClusterFlag(name, flags.cluster, 'catalog entry');
    positional = flags.cluster;
  }
  if (positional !== undefined) {
    // the catalog entry verifies the token; an explicit --context makes the calls whatever its cluster is called
    const target = await resolveCommandTarget({ positional, kubeconfig: flags.kubeconfig, needsContext: flags.context === undefined });
    if (target.cluster !== undefined) command.setOptionValueWithSource('cluster', target.cluster, 'cli');
    if (flags.context === undefined && target.context !== undefined) flags.context = target.context;
  }
  const clusterVariable = clusterFromEnv(command, name, 'catalog entry');
  flags.cluster = command.getOptionValue('cluster') as string | undefined;
  if (clusterVariable) flags.cluster = command.getOptionValue('cluster') as string;
  const { httpTimeoutMs } = await import('../../config/sign-in-flags.js');
  const { applyRbac } = await import('../../usecases/rbac/apply.js');
  const { info, warn } = await import('../../ui/log.js');
  const opt = <K extends keyof ApplyFlags>(key: K) => (flags[key] !== undefined ? { [key]: flags[key] } : {});
  const { withSpinner } = await import('../../ui/spinner.js');
  const kube = await kubeFrom(flags);
  const { result, plan } = await withSpinner(dryRun ? 'planning RBAC changes…' : 'applying RBAC changes…', () => applyRbac({
    ...applyInputs(flags),
    ...opt('cluster'),
    labels: labelsOf(command, clusterVariable),
    ...(flags.context ? { context: flags.context } : {}),
    catalog: {
      ...(flags.catalog !== undefined ? { catalog: flags.catalog } : {}),
      ...(flags.vaultMount !== undefined ? { vaultMount: flags.vaultMount } : {}),
      ...(flags.vaultPrefix !== undefined ? { vaultPrefix: flags.vaultPrefix } : {}),
    },
    httpTimeoutMs: httpTimeoutMs(flags.httpTimeout),
    kube,
    dryRun,
  }));
  info(`verified ${result.user.username} (issuer ${result.user.issuer}) from ${result.user.tokenSource}`);
  if (result.groups.ignored.length > 0) info(`groups without a rule (ignored): ${result.groups.ignored.join(', ')}`);
  for (const w of result.warnings) warn(w);
  if (!(await printData(flags, result))) {
    const heading = `ServiceAccount ${result.serviceAccount.namespace}/${result.serviceAccount.name} for ${result.user.username}; groups granted: ${result.groups.granted.length > 0 ? result.groups.granted.join(', ') : '(none)'}; context ${result.context}`;
    await printPlan(plan, heading, dryRun, result.writes);
  }
  await failOnRefusals(plan);
}

export function registerApply(rbac: Command): void {
  addApplyOptions(
    rbac
      .command('apply')
      .summary("create or update a user's ServiceAccount and bindings from their ID token")
      .description(
        "Verify the ID token, then write the minimal creates, updates and deletes that make the cluster match the mapping. A second run with the same token and mapping writes nothing. Unless the mapping says selfServiceTokens: false, the user (named as the API server names them: --username-prefix plus the username claim) may then mint tokens for this ServiceAccount with `k8s-auth token`.",
      )
      .argument('[cluster]', APPLY_CLUSTER_ARGUMENT),
  )
    .addOption(new Option('--dry-run', 'print the plan and change nothing (same as `rbac plan`)'))
    .action(async (positional: string | undefined, flags: ApplyFlags, command: Command) => runApply(positional, flags, flags.dryRun === true, command));
}
