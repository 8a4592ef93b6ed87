import { parse as parseYaml } from 'yaml';
import { CliError, ExitCode } from '../../errors.js';
import { serviceAccountNameFor } from '../service-account-name.js';

/**
 * The group mapping (docs/rbac.md, "The mapping file"): which groups of an ID token become which
 * Kubernetes permissions. A user-facing contract: unknown keys are refused by name, so a typo
 * never silently grants nothing (or everything).
 */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface GroupRule {
  /** Bind this existing ClusterRole. */
  clusterRole?: string;
  /** Custom rules: k8s-auth manages a ClusterRole `k8s-auth-<group>` holding them. */
  rules?: PolicyRule[];
  /** RoleBindings in these namespaces instead of one ClusterRoleBinding. */
  namespaces?: string[];
}

export interface RbacMapping {
  serviceAccountNamespace: string;
  githubOrg?: string;
  /**
   * What kube-apiserver puts before the username claim (its --oidc-username-prefix), so the
   * self-service token RoleBinding names the user as the API server sees them. Absent: none
   * (the API server's default for the email claim); '-' means none too, as for the flag.
   */
  usernamePrefix?: string;
  /** Let each user mint tokens for their own ServiceAccount (absent: true). */
  selfServiceTokens?: boolean;
  groups: Record<string, GroupRule>;
}

/** Groups that bind the ClusterRole of the same name without any mapping. */
export const BUILTIN_GROUP_ROLES: readonly string[] = ['cluster-admin', 'admin', 'edit', 'view'];
export const DEFAULT_SERVICE_ACCOUNT_NAMESPACE = 'default';
export const MANAGED_ROLE_PREFIX = 'k8s-auth-';

const TOP_KEYS = ['serviceAccountNamespace', 'githubOrg', 'usernamePrefix', 'selfServiceTokens', 'groups'] as const;
const GROUP_KEYS = ['clusterRole', 'rules', 'namespaces'] as const;
const RULE_KEYS = ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs'] as const;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function emptyMapping(): RbacMapping {
  return { serviceAccountNamespace: DEFAULT_SERVICE_ACCOUNT_NAMESPACE, groups: {} };
}

export function parseRbacMapping(text: string, source: string): RbacMapping {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const first = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
    throw new CliError(ExitCode.USAGE, `mapping ${source} is not valid YAML: ${first}`);
  }
  return validateRbacMapping(raw ?? {}, source);
}

function fail(source: string, where: string, detail: string): never {
  throw new CliError(ExitCode.USAGE, `mapping ${source}${where ? `, ${where}` : ''}: ${detail}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkKeys(record: Record<string, unknown>, known: readonly string[], source: string, where: string): void {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) fail(source, where, `unknown key '${key}' (known: ${known.join(', ')})`);
  }
}

function stringList(value: unknown, source: string, where: string, key: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) fail(source, where, `'${key}' must be a list of strings`);
  return [...(value as string[])];
}

/** RBAC object names are path segments: no '/', '%', and not '.' or '..'. */
export function isValidRbacName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name !== '.' && name !== '..' && !/[/%]/.test(name);
}

function parseRule(raw: unknown, source: string, where: string): PolicyRule {
  if (!isRecord(raw)) fail(source, where, 'each rule must be a mapping with verbs and resources');
  checkKeys(raw, RULE_KEYS, source, where);
  if (raw['verbs'] === undefined) fail(source, where, "'verbs' is required");
  const rule: PolicyRule = { verbs: stringList(raw['verbs'], source, where, 'verbs') };
  if (rule.verbs.length === 0) fail(source, where, "'verbs' must not be empty");
  for (const key of ['apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'] as const) {
    if (raw[key] !== undefined) rule[key] = stringList(raw[key], source, where, key);
  }
  const urls = rule.nonResourceURLs ?? [];
  if (urls.length > 0 && (rule.resources?.length ?? 0) > 0) fail(source, where, "a rule has either 'resources' or 'nonResourceURLs', not both");
  if (urls.length === 0) {
    if (!rule.resources || rule.resources.length === 0) fail(source, where, "'resources' is required (or 'nonResourceURLs')");
    rule.apiGroups ??= [''];
  }
  return rule;
}

function parseGroup(group: string, raw: unknown, source: string): GroupRule {
  const where = `group '${group}'`;
  if (raw === null || raw === undefined) {
    if (BUILTIN_GROUP_ROLES.includes(group)) return { clusterRole: group };
    fail(source, where, "needs 'clusterRole' or 'rules'");
  }
  if (!isRecord(raw)) fail(source, where, "must be a mapping with 'clusterRole' or 'rules'");
  checkKeys(raw, GROUP_KEYS, source, where);
  const rule: GroupRule = {};
  if (raw['clusterRole'] !== undefined) {
    if (typeof raw['clusterRole'] !== 'string' || !isValidRbacName(raw['clusterRole'])) fail(source, where, "'clusterRole' must be a ClusterRole name");
    rule.clusterRole = raw['clusterRole'];
  }
  if (raw['rules'] !== undefined) {
    if (!Array.isArray(raw['rules']) || raw['rules'].length === 0) fail(source, where, "'rules' must be a non-empty list");
    rule.rules = raw['rules'].map((r, i) => parseRule(r, source, `${where} rule ${i + 1}`));
  }
  if (rule.clusterRole !== undefined && rule.rules !== undefined) fail(source, where, "has both 'clusterRole' and 'rules': use one");
  if (rule.clusterRole === undefined && rule.rules === undefined) {
    if (!BUILTIN_GROUP_ROLES.includes(group)) fail(source, where, "needs 'clusterRole' or 'rules'");
    rule.clusterRole = group;
  }
  if (raw['namespaces'] !== undefined) {
    const namespaces = stringList(raw['namespaces'], source, where, 'namespaces');
    const bad = namespaces.find((ns) => !DNS_LABEL.test(ns) || ns.length > 63);
    if (bad !== undefined) fail(source, where, `namespace '${bad}' is not a valid namespace name`);
    if (namespaces.length === 0) fail(source, where, "'namespaces' must not be empty (leave it out for a cluster-wide binding)");
    if (rule.rules?.some((r) => (r.nonResourceURLs?.length ?? 0) > 0)) fail(source, where, "'nonResourceURLs' only work cluster-wide: drop 'namespaces' or those rules");
    rule.namespaces = [...new Set(namespaces)].sort();
  }
  return rule;
}

export function validateRbacMapping(raw: unknown, source: string): RbacMapping {
  if (!isRecord(raw)) fail(source, '', 'must be a mapping with serviceAccountNamespace and groups');
  checkKeys(raw, TOP_KEYS, source, '');
  const mapping = emptyMapping();
  const ns = raw['serviceAccountNamespace'];
  if (ns !== undefined) {
    if (typeof ns !== 'string' || !DNS_LABEL.test(ns) || ns.length > 63) fail(source, '', "'serviceAccountNamespace' must be a namespace name");
    mapping.serviceAccountNamespace = ns;
  }
  if (raw['githubOrg'] !== undefined) {
    if (typeof raw['githubOrg'] !== 'string' || raw['githubOrg'].trim() === '') fail(source, '', "'githubOrg' must be a GitHub organisation name");
    mapping.githubOrg = raw['githubOrg'].trim();
  }
  if (raw['usernamePrefix'] !== undefined) {
    const prefix = raw['usernamePrefix'];
    if (typeof prefix !== 'string') fail(source, '', "'usernamePrefix' must be a string: the API server's --oidc-username-prefix (\"\" or \"-\" for none)");
    mapping.usernamePrefix = prefix;
  }
  if (raw['selfServiceTokens'] !== undefined) {
    if (typeof raw['selfServiceTokens'] !== 'boolean') fail(source, '', "'selfServiceTokens' must be true or false");
    mapping.selfServiceTokens = raw['selfServiceTokens'];
  }
  const groups = raw['groups'] ?? {};
  if (!isRecord(groups)) fail(source, '', "'groups' must be a mapping of group name to rule");
  const roleOwners = new Map<string, string>();
  for (const [group, value] of Object.entries(groups)) {
    const rule = parseGroup(group, value, source);
    if (rule.rules) {
      const role = managedRoleName(group);
      const other = roleOwners.get(role);
      if (other !== undefined) fail(source, `group '${group}'`, `its managed ClusterRole ${role} would collide with group '${other}': rename one`);
      roleOwners.set(role, group);
    }
    mapping.groups[group] = rule;
  }
  return mapping;
}

/**
 * The name kube-apiserver gives a user authenticated by OIDC: the username claim's value after
 * its --oidc-username-prefix, where '-' means no prefix.
 */
export function kubernetesUsername(username: string, usernamePrefix: string | undefined): string {
  const prefix = usernamePrefix === undefined || usernamePrefix === '-' ? '' : usernamePrefix;
  return `${prefix}${username}`;
}

/**
 * kube-apiserver prefixes usernames from any claim but `email` with `<issuer>#` unless told
 * otherwise; k8s-auth cannot see the API server's flags, so an unset prefix with such a claim
 * is worth a warning (the token RoleBinding would name a user nobody authenticates as).
 */
export function usernamePrefixWarning(usernameClaim: string, usernamePrefix: string | undefined, issuer: string): string | undefined {
  if (usernamePrefix !== undefined || usernameClaim === 'email') return undefined;
  return `the username claim is '${usernameClaim}', which kube-apiserver prefixes with '${issuer}#' unless its --oidc-username-prefix says otherwise; the token RoleBinding names the user without a prefix: set usernamePrefix in the mapping (or --username-prefix) to the API server's value`;
}

/** The ClusterRole k8s-auth manages for a group's custom rules, e.g. `k8s-auth-developers`. */
export function managedRoleName(group: string): string {
  let label: string;
  try {
    label = serviceAccountNameFor(group);
  } catch {
    throw new CliError(ExitCode.USAGE, `group '${group}' has no letters or digits, so it cannot name a ClusterRole: rename it in the mapping`);
  }
  return `${MANAGED_ROLE_PREFIX}${label}`;
}

/** What one group of a token resolves to. */
export interface ResolvedGroup {
  group: string;
  /** ClusterRole the bindings reference. */
  roleName: string;
  /** Set when k8s-auth manages that ClusterRole (custom rules). */
  rules?: PolicyRule[];
  /** Empty: one ClusterRoleBinding; else a RoleBinding per namespace. */
  namespaces: string[];
}

/** The token's groups that the mapping (or the built-in names) covers, and the ones it ignores. */
export function resolveGroups(groups: readonly string[], mapping: RbacMapping): { matched: ResolvedGroup[]; ignored: string[] } {
  const matched: ResolvedGroup[] = [];
  const ignored: string[] = [];
  for (const group of [...new Set(groups)].sort()) {
    const rule = Object.prototype.hasOwnProperty.call(mapping.groups, group) ? mapping.groups[group] : BUILTIN_GROUP_ROLES.includes(group) ? { clusterRole: group } : undefined;
    if (!rule) {
      ignored.push(group);
      continue;
    }
    const resolved: ResolvedGroup = {
      group,
      roleName: rule.rules ? managedRoleName(group) : (rule.clusterRole ?? group),
      namespaces: rule.namespaces ?? [],
    };
    if (rule.rules) resolved.rules = rule.rules;
    matched.push(resolved);
  }
  return { matched, ignored };
}
