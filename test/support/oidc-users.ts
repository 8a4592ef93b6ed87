// Test users for the Dex-like test provider, and the claims Dex puts in its ID tokens.

export interface TestUser {
  email: string;
  password: string;
  groups: string[];
  emailVerified: boolean;
  name?: string;
  preferredUsername?: string;
  federatedClaims?: { connector_id: string; user_id: string };
  /** default: Dex-style sub (base64url protobuf of user_id + connector_id) */
  sub?: string;
}

export interface ResolvedTestUser extends TestUser {
  sub: string;
  name: string;
  preferredUsername: string;
  federatedClaims: { connector_id: string; user_id: string };
}

export const DEFAULT_USERS: TestUser[] = [
  {
    email: 'jane@example.com', password: 'jane-password', groups: ['developers'], emailVerified: true,
    name: 'Jane Doe', preferredUsername: 'jane', federatedClaims: { connector_id: 'ldap', user_id: 'jane' },
  },
  {
    email: 'ops@example.com', password: 'ops-password', groups: ['admins', 'developers'], emailVerified: true,
    name: 'Ops Person', preferredUsername: 'ops', federatedClaims: { connector_id: 'ldap', user_id: 'ops' },
  },
  {
    email: 'unverified@example.com', password: 'unverified-password', groups: ['developers'], emailVerified: false,
    name: 'Unverified User', preferredUsername: 'unverified', federatedClaims: { connector_id: 'ldap', user_id: 'unverified' },
  },
];

/** Dex's sub: base64url (no padding) of the protobuf {1: user_id, 2: connector_id}. */
export function dexSubject(userId: string, connectorId: string): string {
  const field = (tag: number, value: string): Buffer => {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > 127) throw new Error('dexSubject: value too long for this helper');
    return Buffer.concat([Buffer.from([tag, bytes.length]), bytes]);
  };
  return Buffer.concat([field(0x0a, userId), field(0x12, connectorId)]).toString('base64url');
}

export function resolveUser(user: TestUser): ResolvedTestUser {
  const local = user.email.split('@')[0] ?? user.email;
  const federatedClaims = user.federatedClaims ?? { connector_id: 'local', user_id: local };
  return {
    ...user,
    name: user.name ?? local,
    preferredUsername: user.preferredUsername ?? local,
    federatedClaims,
    sub: user.sub ?? dexSubject(federatedClaims.user_id, federatedClaims.connector_id),
  };
}

/** The claims Dex puts in its ID tokens for a user (scope filtering is done by the provider). */
export function userClaims(user: ResolvedTestUser): Record<string, unknown> {
  return {
    sub: user.sub,
    email: user.email,
    email_verified: user.emailVerified,
    groups: user.groups,
    name: user.name,
    preferred_username: user.preferredUsername,
    federated_claims: user.federatedClaims,
  };
}
