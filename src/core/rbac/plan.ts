import type { PolicyRule } from './mapping.js';
import {
  ISSUER_ANNOTATION,
  SUBJECT_ANNOTATION,
  USERNAME_ANNOTATION,
  describeObject,
  isManaged,
  objectKey,
  type RbacKind,
  type RbacObject,
  type Subject,
} from './objects.js';

/**
 * desired objects + observed objects → the minimal ordered set of writes. Pure: no I/O, so every
 * rule of "idempotent and safe" is unit-tested here:
 *  - an object that already matches is left alone (a second apply writes nothing);
 *  - a differing managed object is updated in place, never deleted and recreated (a
 *    ServiceAccount's tokens survive); only a binding whose roleRef changed (immutable in
 *    Kubernetes) is replaced;
 *  - an object of the same name not managed by k8s-auth, or made for another identity, is refused;
 *  - observed managed objects matching a prune selector and no longer desired are deleted.
 */
export interface PruneSelector {
  kind: RbacKind;
  /** The object's labels must include all of these. */
  labels: Record<string, string>;
  /** …and have these label keys, whatever their value. */
  hasLabels?: string[];
}

export interface PlanInput {
  desired: readonly RbacObject[];
  observed: readonly RbacObject[];
  prune?: readonly PruneSelector[];
  /** Names of ClusterRoles that exist, to warn about bindings to missing ones. */
  existingClusterRoles?: readonly string[];
}

export interface ObjectRef {
  kind: RbacKind;
  name: string;
  namespace?: string;
}

export type PlanAction =
  | { op: 'create'; ref: ObjectRef; object: RbacObject }
  | { op: 'update'; ref: ObjectRef; object: RbacObject; changes: string[] }
  | { op: 'replace'; ref: ObjectRef; object: RbacObject; changes: string[] }
  | { op: 'delete'; ref: ObjectRef; reason: string }
  | { op: 'refuse'; ref: ObjectRef; reason: string };

export interface RbacPlan {
  actions: PlanAction[];
  warnings: string[];
}

const KIND_ORDER: Record<RbacKind, number> = { ServiceAccount: 0, ClusterRole: 1, Role: 2, ClusterRoleBinding: 3, RoleBinding: 4 };
/** Writes that depend on nothing of each other share a step: roles of both kinds, bindings of both kinds. */
const KIND_STEP: Record<RbacKind, number> = { ServiceAccount: 0, ClusterRole: 1, Role: 1, ClusterRoleBinding: 2, RoleBinding: 2 };

export function refOf(object: RbacObject): ObjectRef {
  const ref: ObjectRef = { kind: object.kind, name: object.metadata.name };
  if (object.metadata.namespace) ref.namespace = object.metadata.namespace;
  return ref;
}

function list(value: readonly string[] | undefined): string[] {
  return value ? [...value] : [];
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = list(a);
  const y = list(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export function sameRules(a: readonly PolicyRule[] | undefined, b: readonly PolicyRule[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return (
    x.length === y.length &&
    x.every((r, i) => {
      const s = y[i]!;
      return (
        sameList(r.apiGroups, s.apiGroups) &&
        sameList(r.resources, s.resources) &&
        sameList(r.verbs, s.verbs) &&
        sameList(r.resourceNames, s.resourceNames) &&
        sameList(r.nonResourceURLs, s.nonResourceURLs)
      );
    })
  );
}

function sameSubjects(a: readonly Subject[] | undefined, b: readonly Subject[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return (
    x.length === y.length &&
    x.every((s, i) => {
      const t = y[i]!;
      return s.kind === t.kind && s.name === t.name && (s.namespace ?? '') === (t.namespace ?? '') && (s.apiGroup ?? '') === (t.apiGroup ?? '');
    })
  );
}

/** What differs in the fields k8s-auth manages; empty when nothing does. */
export function managedChanges(desired: RbacObject, observed: RbacObject): string[] {
  const changes: string[] = [];
  for (const [key, value] of Object.entries(desired.metadata.labels ?? {})) {
    if (observed.metadata.labels?.[key] !== value) changes.push(`label ${key}`);
  }
  for (const [key, value] of Object.entries(desired.metadata.annotations ?? {})) {
    if (observed.metadata.annotations?.[key] !== value) changes.push(`annotation ${key}`);
  }
  if ((desired.kind === 'ClusterRole' || desired.kind === 'Role') && !sameRules(desired.rules, observed.rules)) changes.push('rules');
  if (desired.subjects !== undefined && !sameSubjects(desired.subjects, observed.subjects)) changes.push('subjects');
  return changes;
}

function roleRefChanged(desired: RbacObject, observed: RbacObject): boolean {
  if (!desired.roleRef) return false;
  const o = observed.roleRef;
  return !o || o.name !== desired.roleRef.name || o.kind !== desired.roleRef.kind || o.apiGroup !== desired.roleRef.apiGroup;
}

/**
 * The observed object with the managed fields of the desired one: other labels, annotations
 * and fields (a ServiceAccount's secrets, say) are kept; resourceVersion stays for the
 * optimistic-concurrency check. Also used to re-merge after a 409 and a fresh read.
 */
export function mergeForUpdate(observed: RbacObject, desired: RbacObject): RbacObject {
  const merged: RbacObject = {
    ...observed,
    metadata: {
      ...observed.metadata,
      labels: { ...(observed.metadata.labels ?? {}), ...(desired.metadata.labels ?? {}) },
      annotations: { ...(observed.metadata.annotations ?? {}), ...(desired.metadata.annotations ?? {}) },
    },
  };
  if (desired.rules !== undefined) merged.rules = desired.rules;
  if (desired.subjects !== undefined) merged.subjects = desired.subjects;
  if (desired.roleRef !== undefined) merged.roleRef = desired.roleRef;
  return merged;
}

/** Why an observed object of a desired name may not be touched; undefined when it may. */
export function refusalReason(desired: RbacObject, observed: RbacObject): string | undefined {
  if (!isManaged(observed)) return `${describeObject(observed)} exists and is not managed by k8s-auth: rename or remove it (k8s-auth does not adopt objects)`;
  const theirs = observed.metadata.annotations ?? {};
  const ours = desired.metadata.annotations ?? {};
  const subject = ours[SUBJECT_ANNOTATION];
  const issuer = ours[ISSUER_ANNOTATION];
  if (subject !== undefined && theirs[SUBJECT_ANNOTATION] !== undefined && (theirs[SUBJECT_ANNOTATION] !== subject || theirs[ISSUER_ANNOTATION] !== issuer)) {
    const who = theirs[USERNAME_ANNOTATION] ?? theirs[SUBJECT_ANNOTATION];
    return `${describeObject(observed)} belongs to another identity (${who} from ${theirs[ISSUER_ANNOTATION] ?? 'another issuer'}): two usernames map to the same ServiceAccount name; revoke it first if that is intended`;
  }
  return undefined;
}

function matchesSelector(object: RbacObject, selector: PruneSelector): boolean {
  if (object.kind !== selector.kind) return false;
  const labels = object.metadata.labels ?? {};
  return Object.entries(selector.labels).every(([k, v]) => labels[k] === v) && (selector.hasLabels ?? []).every((k) => k in labels);
}

function compareRefs(a: ObjectRef, b: ObjectRef): number {
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.name.localeCompare(b.name);
}

/** The order writes run in: refusals first (nothing runs if any), then creates/updates
 * ServiceAccount → roles → bindings, then deletes bindings → roles → ServiceAccount. */
export function actionPhase(action: PlanAction): number {
  if (action.op === 'refuse') return 0;
  if (action.op === 'delete') return 10 + (3 - KIND_STEP[action.ref.kind]);
  return 1 + KIND_STEP[action.ref.kind];
}

export function planRbac(input: PlanInput): RbacPlan {
  const observedByKey = new Map(input.observed.map((o) => [objectKey(o), o]));
  const desiredKeys = new Set<string>();
  const actions: PlanAction[] = [];
  const warnings: string[] = [];

  for (const desired of input.desired) {
    const key = objectKey(desired);
    if (desiredKeys.has(key)) continue;
    desiredKeys.add(key);
    const ref = refOf(desired);
    const observed = observedByKey.get(key);
    if (!observed) {
      actions.push({ op: 'create', ref, object: desired });
      continue;
    }
    const refusal = refusalReason(desired, observed);
    if (refusal) {
      actions.push({ op: 'refuse', ref, reason: refusal });
      continue;
    }
    if (roleRefChanged(desired, observed)) {
      // roleRef is immutable: the binding must be deleted and created again
      actions.push({ op: 'replace', ref, object: desired, changes: [`roleRef ${observed.roleRef?.name ?? '(none)'} → ${desired.roleRef?.name ?? ''}`] });
      continue;
    }
    const changes = managedChanges(desired, observed);
    if (changes.length > 0) actions.push({ op: 'update', ref, object: mergeForUpdate(observed, desired), changes });
  }

  for (const observed of input.observed) {
    const key = objectKey(observed);
    if (desiredKeys.has(key) || !isManaged(observed)) continue;
    const selector = (input.prune ?? []).find((s) => matchesSelector(observed, s));
    if (selector) actions.push({ op: 'delete', ref: refOf(observed), reason: 'no longer granted' });
  }

  if (input.existingClusterRoles) {
    const known = new Set([...input.existingClusterRoles, ...input.desired.filter((d) => d.kind === 'ClusterRole').map((d) => d.metadata.name)]);
    const missing = new Set(input.desired.filter((d) => d.roleRef?.kind === 'ClusterRole' && !known.has(d.roleRef.name)).map((d) => d.roleRef?.name ?? ''));
    for (const role of [...missing].sort()) warnings.push(`ClusterRole ${role} does not exist: bindings to it grant nothing until someone creates it`);
  }

  actions.sort((a, b) => actionPhase(a) - actionPhase(b) || compareRefs(a.ref, b.ref));
  return { actions, warnings };
}

export function planWrites(plan: RbacPlan): number {
  return plan.actions.filter((a) => a.op !== 'refuse').length;
}

export function planRefusals(plan: RbacPlan): Extract<PlanAction, { op: 'refuse' }>[] {
  return plan.actions.filter((a): a is Extract<PlanAction, { op: 'refuse' }> => a.op === 'refuse');
}
