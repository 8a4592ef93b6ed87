// Keycloak, the real server (org.keycloak:keycloak-quarkus-dist from Maven Central, installed by
// test/peers/keycloak/install.sh), as a second certified OpenID provider for the tests.
//
// API (imported by other peers' tests, e.g. the current-Kubernetes tier):
//
//   keycloakAvailable(): boolean             installed (cache dir has the built distribution)
//   keycloakInstallHint: string              the command that installs it (for skipUnless)
//   startKeycloak(opts?): Promise<KeycloakPeer>
//     opts.ca?                 a CertificateAuthority (test/support/pki.ts) to issue the HTTPS
//                              certificate from; by default a throwaway CA of its own
//     opts.accessTokenLifespanSeconds?   ID and access token lifetime (default 300, Keycloak's)
//     opts.revokeRefreshToken?           realm "Revoke Refresh Token" (default false, Keycloak's:
//                                        a refresh token may be reused until it expires)
//     opts.confidentialRedirectUris?     exact redirect URIs of the confidential client
//                                        (default ['http://127.0.0.1:18000/callback'])
//     opts.startTimeoutMs?               readiness wait (default 240 s: the JVM is slow to start)
//   KeycloakPeer:
//     version, issuer ('https://127.0.0.1:<port>/realms/k8s'), origin, port, managementPort,
//     realm ('k8s'), caFile, caPem, startupMs (spawn → discovery answering), logFile,
//     publicClientId ('k8s-auth': public, PKCE S256, loopback redirects on any port,
//       password grant, device grant; a `groups` client scope (default) with a group
//       membership mapper, full.path false, claim `groups` in ID/access/userinfo),
//     plainClientId ('k8s-auth-plain': the same client, but its groups mapper sits on the client
//       itself and it has NO `groups` client scope, as many Keycloak realms are set up),
//     confidentialClient: { id: 'k8s-auth-confidential', secret, redirectUris },
//     users: { jane, ops }  each { username, email, password, groups }
//       jane / jane@example.com / jane-password, email verified, groups [developers];
//       ops  / ops@example.com  / ops-password,  groups [admins, developers],
//     discovery: the realm's openid-configuration (token_endpoint, revocation_endpoint, …),
//     fetch: a fetch trusting the peer's CA (system roots kept),
//     tokenRequest(params, client?): POST to the token endpoint → { status, body }
//       (client: { id, secret? }, default the public client),
//     adminToken(): a master-realm admin access token (bootstrap admin),
//     admin(method, path, body?): the admin REST API under /admin/realms/k8s → { status, body }
//       (a JSON array answer comes as body.value),
//     events(type, clientId?): the realm's stored user events of that type (eventsEnabled),
//     updateRealm(settings): PUT a partial realm representation (token lifespans, rotation…),
//     stop(): SIGTERM to the process group (kc.sh and its JVM), SIGKILL after 10 s.
//
// Every start gets its own Keycloak home (the install's lib/, conf/, themes/ and providers/
// symlinked, bin/ copied so that kc.sh resolves the new home), so the H2 dev-file database (a
// copy of the template install.sh made: schema and master realm already there) and
// data/import/k8s-realm.json live in a temp dir and several starts can run side by side.
// Command: `kc.sh start --optimized --cache=local --http-enabled=false --http-host=127.0.0.1
//   --https-port=P --https-certificate-file … --https-certificate-key-file …
//   --hostname=https://127.0.0.1:P --http-management-port=M --import-realm`.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createCa, issueCert, removeCa, type CertificateAuthority } from '../../support/pki.js';
import { fetchTrusting, type TrustingFetch } from '../../support/tls-fetch.js';
import { freeLoopbackPort, peerCacheDir, startPeerProcess, waitUntilReady, type PeerProcess } from '../process.js';

export const KEYCLOAK_VERSION = process.env['K8S_AUTH_KEYCLOAK_VERSION'] ?? '26.7.3';
export const keycloakHome = peerCacheDir(`keycloak-${KEYCLOAK_VERSION}`);
export const keycloakInstallHint = `Keycloak ${KEYCLOAK_VERSION} is not installed (bash test/peers/keycloak/install.sh)`;

export function keycloakAvailable(): boolean {
  return existsSync(join(keycloakHome, '.k8s-auth-installed')) && existsSync(join(keycloakHome, 'bin', 'kc.sh'));
}

export interface KeycloakUser {
  username: string;
  email: string;
  password: string;
  groups: string[];
}

export interface KeycloakClient {
  id: string;
  secret?: string;
}

export interface StartKeycloakOptions {
  ca?: CertificateAuthority;
  accessTokenLifespanSeconds?: number;
  revokeRefreshToken?: boolean;
  confidentialRedirectUris?: string[];
  startTimeoutMs?: number;
}

export interface KeycloakEvent {
  type: string;
  time: number;
  clientId?: string;
  userId?: string;
  error?: string;
  details?: Record<string, string>;
}

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface KeycloakPeer {
  version: string;
  issuer: string;
  origin: string;
  port: number;
  managementPort: number;
  realm: string;
  caFile: string;
  caPem: string;
  startupMs: number;
  logFile: string;
  publicClientId: string;
  plainClientId: string;
  confidentialClient: { id: string; secret: string; redirectUris: string[] };
  users: { jane: KeycloakUser; ops: KeycloakUser };
  discovery: Record<string, unknown>;
  fetch: TrustingFetch;
  tokenRequest(params: Record<string, string>, client?: KeycloakClient): Promise<HttpAnswer>;
  adminToken(): Promise<string>;
  admin(method: string, path: string, body?: unknown): Promise<HttpAnswer>;
  /** The realm's stored user events of one type (newest first), e.g. 'REFRESH_TOKEN'. */
  events(type: string, clientId?: string): Promise<KeycloakEvent[]>;
  /** Changes realm settings (a partial RealmRepresentation), e.g. { accessTokenLifespan: 30 }. */
  updateRealm(settings: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export const KEYCLOAK_USERS: { jane: KeycloakUser; ops: KeycloakUser } = {
  jane: { username: 'jane', email: 'jane@example.com', password: 'jane-password', groups: ['developers'] },
  ops: { username: 'ops', email: 'ops@example.com', password: 'ops-password', groups: ['admins', 'developers'] },
};

const REALM = 'k8s';
const LOOPBACK_REDIRECTS = ['http://127.0.0.1/*', 'http://localhost/*', 'http://[::1]/*'];

const groupsMapper = {
  name: 'groups',
  protocol: 'openid-connect',
  protocolMapper: 'oidc-group-membership-mapper',
  consentRequired: false,
  config: {
    'full.path': 'false',
    'claim.name': 'groups',
    'id.token.claim': 'true',
    'access.token.claim': 'true',
    'userinfo.token.claim': 'true',
    'introspection.token.claim': 'true',
  },
};

/** The realm written to data/import (Keycloak's own built-in client scopes are created with it). */
export function keycloakRealm(opts: { accessTokenLifespanSeconds: number; revokeRefreshToken: boolean; confidentialSecret: string; confidentialRedirectUris: string[] }): Record<string, unknown> {
  const user = (u: KeycloakUser, first: string, last: string): Record<string, unknown> => ({
    username: u.username,
    email: u.email,
    emailVerified: true,
    enabled: true,
    firstName: first,
    lastName: last,
    credentials: [{ type: 'password', value: u.password, temporary: false }],
    groups: u.groups.map((g) => `/${g}`),
    realmRoles: [`default-roles-${REALM}`],
  });
  const nativeClient = (clientId: string, extra: Record<string, unknown>): Record<string, unknown> => ({
    clientId,
    name: 'Kubernetes',
    enabled: true,
    protocol: 'openid-connect',
    publicClient: true,
    standardFlowEnabled: true,
    directAccessGrantsEnabled: true,
    implicitFlowEnabled: false,
    serviceAccountsEnabled: false,
    redirectUris: LOOPBACK_REDIRECTS,
    webOrigins: [],
    attributes: {
      'pkce.code.challenge.method': 'S256',
      'oauth2.device.authorization.grant.enabled': 'true',
    },
    defaultClientScopes: ['basic', 'profile', 'email', 'roles', 'web-origins', 'acr'],
    optionalClientScopes: ['offline_access'],
    ...extra,
  });
  return {
    realm: REALM,
    enabled: true,
    sslRequired: 'external',
    loginWithEmailAllowed: true,
    registrationAllowed: false,
    accessTokenLifespan: opts.accessTokenLifespanSeconds,
    revokeRefreshToken: opts.revokeRefreshToken,
    refreshTokenMaxReuse: 0,
    oauth2DevicePollingInterval: 1,
    // user events kept, for events(); REFRESH_TOKEN is not among Keycloak's saved-by-default types
    eventsEnabled: true,
    eventsExpiration: 3600,
    enabledEventTypes: ['LOGIN', 'CODE_TO_TOKEN', 'REFRESH_TOKEN', 'REVOKE_GRANT', 'OAUTH2_DEVICE_AUTH', 'OAUTH2_DEVICE_VERIFY_USER_CODE', 'OAUTH2_DEVICE_CODE_TO_TOKEN', 'LOGOUT'].flatMap((t) => [t, `${t}_ERROR`]),
    // test-only: cheap password hashing (Keycloak 26 defaults to argon2), so importing the users
    // and each sign-in cost milliseconds instead of seconds on a loaded 2-core machine
    passwordPolicy: 'hashAlgorithm(pbkdf2-sha256) and hashIterations(1000)',
    groups: [{ name: 'developers' }, { name: 'admins' }],
    users: [user(KEYCLOAK_USERS.jane, 'Jane', 'Doe'), user(KEYCLOAK_USERS.ops, 'Ops', 'Person')],
    clients: [
      nativeClient('k8s-auth', {}),
      nativeClient('k8s-auth-plain', { protocolMappers: [groupsMapper] }),
      nativeClient('k8s-auth-confidential', {
        publicClient: false,
        clientAuthenticatorType: 'client-secret',
        secret: opts.confidentialSecret,
        redirectUris: opts.confidentialRedirectUris,
      }),
    ],
  };
}

function javaHome(): string {
  const marker = join(keycloakHome, '.k8s-auth-java-home');
  return existsSync(marker) ? readFileSync(marker, 'utf8').trim() : '/usr/lib/jvm/temurin-25-jdk-amd64';
}

/** A Keycloak home for one run: the install's read-only parts linked, bin/ and data/ its own. */
function makeRunHome(dir: string): string {
  const home = join(dir, 'keycloak');
  mkdirSync(join(home, 'data', 'import'), { recursive: true });
  cpSync(join(keycloakHome, 'bin'), join(home, 'bin'), { recursive: true });
  for (const part of ['lib', 'conf', 'providers', 'themes', 'version.txt']) {
    if (existsSync(join(keycloakHome, part))) symlinkSync(join(keycloakHome, part), join(home, part));
  }
  // the database install.sh prepared (schema and master realm), so no Liquibase run per start
  const template = join(keycloakHome, 'template-db', 'keycloakdb.mv.db');
  if (existsSync(template)) {
    mkdirSync(join(home, 'data', 'h2'), { recursive: true });
    cpSync(template, join(home, 'data', 'h2', 'keycloakdb.mv.db'));
  }
  return home;
}

const groupsToKill = new Set<number>();
let exitHook = false;
function killGroupOnExit(pid: number): void {
  groupsToKill.add(pid);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const pgid of groupsToKill) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

async function json(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (text === '') return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { value: parsed };
  } catch {
    return { text };
  }
}

export async function startKeycloak(opts: StartKeycloakOptions = {}): Promise<KeycloakPeer> {
  if (!keycloakAvailable()) throw new Error(keycloakInstallHint);
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'k8s-auth-keycloak-'));
  const ownCa = opts.ca === undefined;
  const ca = opts.ca ?? (await createCa('keycloak-test-ca'));
  const cert = await issueCert(ca, { commonName: '127.0.0.1', sans: ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost'], kind: 'server' });
  const [port, managementPort] = await Promise.all([freeLoopbackPort(), freeLoopbackPort()]);
  const home = makeRunHome(dir);
  const confidentialSecret = randomBytes(24).toString('base64url');
  const confidentialRedirectUris = opts.confidentialRedirectUris ?? ['http://127.0.0.1:18000/callback'];
  const realm = keycloakRealm({
    accessTokenLifespanSeconds: opts.accessTokenLifespanSeconds ?? 300,
    revokeRefreshToken: opts.revokeRefreshToken ?? false,
    confidentialSecret,
    confidentialRedirectUris,
  });
  writeFileSync(join(home, 'data', 'import', `${REALM}-realm.json`), JSON.stringify(realm, null, 2));
  const templatePassword = join(keycloakHome, 'template-db', 'admin-password');
  const adminPassword = existsSync(templatePassword) ? readFileSync(templatePassword, 'utf8').trim() : randomBytes(18).toString('base64url');
  const origin = `https://127.0.0.1:${port}`;
  const issuer = `${origin}/realms/${REALM}`;
  const logFile = join(tmpdir(), 'k8s-auth-peer-logs', `keycloak-${port}.log`);
  const proc: PeerProcess = startPeerProcess(
    'keycloak',
    join(home, 'bin', 'kc.sh'),
    [
      'start',
      '--optimized',
      '--cache=local',
      '--http-enabled=false',
      '--http-host=127.0.0.1',
      `--https-port=${port}`,
      `--https-certificate-file=${cert.certFile}`,
      `--https-certificate-key-file=${cert.keyFile}`,
      `--hostname=${origin}`,
      `--http-management-port=${managementPort}`,
      '--import-realm',
    ],
    {
      logFile,
      cwd: home,
      detached: true,
      env: {
        ...process.env,
        JAVA_HOME: javaHome(),
        JAVA_OPTS_KC_HEAP: '-Xms128m -Xmx768m',
        // C1 only: less JIT work on a shared 2-core machine, faster to ready
        JAVA_OPTS_APPEND: '-XX:TieredStopAtLevel=1',
        KC_BOOTSTRAP_ADMIN_USERNAME: 'admin',
        KC_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
      },
    },
  );
  killGroupOnExit(proc.pid);
  const trusting = fetchTrusting(ca.certPem);

  const stop = async (): Promise<void> => {
    try {
      process.kill(-proc.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const deadline = Date.now() + 10_000;
    while (!proc.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // gone
    }
    groupsToKill.delete(proc.pid);
    await proc.stop(1_000);
    await trusting.close();
    rmSync(dir, { recursive: true, force: true });
    if (ownCa) await removeCa(ca).catch(() => undefined);
  };

  let discovery: Record<string, unknown> = {};
  try {
    await waitUntilReady(
      proc,
      async () => {
        const res = await trusting(`${issuer}/.well-known/openid-configuration`);
        if (res.status !== 200) {
          await res.body?.cancel();
          return false;
        }
        discovery = await json(res);
        return true;
      },
      opts.startTimeoutMs ?? 240_000,
      500,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const startupMs = Math.round(performance.now() - started);

  let cachedAdmin: { token: string; until: number } | undefined;
  const adminToken = async (): Promise<string> => {
    if (cachedAdmin && cachedAdmin.until > Date.now()) return cachedAdmin.token;
    const res = await trusting(`${origin}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'admin', password: adminPassword }).toString(),
    });
    const body = await json(res);
    if (res.status !== 200 || typeof body['access_token'] !== 'string') throw new Error(`keycloak admin token: ${res.status} ${JSON.stringify(body)}`);
    cachedAdmin = { token: body['access_token'], until: Date.now() + 30_000 };
    return body['access_token'];
  };
  const admin = async (method: string, path: string, body?: unknown): Promise<HttpAnswer> => {
    const res = await trusting(`${origin}/admin/realms/${REALM}${path}`, {
      method,
      headers: { authorization: `Bearer ${await adminToken()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = await json(res);
    const location = res.headers.get('location');
    if (location) answer['location'] = location;
    return { status: res.status, body: answer };
  };
  const tokenEndpoint = String(discovery['token_endpoint']);
  const tokenRequest = async (params: Record<string, string>, client: KeycloakClient = { id: 'k8s-auth' }): Promise<HttpAnswer> => {
    const form = new URLSearchParams({ ...params, client_id: client.id });
    if (client.secret !== undefined) form.set('client_secret', client.secret);
    const res = await trusting(tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    return { status: res.status, body: await json(res) };
  };

  try {
    await addGroupsClientScope(admin);
  } catch (error) {
    await stop();
    throw error;
  }

  const events = async (type: string, clientId?: string): Promise<KeycloakEvent[]> => {
    const query = new URLSearchParams({ type, max: '1000', ...(clientId ? { client: clientId } : {}) });
    const answer = await admin('GET', `/events?${query.toString()}`);
    if (answer.status !== 200 || !Array.isArray(answer.body['value'])) throw new Error(`keycloak events: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body['value'] as KeycloakEvent[];
  };
  const updateRealm = async (settings: Record<string, unknown>): Promise<void> => {
    const answer = await admin('PUT', '', settings);
    if (answer.status !== 204) throw new Error(`keycloak realm update: ${answer.status} ${JSON.stringify(answer.body)}`);
  };

  return {
    version: KEYCLOAK_VERSION,
    issuer,
    origin,
    port,
    managementPort,
    realm: REALM,
    caFile: ca.certFile,
    caPem: ca.certPem,
    startupMs,
    logFile,
    publicClientId: 'k8s-auth',
    plainClientId: 'k8s-auth-plain',
    confidentialClient: { id: 'k8s-auth-confidential', secret: confidentialSecret, redirectUris: confidentialRedirectUris },
    users: KEYCLOAK_USERS,
    discovery,
    fetch: trusting,
    tokenRequest,
    adminToken,
    admin,
    events,
    updateRealm,
    stop,
  };
}

/**
 * The `groups` client scope (a realm import that names clientScopes replaces Keycloak's built-in
 * ones, so it is added through the admin API), assigned as a default scope to k8s-auth and the
 * confidential client; k8s-auth-plain keeps its mapper on the client and has no such scope.
 */
async function addGroupsClientScope(admin: KeycloakPeer['admin']): Promise<void> {
  const created = await admin('POST', '/client-scopes', {
    name: 'groups',
    protocol: 'openid-connect',
    description: 'group membership in the groups claim',
    attributes: { 'include.in.token.scope': 'true', 'display.on.consent.screen': 'false' },
    protocolMappers: [groupsMapper],
  });
  const location = created.body['location'];
  if (created.status !== 201 || typeof location !== 'string') throw new Error(`keycloak: creating the groups client scope: ${created.status} ${JSON.stringify(created.body)}`);
  const scopeId = location.slice(location.lastIndexOf('/') + 1);
  for (const clientId of ['k8s-auth', 'k8s-auth-confidential']) {
    const found = await admin('GET', `/clients?clientId=${encodeURIComponent(clientId)}`);
    const list = found.body['value'];
    const first = Array.isArray(list) ? (list[0] as { id?: unknown } | undefined) : undefined;
    if (typeof first?.id !== 'string') throw new Error(`keycloak: client ${clientId} not found: ${JSON.stringify(found.body)}`);
    const put = await admin('PUT', `/clients/${first.id}/default-client-scopes/${scopeId}`);
    if (put.status !== 204) throw new Error(`keycloak: assigning the groups scope to ${clientId}: ${put.status} ${JSON.stringify(put.body)}`);
  }
}
