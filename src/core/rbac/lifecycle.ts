import type { RbacMapping } from './mapping.js';
import { GROUP_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE, describeObject, desiredManagedRoles, isManaged, userLabels, type RbacObject } from './objects.js';
import { actionPhase, planRbac, refOf, type PlanAction, type RbacPlan } from './plan.js';

/**
 * Plans for `rbac sync` (managed ClusterRoles follow the mapping) and `rbac revoke` (a user's
 * ServiceAccount, bindings and self-service token Role go, with managed ClusterRoles nobody
 * references any more). Pure, like
 * planRbac, which they build on.
 */
function sortActions(actions: PlanAction[]): PlanAction[] {
  return actions.sort(
    (a, b) => actionPhase(a) - actionPhase(b) || (a.ref.namespace ?? '').localeCompare(b.ref.namespace ?? '') || a.ref.name.localeCompare(b.ref.name),
  );
}

export const MANAGED_GROUP_ROLE_SELECTOR = { kind: 'ClusterRole' as const, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, hasLabels: [GROUP_LABEL] };

export interface SyncInput {
  mapping: RbacMapping;
  /** Every ClusterRole (or at least the managed ones and those named like desired ones). */
  clusterRoles: readonly RbacObject[];
  /** Every managed ClusterRoleBinding and RoleBinding. */
  managedBindings: readonly RbacObject[];
}

export function planSync(input: SyncInput): RbacPlan {
  const plan = planRbac({ desired: desiredManagedRoles(input.mapping), observed: input.clusterRoles, prune: [MANAGED_GROUP_ROLE_SELECTOR] });
  const removed = new Set(plan.actions.filter((a) => a.op === 'delete' && a.ref.kind === 'ClusterRole').map((a) => a.ref.name));
  for (const binding of input.managedBindings) {
    if (isManaged(binding) && binding.roleRef && removed.has(binding.roleRef.name)) {
      plan.actions.push({ op: 'delete', ref: refOf(binding), reason: `its ClusterRole ${binding.roleRef.name} left the mapping` });
    }
  }
  sortActions(plan.actions);
  return plan;
}

export interface RevokeInput {
  serviceAccountName: string;
  namespace: string;
  /** The ServiceAccount as observed, if it exists. */
  serviceAccount: RbacObject | undefined;
  /** Every managed binding in the cluster (the user's and everyone else's). */
  managedBindings: readonly RbacObject[];
  /** Every managed ClusterRole. */
  managedRoles: readonly RbacObject[];
  /** Managed Roles (the self-service token Role), the user's among them. */
  managedNamespacedRoles?: readonly RbacObject[];
}

export function planRevoke(input: RevokeInput): RbacPlan {
  const labels = userLabels(input.serviceAccountName, input.namespace);
  if (input.serviceAccount && !isManaged(input.serviceAccount)) {
    return { actions: [{ op: 'refuse', ref: refOf(input.serviceAccount), reason: `${describeObject(input.serviceAccount)} is not managed by k8s-auth: remove it yourself if you mean to` }], warnings: [] };
  }
  const observed = [...(input.serviceAccount ? [input.serviceAccount] : []), ...input.managedBindings, ...(input.managedNamespacedRoles ?? [])];
  const plan = planRbac({
    desired: [],
    observed,
    prune: [
      { kind: 'ServiceAccount', labels },
      { kind: 'Role', labels },
      { kind: 'ClusterRoleBinding', labels },
      { kind: 'RoleBinding', labels },
    ],
  });
  const leaving = new Set(plan.actions.filter((a) => a.op === 'delete').map((a) => `${a.ref.kind}/${a.ref.namespace ?? ''}/${a.ref.name}`));
  const stillReferenced = new Set(
    input.managedBindings
      .filter((b) => !leaving.has(`${b.kind}/${b.metadata.namespace ?? ''}/${b.metadata.name}`))
      .map((b) => b.roleRef?.name)
      .filter((n): n is string => n !== undefined),
  );
  const referencedByLeaving = new Set(input.managedBindings.filter((b) => leaving.has(`${b.kind}/${b.metadata.namespace ?? ''}/${b.metadata.name}`)).map((b) => b.roleRef?.name));
  for (const role of input.managedRoles) {
    if (!isManaged(role) || !(GROUP_LABEL in (role.metadata.labels ?? {}))) continue;
    if (referencedByLeaving.has(role.metadata.name) && !stillReferenced.has(role.metadata.name)) {
      plan.actions.push({ op: 'delete', ref: refOf(role), reason: 'no managed binding references it any more' });
    }
  }
  sortActions(plan.actions);
  return plan;
}
