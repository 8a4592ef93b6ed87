import { type Command, Option } from 'commander';
import { failOnRefusals, kubeFrom, kubeOptions, printData, printPlan, type KubeFlags } from './shared.js';

/** `k8s-auth rbac revoke <user-or-serviceaccount>`: a user's ServiceAccount, bindings and unused managed roles go. */
export function registerRevoke(rbac: Command): void {
  kubeOptions(
    rbac
      .command('revoke')
      .summary("delete a user's ServiceAccount, its bindings, and managed roles nobody uses any more")
      .argument('<user-or-serviceaccount>', 'the email (or username) the ServiceAccount was made for, or its name'),
  )
    .addOption(new Option('-n, --namespace <namespace>', "the ServiceAccount's namespace (default: found from the managed objects)"))
    .addOption(new Option('--dry-run', 'print the plan and change nothing'))
    .action(async (target: string, flags: KubeFlags & { namespace?: string }) => {
      const { revokeRbac } = await import('../../usecases/rbac/manage.js');
      const { withSpinner } = await import('../../ui/spinner.js');
      const kube = await kubeFrom(flags);
      const { result, plan } = await withSpinner(flags.dryRun === true ? 'planning the revocation…' : `revoking ${target}…`, () =>
        revokeRbac({ target, ...(flags.namespace ? { namespace: flags.namespace } : {}), dryRun: flags.dryRun === true, kube }),
      );
      if (!(await printData(flags, result))) await printPlan(plan, `revoke ServiceAccount ${result.serviceAccount.namespace}/${result.serviceAccount.name}; context ${result.context}`, result.dryRun, result.writes);
      await failOnRefusals(plan);
    });
}
