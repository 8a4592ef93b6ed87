import { describe, expect, it } from 'vitest';
import { githubGroup, identityFromClaims } from '../../src/core/rbac/identity.js';
import { managedRoleName, parseRbacMapping, resolveGroups } from '../../src/core/rbac/mapping.js';
import { CliError, ExitCode } from '../../src/errors.js';

const SAMPLE = `
serviceAccountNamespace: default
groups:
  admins:
    clusterRole: admin
  developers:
    rules:
      - apiGroups: ["", "apps"]
        resources: ["pods", "deployments"]
        verbs: ["get", "list", "watch"]
    namespaces: [team-a]
`;

function usageError(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCode.USAGE);
    expect((error as CliError).message).not.toContain('\n');
    return error as CliError;
  }
  throw new Error('expected a CliError');
}

describe('parseRbacMapping', () => {
  it('reads the documented shape', () => {
    const mapping = parseRbacMapping(SAMPLE, 'm.yaml');
    expect(mapping).toEqual({
      serviceAccountNamespace: 'default',
      groups: {
        admins: { clusterRole: 'admin' },
        developers: {
          rules: [{ apiGroups: ['', 'apps'], resources: ['pods', 'deployments'], verbs: ['get', 'list', 'watch'] }],
          namespaces: ['team-a'],
        },
      },
    });
  });

  it('an empty file is the empty mapping', () => {
    expect(parseRbacMapping('', 'm.yaml')).toEqual({ serviceAccountNamespace: 'default', groups: {} });
  });

  it.each([
    ['serviceAccountNamesapce: x\n', "mapping m.yaml: unknown key 'serviceAccountNamesapce' (known: serviceAccountNamespace, githubOrg, usernamePrefix, selfServiceTokens, groups)"],
    ['groups:\n  devs:\n    clusterrole: view\n', "mapping m.yaml, group 'devs': unknown key 'clusterrole' (known: clusterRole, rules, namespaces)"],
    ['groups:\n  devs:\n    rules:\n      - resources: [pods]\n        verbs: [get]\n        verb: [list]\n', "mapping m.yaml, group 'devs' rule 1: unknown key 'verb' (known: apiGroups, resources, verbs, resourceNames, nonResourceURLs)"],
  ])('names the unknown key: %s', (text, message) => {
    expect(usageError(() => parseRbacMapping(text, 'm.yaml')).message).toBe(message);
  });

  it.each([
    ['groups:\n  devs: {}\n', /needs 'clusterRole' or 'rules'/],
    ['groups:\n  devs:\n    clusterRole: view\n    rules: [{resources: [pods], verbs: [get]}]\n', /both 'clusterRole' and 'rules'/],
    ['groups:\n  devs:\n    rules: [{resources: [pods]}]\n', /'verbs' is required/],
    ['groups:\n  devs:\n    rules: [{verbs: [get]}]\n', /'resources' is required/],
    ['groups:\n  devs:\n    clusterRole: view\n    namespaces: [Team_A]\n', /namespace 'Team_A' is not a valid namespace name/],
    ['groups:\n  devs:\n    clusterRole: a/b\n', /'clusterRole' must be a ClusterRole name/],
    ['serviceAccountNamespace: Bad\n', /'serviceAccountNamespace' must be a namespace name/],
    ['groups:\n  devs:\n    rules: [{nonResourceURLs: [/healthz], verbs: [get]}]\n    namespaces: [a]\n', /nonResourceURLs' only work cluster-wide/],
    ['groups:\n  Dev:\n    rules: [{resources: [pods], verbs: [get]}]\n  dev:\n    rules: [{resources: [pods], verbs: [list]}]\n', /ClusterRole k8s-auth-dev would collide with group 'Dev'/],
    ['groups: [a, b]\n', /'groups' must be a mapping/],
    ['groups:\n  a: [\n', /is not valid YAML/],
  ])('refuses %j', (text, pattern) => {
    expect(usageError(() => parseRbacMapping(text, 'm.yaml')).message).toMatch(pattern);
  });

  it('a built-in group may be listed bare, or narrowed to namespaces', () => {
    const mapping = parseRbacMapping('groups:\n  view:\n  edit:\n    namespaces: [b, a, a]\n', 'm.yaml');
    expect(mapping.groups).toEqual({ view: { clusterRole: 'view' }, edit: { clusterRole: 'edit', namespaces: ['a', 'b'] } });
  });
});

describe('resolveGroups', () => {
  const mapping = parseRbacMapping(SAMPLE, 'm.yaml');

  it('built-in names bind their ClusterRoles without a mapping; unknown groups are reported', () => {
    const { matched, ignored } = resolveGroups(['view', 'cluster-admin', 'strangers', 'developers', 'view'], mapping);
    expect(matched).toEqual([
      { group: 'cluster-admin', roleName: 'cluster-admin', namespaces: [] },
      { group: 'developers', roleName: 'k8s-auth-developers', namespaces: ['team-a'], rules: mapping.groups['developers']!.rules },
      { group: 'view', roleName: 'view', namespaces: [] },
    ]);
    expect(ignored).toEqual(['strangers']);
  });

  it('does not treat object prototype names as groups', () => {
    expect(resolveGroups(['constructor', 'toString'], mapping)).toEqual({ matched: [], ignored: ['constructor', 'toString'] });
  });

  it('managed role names are DNS labels of the group', () => {
    expect(managedRoleName('Platform Team/On-Call')).toBe('k8s-auth-platform-team-on-call');
  });
});

describe('identityFromClaims', () => {
  const base = { iss: 'https://idp.example/dex', sub: 'CgRqYW5lEgRsZGFw', email: 'Jane.Doe@Example.com', groups: ['developers', 'admins', 'developers'] };

  it('names the ServiceAccount from the email and sorts the groups', () => {
    expect(identityFromClaims(base)).toEqual({
      issuer: 'https://idp.example/dex',
      subject: 'CgRqYW5lEgRsZGFw',
      username: 'Jane.Doe@Example.com',
      serviceAccountName: 'jane-doe-example-com',
      groups: ['admins', 'developers'],
    });
  });

  it('rewrites GitHub org:team groups like jwt-to-rbac', () => {
    const claims = { ...base, groups: ['acme:devs', 'other:ops', 'acme'], federated_claims: { connector_id: 'github', user_id: '42' } };
    expect(identityFromClaims(claims, { githubOrg: 'acme' }).groups).toEqual(['acme', 'devs', 'other-ops']);
    expect(identityFromClaims(claims).groups).toEqual(['acme', 'acme-devs', 'other-ops']);
    // other connectors keep colons as they are
    expect(identityFromClaims({ ...claims, federated_claims: { connector_id: 'ldap' } }, { githubOrg: 'acme' }).groups).toEqual(['acme', 'acme:devs', 'other:ops']);
    expect(githubGroup('acme:', 'acme')).toBe('acme:');
  });

  it('refuses a token without the username claim or with malformed groups', () => {
    expect(() => identityFromClaims({ ...base, email: undefined })).toThrow(/no 'email' claim/);
    expect(() => identityFromClaims({ ...base, groups: 'admins' })).toThrow(/'groups' claim is not a list of strings/);
    expect(identityFromClaims({ ...base, preferred_username: 'jdoe' }, { usernameClaim: 'preferred_username' }).serviceAccountName).toBe('jdoe');
  });
});
