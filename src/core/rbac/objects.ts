import type { RbacIdentity } from './identity.js';
import { kubernetesUsername, managedRoleName, type PolicyRule, type RbacMapping, type ResolvedGroup } from './mapping.js';
import { serviceAccountNameFor } from '../service-account-name.js';

/**
 * The Kubernetes objects k8s-auth wants for a user, as plain data (no client library types):
 * one ServiceAccount, a managed ClusterRole per custom-rules group, one binding per
 * (role, namespace), and a Role + RoleBinding that let the user (as the API server authenticates
 * them) mint tokens for that ServiceAccount and no other. Labels say who manages an object and whose it is; annotations record the
 * issuer and subject it was made for, so a later apply from another identity is refused.
 */
export type RbacKind = 'ServiceAccount' | 'ClusterRole' | 'Role' | 'ClusterRoleBinding' | 'RoleBinding';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  [key: string]: unknown;
}

export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RbacObject {
  kind: RbacKind;
  metadata: ObjectMeta;
  rules?: PolicyRule[];
  roleRef?: RoleRef;
  subjects?: Subject[];
  /** Other fields of an observed object (e.g. a ServiceAccount's secrets) are kept on update. */
  [key: string]: unknown;
}

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'k8s-auth';
export const SERVICE_ACCOUNT_LABEL = 'k8s-auth.io/service-account';
export const SERVICE_ACCOUNT_NAMESPACE_LABEL = 'k8s-auth.io/service-account-namespace';
export const GROUP_LABEL = 'k8s-auth.io/group';
export const ISSUER_ANNOTATION = 'k8s-auth.io/issuer';
export const SUBJECT_ANNOTATION = 'k8s-auth.io/subject';
export const USERNAME_ANNOTATION = 'k8s-auth.io/username';
export const GROUPS_ANNOTATION = 'k8s-auth.io/groups';
export const GROUP_ANNOTATION = 'k8s-auth.io/group';
export const PURPOSE_LABEL = 'k8s-auth.io/purpose';
export const SELF_SERVICE_TOKEN_PURPOSE = 'self-service-token';
/** Role and RoleBinding `k8s-auth-token:<sa>` (a ':' no group's managed ClusterRole name has). */
export const SELF_SERVICE_TOKEN_PREFIX = 'k8s-auth-token:';
export const RBAC_API_GROUP = 'rbac.authorization.k8s.io';

export function isManaged(object: { metadata: ObjectMeta }): boolean {
  return object.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** Labels every object of one user carries; also the selector that finds them. */
export function userLabels(serviceAccountName: string, namespace: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [SERVICE_ACCOUNT_LABEL]: serviceAccountName, [SERVICE_ACCOUNT_NAMESPACE_LABEL]: namespace };
}

export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** `k8s-auth:<sa-namespace>:<sa>:<role>`: the name says whose binding it is and which role it grants. */
export function bindingName(serviceAccountName: string, namespace: string, roleName: string): string {
  return `k8s-auth:${namespace}:${serviceAccountName}:${roleName}`;
}

export function managedClusterRole(group: string, rules: PolicyRule[]): RbacObject {
  return {
    kind: 'ClusterRole',
    metadata: {
      name: managedRoleName(group),
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [GROUP_LABEL]: serviceAccountNameFor(group) },
      annotations: { [GROUP_ANNOTATION]: group },
    },
    rules: rules.map((rule) => ({ ...rule })),
  };
}

function whoAnnotations(identity: RbacIdentity): Record<string, string> {
  return { [ISSUER_ANNOTATION]: identity.issuer, [SUBJECT_ANNOTATION]: identity.subject, [USERNAME_ANNOTATION]: identity.username };
}

export function selfServiceTokenName(serviceAccountName: string): string {
  return `${SELF_SERVICE_TOKEN_PREFIX}${serviceAccountName}`;
}

export function isSelfServiceTokenObject(object: { metadata: ObjectMeta }): boolean {
  return object.metadata.labels?.[PURPOSE_LABEL] === SELF_SERVICE_TOKEN_PURPOSE;
}

/**
 * The Role (create serviceaccounts/token on the user's own ServiceAccount only) and the
 * RoleBinding that grants it to the user as kube-apiserver names them (username claim after
 * the mapping's usernamePrefix), so `k8s-auth login` + `k8s-auth token` works without an admin.
 */
export function selfServiceTokenObjects(identity: RbacIdentity, mapping: RbacMapping): RbacObject[] {
  const sa = identity.serviceAccountName;
  const ns = mapping.serviceAccountNamespace;
  const name = selfServiceTokenName(sa);
  const labels = { ...userLabels(sa, ns), [PURPOSE_LABEL]: SELF_SERVICE_TOKEN_PURPOSE };
  return [
    {
      kind: 'Role',
      metadata: { name, namespace: ns, labels: { ...labels }, annotations: whoAnnotations(identity) },
      rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: [sa] }],
    },
    {
      kind: 'RoleBinding',
      metadata: { name, namespace: ns, labels: { ...labels }, annotations: whoAnnotations(identity) },
      roleRef: { apiGroup: RBAC_API_GROUP, kind: 'Role', name },
      subjects: [{ kind: 'User', apiGroup: RBAC_API_GROUP, name: kubernetesUsername(identity.username, mapping.usernamePrefix) }],
    },
  ];
}

/** Everything one verified identity should have under the mapping. */
export function desiredObjectsFor(identity: RbacIdentity, mapping: RbacMapping, matched: readonly ResolvedGroup[]): RbacObject[] {
  const sa = identity.serviceAccountName;
  const ns = mapping.serviceAccountNamespace;
  const labels = userLabels(sa, ns);
  const who = whoAnnotations(identity);
  const objects: RbacObject[] = [{ kind: 'ServiceAccount', metadata: { name: sa, namespace: ns, labels: { ...labels }, annotations: { ...who } } }];

  for (const group of matched) {
    if (group.rules) objects.push(managedClusterRole(group.group, group.rules));
  }

  // one binding per (role, namespace); the groups that led to it are recorded
  const bindings = new Map<string, { role: string; namespace: string | undefined; groups: string[] }>();
  for (const group of matched) {
    const scopes = group.namespaces.length === 0 ? [undefined] : group.namespaces;
    for (const scope of scopes) {
      const key = `${scope ?? ''}|${group.roleName}`;
      const entry = bindings.get(key) ?? { role: group.roleName, namespace: scope, groups: [] };
      entry.groups.push(group.group);
      bindings.set(key, entry);
    }
  }
  for (const { role, namespace, groups } of bindings.values()) {
    const metadata: ObjectMeta = {
      name: bindingName(sa, ns, role),
      labels: { ...labels },
      annotations: { ...who, [GROUPS_ANNOTATION]: [...groups].sort().join(',') },
    };
    if (namespace !== undefined) metadata.namespace = namespace;
    objects.push({
      kind: namespace === undefined ? 'ClusterRoleBinding' : 'RoleBinding',
      metadata,
      roleRef: { apiGroup: RBAC_API_GROUP, kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    });
  }
  if (mapping.selfServiceTokens !== false) objects.push(...selfServiceTokenObjects(identity, mapping));
  return objects;
}

/** The managed ClusterRoles the whole mapping calls for (used by `rbac sync`). */
export function desiredManagedRoles(mapping: RbacMapping): RbacObject[] {
  return Object.entries(mapping.groups)
    .filter(([, rule]) => rule.rules !== undefined)
    .map(([group, rule]) => managedClusterRole(group, rule.rules ?? []));
}

export function objectKey(object: { kind: string; metadata: { name: string; namespace?: string | undefined } }): string {
  return `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

/** `ClusterRoleBinding k8s-auth:…` or `RoleBinding team-a/k8s-auth:…`, for messages. */
export function describeObject(object: { kind: string; metadata: { name: string; namespace?: string | undefined } }): string {
  return `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
}
