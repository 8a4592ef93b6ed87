import { type Command, Option } from 'commander';
import { DATA_FORMATS, outputOption, resolveOutput } from '../../config/output-options.js';
import { httpTimeoutOption } from '../../config/sign-in-flags.js';
import type { RbacPlan } from '../../core/rbac/plan.js';

/** What every `rbac` subcommand shares: the kubeconfig flags, the plan printout, refusals as exit codes. */
export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  output?: string;
  httpTimeout?: string;
  dryRun?: boolean;
}

export function kubeOptions(command: Command): Command {
  return command
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig whose credentials make the API calls (default: $KUBECONFIG, else ~/.kube/config)'))
    .addOption(new Option('--context <name>', 'kubeconfig context to use (default: the current context)'))
    .addOption(outputOption(DATA_FORMATS, 'text'))
    .addOption(httpTimeoutOption({ what: 'request' }));
}

export const CLUSTER_ARGUMENT = 'cluster whose kubeconfig context to use (its context; default: the current context); a context name works too';

export async function kubeFrom(flags: KubeFlags, positional?: string): Promise<{ kubeconfig?: string; context?: string; timeoutMs: number }> {
  const { httpTimeoutMs } = await import('../../config/sign-in-flags.js');
  if (positional !== undefined) {
    const { resolveCommandTarget } = await import('../../config/cluster-target-options.js');
    const target = await resolveCommandTarget({ positional, context: flags.context, kubeconfig: flags.kubeconfig, needsContext: true });
    if (target.context !== undefined) flags.context = target.context;
  }
  return { ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}), ...(flags.context ? { context: flags.context } : {}), timeoutMs: httpTimeoutMs(flags.httpTimeout) };
}

export async function printPlan(plan: RbacPlan, heading: string, dryRun: boolean, writes: number): Promise<void> {
  const { formatPlanLines, summarizePlan } = await import('../../core/rbac/report.js');
  const lines = [heading, ...formatPlanLines(plan)];
  const summary = summarizePlan(plan);
  const refused = plan.actions.some((a) => a.op === 'refuse');
  if (plan.actions.length === 0) lines.push(summary);
  else if (dryRun || refused) lines.push(`${summary}${dryRun ? ' (dry run: nothing changed)' : ' (nothing changed)'}`);
  else lines.push(`done: ${writes} change${writes === 1 ? '' : 's'} written`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Prints `data` and says true under -o json|yaml; false for text, which the caller renders. */
export async function printData(flags: KubeFlags, data: unknown): Promise<boolean> {
  const { format } = resolveOutput(flags.output, DATA_FORMATS, 'text');
  if (format !== 'json' && format !== 'yaml') return false;
  const { printData: print } = await import('../../ui/output.js');
  print(format, data);
  return true;
}

export async function failOnRefusals(plan: RbacPlan): Promise<void> {
  const refusals = plan.actions.filter((a) => a.op === 'refuse');
  const first = refusals[0];
  if (!first || first.op !== 'refuse') return;
  const { CliError, ExitCode } = await import('../../errors.js');
  const more = refusals.length > 1 ? ` (and ${refusals.length - 1} more refusal${refusals.length > 2 ? 's' : ''})` : '';
  throw new CliError(ExitCode.KUBERNETES, `${first.reason}${more}; nothing was changed`);
}
