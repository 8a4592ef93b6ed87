import type { KubeClient, LoadKubeClientOptions } from '../../adapters/kube-client.js';
import { planRevoke, planSync } from '../../core/rbac/lifecycle.js';
import {
  GROUPS_ANNOTATION,
  ISSUER_ANNOTATION,
  SERVICE_ACCOUNT_LABEL,
  SERVICE_ACCOUNT_NAMESPACE_LABEL,
  SUBJECT_ANNOTATION,
  USERNAME_ANNOTATION,
  desiredManagedRoles,
  isSelfServiceTokenObject,
  objectKey,
} from '../../core/rbac/objects.js';
import { planRefusals, type RbacPlan } from '../../core/rbac/plan.js';
import { planEntries, type PlanEntry } from '../../core/rbac/report.js';
import { serviceAccountNameFor } from '../../core/service-account-name.js';
import { CliError, ExitCode } from '../../errors.js';
import { executePlan, readManagedState, readObject } from './cluster.js';
import { loadMapping } from './apply.js';

/** `rbac list`, `rbac revoke` and `rbac sync`: the managed objects seen cluster-wide. */
async function clientFor(options: { client?: KubeClient; kube?: LoadKubeClientOptions }): Promise<KubeClient> {
  if (options.client) return options.client;
  // a k8s-auth user holding no tokens needs a sign-in (exit 10), said before any request
  await (await import('../sign-in-state.js')).requireSignedIn({ kubeconfig: options.kube?.kubeconfig, context: options.kube?.context });
  return (await import('../../adapters/kube-client.js')).loadKubeClient(options.kube ?? {});
}

export interface ManagedAccount {
  serviceAccount: string;
  namespace: string;
  username: string | null;
  issuer: string | null;
  subject: string | null;
  /** The Kubernetes user the self-service token RoleBinding lets mint tokens, or null. */
  tokenUser: string | null;
  bindings: { kind: 'ClusterRoleBinding' | 'RoleBinding'; name: string; namespace?: string; role: string; groups: string[] }[];
}

export async function listManaged(options: { client?: KubeClient; kube?: LoadKubeClientOptions } = {}): Promise<ManagedAccount[]> {
  const client = await clientFor(options);
  const state = await readManagedState(client);
  const accounts = new Map<string, ManagedAccount>();
  const keyOf = (ns: string, name: string) => `${ns}/${name}`;
  for (const sa of state.serviceAccounts) {
    const a = sa.metadata.annotations ?? {};
    accounts.set(keyOf(sa.metadata.namespace ?? '', sa.metadata.name), {
      serviceAccount: sa.metadata.name,
      namespace: sa.metadata.namespace ?? '',
      username: a[USERNAME_ANNOTATION] ?? null,
      issuer: a[ISSUER_ANNOTATION] ?? null,
      subject: a[SUBJECT_ANNOTATION] ?? null,
      tokenUser: null,
      bindings: [],
    });
  }
  for (const binding of [...state.clusterRoleBindings, ...state.roleBindings]) {
    const labels = binding.metadata.labels ?? {};
    const name = labels[SERVICE_ACCOUNT_LABEL];
    const ns = labels[SERVICE_ACCOUNT_NAMESPACE_LABEL];
    if (!name || !ns) continue;
    const key = keyOf(ns, name);
    // a binding whose ServiceAccount is gone still shows, so it can be revoked
    const account = accounts.get(key) ?? { serviceAccount: name, namespace: ns, username: null, issuer: null, subject: null, tokenUser: null, bindings: [] };
    accounts.set(key, account);
    if (isSelfServiceTokenObject(binding)) {
      // not a role the ServiceAccount holds: the user's right to mint its tokens
      account.tokenUser = binding.subjects?.[0]?.name ?? null;
      continue;
    }
    const entry: ManagedAccount['bindings'][number] = {
      kind: binding.kind as 'ClusterRoleBinding' | 'RoleBinding',
      name: binding.metadata.name,
      role: binding.roleRef?.name ?? '',
      groups: (binding.metadata.annotations?.[GROUPS_ANNOTATION] ?? '').split(',').filter((g) => g !== ''),
    };
    if (binding.metadata.namespace) entry.namespace = binding.metadata.namespace;
    account.bindings.push(entry);
  }
  const sorted = [...accounts.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.serviceAccount.localeCompare(b.serviceAccount));
  for (const account of sorted) account.bindings.sort((a, b) => (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.role.localeCompare(b.role));
  return sorted;
}

/** The argument of `rbac revoke` as a ServiceAccount name; said as an argument, not as a claim. */
function serviceAccountNameForTarget(target: string): string {
  if (!/[A-Za-z0-9]/.test(target)) {
    throw new CliError(
      ExitCode.USAGE,
      `'${target}' cannot name a ServiceAccount (it has no letters a-z or digits): pass the email or username the ServiceAccount was made for, or the ServiceAccount's name, as \`k8s-auth rbac list\` shows them`,
    );
  }
  return serviceAccountNameFor(target);
}

export interface RevokeOptions {
  /** An email/username, or a ServiceAccount name. */
  target: string;
  namespace?: string;
  dryRun?: boolean;
  client?: KubeClient;
  kube?: LoadKubeClientOptions;
}

export interface ChangeResult {
  plan: PlanEntry[];
  writes: number;
  dryRun: boolean;
  context: string;
}

export async function revokeRbac(options: RevokeOptions): Promise<{ result: ChangeResult & { serviceAccount: { name: string; namespace: string } }; plan: RbacPlan }> {
  const name = serviceAccountNameForTarget(options.target);
  const client = await clientFor(options);
  const state = await readManagedState(client, { roles: true });
  let namespace = options.namespace;
  if (namespace === undefined) {
    // find the user's namespace from what k8s-auth manages
    const found = new Set<string>();
    for (const sa of state.serviceAccounts) if (sa.metadata.name === name && sa.metadata.namespace) found.add(sa.metadata.namespace);
    for (const binding of [...state.clusterRoleBindings, ...state.roleBindings]) {
      const labels = binding.metadata.labels ?? {};
      const ns = labels[SERVICE_ACCOUNT_NAMESPACE_LABEL];
      if (labels[SERVICE_ACCOUNT_LABEL] === name && ns) found.add(ns);
    }
    if (found.size > 1) throw new CliError(ExitCode.USAGE, `ServiceAccount ${name} is managed in several namespaces (${[...found].sort().join(', ')}): pass --namespace`);
    namespace = [...found][0];
    if (namespace === undefined) throw new CliError(ExitCode.KUBERNETES, `k8s-auth manages no ServiceAccount ${name} (from '${options.target}') and no bindings for it: check the name with \`k8s-auth rbac list\``);
  }
  const serviceAccount = await readObject(client, { kind: 'ServiceAccount', name, namespace });
  const plan = planRevoke({
    serviceAccountName: name,
    namespace,
    serviceAccount,
    managedBindings: [...state.clusterRoleBindings, ...state.roleBindings],
    managedRoles: state.clusterRoles,
    managedNamespacedRoles: state.roles,
  });
  const result = { plan: planEntries(plan), writes: 0, dryRun: options.dryRun === true, context: client.contextName, serviceAccount: { name, namespace } };
  if (plan.actions.length === 0) throw new CliError(ExitCode.KUBERNETES, `k8s-auth manages no ServiceAccount ${namespace}/${name} and no bindings for it: check the name with \`k8s-auth rbac list\``);
  if (options.dryRun === true || planRefusals(plan).length > 0) return { result, plan };
  const done = await executePlan(client, plan, new Map());
  result.writes = done.filter((d) => d.written).length;
  return { result, plan };
}

export interface SyncOptions {
  mappingFile?: string;
  dryRun?: boolean;
  client?: KubeClient;
  kube?: LoadKubeClientOptions;
  env?: Record<string, string | undefined>;
}

export async function syncRbac(options: SyncOptions): Promise<{ result: ChangeResult & { mapping: string }; plan: RbacPlan }> {
  const { mapping, path } = loadMapping(options.mappingFile, options.env);
  if (path === undefined) throw new CliError(ExitCode.USAGE, 'rbac sync needs the mapping: pass --mapping FILE (or set K8S_AUTH_RBAC_MAPPING)');
  const client = await clientFor(options);
  const state = await readManagedState(client);
  // same-named unmanaged ClusterRoles must be seen, so they are refused rather than overwritten
  const wantedNames = desiredManagedRoles(mapping).map((r) => r.metadata.name);
  const managedNames = new Set(state.clusterRoles.map((r) => r.metadata.name));
  const others = await Promise.all(wantedNames.filter((n) => !managedNames.has(n)).map((n) => readObject(client, { kind: 'ClusterRole', name: n })));
  const clusterRoles = [...state.clusterRoles, ...others.filter((o) => o !== undefined)];
  const plan = planSync({ mapping, clusterRoles, managedBindings: [...state.clusterRoleBindings, ...state.roleBindings] });
  const result = { plan: planEntries(plan), writes: 0, dryRun: options.dryRun === true, context: client.contextName, mapping: path };
  if (options.dryRun === true || planRefusals(plan).length > 0) return { result, plan };
  const desired = new Map(desiredManagedRoles(mapping).map((d) => [objectKey(d), d]));
  const done = await executePlan(client, plan, desired);
  result.writes = done.filter((d) => d.written).length;
  return { result, plan };
}
