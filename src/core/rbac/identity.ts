import { CliError, ExitCode } from '../../errors.js';
import { serviceAccountNameFor } from '../service-account-name.js';

/**
 * Who a verified ID token says the user is, and which groups count. The ServiceAccount name
 * comes from the username claim (email by default) through `serviceAccountNameFor`.
 */
export interface RbacIdentity {
  issuer: string;
  subject: string;
  /** The username claim's value, e.g. jane@example.com. */
  username: string;
  serviceAccountName: string;
  /** Groups after the GitHub `org:team` rewrite, sorted and de-duplicated. */
  groups: string[];
  /** Dex connector (federated_claims.connector_id), when sent. */
  connectorId?: string;
}

export interface IdentityOptions {
  usernameClaim?: string;
  groupsClaim?: string;
  /** GitHub organisation whose teams count by their bare name (mapping `githubOrg`). */
  githubOrg?: string;
}

/**
 * Dex's GitHub connector sends teams as `org:team`. As in jwt-to-rbac: a team of the configured
 * organisation counts as `team`, any other as `org-team`; plain names stay as they are.
 */
export function githubGroup(group: string, githubOrg: string | undefined): string {
  const colon = group.indexOf(':');
  if (colon <= 0 || colon === group.length - 1) return group;
  const org = group.slice(0, colon);
  const team = group.slice(colon + 1);
  return githubOrg !== undefined && org.toLowerCase() === githubOrg.toLowerCase() ? team : `${org}-${team}`;
}

function claimString(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function identityFromClaims(claims: Record<string, unknown>, options: IdentityOptions = {}): RbacIdentity {
  const usernameClaim = options.usernameClaim ?? 'email';
  const groupsClaim = options.groupsClaim ?? 'groups';
  const issuer = claimString(claims, 'iss');
  const subject = claimString(claims, 'sub');
  if (!issuer || !subject) throw new CliError(ExitCode.PROVIDER, "the ID token has no 'iss' or 'sub' claim: it is not an OpenID Connect ID token");
  const username = claimString(claims, usernameClaim);
  if (!username) {
    throw new CliError(ExitCode.PROVIDER, `the ID token has no '${usernameClaim}' claim to name the ServiceAccount: request the scope that adds it (e.g. 'email') or choose another --username-claim`);
  }
  const rawGroups = claims[groupsClaim];
  if (rawGroups !== undefined && (!Array.isArray(rawGroups) || rawGroups.some((g) => typeof g !== 'string'))) {
    throw new CliError(ExitCode.PROVIDER, `the ID token's '${groupsClaim}' claim is not a list of strings`);
  }
  const federated = claims['federated_claims'];
  const connectorId =
    federated && typeof federated === 'object' && typeof (federated as Record<string, unknown>)['connector_id'] === 'string'
      ? ((federated as Record<string, unknown>)['connector_id'] as string)
      : undefined;
  const github = connectorId === 'github';
  const groups = [...new Set(((rawGroups as string[] | undefined) ?? []).map((g) => (github ? githubGroup(g, options.githubOrg) : g)))].sort();
  const identity: RbacIdentity = { issuer, subject, username, serviceAccountName: serviceAccountNameFor(username), groups };
  if (connectorId !== undefined) identity.connectorId = connectorId;
  return identity;
}
