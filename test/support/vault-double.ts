// A Vault HTTP API double, kept for the answers a real server (test/peers/openbao) never gives
// on demand: malformed bodies (`answerRaw`), a slow answer, a dropped connection. Everything
// Vault really does is tested against real OpenBao. It follows Vault's documented API: sys/health, token lookup-self,
// sys/internal/ui/mounts (what the vault CLI uses to tell KV v1 from v2), KV v1/v2, the
// Kubernetes secrets engine creds endpoint, X-Vault-Token (403 {"errors":["permission denied"]}),
// sealing (503 {"errors":["Vault is sealed"]}) and X-Vault-Namespace scoping.
// Requests are recorded WITHOUT the token value.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createListCapableServer, originalMethod } from './list-method.js';
import { readBody, sendJson } from './http-helpers.js';
import { createCa, issueCert, removeCa, type CertificateAuthority } from './pki.js';
import { handleK8sCreds, type K8sMount, type K8sRoleOptions } from './vault-double-k8s.js';
import { handleKv, normalizeKvPath, putKvEntry, type KvMount, type KvOperation, type VaultReply } from './vault-double-kv.js';

export type { K8sCredsRequest, K8sMinted, K8sRoleOptions } from './vault-double-k8s.js';
export { placeholderMint } from './vault-double-k8s.js';

export interface RecordedVaultRequest {
  method: string;
  /** URL path, e.g. /v1/secret/data/clusters/prod */
  path: string;
  /** raw query string without '?', '' when none */
  query: string;
  /** X-Vault-Namespace header as sent ('' when absent) */
  namespace: string;
  /** whether a token was presented (its value is never recorded) */
  hasToken: boolean;
}

export interface VaultDouble {
  /** http(s)://127.0.0.1:<port> */
  address: string;
  /** CA of the HTTPS listener (tls: true only) */
  caFile?: string;
  caPem?: string;
  /** the only token accepted */
  token: string;
  /** live list; clear with clearRequests() */
  requests: RecordedVaultRequest[];
  clearRequests(): void;
  /** writes a new version (creates a KV v2 mount when the mount does not exist) */
  putKv(mount: string, path: string, data: Record<string, unknown>, opts?: { namespace?: string; customMetadata?: Record<string, string> }): void;
  /** creates the KV mount if needed and sets its version (data is kept) */
  setKvVersion(mount: string, version: 1 | 2, opts?: { namespace?: string }): void;
  /** creates the Kubernetes secrets engine mount if needed and (re)defines a role */
  setK8sRole(mount: string, role: string, opts?: K8sRoleOptions & { namespace?: string }): void;
  seal(): void;
  unseal(): void;
  readonly sealed: boolean;
  /** delay before every response */
  setLatency(ms: number): void;
  /** the next request's connection is destroyed without an answer */
  dropNextConnection(): void;
  /**
   * From now on, requests to /v1/<path> (exact, trailing slashes ignored) get this status and
   * body verbatim (a string is sent as is with `contentType`, anything else as JSON): the
   * malformed answers a real Vault never sends but a proxy or a broken build in front of it can.
   * `undefined` removes the override.
   */
  answerRaw(path: string, answer: { status: number; body: unknown; contentType?: string } | undefined): void;
  close(): Promise<void>;
}

type Mount = KvMount | K8sMount;
const VERSION = '1.15.6';

function normalizeNamespace(ns: string | undefined): string {
  return (ns ?? '').replace(/^\/+|\/+$/g, '');
}

function envelope(data: unknown, extra: { warnings?: string[] | null; lease_id?: string; lease_duration?: number; renewable?: boolean } = {}) {
  return {
    request_id: randomUUID(),
    lease_id: extra.lease_id ?? '',
    renewable: extra.renewable ?? false,
    lease_duration: extra.lease_duration ?? 0,
    data,
    wrap_info: null,
    warnings: extra.warnings ?? null,
    auth: null,
  };
}

function reply(res: ServerResponse, r: VaultReply): void {
  if ('errors' in r) return sendJson(res, r.status, { errors: r.errors });
  if ('envelope' in r) {
    const { data, ...extra } = r.envelope;
    return sendJson(res, r.status, envelope(data, extra));
  }
  res.writeHead(204);
  res.end();
}

export async function startVaultDouble(opts: { tls?: boolean; token?: string } = {}): Promise<VaultDouble> {
  const token = opts.token ?? `hvs.${randomBytes(18).toString('base64url')}`;
  const namespaces = new Map<string, Map<string, Mount>>();
  const requests: RecordedVaultRequest[] = [];
  let sealed = false;
  let latencyMs = 0;
  let dropNext = false;
  const raw = new Map<string, { status: number; body: unknown; contentType?: string }>();
  const startedAt = Math.floor(Date.now() / 1000);
  const clusterId = randomUUID();

  const mountsOf = (ns: string): Map<string, Mount> => {
    const key = normalizeNamespace(ns);
    let m = namespaces.get(key);
    if (!m) namespaces.set(key, (m = new Map()));
    return m;
  };
  const ids = () => ({ accessor: `${randomBytes(4).toString('hex')}`, uuid: randomUUID() });
  const kvMount = (mount: string, ns: string | undefined): KvMount => {
    const name = normalizeKvPath(mount);
    const existing = mountsOf(ns ?? '').get(name);
    if (existing?.type === 'kv') return existing;
    const created: KvMount = { type: 'kv', version: 2, entries: new Map(), ...ids() };
    created.accessor = `kv_${created.accessor}`;
    mountsOf(ns ?? '').set(name, created);
    return created;
  };

  /** longest mount prefix of `path` in the namespace */
  const findMount = (ns: string, path: string): { name: string; mount: Mount; rest: string } | undefined => {
    let best: { name: string; mount: Mount; rest: string } | undefined;
    for (const [name, mount] of namespaces.get(normalizeNamespace(ns)) ?? []) {
      if ((path === name || path.startsWith(`${name}/`)) && (!best || name.length > best.name.length)) {
        best = { name, mount, rest: path.slice(name.length + 1) };
      }
    }
    return best;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (dropNext) {
      dropNext = false;
      req.socket.destroy();
      return;
    }
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    const url = new URL(req.url ?? '/', 'http://vault.invalid');
    const method = originalMethod(req);
    const nsHeader = req.headers['x-vault-namespace'];
    const namespace = normalizeNamespace(Array.isArray(nsHeader) ? nsHeader[0] : nsHeader);
    const tokenHeader = req.headers['x-vault-token'];
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const presented = (Array.isArray(tokenHeader) ? tokenHeader[0] : tokenHeader) ?? bearer;
    requests.push({ method, path: url.pathname, query: url.search.slice(1), namespace, hasToken: Boolean(presented) });

    if (!url.pathname.startsWith('/v1/')) return sendJson(res, 404, { errors: [] });
    const path = url.pathname.slice('/v1/'.length).replace(/\/+$/, '');
    const override = raw.get(path);
    if (override !== undefined) {
      if (typeof override.body !== 'string') return sendJson(res, override.status, override.body);
      res.writeHead(override.status, { 'content-type': override.contentType ?? 'text/plain', 'content-length': Buffer.byteLength(override.body) });
      res.end(override.body);
      return;
    }

    if (path === 'sys/health' && (method === 'GET' || method === 'HEAD')) {
      const status = sealed ? Number(url.searchParams.get('sealedcode') ?? 503) : Number(url.searchParams.get('activecode') ?? 200);
      return sendJson(res, status, {
        initialized: true,
        sealed,
        standby: false,
        performance_standby: false,
        replication_performance_mode: 'disabled',
        replication_dr_mode: 'disabled',
        server_time_utc: Math.floor(Date.now() / 1000),
        version: VERSION,
        ...(sealed ? {} : { cluster_name: 'vault-cluster-double', cluster_id: clusterId }),
      });
    }
    if (path === 'sys/seal-status' && method === 'GET') {
      return sendJson(res, 200, {
        type: 'shamir', initialized: true, sealed, t: 1, n: 1, progress: 0, nonce: '', version: VERSION,
        migration: false, recovery_seal: false, storage_type: 'inmem',
        ...(sealed ? {} : { cluster_name: 'vault-cluster-double', cluster_id: clusterId }),
      });
    }
    if (sealed) return sendJson(res, 503, { errors: ['Vault is sealed'] });
    if (presented !== token) return sendJson(res, 403, { errors: ['permission denied'] });

    let body: Record<string, unknown> | undefined;
    if (method === 'POST' || method === 'PUT') {
      const text = await readBody(req, 1024 * 1024);
      if (text.trim() !== '') {
        try {
          const parsed: unknown = JSON.parse(text);
          body = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
        } catch (err) {
          return sendJson(res, 400, { errors: [`failed to parse JSON input: ${(err as Error).message}`] });
        }
      }
    }

    if (path === 'auth/token/lookup-self' && method === 'GET') {
      return reply(res, {
        status: 200,
        envelope: {
          data: {
            accessor: 'double-accessor', creation_time: startedAt, creation_ttl: 0, display_name: 'token',
            entity_id: '', expire_time: null, explicit_max_ttl: 0, id: token, meta: null, num_uses: 0,
            orphan: true, path: 'auth/token/create', policies: ['root'], ttl: 0, type: 'service',
          },
        },
      });
    }
    const uiMount = /^sys\/internal\/ui\/mounts\/(.+)$/.exec(path);
    if (uiMount && method === 'GET') {
      const asked = normalizeKvPath(uiMount[1] as string);
      const found = findMount(namespace, asked);
      if (!found) {
        return sendJson(res, 403, { errors: [`preflight capability check returned 403, please ensure client's policies grant access to path "${asked}/"`] });
      }
      const m = found.mount;
      return reply(res, {
        status: 200,
        envelope: {
          data: {
            accessor: m.accessor,
            config: { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 },
            description: m.type === 'kv' ? 'key/value secret storage' : 'kubernetes secrets engine',
            external_entropy_access: false,
            local: false,
            options: m.type === 'kv' ? { version: String(m.version) } : null,
            path: `${found.name}/`,
            seal_wrap: false,
            type: m.type,
            uuid: m.uuid,
          },
        },
      });
    }

    const found = findMount(namespace, path);
    if (!found) return sendJson(res, 404, { errors: [`no handler for route "${path}". route entry not found.`] });
    if (found.mount.type === 'kubernetes') return reply(res, await handleK8sCreds(found.mount, found.name, found.rest, method, body));
    const listQuery = url.searchParams.get('list');
    const op: KvOperation | undefined =
      method === 'LIST' || (method === 'GET' && (listQuery === 'true' || listQuery === '1'))
        ? 'list'
        : method === 'GET'
          ? 'read'
          : method === 'POST' || method === 'PUT'
            ? 'write'
            : method === 'DELETE'
              ? 'delete'
              : undefined;
    if (!op) return sendJson(res, 405, { errors: ['1 error occurred:\n\t* unsupported operation\n\n'] });
    return reply(res, handleKv(found.mount, found.rest, op, url.searchParams, body));
  }

  let ca: CertificateAuthority | undefined;
  let tls: { cert: string; key: string } | undefined;
  if (opts.tls) {
    ca = await createCa('k8s-auth test Vault CA');
    const cert = await issueCert(ca, { commonName: '127.0.0.1', sans: ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost'], kind: 'server' });
    tls = { cert: cert.certPem, key: cert.keyPem };
  }
  // Vault's API uses the LIST method, which node:http alone rejects
  const server = createListCapableServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { errors: [`1 error occurred:\n\t* ${String(err)}\n\n`] });
      else res.destroy();
    });
  }, tls);
  await new Promise<void>((resolve, reject) => {
    server.listener.once('error', reject);
    server.listener.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.listener.address() as AddressInfo;

  return {
    address: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    ...(ca ? { caFile: ca.certFile, caPem: ca.certPem } : {}),
    token,
    requests,
    clearRequests: () => void requests.splice(0, requests.length),
    putKv(mount, path, data, o = {}) {
      putKvEntry(kvMount(mount, o.namespace), path, data, o.customMetadata);
    },
    setKvVersion(mount, version, o = {}) {
      kvMount(mount, o.namespace).version = version;
    },
    setK8sRole(mount, role, o = {}) {
      const name = normalizeKvPath(mount);
      const mounts = mountsOf(o.namespace ?? '');
      let m = mounts.get(name);
      if (!m || m.type !== 'kubernetes') {
        m = { type: 'kubernetes', roles: new Map(), ...ids() };
        m.accessor = `kubernetes_${m.accessor}`;
        mounts.set(name, m);
      }
      const { namespace: _ns, ...roleOptions } = o;
      m.roles.set(role.toLowerCase(), roleOptions);
    },
    seal: () => {
      sealed = true;
    },
    unseal: () => {
      sealed = false;
    },
    get sealed() {
      return sealed;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    dropNextConnection: () => {
      dropNext = true;
    },
    answerRaw: (path, answer) => {
      const key = path.replace(/^\/+|\/+$/g, '').replace(/^v1\//, '');
      if (answer === undefined) raw.delete(key);
      else raw.set(key, answer);
    },
    async close() {
      server.destroyConnections();
      await new Promise<void>((resolve) => server.listener.close(() => resolve()));
      server.http.close();
      if (ca) await removeCa(ca);
    },
  };
}
