import type { Command } from 'commander';
import { addApplyOptions, APPLY_CLUSTER_ARGUMENT, runApply, type ApplyFlags } from './apply.js';

/** `k8s-auth rbac plan [<cluster>]`: `rbac apply --dry-run` by name. */
export function registerPlan(rbac: Command): void {
  addApplyOptions(rbac.command('plan').summary('print what `rbac apply` would change, changing nothing').argument('[cluster]', APPLY_CLUSTER_ARGUMENT)).action(async (positional: string | undefined, flags: ApplyFlags, command: Command) =>
    runApply(positional, flags, true, command),
  );
}
