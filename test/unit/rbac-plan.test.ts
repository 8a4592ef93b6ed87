import { describe, expect, it } from 'vitest';
import { identityFromClaims } from '../../src/core/rbac/identity.js';
import { planRevoke, planSync } from '../../src/core/rbac/lifecycle.js';
import { parseRbacMapping, resolveGroups } from '../../src/core/rbac/mapping.js';
import { desiredObjectsFor, type RbacObject } from '../../src/core/rbac/objects.js';
import { mergeForUpdate, planRbac, planRefusals, planWrites, type PruneSelector } from '../../src/core/rbac/plan.js';

const mapping = parseRbacMapping(
  `
serviceAccountNamespace: users
groups:
  admins:
    clusterRole: admin
  developers:
    rules:
      - apiGroups: ["", "apps"]
        resources: ["pods", "deployments"]
        verbs: ["get", "list", "watch"]
    namespaces: [team-a, team-b]
`,
  'm.yaml',
);
const jane = identityFromClaims({ iss: 'https://idp/dex', sub: 'jane-sub', email: 'jane@example.com', groups: ['developers', 'view', 'outsiders'] });

function desiredFor(identity = jane, m = mapping): RbacObject[] {
  return desiredObjectsFor(identity, m, resolveGroups(identity.groups, m).matched);
}

/** What the API server would hand back after creating these objects. */
function asObserved(objects: readonly RbacObject[]): RbacObject[] {
  return objects.map((o, i) => ({ ...structuredClone(o), metadata: { ...structuredClone(o.metadata), resourceVersion: String(100 + i), uid: `uid-${i}` } }));
}

const pruneFor = (sa: string, ns: string): PruneSelector[] => {
  const labels = { 'app.kubernetes.io/managed-by': 'k8s-auth', 'k8s-auth.io/service-account': sa, 'k8s-auth.io/service-account-namespace': ns };
  return [
    { kind: 'ClusterRoleBinding', labels },
    { kind: 'RoleBinding', labels },
  ];
};

describe('desiredObjectsFor', () => {
  it('makes a ServiceAccount, the managed ClusterRole and one binding per role and namespace, all labelled', () => {
    const desired = desiredFor();
    expect(desired.map((o) => `${o.kind} ${o.metadata.namespace ?? '-'} ${o.metadata.name}`)).toEqual([
      'ServiceAccount users jane-example-com',
      'ClusterRole - k8s-auth-developers',
      'RoleBinding team-a k8s-auth:users:jane-example-com:k8s-auth-developers',
      'RoleBinding team-b k8s-auth:users:jane-example-com:k8s-auth-developers',
      'ClusterRoleBinding - k8s-auth:users:jane-example-com:view',
      // the self-service token Role and RoleBinding (test/unit/rbac-self-service-token.test.ts)
      'Role users k8s-auth-token:jane-example-com',
      'RoleBinding users k8s-auth-token:jane-example-com',
    ]);
    for (const o of desired) expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('k8s-auth');
    const crb = desired.find((o) => o.kind === 'ClusterRoleBinding')!;
    expect(crb.metadata.labels?.['k8s-auth.io/service-account']).toBe('jane-example-com');
    expect(crb.metadata.annotations).toMatchObject({ 'k8s-auth.io/issuer': 'https://idp/dex', 'k8s-auth.io/subject': 'jane-sub', 'k8s-auth.io/groups': 'view' });
    expect(crb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' });
    expect(crb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'jane-example-com', namespace: 'users' }]);
  });

  it('two groups granting the same role share one binding that names both', () => {
    const m = parseRbacMapping('groups:\n  admins:\n    clusterRole: admin\n', 'm');
    const ops = identityFromClaims({ iss: 'i', sub: 's', email: 'ops@example.com', groups: ['admins', 'admin'] });
    const bindings = desiredFor(ops, m).filter((o) => o.kind === 'ClusterRoleBinding');
    expect(bindings).toHaveLength(1);
    expect(bindings[0]!.metadata.annotations?.['k8s-auth.io/groups']).toBe('admin,admins');
  });
});

describe('planRbac', () => {
  it('first apply: creates in dependency order', () => {
    const plan = planRbac({ desired: desiredFor(), observed: [], prune: pruneFor('jane-example-com', 'users') });
    expect(plan.actions.map((a) => `${a.op} ${a.ref.kind}`)).toEqual([
      'create ServiceAccount',
      'create ClusterRole',
      'create Role',
      'create ClusterRoleBinding',
      'create RoleBinding',
      'create RoleBinding',
      'create RoleBinding',
    ]);
    expect(planWrites(plan)).toBe(7);
  });

  it('second apply with the same token and mapping writes nothing', () => {
    const desired = desiredFor();
    const plan = planRbac({ desired, observed: asObserved(desired), prune: pruneFor('jane-example-com', 'users') });
    expect(plan.actions).toEqual([]);
  });

  it('objects others decorated (extra labels, annotations, SA secrets) still count as up to date and keep those on update', () => {
    const desired = desiredFor();
    const observed = asObserved(desired);
    const sa = observed[0]!;
    sa.metadata.labels = { ...sa.metadata.labels, team: 'x' };
    sa.metadata.annotations = { ...sa.metadata.annotations, note: 'kept' };
    sa['secrets'] = [{ name: 'legacy' }];
    expect(planRbac({ desired, observed }).actions).toEqual([]);

    sa.metadata.annotations = { ...sa.metadata.annotations, 'k8s-auth.io/username': 'old@example.com' };
    const plan = planRbac({ desired, observed });
    expect(plan.actions).toHaveLength(1);
    const update = plan.actions[0]!;
    expect(update.op).toBe('update');
    if (update.op !== 'update') return;
    expect(update.changes).toEqual(['annotation k8s-auth.io/username']);
    expect(update.object.metadata).toMatchObject({ resourceVersion: '100', labels: { team: 'x' }, annotations: { note: 'kept', 'k8s-auth.io/username': 'jane@example.com' } });
    expect(update.object['secrets']).toEqual([{ name: 'legacy' }]);
  });

  it('a mapping change writes the minimal set: the new binding, the changed rules, the stale binding deleted; never the ServiceAccount', () => {
    const before = desiredFor();
    const observed = asObserved(before);
    const changed = parseRbacMapping(
      `
serviceAccountNamespace: users
groups:
  developers:
    rules:
      - apiGroups: [""]
        resources: ["pods"]
        verbs: ["get"]
    namespaces: [team-a, team-c]
`,
      'm2',
    );
    const plan = planRbac({ desired: desiredFor(jane, changed), observed, prune: pruneFor('jane-example-com', 'users') });
    expect(plan.actions.map((a) => `${a.op} ${a.ref.kind} ${a.ref.namespace ?? '-'}`)).toEqual([
      'update ClusterRole -',
      'create RoleBinding team-c',
      'delete RoleBinding team-b',
    ]);
    const roleUpdate = plan.actions[0]!;
    expect(roleUpdate.op === 'update' && roleUpdate.changes).toEqual(['rules']);
    expect(plan.actions.some((a) => a.ref.kind === 'ServiceAccount')).toBe(false);
  });

  it('refuses objects of the same name that k8s-auth does not manage, and never adopts them', () => {
    const desired = desiredFor();
    const foreign: RbacObject = { kind: 'ServiceAccount', metadata: { name: 'jane-example-com', namespace: 'users', resourceVersion: '7' } };
    const plan = planRbac({ desired, observed: [foreign] });
    const refusals = planRefusals(plan);
    expect(refusals).toEqual([
      { op: 'refuse', ref: { kind: 'ServiceAccount', name: 'jane-example-com', namespace: 'users' }, reason: 'ServiceAccount users/jane-example-com exists and is not managed by k8s-auth: rename or remove it (k8s-auth does not adopt objects)' },
    ]);
    expect(plan.actions[0]!.op).toBe('refuse');
    expect(plan.actions.filter((a) => a.ref.kind === 'ServiceAccount' && a.op !== 'refuse')).toEqual([]);
  });

  it('refuses a managed ServiceAccount made for another identity (two emails, one name)', () => {
    const desired = desiredFor();
    const other = asObserved(desiredFor(identityFromClaims({ iss: 'https://idp/dex', sub: 'other-sub', email: 'Jane@Example.com', groups: [] })))[0]!;
    const [refusal] = planRefusals(planRbac({ desired, observed: [other] }));
    expect(refusal?.reason).toMatch(/belongs to another identity \(Jane@Example.com from https:\/\/idp\/dex\)/);
  });

  it('replaces a binding whose roleRef differs (roleRef is immutable) instead of updating it', () => {
    const desired = desiredFor();
    const observed = asObserved(desired);
    const crb = observed.find((o) => o.kind === 'ClusterRoleBinding')!;
    crb.roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' };
    const plan = planRbac({ desired, observed });
    expect(plan.actions.map((a) => a.op)).toEqual(['replace']);
  });

  it('deletes go bindings first, then roles, then the ServiceAccount; unmanaged objects are never pruned', () => {
    const observed = asObserved(desiredFor());
    const unmanagedCrb: RbacObject = { kind: 'ClusterRoleBinding', metadata: { name: 'someone-else', labels: { 'k8s-auth.io/service-account': 'jane-example-com' } } };
    const prune: PruneSelector[] = [
      ...pruneFor('jane-example-com', 'users'),
      { kind: 'ServiceAccount', labels: { 'k8s-auth.io/service-account': 'jane-example-com' } },
      { kind: 'ClusterRole', labels: { 'app.kubernetes.io/managed-by': 'k8s-auth' } },
    ];
    const plan = planRbac({ desired: [], observed: [...observed, unmanagedCrb], prune });
    expect(plan.actions.map((a) => `${a.op} ${a.ref.kind}`)).toEqual([
      'delete ClusterRoleBinding',
      'delete RoleBinding',
      'delete RoleBinding',
      'delete RoleBinding',
      'delete ClusterRole',
      'delete ServiceAccount',
    ]);
  });

  it('warns about bindings to ClusterRoles that do not exist', () => {
    const plan = planRbac({ desired: desiredFor(), observed: [], existingClusterRoles: ['admin', 'edit'] });
    expect(plan.warnings).toEqual(['ClusterRole view does not exist: bindings to it grant nothing until someone creates it']);
  });

  it('mergeForUpdate keeps the fresh resourceVersion and foreign fields', () => {
    const desired = desiredFor()[1]!;
    const fresh: RbacObject = { ...structuredClone(desired), rules: [], metadata: { ...desired.metadata, resourceVersion: '999', labels: { extra: '1' } }, aggregationRule: { x: 1 } };
    const merged = mergeForUpdate(fresh, desired);
    expect(merged.metadata.resourceVersion).toBe('999');
    expect(merged.metadata.labels).toMatchObject({ extra: '1', 'app.kubernetes.io/managed-by': 'k8s-auth' });
    expect(merged.rules).toEqual(desired.rules);
    expect(merged['aggregationRule']).toEqual({ x: 1 });
  });
});

describe('planSync and planRevoke', () => {
  it('sync brings managed roles in line, removes roles whose group left, and the bindings to them', () => {
    const observedRoles = asObserved([...desiredFor().filter((o) => o.kind === 'ClusterRole')]);
    const oldRole = asObserved(desiredFor(identityFromClaims({ iss: 'i', sub: 's', email: 'x@y', groups: ['legacy'] }), parseRbacMapping('groups:\n  legacy:\n    rules: [{resources: [pods], verbs: [get]}]\n', 'm')).filter((o) => o.kind === 'ClusterRole'));
    const legacyBinding: RbacObject = {
      kind: 'ClusterRoleBinding',
      metadata: { name: 'k8s-auth:users:x-y:k8s-auth-legacy', labels: { 'app.kubernetes.io/managed-by': 'k8s-auth' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'k8s-auth-legacy' },
    };
    const unmanagedRole: RbacObject = { kind: 'ClusterRole', metadata: { name: 'view' }, rules: [] };
    const plan = planSync({ mapping, clusterRoles: [...observedRoles, ...oldRole, unmanagedRole], managedBindings: [legacyBinding] });
    expect(plan.actions.map((a) => `${a.op} ${a.ref.kind} ${a.ref.name}`)).toEqual([
      'delete ClusterRoleBinding k8s-auth:users:x-y:k8s-auth-legacy',
      'delete ClusterRole k8s-auth-legacy',
    ]);
    expect(planSync({ mapping, clusterRoles: [], managedBindings: [] }).actions.map((a) => `${a.op} ${a.ref.name}`)).toEqual(['create k8s-auth-developers']);
  });

  it('revoke deletes the ServiceAccount, its bindings, and managed roles nobody else uses', () => {
    const janes = asObserved(desiredFor());
    const ops = identityFromClaims({ iss: 'https://idp/dex', sub: 'ops-sub', email: 'ops@example.com', groups: ['developers'] });
    const opsObjects = asObserved(desiredFor(ops));
    const bindings = [...janes, ...opsObjects].filter((o) => o.kind.endsWith('Binding'));
    const roles = janes.filter((o) => o.kind === 'ClusterRole');
    const sa = janes[0]!;

    const shared = planRevoke({ serviceAccountName: 'jane-example-com', namespace: 'users', serviceAccount: sa, managedBindings: bindings, managedRoles: roles });
    expect(shared.actions.map((a) => `${a.op} ${a.ref.kind} ${a.ref.namespace ?? '-'}`)).toEqual([
      'delete ClusterRoleBinding -',
      'delete RoleBinding team-a',
      'delete RoleBinding team-b',
      'delete RoleBinding users',
      'delete ServiceAccount users',
    ]);

    const alone = planRevoke({ serviceAccountName: 'jane-example-com', namespace: 'users', serviceAccount: sa, managedBindings: janes.filter((o) => o.kind.endsWith('Binding')), managedRoles: roles });
    expect(alone.actions.map((a) => `${a.op} ${a.ref.kind}`)).toContain('delete ClusterRole');

    const foreign = planRevoke({ serviceAccountName: 'jane-example-com', namespace: 'users', serviceAccount: { kind: 'ServiceAccount', metadata: { name: 'jane-example-com', namespace: 'users' } }, managedBindings: bindings, managedRoles: roles });
    expect(foreign.actions.map((a) => a.op)).toEqual(['refuse']);
  });
});
