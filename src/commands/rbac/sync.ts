import { type Command, Option } from 'commander';
import { CLUSTER_ARGUMENT, failOnRefusals, kubeFrom, kubeOptions, printData, printPlan, type KubeFlags } from './shared.js';

/** `k8s-auth rbac sync [<cluster>]`: managed ClusterRoles in line with the mapping. */
export function registerSync(rbac: Command): void {
  kubeOptions(rbac.command('sync').summary('bring the managed ClusterRoles in line with the mapping, removing those whose group left').argument('[cluster]', CLUSTER_ARGUMENT))
    .addOption(new Option('--mapping <file>', 'group mapping YAML (default: $K8S_AUTH_RBAC_MAPPING)'))
    .addOption(new Option('--dry-run', 'print the plan and change nothing'))
    .action(async (positional: string | undefined, flags: KubeFlags & { mapping?: string }) => {
      const { syncRbac } = await import('../../usecases/rbac/manage.js');
      const { withSpinner } = await import('../../ui/spinner.js');
      const kube = await kubeFrom(flags, positional);
      const { result, plan } = await withSpinner(flags.dryRun === true ? 'planning the sync…' : 'syncing managed ClusterRoles…', () =>
        syncRbac({ ...(flags.mapping !== undefined ? { mappingFile: flags.mapping } : {}), dryRun: flags.dryRun === true, kube }),
      );
      if (!(await printData(flags, result))) await printPlan(plan, `sync managed ClusterRoles with ${result.mapping}; context ${result.context}`, result.dryRun, result.writes);
      await failOnRefusals(plan);
    });
}
