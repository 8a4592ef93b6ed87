import type { ContextRef } from '../cluster-target.js';

/**
 * `rbac apply --all-clusters`: which kubeconfig context makes each catalog cluster's calls, and
 * what the run as a whole exits with. Plain functions over data.
 */
export type FleetTarget = { cluster: string; context: string } | { cluster: string; problem: string };

/**
 * The context of each cluster, as `rbac apply <cluster>` picks it (the current context when it
 * is one of the cluster's, else its only one), but strict: a cluster with no context of its own
 * is a problem for that cluster, never a silent fall-back to the current context (that would
 * apply one cluster's RBAC to another).
 */
export function fleetTargets(clusters: readonly string[], contexts: readonly ContextRef[], current: string | undefined): FleetTarget[] {
  return [...new Set(clusters)].map((cluster): FleetTarget => {
    const own = contexts.filter((c) => c.cluster === cluster);
    const named = contexts.find((c) => c.name === cluster);
    if (own.length === 0) {
      const hint = named !== undefined ? ` (context ${cluster} belongs to cluster ${named.cluster})` : '';
      return { cluster, problem: `cluster ${cluster} has no context in the kubeconfig${hint}: add one whose credentials may write RBAC there, e.g. \`kubectl config set-context ${cluster} --cluster ${cluster} --user <admin>\`` };
    }
    if (current !== undefined && own.some((c) => c.name === current)) return { cluster, context: current };
    const only = own.length === 1 ? own[0] : undefined;
    if (only !== undefined) return { cluster, context: only.name };
    return { cluster, problem: `cluster ${cluster} has ${own.length} contexts (${own.map((c) => c.name).join(', ')}): run \`k8s-auth rbac apply ${cluster} --context <name>\` for it` };
  });
}

export interface FleetOutcome<R> {
  cluster: string;
  context?: string;
  result?: R;
  error?: { message: string; exitCode: number };
}

/** The exit code of a fleet run: 0 when every cluster succeeded, else the first failure's (catalog order). */
export function fleetExitCode(outcomes: readonly FleetOutcome<unknown>[]): number {
  return outcomes.find((o) => o.error !== undefined)?.error?.exitCode ?? 0;
}

/** One line on how the fleet run went, e.g. "3 of 4 clusters done; failed: lab". */
export function fleetSummary(outcomes: readonly FleetOutcome<unknown>[], dryRun: boolean): string {
  const failed = outcomes.filter((o) => o.error !== undefined).map((o) => o.cluster);
  const done = outcomes.length - failed.length;
  const verb = dryRun ? 'planned' : 'done';
  return `${done} of ${outcomes.length} cluster${outcomes.length === 1 ? '' : 's'} ${verb}${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''}`;
}

/**
 * Runs `work` over `items` with at most `limit` at a time, keeping the items' order in the
 * answer. A rejection of `work` rejects the whole run: callers catch per item.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
