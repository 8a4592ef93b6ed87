// The self-service token Role and RoleBinding: `rbac apply` lets the user (as kube-apiserver
// names them: username claim after --oidc-username-prefix) mint tokens for their own
// ServiceAccount and no other. Pure: desired objects, mapping keys, plans.
import { describe, expect, it } from 'vitest';
import { identityFromClaims } from '../../src/core/rbac/identity.js';
import { planRevoke } from '../../src/core/rbac/lifecycle.js';
import { kubernetesUsername, parseRbacMapping, resolveGroups, usernamePrefixWarning, type RbacMapping } from '../../src/core/rbac/mapping.js';
import { desiredObjectsFor, isSelfServiceTokenObject, selfServiceTokenObjects, userLabels, type RbacObject } from '../../src/core/rbac/objects.js';
import { actionPhase, planRbac, type PlanAction, type PruneSelector } from '../../src/core/rbac/plan.js';
import { formatPlanLines } from '../../src/core/rbac/report.js';
import { CliError, ExitCode } from '../../src/errors.js';

const jane = identityFromClaims({ iss: 'https://idp/dex', sub: 'jane-sub', email: 'jane@example.com', groups: ['developers'] });
const base = 'serviceAccountNamespace: users\ngroups:\n  developers:\n    clusterRole: view\n    namespaces: [team-a]\n';
const mappingWith = (extra = ''): RbacMapping => parseRbacMapping(`${extra}${base}`, 'm.yaml');

function desiredFor(mapping: RbacMapping, identity = jane): RbacObject[] {
  return desiredObjectsFor(identity, mapping, resolveGroups(identity.groups, mapping).matched);
}

function asObserved(objects: readonly RbacObject[]): RbacObject[] {
  return objects.map((o, i) => ({ ...structuredClone(o), metadata: { ...structuredClone(o.metadata), resourceVersion: String(200 + i) } }));
}

/** The prune selectors `rbac apply` uses for one user. */
const applyPrune = (sa: string, ns: string): PruneSelector[] => {
  const labels = userLabels(sa, ns);
  return [
    { kind: 'Role', labels },
    { kind: 'ClusterRoleBinding', labels },
    { kind: 'RoleBinding', labels },
  ];
};

const describeActions = (actions: readonly PlanAction[]) => actions.map((a) => `${a.op} ${a.ref.kind} ${a.ref.namespace ?? '-'} ${a.ref.name}`);

function usageError(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCode.USAGE);
    return error as CliError;
  }
  throw new Error('expected a CliError');
}

describe('the self-service token objects', () => {
  it('a Role with exactly create on serviceaccounts/token for her own ServiceAccount, bound to her as a User', () => {
    const [role, binding, ...rest] = selfServiceTokenObjects(jane, mappingWith());
    expect(rest).toEqual([]);
    const labels = {
      'app.kubernetes.io/managed-by': 'k8s-auth',
      'k8s-auth.io/service-account': 'jane-example-com',
      'k8s-auth.io/service-account-namespace': 'users',
      'k8s-auth.io/purpose': 'self-service-token',
    };
    const annotations = { 'k8s-auth.io/issuer': 'https://idp/dex', 'k8s-auth.io/subject': 'jane-sub', 'k8s-auth.io/username': 'jane@example.com' };
    expect(role).toEqual({
      kind: 'Role',
      metadata: { name: 'k8s-auth-token:jane-example-com', namespace: 'users', labels, annotations },
      rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: ['jane-example-com'] }],
    });
    expect(binding).toEqual({
      kind: 'RoleBinding',
      metadata: { name: 'k8s-auth-token:jane-example-com', namespace: 'users', labels, annotations },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'k8s-auth-token:jane-example-com' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'jane@example.com' }],
    });
    expect(isSelfServiceTokenObject(binding!)).toBe(true);
    expect(desiredFor(mappingWith()).filter(isSelfServiceTokenObject)).toEqual([role, binding]);
  });

  it('the User is the username claim after usernamePrefix; "" and "-" mean none, as for the API server flag', () => {
    const subjectWith = (m: RbacMapping) => selfServiceTokenObjects(jane, m)[1]!.subjects;
    expect(subjectWith(mappingWith('usernamePrefix: "oidc:"\n'))).toEqual([{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'oidc:jane@example.com' }]);
    expect(subjectWith(mappingWith('usernamePrefix: ""\n'))?.[0]?.name).toBe('jane@example.com');
    expect(subjectWith(mappingWith('usernamePrefix: "-"\n'))?.[0]?.name).toBe('jane@example.com');
    expect(kubernetesUsername('jane-sub', 'https://idp/dex#')).toBe('https://idp/dex#jane-sub');
    expect(kubernetesUsername('jane@example.com', undefined)).toBe('jane@example.com');
  });

  it('selfServiceTokens: false leaves them out; the other objects stay the same', () => {
    const on = desiredFor(mappingWith());
    const off = desiredFor(mappingWith('selfServiceTokens: false\n'));
    expect(off).toEqual(on.filter((o) => !isSelfServiceTokenObject(o)));
    expect(off.map((o) => o.kind)).toEqual(['ServiceAccount', 'RoleBinding']);
    expect(desiredFor(mappingWith('selfServiceTokens: true\n'))).toEqual(on);
  });

  it('a user with no mapped group still gets the ServiceAccount and the right to mint for it', () => {
    const loner = identityFromClaims({ iss: 'https://idp/dex', sub: 'l', email: 'loner@example.com', groups: [] });
    expect(desiredFor(mappingWith(), loner).map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([
      'ServiceAccount loner-example-com',
      'Role k8s-auth-token:loner-example-com',
      'RoleBinding k8s-auth-token:loner-example-com',
    ]);
  });
});

describe('the mapping keys', () => {
  it('reads usernamePrefix and selfServiceTokens; both are absent by default', () => {
    const m = mappingWith('usernamePrefix: "https://idp/dex#"\nselfServiceTokens: false\n');
    expect(m.usernamePrefix).toBe('https://idp/dex#');
    expect(m.selfServiceTokens).toBe(false);
    const plain = mappingWith();
    expect('usernamePrefix' in plain || 'selfServiceTokens' in plain).toBe(false);
  });

  it.each([
    ['usernamePrefix: 5\n', `mapping m.yaml: 'usernamePrefix' must be a string: the API server's --oidc-username-prefix ("" or "-" for none)`],
    ['usernamePrefix:\n', `mapping m.yaml: 'usernamePrefix' must be a string: the API server's --oidc-username-prefix ("" or "-" for none)`],
    ['selfServiceTokens: "no"\n', "mapping m.yaml: 'selfServiceTokens' must be true or false"],
    ['selfServiceToken: false\n', "mapping m.yaml: unknown key 'selfServiceToken' (known: serviceAccountNamespace, githubOrg, usernamePrefix, selfServiceTokens, groups)"],
  ])('refuses %j in one line', (text, message) => {
    expect(usageError(() => parseRbacMapping(text, 'm.yaml')).message).toBe(message);
  });

  it('warns when the username claim is not email and no prefix is set (the API server would add <issuer>#)', () => {
    expect(usernamePrefixWarning('email', undefined, 'https://idp/dex')).toBeUndefined();
    expect(usernamePrefixWarning('sub', '', 'https://idp/dex')).toBeUndefined();
    expect(usernamePrefixWarning('sub', 'https://idp/dex#', 'https://idp/dex')).toBeUndefined();
    expect(usernamePrefixWarning('sub', undefined, 'https://idp/dex')).toBe(
      "the username claim is 'sub', which kube-apiserver prefixes with 'https://idp/dex#' unless its --oidc-username-prefix says otherwise; the token RoleBinding names the user without a prefix: set usernamePrefix in the mapping (or --username-prefix) to the API server's value",
    );
  });
});

describe('planning them', () => {
  const prune = applyPrune('jane-example-com', 'users');

  it('first apply creates the Role before any binding and shows both in the plan; no missing-ClusterRole warning for it', () => {
    const plan = planRbac({ desired: desiredFor(mappingWith()), observed: [], prune, existingClusterRoles: ['view'] });
    expect(describeActions(plan.actions)).toEqual([
      'create ServiceAccount users jane-example-com',
      'create Role users k8s-auth-token:jane-example-com',
      'create RoleBinding team-a k8s-auth:users:jane-example-com:view',
      'create RoleBinding users k8s-auth-token:jane-example-com',
    ]);
    const phase = (kind: string) => actionPhase(plan.actions.find((a) => a.ref.kind === kind && a.ref.namespace === 'users')!);
    expect(phase('ServiceAccount')).toBeLessThan(phase('Role'));
    expect(phase('Role')).toBeLessThan(phase('RoleBinding'));
    expect(plan.warnings).toEqual([]);
    expect(formatPlanLines(plan)).toContain('  + create Role users/k8s-auth-token:jane-example-com');
  });

  it('a second apply writes nothing', () => {
    const desired = desiredFor(mappingWith());
    expect(planRbac({ desired, observed: asObserved(desired), prune }).actions).toEqual([]);
  });

  it('a new usernamePrefix updates the RoleBinding subject in place; the Role is untouched', () => {
    const observed = asObserved(desiredFor(mappingWith()));
    const plan = planRbac({ desired: desiredFor(mappingWith('usernamePrefix: "oidc:"\n')), observed, prune });
    expect(plan.actions.map((a) => `${a.op} ${a.ref.kind} ${a.ref.name} ${a.op === 'update' ? a.changes.join(',') : ''}`)).toEqual(['update RoleBinding k8s-auth-token:jane-example-com subjects']);
    const update = plan.actions[0]!;
    expect(update.op === 'update' && update.object.metadata.resourceVersion).toBe('203');
    expect(update.op === 'update' && update.object.subjects).toEqual([{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'oidc:jane@example.com' }]);
  });

  it('a Role someone widened is put back to the one rule', () => {
    const desired = desiredFor(mappingWith());
    const observed = asObserved(desired);
    const role = observed.find((o) => o.kind === 'Role')!;
    role.rules = [{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] }];
    const plan = planRbac({ desired, observed, prune });
    expect(plan.actions.map((a) => `${a.op} ${a.ref.kind} ${a.op === 'update' ? a.changes.join(',') : ''}`)).toEqual(['update Role rules']);
  });

  it('a token RoleBinding pointing at another role is replaced (roleRef is immutable)', () => {
    const desired = desiredFor(mappingWith());
    const observed = asObserved(desired);
    observed.find((o) => o.kind === 'RoleBinding' && isSelfServiceTokenObject(o))!.roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' };
    expect(describeActions(planRbac({ desired, observed, prune }).actions)).toEqual(['replace RoleBinding users k8s-auth-token:jane-example-com']);
  });

  it('a Role of that name that k8s-auth does not manage is refused, never adopted', () => {
    const foreign: RbacObject = { kind: 'Role', metadata: { name: 'k8s-auth-token:jane-example-com', namespace: 'users' }, rules: [] };
    const plan = planRbac({ desired: desiredFor(mappingWith()), observed: [foreign], prune });
    expect(plan.actions[0]).toEqual({
      op: 'refuse',
      ref: { kind: 'Role', name: 'k8s-auth-token:jane-example-com', namespace: 'users' },
      reason: 'Role users/k8s-auth-token:jane-example-com exists and is not managed by k8s-auth: rename or remove it (k8s-auth does not adopt objects)',
    });
  });

  it('turning selfServiceTokens off deletes the RoleBinding, then the Role', () => {
    const observed = asObserved(desiredFor(mappingWith()));
    const plan = planRbac({ desired: desiredFor(mappingWith('selfServiceTokens: false\n')), observed, prune });
    expect(describeActions(plan.actions)).toEqual(['delete RoleBinding users k8s-auth-token:jane-example-com', 'delete Role users k8s-auth-token:jane-example-com']);
  });

  it('revoke deletes them with the rest: bindings, then the Role, then the ServiceAccount', () => {
    const observed = asObserved(desiredFor(mappingWith()));
    const plan = planRevoke({
      serviceAccountName: 'jane-example-com',
      namespace: 'users',
      serviceAccount: observed.find((o) => o.kind === 'ServiceAccount'),
      managedBindings: observed.filter((o) => o.kind === 'RoleBinding'),
      managedRoles: [],
      managedNamespacedRoles: observed.filter((o) => o.kind === 'Role'),
    });
    expect(describeActions(plan.actions)).toEqual([
      'delete RoleBinding team-a k8s-auth:users:jane-example-com:view',
      'delete RoleBinding users k8s-auth-token:jane-example-com',
      'delete Role users k8s-auth-token:jane-example-com',
      'delete ServiceAccount users jane-example-com',
    ]);
  });
});
