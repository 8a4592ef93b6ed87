// The issuers the current API server trusts in the structured-authentication tests, each with
// the JWT authenticator (./kubernetes.ts JwtIssuer) that maps its claims: username and groups
// with a per-issuer prefix, and the CEL rule `claims.email_verified == true`.
//   startIssuers()   real Dex in front of LDAP (../dex/dex.ts; username claim email, prefix
//                    'dex:') and real Keycloak (../keycloak/keycloak.ts; username claim
//                    preferred_username, prefix 'keycloak:'), started side by side
//   oidcProviderIssuer(name, prefix)   oidc-provider (test/support), which can mint the tokens a
//                    real provider will not issue (email_verified false or absent)
import { startTestProvider, type TestProvider } from '../../support/oidc-provider.js';
import { dexAvailable, dexVersion, startDex } from '../dex/dex.js';
import { KEYCLOAK_VERSION, keycloakAvailable, startKeycloak } from '../keycloak/keycloak.js';
import type { JwtIssuer } from './kubernetes.js';

export const EMAIL_VERIFIED_RULE = { expression: 'claims.email_verified == true', message: 'the e-mail address must be verified' };

export interface IssuerUnderTest {
  /** which program issues the tokens */
  kind: 'oidc-provider' | 'dex' | 'keycloak';
  /** short name for clusters, files and bindings */
  name: string;
  issuer: string;
  caPem: string;
  clientId: string;
  usernamePrefix: string;
  groupsPrefix: string;
  /** a user who signs in with the password grant, and what the API server makes of them */
  user: { login: string; password: string; expectedUsername: string; expectedGroups: string[] };
  jwt: JwtIssuer;
  stop(): Promise<void>;
}

/** An oidc-provider (test/support/oidc-provider.ts) as an issuer with the given prefix. */
export async function oidcProviderIssuer(name: string, prefix: string): Promise<IssuerUnderTest & { provider: TestProvider }> {
  const provider = await startTestProvider();
  return {
    kind: 'oidc-provider',
    name,
    provider,
    issuer: provider.issuer,
    caPem: provider.caPem,
    clientId: provider.clientId,
    usernamePrefix: prefix,
    groupsPrefix: prefix,
    user: { login: 'jane@example.com', password: 'jane-password', expectedUsername: `${prefix}jane@example.com`, expectedGroups: [`${prefix}developers`] },
    jwt: {
      url: provider.issuer,
      caPem: provider.caPem,
      audiences: [provider.clientId],
      username: { claim: 'email', prefix },
      groups: { claim: 'groups', prefix },
      claimValidationRules: [EMAIL_VERIFIED_RULE],
    },
    stop: () => provider.close(),
  };
}

export const issuersAvailable = (): boolean => dexAvailable() && keycloakAvailable();
export const issuersMissing = `Dex ${dexVersion} (bash test/peers/dex/install.sh, with slapd) and Keycloak ${KEYCLOAK_VERSION} (bash test/peers/keycloak/install.sh) must be installed`;

async function dexIssuer(): Promise<IssuerUnderTest> {
  const dex = await startDex({ logLevel: 'info' });
  const jane = dex.users.find((u) => u.uid === 'jane');
  if (!jane) throw new Error('Dex: no LDAP user jane');
  const prefix = 'dex:';
  return {
    kind: 'dex',
    name: 'dex',
    issuer: dex.issuer,
    caPem: dex.caPem,
    clientId: dex.publicClientId,
    usernamePrefix: prefix,
    groupsPrefix: prefix,
    // the password grant goes to the LDAP connector (oauth2.passwordConnector)
    user: { login: jane.email, password: jane.password, expectedUsername: `${prefix}${jane.email}`, expectedGroups: jane.groups.map((g) => `${prefix}${g}`) },
    jwt: {
      url: dex.issuer,
      caPem: dex.caPem,
      audiences: [dex.publicClientId],
      username: { claim: 'email', prefix },
      groups: { claim: 'groups', prefix },
      claimValidationRules: [EMAIL_VERIFIED_RULE],
    },
    stop: () => dex.stop(),
  };
}

async function keycloakIssuer(): Promise<IssuerUnderTest> {
  const kc = await startKeycloak();
  const jane = kc.users.jane;
  const prefix = 'keycloak:';
  return {
    kind: 'keycloak',
    name: 'keycloak',
    issuer: kc.issuer,
    caPem: kc.caPem,
    clientId: kc.publicClientId,
    usernamePrefix: prefix,
    groupsPrefix: prefix,
    user: { login: jane.username, password: jane.password, expectedUsername: `${prefix}${jane.username}`, expectedGroups: jane.groups.map((g) => `${prefix}${g}`) },
    jwt: {
      url: kc.issuer,
      caPem: kc.caPem,
      audiences: [kc.publicClientId],
      username: { claim: 'preferred_username', prefix },
      groups: { claim: 'groups', prefix },
      claimValidationRules: [EMAIL_VERIFIED_RULE],
    },
    stop: () => kc.stop(),
  };
}

/** Dex and Keycloak, started side by side (Keycloak's JVM takes the longer). */
export async function startIssuers(): Promise<IssuerUnderTest[]> {
  const results = await Promise.allSettled([dexIssuer(), keycloakIssuer()]);
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    for (const i of started) await i.stop();
    throw failed.reason;
  }
  return started;
}
