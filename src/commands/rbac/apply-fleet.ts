import type { Command } from 'commander';
import type { ExitCodeValue } from '../../errors.js';
import type { ApplyFlags } from './apply.js';
import { printData, printPlan } from './shared.js';

/**
 * `rbac apply --all-clusters` / `rbac plan --all-clusters`: the same apply on every cluster of
 * the catalog (docs/rbac.md#every-cluster-of-the-catalog). Stdout: each cluster's plan (or one
 * JSON/YAML document for all); stderr: one line per cluster that failed, then the summary.
 */
export async function runApplyFleet(positional: string | undefined, flags: ApplyFlags, dryRun: boolean, command: Command): Promise<void> {
  const { CliError, ExitCode } = await import('../../errors.js');
  const name = `rbac ${command.name()}`;
  if (positional !== undefined) throw new CliError(ExitCode.USAGE, `--all-clusters applies to every cluster of the catalog: name no cluster (${positional}) with it`);
  if (flags.cluster !== undefined) throw new CliError(ExitCode.USAGE, `--all-clusters and --cluster ${flags.cluster} both name the clusters: use one (unset K8S_AUTH_CATALOG_ENTRY if it was meant for another command)`);
  if (flags.context !== undefined) throw new CliError(ExitCode.USAGE, "--all-clusters uses each cluster's own kubeconfig context: drop --context");
  const { DEFAULT_FLEET_PARALLEL, MAX_FLEET_PARALLEL, applyRbacToFleet } = await import('../../usecases/rbac/apply-fleet.js');
  const parallel = flags.parallel === undefined ? DEFAULT_FLEET_PARALLEL : Number(flags.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > MAX_FLEET_PARALLEL) {
    throw new CliError(ExitCode.USAGE, `--parallel '${flags.parallel ?? ''}' must be a whole number from 1 to ${MAX_FLEET_PARALLEL}: how many clusters to apply at once`);
  }
  const [{ catalogFromOptions }, { httpTimeoutMs }, { fleetExitCode, fleetSummary }, { info, warn, error: logError }, { withSpinner }] = await Promise.all([
    import('../../config/catalog-options.js'),
    import('../../config/sign-in-flags.js'),
    import('../../core/rbac/fleet.js'),
    import('../../ui/log.js'),
    import('../../ui/spinner.js'),
  ]);
  const timeoutMs = httpTimeoutMs(flags.httpTimeout);
  const catalogSource = catalogFromOptions({
    ...(flags.catalog !== undefined ? { catalog: flags.catalog } : {}),
    ...(flags.vaultMount !== undefined ? { vaultMount: flags.vaultMount } : {}),
    ...(flags.vaultPrefix !== undefined ? { vaultPrefix: flags.vaultPrefix } : {}),
    httpTimeout: flags.httpTimeout,
  });
  const { applyInputs } = await import('./apply.js');
  const outcomes = await withSpinner(dryRun ? 'planning RBAC changes on every cluster…' : 'applying RBAC changes on every cluster…', () =>
    applyRbacToFleet({
      ...applyInputs(flags),
      httpTimeoutMs: timeoutMs,
      kube: { ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}), timeoutMs },
      dryRun,
      catalogSource,
      parallel,
    }),
  );
  const data = outcomes.map((o) => ({ cluster: o.cluster, ...(o.context !== undefined ? { context: o.context } : {}), ok: o.error === undefined, ...(o.result ? { result: o.result } : {}), ...(o.error ? { error: o.error } : {}) }));
  if (!(await printData(flags, { clusters: data }))) {
    for (const o of outcomes) {
      if (!o.result || !o.plan) continue;
      const r = o.result;
      const heading = `cluster ${o.cluster} (context ${r.context}): ServiceAccount ${r.serviceAccount.namespace}/${r.serviceAccount.name} for ${r.user.username}; groups granted: ${r.groups.granted.length > 0 ? r.groups.granted.join(', ') : '(none)'}`;
      await printPlan(o.plan, heading, dryRun, r.writes);
    }
  }
  const first = outcomes.find((o) => o.result)?.result;
  if (first) info(`verified ${first.user.username} (issuer ${first.user.issuer}) from ${first.user.tokenSource}`);
  for (const w of new Set(outcomes.flatMap((o) => o.result?.warnings ?? []))) warn(w);
  for (const o of outcomes) if (o.error) logError(`${o.cluster}: ${o.error.message}`);
  const code = fleetExitCode(outcomes);
  const summary = fleetSummary(outcomes, dryRun);
  if (code !== 0) throw new CliError(code as ExitCodeValue, `${name} --all-clusters: ${summary}`);
  info(summary);
}
