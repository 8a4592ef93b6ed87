import { type Command, Option } from 'commander';
import { addSignInOptions } from '../config/sign-in-flags.js';

/** `k8s-auth logout <cluster>`: remove the stored tokens, then revoke them (docs/usage.md#logout). */
interface LogoutFlags {
  context?: string;
  kubeconfig?: string;
  certificateAuthority?: string[];
  insecureSkipTlsVerify?: boolean;
  httpTimeout?: string;
}

export function register(program: Command): void {
  const command = program
    .command('logout')
    .summary('remove and revoke the tokens of a cluster')
    .description(
      "Remove the ID and refresh tokens of the cluster's users from the kubeconfig (under its lock), then revoke the refresh token at the identity provider (when it offers revocation). " +
        'The cluster, user and context entries stay; `k8s-auth login <cluster>` fills them again in the form they have (exec plugin or auth-provider).',
    )
    .argument('[cluster]', 'catalog cluster (as written by login); a context name resolves to its cluster')
    .addOption(new Option('--context <name>', 'kubeconfig context whose cluster to log out of'))
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig to edit (default: $KUBECONFIG, else ~/.kube/config)'));
  // the provider's CA and timeout, as login and credential take them (for the revocation)
  addSignInOptions(command, ['certificateAuthority', 'insecureSkipTlsVerify', 'httpTimeout'])
    .action(async (positional: string | undefined, flags: LogoutFlags) => {
      const { resolveCommandTarget } = await import('../config/cluster-target-options.js');
      const target = await resolveCommandTarget({ positional, context: flags.context, kubeconfig: flags.kubeconfig });
      const cluster = target.cluster;
      if (cluster === undefined) {
        const { CliError, ExitCode } = await import('../errors.js');
        throw new CliError(ExitCode.USAGE, flags.context !== undefined ? `context '${flags.context}' is not in the kubeconfig: name the cluster (\`k8s-auth logout CLUSTER\`)` : 'name the cluster to log out of: `k8s-auth logout CLUSTER` (or `--context NAME`)');
      }
      const { httpTimeoutMs } = await import('../config/sign-in-flags.js');
      const { logout } = await import('../usecases/logout.js');
      const { info } = await import('../ui/log.js');
      const { withSpinner } = await import('../ui/spinner.js');
      const outcome = await logout({
        cluster,
        ...(flags.kubeconfig !== undefined ? { kubeconfig: flags.kubeconfig } : {}),
        caFiles: flags.certificateAuthority ?? [],
        insecureSkipTlsVerify: Boolean(flags.insecureSkipTlsVerify),
        httpTimeoutMs: httpTimeoutMs(flags.httpTimeout),
      }, { revoking: (work) => withSpinner('revoking the refresh token at the identity provider…', work) });
      if (outcome.removed.length === 0) {
        info(`Nothing to remove for ${cluster}: ${outcome.users.join(', ')} hold${outcome.users.length === 1 ? 's' : ''} no tokens (already logged out); sign in with \`${outcome.signInAgain}\``);
        return;
      }
      const revoked = outcome.revoked.length > 0 ? `; refresh token revoked at the provider` : '';
      info(`Logged out of ${cluster}: removed the tokens of ${outcome.removed.join(', ')}${revoked}; sign in again with \`${outcome.signInAgain}\``);
    });
}
