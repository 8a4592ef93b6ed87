// Real Dex (built by ./install.sh from the Go module proxy at the pseudo-version go.mod pins) in
// front of real LDAP (Debian slapd, ../slapd/slapd.ts), configured the way our users run it.
//
// API
//   dexVersion: string                      the pinned pseudo-version (from ./go.mod)
//   dexBinary / dexapiBinary: string        ${K8S_AUTH_TEST_CACHE:-~/.cache/k8s-auth-test}/dex-<ver>/{dex,dexapi}
//   dexAvailable(): boolean                 both binaries built and Debian slapd installed
//   startDex(opts?: DexOptions) → Promise<DexPeer>
//     opts.ldap                 a running SlapdPeer to use (default: starts its own, stopped with Dex)
//     opts.idTokenTtl           Dex `expiry.idTokens` (Go duration, default '1h'; Dex has no minimum)
//     opts.confidentialRedirectUris   exact redirect URIs of the confidential client
//                               (default ['http://127.0.0.1:18000/callback']; the device callback is added)
//     opts.extraStaticClients   more staticClients entries (Dex's storage.Client fields)
//     opts.logLevel             'debug' | 'info' (default 'debug': Dex logs each refresh's connector call)
//   DexPeer
//     issuer          https://127.0.0.1:<port>/dex (HTTPS, server cert from a throwaway CA)
//     origin, port, caFile, caPem   the CA that signed both the web and the gRPC server certificates
//     grpc: { address: '127.0.0.1:<port>', caFile, certFile, keyFile }   mutual TLS: Dex asks for a
//                     client certificate signed by the same CA (tlsClientCA); certFile/keyFile are one
//     publicClientId  'k8s-auth' (public, no secret, no registered redirect URIs: any loopback port,
//                     and the device flow's /dex/device/callback)
//     confidentialClient: { id: 'k8s-auth-confidential', secret, redirectUris }
//     users           LDAP users: { uid, email, password, name, groups, sub } (sub as Dex computes it,
//                     base64url protobuf of user id + connector id 'ldap')
//     staticUser      the static-passwords (connector 'local') user { email, password, username, userID, sub }
//     connectors      ['ldap', 'local'] (the password grant uses 'ldap': oauth2.passwordConnector)
//     ldap            the SlapdPeer behind the LDAP connector
//     configFile, config (the YAML Dex runs with), logFile, logTail(n), pid
//     tokenRequests(): Promise<{ ok: number; failed: number }>   POST /dex/token answers so far, from
//                     Dex's Prometheus counter (telemetry on its own loopback port)
//     dexapi(...args): Promise<unknown>   runs dexapi over mutual TLS (version, list-refresh SUB,
//                     revoke-refresh SUB CLIENT, list-clients) and parses its JSON line
//     stop()          stops Dex by pid (and the slapd it started), removes the temp dirs
//
// Storage is sqlite3 in a temp dir; refresh tokens rotate with Dex's defaults (no `expiry.
// refreshTokens`: rotation on, reuseInterval 0); skipApprovalScreen; device flow on.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { createCa, issueCert, removeCa } from '../../support/pki.js';
import { fetchTrusting } from '../../support/tls-fetch.js';
import { freeLoopbackPort, isExecutable, peerCacheDir, startPeerProcess, waitUntilReady } from '../process.js';
import { slapdAvailable, startSlapd, type LdapUser, type SlapdPeer } from '../slapd/slapd.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

function pinnedVersion(): string {
  const mod = readFileSync(join(here, 'go.mod'), 'utf8');
  const m = /^\s*github\.com\/dexidp\/dex (v0\.0\.0-\d{14}-[0-9a-f]{12})\b/m.exec(mod);
  if (!m?.[1]) throw new Error('test/peers/dex/go.mod pins no github.com/dexidp/dex pseudo-version');
  return m[1];
}

export const dexVersion = pinnedVersion();
export const dexBinary = peerCacheDir(`dex-${dexVersion}`, 'dex');
export const dexapiBinary = peerCacheDir(`dex-${dexVersion}`, 'dexapi');

export function dexAvailable(): boolean {
  return isExecutable(dexBinary) && isExecutable(dexapiBinary) && slapdAvailable();
}

/** Dex's `sub`: base64url (no padding) of the protobuf { 1: user id, 2: connector id }. */
export function dexSubject(userId: string, connectorId: string): string {
  const field = (tag: number, value: string): Buffer => {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > 127) throw new Error('dexSubject: ids over 127 bytes are not needed here');
    return Buffer.concat([Buffer.from([(tag << 3) | 2, bytes.length]), bytes]);
  };
  return Buffer.concat([field(1, userId), field(2, connectorId)]).toString('base64url');
}

export interface DexOptions {
  ldap?: SlapdPeer;
  idTokenTtl?: string;
  confidentialRedirectUris?: string[];
  extraStaticClients?: Record<string, unknown>[];
  logLevel?: 'debug' | 'info';
}

export interface DexUser extends LdapUser {
  sub: string;
}

export interface DexPeer {
  issuer: string;
  origin: string;
  port: number;
  caFile: string;
  caPem: string;
  grpc: { address: string; caFile: string; certFile: string; keyFile: string };
  publicClientId: string;
  confidentialClient: { id: string; secret: string; redirectUris: string[] };
  users: DexUser[];
  staticUser: { email: string; password: string; username: string; userID: string; sub: string };
  connectors: string[];
  ldap: SlapdPeer;
  configFile: string;
  config: string;
  logFile: string;
  pid: number;
  logTail(lines?: number): string;
  tokenRequests(): Promise<{ ok: number; failed: number }>;
  dexapi(...args: string[]): Promise<unknown>;
  stop(): Promise<void>;
}

// The static-passwords user: Dex's own example (config.dev.yaml), bcrypt of "password".
const STATIC_USER = {
  email: 'admin@example.com',
  password: 'password',
  hash: '$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W',
  username: 'admin',
  userID: '08a8684b-db88-4b73-90a9-3cd1661f5466',
};

export async function startDex(opts: DexOptions = {}): Promise<DexPeer> {
  if (!isExecutable(dexBinary)) throw new Error(`Dex ${dexVersion} is not built (bash test/peers/dex/install.sh)`);
  const ownLdap = opts.ldap === undefined;
  const ldap = opts.ldap ?? (await startSlapd());
  const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-dex-'));
  const ca = await createCa('k8s-auth Dex test CA');
  try {
    const { port, grpcPort, telemetryPort } = await distinctPorts();
    const sans = ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost'];
    const [web, grpcServer, grpcClient] = await Promise.all([
      issueCert(ca, { commonName: '127.0.0.1', sans, kind: 'server' }),
      issueCert(ca, { commonName: '127.0.0.1', sans, kind: 'server' }),
      issueCert(ca, { commonName: 'k8s-auth-tests', kind: 'client' }),
    ]);
    const origin = `https://127.0.0.1:${port}`;
    const issuer = `${origin}/dex`;
    const confidentialRedirectUris = opts.confidentialRedirectUris ?? ['http://127.0.0.1:18000/callback'];
    const confidential = { id: 'k8s-auth-confidential', secret: 'k8s-auth-confidential-secret', redirectUris: confidentialRedirectUris };
    const config = {
      issuer,
      storage: { type: 'sqlite3', config: { file: join(dir, 'dex.db') } },
      web: { https: `127.0.0.1:${port}`, tlsCert: web.certFile, tlsKey: web.keyFile },
      telemetry: { http: `127.0.0.1:${telemetryPort}` },
      grpc: { addr: `127.0.0.1:${grpcPort}`, tlsCert: grpcServer.certFile, tlsKey: grpcServer.keyFile, tlsClientCA: ca.certFile, reflection: false },
      logger: { level: opts.logLevel ?? 'debug', format: 'text' },
      expiry: { idTokens: opts.idTokenTtl ?? '1h', deviceRequests: '5m' },
      oauth2: {
        responseTypes: ['code'],
        grantTypes: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', 'password'],
        skipApprovalScreen: true,
        passwordConnector: 'ldap',
      },
      connectors: [
        {
          type: 'ldap',
          id: 'ldap',
          name: 'LDAP',
          config: {
            host: ldap.host,
            // plain LDAP on loopback only; production directories use ldaps:// or startTLS
            insecureNoSSL: true,
            bindDN: ldap.bindDN,
            bindPW: ldap.bindPassword,
            usernamePrompt: 'Email Address',
            userSearch: {
              baseDN: ldap.peopleDN,
              filter: '(objectClass=inetOrgPerson)',
              username: 'mail',
              idAttr: 'uid',
              emailAttr: 'mail',
              nameAttr: 'cn',
              preferredUsernameAttr: 'uid',
            },
            groupSearch: {
              baseDN: ldap.groupsDN,
              filter: '(objectClass=groupOfNames)',
              userMatchers: [{ userAttr: 'DN', groupAttr: 'member' }],
              nameAttr: 'cn',
            },
          },
        },
      ],
      enablePasswordDB: true,
      staticPasswords: [{ email: STATIC_USER.email, hash: STATIC_USER.hash, username: STATIC_USER.username, userID: STATIC_USER.userID }],
      staticClients: [
        { id: 'k8s-auth', name: 'k8s-auth', public: true },
        { id: confidential.id, name: 'k8s-auth (confidential)', secret: confidential.secret, redirectURIs: [...confidentialRedirectUris, '/dex/device/callback'] },
        ...(opts.extraStaticClients ?? []),
      ],
    };
    const configText = stringify(config);
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, configText, { mode: 0o600 });
    const logFile = join(dir, 'dex.log');
    const proc = startPeerProcess('dex', dexBinary, ['serve', configFile], { logFile, cwd: dir });
    const trusting = fetchTrusting(ca.certPem);
    try {
      await waitUntilReady(proc, async () => {
        const res = await trusting(`${issuer}/.well-known/openid-configuration`);
        return res.ok && ((await res.json()) as { issuer?: string }).issuer === issuer;
      }, 60_000, 200);
    } finally {
      await trusting.close();
    }

    const grpc = { address: `127.0.0.1:${grpcPort}`, caFile: ca.certFile, certFile: grpcClient.certFile, keyFile: grpcClient.keyFile };
    const tokenRequests = async (): Promise<{ ok: number; failed: number }> => {
      const text = await (await fetch(`http://127.0.0.1:${telemetryPort}/metrics`)).text();
      let ok = 0;
      let failed = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith('http_requests_total{') || !line.includes('handler="/token"')) continue;
        const code = /code="(\d+)"/.exec(line)?.[1] ?? '';
        const count = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (code.startsWith('2')) ok += count;
        else failed += count;
      }
      return { ok, failed };
    };
    return {
      issuer,
      origin,
      port,
      caFile: ca.certFile,
      caPem: ca.certPem,
      grpc,
      publicClientId: 'k8s-auth',
      confidentialClient: confidential,
      users: ldap.users.map((u) => ({ ...u, sub: dexSubject(u.uid, 'ldap') })),
      staticUser: { email: STATIC_USER.email, password: STATIC_USER.password, username: STATIC_USER.username, userID: STATIC_USER.userID, sub: dexSubject(STATIC_USER.userID, 'local') },
      connectors: ['ldap', 'local'],
      ldap,
      configFile,
      config: configText,
      logFile,
      pid: proc.pid,
      logTail: (lines) => proc.logTail(lines),
      tokenRequests,
      async dexapi(...args: string[]) {
        const { stdout } = await run(dexapiBinary, ['-addr', grpc.address, '-ca', grpc.caFile, '-cert', grpc.certFile, '-key', grpc.keyFile, ...args], { timeout: 15_000 });
        return JSON.parse(stdout) as unknown;
      },
      async stop() {
        await proc.stop();
        if (ownLdap) await ldap.stop();
        await removeCa(ca);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (ownLdap) await ldap.stop();
    await removeCa(ca);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function distinctPorts(): Promise<{ port: number; grpcPort: number; telemetryPort: number }> {
  const port = await freeLoopbackPort();
  let grpcPort = await freeLoopbackPort();
  while (grpcPort === port) grpcPort = await freeLoopbackPort();
  let telemetryPort = await freeLoopbackPort();
  while (telemetryPort === port || telemetryPort === grpcPort) telemetryPort = await freeLoopbackPort();
  return { port, grpcPort, telemetryPort };
}
