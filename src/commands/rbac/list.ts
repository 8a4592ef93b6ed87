import type { Command } from 'commander';
import { CLUSTER_ARGUMENT, kubeFrom, kubeOptions, printData, type KubeFlags } from './shared.js';

/** `k8s-auth rbac list [<cluster>]`: the ServiceAccounts k8s-auth manages. */
export function registerList(rbac: Command): void {
  kubeOptions(rbac.command('list').summary('list the ServiceAccounts k8s-auth manages, with their roles and bindings').argument('[cluster]', CLUSTER_ARGUMENT)).action(async (positional: string | undefined, flags: KubeFlags) => {
    const { listManaged } = await import('../../usecases/rbac/manage.js');
    const { withSpinner } = await import('../../ui/spinner.js');
    const kube = await kubeFrom(flags, positional);
    const accounts = await withSpinner('listing managed ServiceAccounts…', () => listManaged({ kube }));
    if (await printData(flags, accounts)) return;
    const { renderTable } = await import('../../ui/output.js');
    const rows = accounts.map((a) => [
      a.namespace,
      a.serviceAccount,
      a.username ?? '-',
      a.bindings.length > 0 ? a.bindings.map((b) => (b.namespace ? `${b.role}@${b.namespace}` : b.role)).join(', ') : '-',
    ]);
    process.stdout.write(renderTable(['NAMESPACE', 'SERVICEACCOUNT', 'USER', 'ROLES'], rows));
  });
}
