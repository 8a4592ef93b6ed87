import { type Command, Option } from 'commander';

/** `k8s-auth logout <cluster>`: revoke and remove the stored tokens (docs/usage.md#logout). */
interface LogoutFlags {
  kubeconfig?: string;
  certificateAuthority?: string[];
  insecureSkipTlsVerify?: boolean;
  httpTimeout?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function register(program: Command): void {
  program
    .command('logout')
    .summary('revoke and remove the tokens of a cluster')
    .description(
      "Revoke the refresh token at the identity provider (when it offers revocation) and remove the ID and refresh tokens of the cluster's users from the kubeconfig. " +
        'The cluster, user and context entries stay; `k8s-auth login <cluster>` fills them again.',
    )
    .argument('<cluster>', 'cluster name (as written by login)')
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig to edit (default: $KUBECONFIG, else ~/.kube/config)'))
    .addOption(new Option('--certificate-authority <file>', "CA certificate (PEM) for the identity provider, added to the system's (repeatable)").argParser(collect))
    .addOption(new Option('--insecure-skip-tls-verify', "don't verify the identity provider's TLS certificate (unsafe; warns)"))
    .addOption(new Option('--http-timeout <seconds>', 'timeout of each HTTP request').env('K8S_AUTH_HTTP_TIMEOUT'))
    .action(async (cluster: string, flags: LogoutFlags) => {
      const { httpTimeoutMs } = await import('../config/catalog-options.js');
      const { logout } = await import('../usecases/logout.js');
      const { info } = await import('../ui/log.js');
      const outcome = await logout({
        cluster,
        ...(flags.kubeconfig !== undefined ? { kubeconfig: flags.kubeconfig } : {}),
        caFiles: flags.certificateAuthority ?? [],
        insecureSkipTlsVerify: Boolean(flags.insecureSkipTlsVerify),
        httpTimeoutMs: httpTimeoutMs(flags.httpTimeout),
      });
      const revoked = outcome.revoked.length > 0 ? `; refresh token revoked at the provider` : '';
      info(`Logged out of ${cluster}: removed the tokens of ${outcome.users.join(', ')}${revoked}`);
    });
}
