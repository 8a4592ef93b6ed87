import type { VerifiedClaims } from '../../adapters/id-token-verifier.js';
import { fleetTargets, mapBounded, type FleetOutcome } from '../../core/rbac/fleet.js';
import { planRefusals, type RbacPlan } from '../../core/rbac/plan.js';
import { CliError, ExitCode, describeError } from '../../errors.js';
import { debug } from '../../ui/log.js';
import type { Catalog } from '../catalog.js';
import { applyRbac, loadMapping, type ApplyOptions, type ApplyResult } from './apply.js';
import { readIdTokenArgument } from './identity-source.js';

/**
 * `rbac apply --all-clusters`: what `rbac apply <cluster>` does, for every cluster of the
 * catalog, a bounded number at a time. Each cluster's catalog entry verifies the token (once per
 * provider and client: the verifications are shared) unless --issuer-url/--client-id verify it
 * for all; each cluster's own kubeconfig context makes its calls. One cluster's failure does not
 * stop the others; the caller reports each and exits with the first failure's code.
 */
export const DEFAULT_FLEET_PARALLEL = 4;
export const MAX_FLEET_PARALLEL = 16;

export interface FleetApplyOptions extends Omit<ApplyOptions, 'cluster' | 'context' | 'client' | 'openedCatalog'> {
  catalogSource: Catalog;
  /** Clusters applied at the same time (each keeps its own bound on requests in flight). */
  parallel: number;
}

export interface FleetApplyOutcome extends FleetOutcome<ApplyResult> {
  plan?: RbacPlan;
}

export async function applyRbacToFleet(options: FleetApplyOptions): Promise<FleetApplyOutcome[]> {
  const { catalogSource, parallel, ...apply } = options;
  // read once for every cluster: the mapping (a bad one is one line, before any cluster), and a
  // token on stdin, which a second read would find empty
  const mappingSource = apply.mappingSource ?? loadMapping(apply.mappingFile, apply.env);
  let stdin: Promise<string> | undefined;
  const readStdinOnce = (): Promise<string> => (stdin ??= readIdTokenArgument('-', apply.readStdin));
  const [clusters, { readKubeconfigNames }] = await Promise.all([catalogSource.list(), import('../../adapters/kubeconfig-contexts.js')]);
  if (clusters.length === 0) throw new CliError(ExitCode.CATALOG, `no clusters in ${catalogSource.describe()}: add one, or name the cluster (\`rbac apply <cluster>\`)`);
  const names = await readKubeconfigNames(apply.kube?.kubeconfig ?? apply.kubeconfig);
  const targets = fleetTargets(clusters, names.contexts, names.current);
  const verifications = new Map<string, Promise<VerifiedClaims>>();
  // clusters that reach one API server with the same TLS settings share its connections
  const agentPool = (await import('../../adapters/kube-http.js')).createKubeAgentPool();
  const byFlags = apply.issuerUrl !== undefined;
  debug(`rbac apply --all-clusters: ${targets.length} cluster(s) from ${catalogSource.describe()}, ${parallel} at a time`);
  return mapBounded(targets, parallel, async (target): Promise<FleetApplyOutcome> => {
    let outcome: FleetApplyOutcome;
    if ('problem' in target) {
      outcome = { cluster: target.cluster, error: { message: target.problem, exitCode: ExitCode.USAGE } };
    } else {
      try {
        const { result, plan } = await applyRbac({
          ...apply,
          mappingSource,
          readStdin: readStdinOnce,
          ...(byFlags ? {} : { cluster: target.cluster }),
          context: target.context,
          kube: { ...apply.kube, context: target.context, agentPool },
          openedCatalog: catalogSource,
          verifications,
        });
        outcome = { cluster: target.cluster, context: target.context, result, plan };
        // a refusal (an object someone else owns) changed nothing there: that cluster failed
        const refusals = planRefusals(plan);
        const first = refusals[0];
        if (first !== undefined) outcome.error = { message: `${first.reason}${refusals.length > 1 ? ` (and ${refusals.length - 1} more)` : ''}; nothing was changed`, exitCode: ExitCode.KUBERNETES };
      } catch (error) {
        const failure = error instanceof CliError ? { message: error.message, exitCode: error.exitCode } : { message: describeError(error), exitCode: ExitCode.INTERNAL };
        outcome = { cluster: target.cluster, context: target.context, error: failure };
      }
    }
    return outcome;
  });
}
