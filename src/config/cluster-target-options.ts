import { contextForTarget, resolveTarget, type Target } from '../core/cluster-target.js';
import { CliError, ExitCode } from '../errors.js';
import { info, warn } from '../ui/log.js';

/**
 * The cluster a command names, one way on every command (docs/usage.md#naming-a-cluster): the
 * catalog cluster as the positional argument, `--context` for a kubeconfig context. Reads the
 * kubeconfig's context names (never the tokens), applies core/cluster-target.ts, prints its
 * note on stderr and turns its error into one usage line (exit 2).
 */
export interface TargetSelection {
  positional?: string;
  context?: string;
  kubeconfig?: string;
  /** Catalog cluster names, when the command has the catalog at hand. */
  catalog?: readonly string[];
  /** Whether the command talks through one kubeconfig context (whoami, token, rbac, doctor). */
  needsContext?: boolean;
  /** False for a command without `--context` (credential). */
  contextFlag?: boolean;
}

export async function resolveCommandTarget(selection: TargetSelection): Promise<Target> {
  if (selection.positional === undefined && selection.context === undefined) return {};
  const { readKubeconfigNames } = await import('../adapters/kubeconfig-contexts.js');
  const names = await readKubeconfigNames(selection.kubeconfig);
  const resolved = resolveTarget({
    ...(selection.positional !== undefined ? { positional: selection.positional } : {}),
    ...(selection.context !== undefined ? { context: selection.context } : {}),
    contexts: names.contexts,
    clusters: [...names.clusters, ...(selection.catalog ?? [])],
    ...(selection.contextFlag === false ? { contextFlag: false } : {}),
  });
  if (!resolved.ok) throw new CliError(ExitCode.USAGE, resolved.error);
  const target = resolved.target;
  if (target.note) info(target.note);
  if (!selection.needsContext) return target;
  const chosen = contextForTarget(target, names.contexts, names.current);
  if (!chosen.ok) throw new CliError(ExitCode.USAGE, chosen.error);
  return { ...target, ...(chosen.context !== undefined ? { context: chosen.context } : {}) };
}

/** The one stderr line an old spelling gets (`token --cluster`, `rbac --cluster`), naming the new one. */
export function deprecatedClusterFlag(commandName: string, value: string, meaning: 'either' | 'catalog entry'): void {
  const instead = meaning === 'either' ? `\`k8s-auth ${commandName} ${value}\` (a cluster) or \`--context ${value}\` (a kubeconfig context)` : `\`k8s-auth ${commandName} ${value}\``;
  warn(`${commandName} --cluster is deprecated: write ${instead}`);
}
