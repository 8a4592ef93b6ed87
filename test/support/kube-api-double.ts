// A Kubernetes API double over loopback HTTPS for integration tests: the real
// @kubernetes/client-node talks to it through a kubeconfig it writes for itself. It keeps objects
// in memory with resourceVersions (optimistic concurrency like the apiserver), answers failures
// with `Status` bodies shaped exactly as kube-apiserver sends them, records every request, and
// injects faults on demand: 403 on a verb+resource, 409 on update, 429 with Retry-After, 5xx,
// slow answers.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueCert, removeCa, type CertificateAuthority } from './pki.js';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface RecordedRequest {
  method: string;
  path: string;
  verb: string;
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
  user: string | undefined;
  status: number;
  body: unknown;
}

export interface FaultMatch {
  verb?: string;
  resource?: string;
  namespace?: string;
  name?: string;
}

export type Fault = FaultMatch &
  (
    | { kind: 'forbidden' }
    | { kind: 'conflict' }
    | { kind: 'throttle'; retryAfterSeconds?: number }
    | { kind: 'error'; status?: number; message?: string; reason?: string }
    | { kind: 'slow'; delayMs: number }
  ) & {
    /** How many matching requests it applies to; unlimited when absent. */
    times?: number;
  };

interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  namespaced: boolean;
}

const RESOURCES: Record<string, ResourceInfo> = {
  namespaces: { group: '', version: 'v1', kind: 'Namespace', namespaced: false },
  serviceaccounts: { group: '', version: 'v1', kind: 'ServiceAccount', namespaced: true },
  clusterroles: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', namespaced: false },
  clusterrolebindings: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', namespaced: false },
  roles: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', namespaced: true },
  rolebindings: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', namespaced: true },
};

/** Review resources are POSTed but store nothing: they are not writes. */
const REVIEWS = new Set(['selfsubjectaccessreviews', 'subjectaccessreviews', 'selfsubjectrulesreviews', 'tokenreviews']);
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface KubeApiDouble {
  url: string;
  port: number;
  ca: CertificateAuthority;
  /** A kubeconfig (context `double`, user `admin` with a bearer token) for this server. */
  kubeconfigPath: string;
  /** The bearer token of the `admin` user in that kubeconfig. */
  adminToken: string;
  requests: RecordedRequest[];
  /** Requests that change state (POST/PUT/PATCH/DELETE, reviews excluded). */
  writes(): RecordedRequest[];
  /** Most requests the double was serving at once. */
  maxConcurrent(): number;
  /** TLS connections accepted (each a handshake) since the last resetRecords. */
  tlsConnections(): number;
  resetRecords(): void;
  addFault(fault: Fault): void;
  clearFaults(): void;
  /** SelfSubjectAccessReview answers: allowed unless a `forbidden` fault matches, or this says no. */
  accessPolicy: (attrs: { verb: string; resource: string; namespace?: string; group?: string; name?: string; subresource?: string }) => boolean;
  seed(resource: string, object: KubeObject): KubeObject;
  get(resource: string, name: string, namespace?: string): KubeObject | undefined;
  list(resource: string, namespace?: string): KubeObject[];
  /** Writes another kubeconfig for this server, e.g. with a different user token. */
  writeKubeconfig(options: { token: string; contextName?: string; file?: string }): Promise<string>;
  /** Registers a bearer token as a user (for Forbidden messages and whoami). */
  addUser(token: string, username: string): void;
  close(): Promise<void>;
}

function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details) body['details'] = details;
  body['code'] = code;
  return body;
}

function qualified(resource: string): string {
  const info = RESOURCES[resource.split('/')[0] ?? ''];
  return info?.group ? `${resource}.${info.group}` : resource;
}

function groupOf(resource: string): string {
  return RESOURCES[resource.split('/')[0] ?? '']?.group ?? (REVIEWS.has(resource) ? 'authorization.k8s.io' : '');
}

export function forbiddenStatus(user: string, verb: string, resource: string, namespace?: string, name?: string): Record<string, unknown> {
  const [base = resource, sub] = resource.split('/');
  const group = groupOf(base);
  const subject = name ? `${qualified(base)} "${name}"` : qualified(base);
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  const what = sub ? `resource "${base}/${sub}"` : `resource "${base}"`;
  const details: Record<string, unknown> = { group, kind: base };
  if (name) details['name'] = name;
  return statusBody(403, 'Forbidden', `${subject} is forbidden: User "${user}" cannot ${verb} ${what} in API group "${group}" ${scope}`, details);
}

function conflictStatus(resource: string, name: string): Record<string, unknown> {
  return statusBody(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
    name,
    group: groupOf(resource),
    kind: resource,
  });
}

function alreadyExistsStatus(resource: string, name: string): Record<string, unknown> {
  return statusBody(409, 'AlreadyExists', `${qualified(resource)} "${name}" already exists`, { name, group: groupOf(resource), kind: resource });
}

function notFoundStatus(resource: string, name: string): Record<string, unknown> {
  return statusBody(404, 'NotFound', `${qualified(resource)} "${name}" not found`, { name, group: groupOf(resource), kind: resource });
}

function matchesSelector(labels: Record<string, string> | undefined, selector: string | null): boolean {
  if (!selector) return true;
  const have = labels ?? {};
  return selector.split(',').every((term) => {
    const t = term.trim();
    if (t === '') return true;
    let m = /^([^!=]+)!=(.*)$/.exec(t);
    if (m) return have[m[1]!.trim()] !== m[2]!.trim();
    m = /^([^!=]+)==?(.*)$/.exec(t);
    if (m) return have[m[1]!.trim()] === m[2]!.trim();
    if (t.startsWith('!')) return !(t.slice(1) in have);
    return t in have;
  });
}

interface ParsedPath {
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  kind: 'resource' | 'discovery' | 'unknown';
}

function parsePath(pathname: string): ParsedPath {
  const none: ParsedPath = { resource: '', namespace: undefined, name: undefined, subresource: undefined, kind: 'unknown' };
  const parts = pathname.split('/').filter((p) => p.length > 0).map(decodeURIComponent);
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') rest = parts.slice(2);
  else if (parts[0] === 'apis' && parts.length >= 3 && parts[2] === 'v1' && parts.length > 3) rest = parts.slice(3);
  else if (parts[0] === 'api' || parts[0] === 'apis' || parts[0] === 'version') return { ...none, kind: 'discovery' };
  else return none;
  if (rest.length === 0) return { ...none, kind: 'discovery' };
  // namespaces/NS/<resource>[/NAME[/sub]]  vs  namespaces[/NAME]
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    return { resource: rest[2]!, namespace: rest[1], name: rest[3], subresource: rest[4], kind: 'resource' };
  }
  return { resource: rest[0]!, namespace: undefined, name: rest[1], subresource: rest[2], kind: 'resource' };
}

function verbOf(method: string, parsed: ParsedPath, query: URLSearchParams): string {
  switch (method) {
    case 'GET':
      return parsed.name ? 'get' : query.get('watch') === 'true' ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return parsed.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function matches(fault: FaultMatch, verb: string, resource: string, namespace: string | undefined, name: string | undefined): boolean {
  return (
    (fault.verb === undefined || fault.verb === verb) &&
    (fault.resource === undefined || fault.resource === resource) &&
    (fault.namespace === undefined || fault.namespace === namespace) &&
    (fault.name === undefined || fault.name === name)
  );
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startKubeApiDouble(options: { version?: { major: string; minor: string } } = {}): Promise<KubeApiDouble> {
  const ca = await createCa('kube-api-double');
  const cert = await issueCert(ca, { commonName: 'kube-apiserver', kind: 'server', sans: ['IP:127.0.0.1', 'DNS:localhost'] });
  const dir = await mkdtemp(join(tmpdir(), 'k8s-auth-kube-double-'));
  const adminToken = `admin-${randomBytes(16).toString('hex')}`;
  const users = new Map<string, string>([[adminToken, 'admin']]);
  const store = new Map<string, KubeObject>();
  const requests: RecordedRequest[] = [];
  let faults: Fault[] = [];
  let resourceVersion = 1000;
  let concurrent = 0;
  let maxConcurrent = 0;
  let tlsConnections = 0;

  const key = (resource: string, namespace: string | undefined, name: string) => `${resource}|${namespace ?? ''}|${name}`;
  const stamp = (resource: string, object: KubeObject, namespace: string | undefined, existing?: KubeObject): KubeObject => {
    const info = RESOURCES[resource]!;
    resourceVersion += 1;
    const copy = structuredClone(object);
    copy.apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    copy.kind = info.kind;
    copy.metadata = {
      ...copy.metadata,
      uid: existing?.metadata.uid ?? randomUUID(),
      resourceVersion: String(resourceVersion),
      creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    if (info.namespaced) copy.metadata.namespace = namespace;
    else delete copy.metadata.namespace;
    return copy;
  };

  const double: KubeApiDouble = {
    url: '',
    port: 0,
    ca,
    kubeconfigPath: join(dir, 'kubeconfig'),
    adminToken,
    requests,
    writes: () => requests.filter((r) => WRITE_METHODS.has(r.method) && !REVIEWS.has(r.resource)),
    maxConcurrent: () => maxConcurrent,
    tlsConnections: () => tlsConnections,
    resetRecords: () => {
      requests.length = 0;
      maxConcurrent = 0;
      tlsConnections = 0;
    },
    addFault: (fault) => faults.push({ ...fault }),
    clearFaults: () => {
      faults = [];
    },
    accessPolicy: () => true,
    seed: (resource, object) => {
      const ns = RESOURCES[resource]?.namespaced ? (object.metadata.namespace ?? 'default') : undefined;
      const stored = stamp(resource, object, ns);
      store.set(key(resource, ns, stored.metadata.name), stored);
      return structuredClone(stored);
    },
    get: (resource, name, namespace) => {
      const found = store.get(key(resource, RESOURCES[resource]?.namespaced ? (namespace ?? 'default') : undefined, name));
      return found ? structuredClone(found) : undefined;
    },
    list: (resource, namespace) =>
      [...store.entries()]
        .filter(([k, v]) => k.startsWith(`${resource}|`) && (namespace === undefined || v.metadata.namespace === namespace))
        .map(([, v]) => structuredClone(v)),
    writeKubeconfig: async ({ token, contextName = 'double', file }) => {
      const path = file ?? join(dir, `kubeconfig-${randomBytes(4).toString('hex')}`);
      await writeFile(path, kubeconfigText(double.url, ca.certPem, token, contextName), { mode: 0o600 });
      return path;
    },
    addUser: (token, username) => {
      users.set(token, username);
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(dir, { recursive: true, force: true });
      await removeCa(ca);
    },
  };

  const takeFault = (verb: string, resource: string, namespace: string | undefined, name: string | undefined, kinds: Fault['kind'][]): Fault | undefined => {
    const fault = faults.find((f) => kinds.includes(f.kind) && matches(f, verb, resource, namespace, name) && (f.times === undefined || f.times > 0));
    if (fault && fault.times !== undefined) fault.times -= 1;
    return fault;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    const parsed = parsePath(url.pathname);
    const verb = verbOf(method, parsed, url.searchParams);
    const resource = parsed.subresource ? `${parsed.resource}/${parsed.subresource}` : parsed.resource;
    const body = await readBody(req);
    const auth = req.headers.authorization ?? '';
    const user = auth.startsWith('Bearer ') ? users.get(auth.slice(7)) : undefined;
    const record: RecordedRequest = { method, path: url.pathname, verb, resource, namespace: parsed.namespace, name: parsed.name, user, status: 0, body };
    requests.push(record);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };

    if (!user) {
      send(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const slow = takeFault(verb, resource, parsed.namespace, parsed.name, ['slow']);
    if (slow && slow.kind === 'slow') await sleep(slow.delayMs);

    if (parsed.kind === 'discovery') {
      send(200, discovery(url.pathname, double.url, options.version));
      return;
    }
    if (parsed.kind === 'unknown') {
      send(404, statusBody(404, 'NotFound', 'the server could not find the requested resource', {}));
      return;
    }
    const fault = takeFault(verb, resource, parsed.namespace, parsed.name, ['forbidden', 'conflict', 'throttle', 'error']);
    if (fault?.kind === 'forbidden') {
      send(403, forbiddenStatus(user, verb, resource, parsed.namespace, parsed.name));
      return;
    }
    if (fault?.kind === 'throttle') {
      const seconds = fault.retryAfterSeconds ?? 1;
      send(429, statusBody(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: seconds }), { 'retry-after': String(seconds) });
      return;
    }
    if (fault?.kind === 'error') {
      const status = fault.status ?? 500;
      // the reason kube-apiserver gives with each status (BadRequest, Invalid for validation)
      const reason = fault.reason ?? (status === 400 ? 'BadRequest' : status === 422 ? 'Invalid' : status === 503 ? 'ServiceUnavailable' : status === 504 ? 'Timeout' : 'InternalError');
      const message = fault.message ?? (status === 500 ? 'Internal error occurred: etcdserver: request timed out' : 'the server is currently unable to handle the request');
      send(status, statusBody(status, reason, message, { causes: [{ message }] }));
      return;
    }
    if (fault?.kind === 'conflict' && parsed.name) {
      // someone else wrote the object meanwhile: its resourceVersion moves on
      const k = key(parsed.resource, parsed.namespace, parsed.name);
      const current = store.get(k);
      if (current) store.set(k, stamp(parsed.resource, current, parsed.namespace, current));
      send(409, conflictStatus(parsed.resource, parsed.name));
      return;
    }

    if (REVIEWS.has(parsed.resource) && method === 'POST') {
      const review = (body ?? {}) as { spec?: { resourceAttributes?: Record<string, string> } };
      const attrs = review.spec?.resourceAttributes ?? {};
      const allowed =
        !faults.some((f) => f.kind === 'forbidden' && matches(f, attrs['verb'] ?? '', attrs['subresource'] ? `${attrs['resource']}/${attrs['subresource']}` : (attrs['resource'] ?? ''), attrs['namespace'] || undefined, attrs['name'] || undefined)) &&
        double.accessPolicy({ verb: attrs['verb'] ?? '', resource: attrs['resource'] ?? '', namespace: attrs['namespace'], group: attrs['group'], name: attrs['name'], subresource: attrs['subresource'] });
      send(201, { ...(review as object), apiVersion: 'authorization.k8s.io/v1', kind: parsed.resource === 'subjectaccessreviews' ? 'SubjectAccessReview' : 'SelfSubjectAccessReview', metadata: { creationTimestamp: null }, status: { allowed, ...(allowed ? {} : { reason: 'no RBAC policy matched' }) } });
      return;
    }

    if (parsed.resource === 'serviceaccounts' && parsed.subresource === 'token' && method === 'POST' && parsed.name) {
      const sa = store.get(key('serviceaccounts', parsed.namespace, parsed.name));
      if (!sa) {
        send(404, notFoundStatus('serviceaccounts', parsed.name));
        return;
      }
      const tr = (body ?? {}) as { spec?: { expirationSeconds?: number; audiences?: string[] } };
      const seconds = tr.spec?.expirationSeconds ?? 3600;
      if (seconds < 600) {
        send(422, statusBody(422, 'Invalid', `TokenRequest.authentication.k8s.io "${parsed.name}" is invalid: spec.expirationSeconds: Invalid value: ${seconds}: may not specify a duration less than 10 minutes`, { name: parsed.name, group: 'authentication.k8s.io', kind: 'TokenRequest', causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${seconds}: may not specify a duration less than 10 minutes`, field: 'spec.expirationSeconds' }] }));
        return;
      }
      const granted = Math.min(seconds, 48 * 3600);
      const token = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: `system:serviceaccount:${parsed.namespace}:${parsed.name}`, aud: tr.spec?.audiences ?? ['https://kubernetes.default.svc'] })).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
      send(201, {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name: parsed.name, namespace: parsed.namespace, creationTimestamp: null },
        spec: { audiences: tr.spec?.audiences ?? ['https://kubernetes.default.svc'], expirationSeconds: granted, boundObjectRef: null },
        status: { token, expirationTimestamp: new Date(Date.now() + granted * 1000).toISOString().replace(/\.\d+Z$/, 'Z') },
      });
      return;
    }

    const info = RESOURCES[parsed.resource];
    if (!info || parsed.subresource) {
      send(404, statusBody(404, 'NotFound', 'the server could not find the requested resource', {}));
      return;
    }
    const ns = info.namespaced ? parsed.namespace : undefined;
    if (info.namespaced && ns && parsed.resource !== 'namespaces' && !store.has(key('namespaces', undefined, ns)) && (method === 'POST' || method === 'PUT')) {
      send(404, statusBody(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' }));
      return;
    }

    if (verb === 'list') {
      const items = [...store.entries()]
        .filter(([k, v]) => k.startsWith(`${parsed.resource}|`) && (ns === undefined || v.metadata.namespace === ns) && matchesSelector(v.metadata.labels, url.searchParams.get('labelSelector')))
        .map(([, v]) => v)
        .sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
      send(200, { kind: `${info.kind}List`, apiVersion: info.group ? `${info.group}/${info.version}` : info.version, metadata: { resourceVersion: String(resourceVersion) }, items });
      return;
    }
    if (verb === 'create') {
      const object = body as KubeObject | undefined;
      const name = object?.metadata?.name;
      if (!object || !name) {
        send(422, statusBody(422, 'Invalid', `${info.kind} "" is invalid: metadata.name: Required value: name or generateName is required`, { kind: parsed.resource, causes: [{ field: 'metadata.name' }] }));
        return;
      }
      // as kube-apiserver validates names: RBAC objects are path segments, the rest DNS names
      if (info.group === 'rbac.authorization.k8s.io') {
        if (name === '.' || name === '..' || /[/%]/.test(name)) {
          send(422, statusBody(422, 'Invalid', `${info.kind} "${name}" is invalid: metadata.name: Invalid value: "${name}": may not contain '/' or '%'`, { name, group: info.group, kind: parsed.resource }));
          return;
        }
      } else if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253 || (parsed.resource === 'namespaces' && (name.length > 63 || name.includes('.')))) {
        send(422, statusBody(422, 'Invalid', `${info.kind} "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`, { name, group: info.group, kind: parsed.resource }));
        return;
      }
      const k = key(parsed.resource, ns, name);
      if (store.has(k)) {
        send(409, alreadyExistsStatus(parsed.resource, name));
        return;
      }
      if (url.searchParams.get('dryRun') === 'All') {
        send(201, stamp(parsed.resource, object, ns));
        return;
      }
      const stored = stamp(parsed.resource, object, ns);
      store.set(k, stored);
      send(201, stored);
      return;
    }
    const name = parsed.name!;
    const k = key(parsed.resource, ns, name);
    const current = store.get(k);
    if (!current) {
      send(404, notFoundStatus(parsed.resource, name));
      return;
    }
    if (verb === 'get') {
      send(200, current);
      return;
    }
    if (verb === 'update') {
      const object = body as KubeObject;
      const rv = object?.metadata?.resourceVersion;
      if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) {
        send(409, conflictStatus(parsed.resource, name));
        return;
      }
      const stored = stamp(parsed.resource, object, ns, current);
      store.set(k, stored);
      send(200, stored);
      return;
    }
    if (verb === 'delete') {
      store.delete(k);
      if (info.group) send(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: info.group, kind: parsed.resource, uid: current.metadata.uid } });
      else send(200, current);
      return;
    }
    send(405, statusBody(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, {}));
  };

  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    concurrent += 1;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    res.on('close', () => {
      concurrent -= 1;
    });
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(statusBody(500, 'InternalError', `double failed: ${String(error)}`)));
      }
    });
  });
  server.on('secureConnection', () => {
    tlsConnections += 1;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  double.port = port;
  double.url = `https://127.0.0.1:${port}`;
  await writeFile(double.kubeconfigPath, kubeconfigText(double.url, ca.certPem, adminToken, 'double'), { mode: 0o600 });
  // the default namespace exists, as on a real cluster
  double.seed('namespaces', { metadata: { name: 'default' } });
  double.seed('namespaces', { metadata: { name: 'kube-system' } });
  return double;
}

function kubeconfigText(server: string, caPem: string, token: string, contextName: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${contextName}`,
    'clusters:',
    '- name: double',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${contextName}-user`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${contextName}`,
    '  context:',
    '    cluster: double',
    `    user: ${contextName}-user`,
    '',
  ].join('\n');
}

function discovery(pathname: string, url: string, version?: { major: string; minor: string }): unknown {
  const major = version?.major ?? '1';
  const minor = version?.minor ?? '32';
  if (pathname === '/version') return { major, minor, gitVersion: `v${major}.${minor}.0`, platform: 'linux/amd64' };
  if (pathname === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: url.replace('https://', '') }] };
  const groups = ['rbac.authorization.k8s.io', 'authorization.k8s.io', 'authentication.k8s.io'];
  if (pathname === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groups.map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } })),
    };
  }
  const groupVersion = pathname === '/api/v1' ? 'v1' : pathname.replace(/^\/apis\//, '');
  const resources = Object.entries(RESOURCES)
    .filter(([, info]) => (info.group ? `${info.group}/${info.version}` : info.version) === groupVersion)
    .map(([name, info]) => ({ name, singularName: info.kind.toLowerCase(), namespaced: info.namespaced, kind: info.kind, verbs: ['create', 'delete', 'get', 'list', 'update'] }));
  if (groupVersion === 'v1') resources.push({ name: 'serviceaccounts/token', singularName: '', namespaced: true, kind: 'TokenRequest', verbs: ['create'] });
  if (groupVersion === 'authorization.k8s.io/v1') resources.push({ name: 'selfsubjectaccessreviews', singularName: '', namespaced: false, kind: 'SelfSubjectAccessReview', verbs: ['create'] });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}
