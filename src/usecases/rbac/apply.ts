import { readFileSync } from 'node:fs';
import type { KubeClient, LoadKubeClientOptions } from '../../adapters/kube-client.js';
import { emptyMapping, kubernetesUsername, parseRbacMapping, resolveGroups, usernamePrefixWarning, type RbacMapping } from '../../core/rbac/mapping.js';
import { desiredObjectsFor, objectKey, selfServiceTokenName, userLabels } from '../../core/rbac/objects.js';
import { planRbac, planRefusals, type RbacPlan } from '../../core/rbac/plan.js';
import { planEntries, type PlanEntry } from '../../core/rbac/report.js';
import { CliError, ExitCode, describeError } from '../../errors.js';
import { debug } from '../../ui/log.js';
import { executePlan, readUserState } from './cluster.js';
import { resolveVerifiedIdentity, type IdentitySourceOptions } from './identity-source.js';

/**
 * `k8s-auth rbac apply`: verify the ID token, work out the objects its groups call for, compare
 * with what the cluster has, and write the difference (nothing with --dry-run / `rbac plan`).
 * Order matters for safety: the mapping and the token are checked before the API server is
 * contacted, so a bad token creates nothing.
 */
export const MAPPING_ENV = 'K8S_AUTH_RBAC_MAPPING';
export const USERNAME_PREFIX_ENV = 'K8S_AUTH_RBAC_USERNAME_PREFIX';

export interface MappingSource {
  mapping: RbacMapping;
  /** The file it came from, or undefined for the built-in default. */
  path: string | undefined;
}

export function loadMapping(file: string | undefined, env: Record<string, string | undefined> = process.env): MappingSource {
  const path = file ?? (env[MAPPING_ENV]?.trim() || undefined);
  if (path === undefined) return { mapping: emptyMapping(), path: undefined };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const from = file === undefined ? ` (from ${MAPPING_ENV})` : '';
    throw new CliError(ExitCode.USAGE, `cannot read the mapping file ${path}${from}: ${describeError(error)}`);
  }
  return { mapping: parseRbacMapping(text, path), path };
}

export interface ApplyOptions extends IdentitySourceOptions {
  mappingFile?: string;
  /** The mapping already read (`--all-clusters` reads it once for every cluster). */
  mappingSource?: MappingSource;
  /** Overrides the mapping's usernamePrefix (--username-prefix / K8S_AUTH_RBAC_USERNAME_PREFIX). */
  usernamePrefix?: string;
  dryRun?: boolean;
  /** API calls go here (the admin's own kubeconfig context). */
  kube?: LoadKubeClientOptions;
  /** Injected for tests and the benchmark. */
  client?: KubeClient;
  env?: Record<string, string | undefined>;
}

export interface ApplyResult {
  user: { username: string; issuer: string; subject: string; tokenSource: string };
  serviceAccount: { name: string; namespace: string };
  groups: { granted: string[]; ignored: string[] };
  /** Who may mint tokens for the ServiceAccount (the RoleBinding's User), or null when off. */
  selfServiceTokens: { user: string; role: string } | null;
  mapping: string | null;
  dryRun: boolean;
  plan: PlanEntry[];
  warnings: string[];
  /** Writes actually sent (0 for a dry run or when up to date). */
  writes: number;
  context: string;
  server: string;
  /** HTTP requests this run sent to the API server. */
  api: { requests: number; writes: number; maxInFlight: number };
}

export async function applyRbac(options: ApplyOptions): Promise<{ result: ApplyResult; plan: RbacPlan }> {
  const loaded = options.mappingSource ?? loadMapping(options.mappingFile, options.env);
  const path = loaded.path;
  const mapping: RbacMapping = options.usernamePrefix === undefined ? loaded.mapping : { ...loaded.mapping, usernamePrefix: options.usernamePrefix };
  const githubOrg = options.githubOrg ?? mapping.githubOrg;
  // Loading the Kubernetes client (a heavy import, plus reading the kubeconfig) overlaps with
  // the token's verification; it sends nothing to the API server until the token passed.
  const clientLoad: Promise<KubeClient> = options.client ? Promise.resolve(options.client) : import('../../adapters/kube-client.js').then(({ loadKubeClient }) => loadKubeClient(options.kube ?? {}));
  clientLoad.catch(() => undefined); // reported below, after verification, if it matters
  const identity = await resolveVerifiedIdentity({ ...options, ...(githubOrg !== undefined ? { githubOrg } : {}) });
  const { matched, ignored } = resolveGroups(identity.groups, mapping);
  const desired = desiredObjectsFor(identity, mapping, matched);
  debug(`${identity.username}: ServiceAccount ${mapping.serviceAccountNamespace}/${identity.serviceAccountName}, ${matched.length} mapped group(s), ${ignored.length} ignored`);

  const client = await clientLoad;
  const labels = userLabels(identity.serviceAccountName, mapping.serviceAccountNamespace);
  const tokenRole = { kind: 'Role' as const, name: selfServiceTokenName(identity.serviceAccountName), namespace: mapping.serviceAccountNamespace };
  // the token Role is read by name even when selfServiceTokens is off, so turning it off prunes it
  const state = await readUserState(client, desired, labels, [tokenRole]);
  const plan = planRbac({
    desired,
    observed: state.observed,
    prune: [
      { kind: 'Role', labels },
      { kind: 'ClusterRoleBinding', labels },
      { kind: 'RoleBinding', labels },
    ],
    existingClusterRoles: state.existingClusterRoles,
  });
  const selfService = mapping.selfServiceTokens !== false;
  const prefixWarning = selfService ? usernamePrefixWarning(identity.usernameClaim, mapping.usernamePrefix, identity.issuer) : undefined;
  if (prefixWarning !== undefined) plan.warnings.push(prefixWarning);

  const result: ApplyResult = {
    user: { username: identity.username, issuer: identity.issuer, subject: identity.subject, tokenSource: identity.tokenSource },
    serviceAccount: { name: identity.serviceAccountName, namespace: mapping.serviceAccountNamespace },
    groups: { granted: matched.map((g) => g.group), ignored },
    selfServiceTokens: selfService ? { user: kubernetesUsername(identity.username, mapping.usernamePrefix), role: `${tokenRole.namespace}/${tokenRole.name}` } : null,
    mapping: path ?? null,
    dryRun: options.dryRun === true,
    plan: planEntries(plan),
    warnings: plan.warnings,
    writes: 0,
    context: client.contextName,
    server: client.server,
    api: { requests: 0, writes: 0, maxInFlight: 0 },
  };
  if (options.dryRun !== true && planRefusals(plan).length === 0) {
    const done = await executePlan(client, plan, new Map(desired.map((d) => [objectKey(d), d])));
    result.writes = done.filter((d) => d.written).length;
  }
  result.api = { requests: client.stats.requests, writes: client.stats.writes, maxInFlight: client.stats.maxInFlight };
  debug(`API server: ${client.stats.requests} requests (${client.stats.writes} writes), at most ${client.stats.maxInFlight} in flight`);
  return { result, plan };
}
