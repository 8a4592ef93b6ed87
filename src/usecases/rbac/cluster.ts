import type { V1ClusterRole, V1ClusterRoleBinding, V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import { kubeApiError, statusOf, withKubeRetry, type KubeClient, type KubeErrorContext } from '../../adapters/kube-client.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, describeObject, isManaged, labelSelector, objectKey, type RbacKind, type RbacObject } from '../../core/rbac/objects.js';
import { managedChanges, mergeForUpdate, refusalReason, type ObjectRef, type PlanAction, type RbacPlan, actionPhase } from '../../core/rbac/plan.js';
import { CliError, ExitCode } from '../../errors.js';
import { debug } from '../../ui/log.js';

/**
 * Reading and writing the RBAC objects through the caller's kubeconfig. Reads are retried
 * (idempotent), writes only on 429/503; an update that meets a 409 is re-read and re-merged a
 * bounded number of times, so a concurrent writer never loses its changes and we never clobber
 * with a stale copy.
 */
type RawObject = V1ServiceAccount | V1ClusterRole | V1Role | V1ClusterRoleBinding | V1RoleBinding;

const RESOURCE: Record<RbacKind, string> = {
  ServiceAccount: 'serviceaccounts',
  ClusterRole: 'clusterroles',
  Role: 'roles',
  ClusterRoleBinding: 'clusterrolebindings',
  RoleBinding: 'rolebindings',
};

const MANAGED_SELECTOR = labelSelector({ [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
export const UPDATE_ATTEMPTS = 4;
/** Up to this many namespaces, RoleBindings are listed per namespace; beyond, cluster-wide. */
export const PER_NAMESPACE_LISTS = 8;

/** A client-node object as plain RbacObject (other fields kept, so an update preserves them). */
export function toRbacObject(kind: RbacKind, raw: RawObject): RbacObject {
  const metadata = raw.metadata ?? {};
  const object = { ...(raw as Record<string, unknown>), kind, metadata: { ...metadata, name: metadata.name ?? '' } } as RbacObject;
  // managedFields are the server's bookkeeping; sending them back on PUT is never needed
  delete object.metadata['managedFields'];
  return object;
}

function context(client: KubeClient, verb: string, ref: { kind: RbacKind; name?: string; namespace?: string }): KubeErrorContext {
  const ctx: KubeErrorContext = { verb, resource: RESOURCE[ref.kind], server: client.server };
  if (ref.name) ctx.name = ref.name;
  if (ref.namespace) ctx.namespace = ref.namespace;
  return ctx;
}

async function read<T>(client: KubeClient, ctx: KubeErrorContext, call: () => Promise<T>): Promise<T> {
  try {
    return await withKubeRetry(call, { idempotent: true, describe: `${ctx.verb} ${ctx.resource}` });
  } catch (error) {
    throw kubeApiError(error, { ...ctx, server: client.server });
  }
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown }).code === 404;
}

/** One object by name, or undefined when it does not exist. */
export async function readObject(client: KubeClient, ref: ObjectRef): Promise<RbacObject | undefined> {
  const ctx = context(client, 'get', ref);
  try {
    const raw = await withKubeRetry<RawObject>(() => {
      switch (ref.kind) {
        case 'ServiceAccount':
          return client.core.readNamespacedServiceAccount({ name: ref.name, namespace: ref.namespace ?? 'default' });
        case 'ClusterRole':
          return client.rbac.readClusterRole({ name: ref.name });
        case 'Role':
          return client.rbac.readNamespacedRole({ name: ref.name, namespace: ref.namespace ?? 'default' });
        case 'ClusterRoleBinding':
          return client.rbac.readClusterRoleBinding({ name: ref.name });
        case 'RoleBinding':
          return client.rbac.readNamespacedRoleBinding({ name: ref.name, namespace: ref.namespace ?? 'default' });
      }
    }, { idempotent: true, describe: `get ${ctx.resource} ${ref.name}` });
    return toRbacObject(ref.kind, raw);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw kubeApiError(error, ctx);
  }
}

export interface UserState {
  observed: RbacObject[];
  existingClusterRoles: string[];
}

/**
 * What exists for one user: their ServiceAccount and Role, every binding labelled as theirs, and
 * any object with the name of a desired one (so foreign objects are seen and refused).
 * `alsoRead`: objects read by name even when not desired (a Role that should be pruned).
 */
export async function readUserState(client: KubeClient, desired: readonly RbacObject[], userSelector: Record<string, string>, alsoRead: readonly ObjectRef[] = []): Promise<UserState> {
  const selector = labelSelector(userSelector);
  const wanted = new Set(desired.map(objectKey));
  const sa = desired.find((d) => d.kind === 'ServiceAccount');
  const byName = new Map<string, ObjectRef>();
  for (const d of desired) if (d.kind === 'Role') byName.set(objectKey(d), { kind: 'Role', name: d.metadata.name, namespace: d.metadata.namespace ?? 'default' });
  for (const ref of alsoRead) byName.set(objectKey({ kind: ref.kind, metadata: ref }), ref);
  const bindingNamespaces = [...new Set(desired.filter((d) => d.kind === 'RoleBinding').map((d) => d.metadata.namespace ?? 'default'))];

  // RoleBindings: the user's (by label) plus any of a desired name, listed per namespace for a
  // few namespaces, or all in one cluster-wide list when there are many (one request, not N)
  const perNamespace = bindingNamespaces.length <= PER_NAMESPACE_LISTS;
  const [account, named, clusterRoles, clusterRoleBindings, userRoleBindings, ...namespaceRoleBindings] = await Promise.all([
    sa ? readObject(client, { kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace ?? 'default' }) : Promise.resolve(undefined),
    Promise.all([...byName.values()].map((ref) => readObject(client, ref))),
    read(client, context(client, 'list', { kind: 'ClusterRole' }), () => client.rbac.listClusterRole()),
    read(client, context(client, 'list', { kind: 'ClusterRoleBinding' }), () => client.rbac.listClusterRoleBinding()),
    read(client, context(client, 'list', { kind: 'RoleBinding' }), () => client.rbac.listRoleBindingForAllNamespaces(perNamespace ? { labelSelector: selector } : {})),
    ...(perNamespace ? bindingNamespaces : []).map((namespace) => read(client, context(client, 'list', { kind: 'RoleBinding', namespace }), () => client.rbac.listNamespacedRoleBinding({ namespace }))),
  ]);

  const relevant = (object: RbacObject): boolean => wanted.has(objectKey(object)) || (isManaged(object) && Object.entries(userSelector).every(([k, v]) => object.metadata.labels?.[k] === v));
  const observed = new Map<string, RbacObject>();
  const add = (object: RbacObject) => {
    if (relevant(object)) observed.set(objectKey(object), object);
  };
  if (account) add(account);
  for (const object of named) if (object) add(object);
  for (const item of clusterRoles.items) add(toRbacObject('ClusterRole', item));
  for (const item of clusterRoleBindings.items) add(toRbacObject('ClusterRoleBinding', item));
  for (const item of userRoleBindings.items) add(toRbacObject('RoleBinding', item));
  for (const list of namespaceRoleBindings) for (const item of list.items) add(toRbacObject('RoleBinding', item));
  return { observed: [...observed.values()], existingClusterRoles: clusterRoles.items.map((r) => r.metadata?.name ?? '').filter((n) => n !== '') };
}

export interface ManagedState {
  serviceAccounts: RbacObject[];
  clusterRoles: RbacObject[];
  /** Managed Roles; read only when asked for (revoke), else empty. */
  roles: RbacObject[];
  clusterRoleBindings: RbacObject[];
  roleBindings: RbacObject[];
}

/** Every object labelled managed-by k8s-auth, cluster-wide (Roles too with `roles: true`). */
export async function readManagedState(client: KubeClient, options: { roles?: boolean } = {}): Promise<ManagedState> {
  const [serviceAccounts, clusterRoles, clusterRoleBindings, roleBindings, roles] = await Promise.all([
    read(client, context(client, 'list', { kind: 'ServiceAccount' }), () => client.core.listServiceAccountForAllNamespaces({ labelSelector: MANAGED_SELECTOR })),
    read(client, context(client, 'list', { kind: 'ClusterRole' }), () => client.rbac.listClusterRole({ labelSelector: MANAGED_SELECTOR })),
    read(client, context(client, 'list', { kind: 'ClusterRoleBinding' }), () => client.rbac.listClusterRoleBinding({ labelSelector: MANAGED_SELECTOR })),
    read(client, context(client, 'list', { kind: 'RoleBinding' }), () => client.rbac.listRoleBindingForAllNamespaces({ labelSelector: MANAGED_SELECTOR })),
    options.roles === true ? read(client, context(client, 'list', { kind: 'Role' }), () => client.rbac.listRoleForAllNamespaces({ labelSelector: MANAGED_SELECTOR })) : Promise.resolve({ items: [] as V1Role[] }),
  ]);
  return {
    serviceAccounts: serviceAccounts.items.map((i) => toRbacObject('ServiceAccount', i)),
    clusterRoles: clusterRoles.items.map((i) => toRbacObject('ClusterRole', i)),
    roles: roles.items.map((i) => toRbacObject('Role', i)),
    clusterRoleBindings: clusterRoleBindings.items.map((i) => toRbacObject('ClusterRoleBinding', i)),
    roleBindings: roleBindings.items.map((i) => toRbacObject('RoleBinding', i)),
  };
}

function bodyOf(object: RbacObject): Record<string, unknown> {
  const { kind, ...rest } = object;
  const apiVersion = kind === 'ServiceAccount' ? 'v1' : 'rbac.authorization.k8s.io/v1';
  return { ...rest, apiVersion, kind };
}

async function write(client: KubeClient, verb: 'create' | 'update' | 'delete', object: RbacObject | ObjectRef): Promise<void> {
  const ref: ObjectRef = 'metadata' in object ? { kind: object.kind, name: object.metadata.name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) } : object;
  const namespace = ref.namespace ?? 'default';
  const body: unknown = 'metadata' in object ? bodyOf(object) : undefined;
  const call = (): Promise<unknown> => {
    switch (`${verb} ${ref.kind}`) {
      case 'create ServiceAccount':
        return client.core.createNamespacedServiceAccount({ namespace, body: body as V1ServiceAccount });
      case 'update ServiceAccount':
        return client.core.replaceNamespacedServiceAccount({ name: ref.name, namespace, body: body as V1ServiceAccount });
      case 'delete ServiceAccount':
        return client.core.deleteNamespacedServiceAccount({ name: ref.name, namespace });
      case 'create ClusterRole':
        return client.rbac.createClusterRole({ body: body as V1ClusterRole });
      case 'update ClusterRole':
        return client.rbac.replaceClusterRole({ name: ref.name, body: body as V1ClusterRole });
      case 'delete ClusterRole':
        return client.rbac.deleteClusterRole({ name: ref.name });
      case 'create Role':
        return client.rbac.createNamespacedRole({ namespace, body: body as V1Role });
      case 'update Role':
        return client.rbac.replaceNamespacedRole({ name: ref.name, namespace, body: body as V1Role });
      case 'delete Role':
        return client.rbac.deleteNamespacedRole({ name: ref.name, namespace });
      case 'create ClusterRoleBinding':
        return client.rbac.createClusterRoleBinding({ body: body as V1ClusterRoleBinding });
      case 'update ClusterRoleBinding':
        return client.rbac.replaceClusterRoleBinding({ name: ref.name, body: body as V1ClusterRoleBinding });
      case 'delete ClusterRoleBinding':
        return client.rbac.deleteClusterRoleBinding({ name: ref.name });
      case 'create RoleBinding':
        return client.rbac.createNamespacedRoleBinding({ namespace, body: body as V1RoleBinding });
      case 'update RoleBinding':
        return client.rbac.replaceNamespacedRoleBinding({ name: ref.name, namespace, body: body as V1RoleBinding });
      default:
        return client.rbac.deleteNamespacedRoleBinding({ name: ref.name, namespace });
    }
  };
  await withKubeRetry(call, { idempotent: false, describe: `${verb} ${describeObject({ kind: ref.kind, metadata: ref })}` });
}

function writeError(client: KubeClient, error: unknown, verb: string, ref: ObjectRef): CliError {
  const status = statusOf(error);
  if (verb === 'create' && (error as { code?: unknown }).code === 404 && status?.details?.kind === 'namespaces') {
    return new CliError(ExitCode.KUBERNETES, `namespace ${status.details.name ?? ref.namespace ?? ''} does not exist: create it, or remove it from the mapping`, { cause: error });
  }
  return kubeApiError(error, context(client, verb, ref));
}

/** An update with a fresh read and re-merge on each 409 Conflict (bounded). */
async function update(client: KubeClient, action: Extract<PlanAction, { op: 'update' }>, desired: RbacObject): Promise<boolean> {
  let object = action.object;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await write(client, 'update', object);
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 409 || attempt >= UPDATE_ATTEMPTS) throw writeError(client, error, 'update', action.ref);
      debug(`${describeObject(desired)} changed under us (409); reading it again (attempt ${attempt + 1}/${UPDATE_ATTEMPTS})`);
      const fresh = await readObject(client, action.ref);
      if (!fresh) {
        await write(client, 'create', desired).catch((e: unknown) => {
          throw writeError(client, e, 'create', action.ref);
        });
        return true;
      }
      const refusal = refusalReason(desired, fresh);
      if (refusal) throw new CliError(ExitCode.KUBERNETES, refusal);
      if (managedChanges(desired, fresh).length === 0) return false;
      object = mergeForUpdate(fresh, desired);
    }
  }
}

/**
 * A create that meets 409 AlreadyExists: someone created the object after we read (another
 * apply of the same user, e.g. `--all-clusters` over clusters that share an API server, or two
 * admins at once). Read it and converge as an update would; refuse it if it is not ours.
 */
async function create(client: KubeClient, action: Extract<PlanAction, { op: 'create' }>, desired: RbacObject): Promise<boolean> {
  try {
    await write(client, 'create', action.object);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 409) throw writeError(client, error, 'create', action.ref);
    debug(`${describeObject(desired)} was created under us (409); reading it to converge`);
    const fresh = await readObject(client, action.ref);
    if (!fresh) throw writeError(client, error, 'create', action.ref);
    const refusal = refusalReason(desired, fresh);
    if (refusal) throw new CliError(ExitCode.KUBERNETES, refusal);
    const changes = managedChanges(desired, fresh);
    if (changes.length === 0) return false;
    return update(client, { op: 'update', ref: action.ref, object: mergeForUpdate(fresh, desired), changes }, desired);
  }
}

export interface ExecutedAction {
  op: PlanAction['op'];
  ref: ObjectRef;
  /** False when there turned out to be nothing to do (e.g. a delete of an object already gone). */
  written: boolean;
}

/**
 * Runs the plan phase by phase (ServiceAccount, roles, bindings, then deletes in reverse);
 * within a phase the calls run in parallel, bounded by the client's requests in flight.
 * Refusals must have been handled by the caller: any left here is an error.
 */
export async function executePlan(client: KubeClient, plan: RbacPlan, desiredByKey: ReadonlyMap<string, RbacObject>): Promise<ExecutedAction[]> {
  const refusal = plan.actions.find((a) => a.op === 'refuse');
  if (refusal) throw new CliError(ExitCode.KUBERNETES, refusal.reason);
  const phases = new Map<number, PlanAction[]>();
  for (const action of plan.actions) phases.set(actionPhase(action), [...(phases.get(actionPhase(action)) ?? []), action]);
  const done: ExecutedAction[] = [];
  for (const phase of [...phases.keys()].sort((a, b) => a - b)) {
    const results = await Promise.all(
      (phases.get(phase) ?? []).map(async (action): Promise<ExecutedAction> => {
        switch (action.op) {
          case 'create':
            return { op: action.op, ref: action.ref, written: await create(client, action, desiredByKey.get(`${action.ref.kind}/${action.ref.namespace ?? ''}/${action.ref.name}`) ?? action.object) };
          case 'update': {
            const desired = desiredByKey.get(`${action.ref.kind}/${action.ref.namespace ?? ''}/${action.ref.name}`) ?? action.object;
            return { op: action.op, ref: action.ref, written: await update(client, action, desired) };
          }
          case 'replace':
            await deleteObject(client, action.ref);
            await write(client, 'create', action.object).catch((e: unknown) => {
              throw writeError(client, e, 'create', action.ref);
            });
            return { op: action.op, ref: action.ref, written: true };
          case 'delete':
            return { op: action.op, ref: action.ref, written: await deleteObject(client, action.ref) };
          default:
            throw new CliError(ExitCode.KUBERNETES, action.reason);
        }
      }),
    );
    done.push(...results);
  }
  return done;
}

async function deleteObject(client: KubeClient, ref: ObjectRef): Promise<boolean> {
  try {
    await write(client, 'delete', ref);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false; // already gone: the goal is reached
    throw writeError(client, error, 'delete', ref);
  }
}
