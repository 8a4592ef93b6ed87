/**
 * One way to name a cluster on every command (issue 17, point 4): the catalog cluster is the
 * positional argument, `--context` names a kubeconfig context. Either is accepted where it is
 * unambiguous: a positional that is only a context name resolves to the cluster that context
 * belongs to (and says so). Pure: the caller reads the kubeconfig (and catalog) and prints.
 */

/** A kubeconfig context and the cluster entry it points at. */
export interface ContextRef {
  name: string;
  cluster: string;
}

export interface TargetRequest {
  /** The positional argument (or a deprecated `--cluster`), if given. */
  positional?: string;
  /** `--context`, if given. */
  context?: string;
  /** The kubeconfig's contexts (kubectl's merged view: the first file with a name wins). */
  contexts: readonly ContextRef[];
  /** Names known as clusters: catalog entries and kubeconfig cluster entries. */
  clusters: readonly string[];
  /** False for a command without `--context` (credential): its notes name the cluster alone. */
  contextFlag?: boolean;
}

export interface Target {
  cluster?: string;
  context?: string;
  /** One line to show on stderr when a context name was resolved to its cluster. */
  note?: string;
}

export type TargetResult = { ok: true; target: Target } | { ok: false; error: string };

export function contextOfClusterLine(context: string, cluster: string): string {
  return `${context} is a context of cluster ${cluster}`;
}

function isClusterName(name: string, request: TargetRequest): boolean {
  return request.clusters.includes(name) || request.contexts.some((c) => c.cluster === name);
}

export function resolveTarget(request: TargetRequest): TargetResult {
  const positional = request.positional?.trim() || undefined;
  const contextFlag = request.context?.trim() || undefined;
  if (contextFlag !== undefined) {
    const ctx = request.contexts.find((c) => c.name === contextFlag);
    if (positional !== undefined && ctx !== undefined && ctx.cluster !== positional) {
      return { ok: false, error: `${contextOfClusterLine(contextFlag, ctx.cluster)}, not of cluster ${positional}: name cluster ${ctx.cluster}, or drop --context` };
    }
    const cluster = positional ?? ctx?.cluster;
    return { ok: true, target: { ...(cluster !== undefined ? { cluster } : {}), context: contextFlag } };
  }
  if (positional === undefined) return { ok: true, target: {} };
  const asContext = request.contexts.find((c) => c.name === positional);
  if (asContext === undefined) return { ok: true, target: { cluster: positional } };
  if (asContext.cluster === positional) return { ok: true, target: { cluster: positional, context: positional } };
  if (isClusterName(positional, request)) {
    // without --context to say "the context", the name stays the cluster (as login's catalog name does)
    if (request.contextFlag === false) return { ok: true, target: { cluster: positional } };
    return {
      ok: false,
      error: `'${positional}' is ambiguous: it is cluster ${positional}, and ${contextOfClusterLine(positional, asContext.cluster)}: for the context write \`${asContext.cluster} --context ${positional}\``,
    };
  }
  return {
    ok: true,
    target: {
      cluster: asContext.cluster,
      context: positional,
      note: `${contextOfClusterLine(positional, asContext.cluster)}: using cluster ${asContext.cluster} (next time: \`${asContext.cluster}${request.contextFlag === false ? '' : ` --context ${positional}`}\`)`,
    },
  };
}

export type ContextChoice = { ok: true; context?: string } | { ok: false; error: string };

/**
 * The kubeconfig context a command that talks through one should use for a target: the named
 * context; else, for a cluster, the current context when it belongs to that cluster, or its
 * only context; else (no target) undefined, meaning the current context. A cluster without any
 * context gives undefined too (the command reports it in its own terms).
 */
export function contextForTarget(target: Target, contexts: readonly ContextRef[], current: string | undefined): ContextChoice {
  if (target.context !== undefined) return { ok: true, context: target.context };
  if (target.cluster === undefined) return { ok: true };
  const of = contexts.filter((c) => c.cluster === target.cluster);
  if (of.length === 0) return { ok: true };
  if (current !== undefined && of.some((c) => c.name === current)) return { ok: true, context: current };
  const only = of.length === 1 ? of[0] : undefined;
  if (only !== undefined) return { ok: true, context: only.name };
  return { ok: false, error: `cluster ${target.cluster} has ${of.length} contexts (${of.map((c) => c.name).join(', ')}): pick one with --context` };
}
