/**
 * The pure decisions of `k8s-auth proxy` (docs/proxy.md): what a request is in Kubernetes'
 * terms (verb, namespace), whether --read-only lets it through, which client headers never
 * reach the API server, the identity headers serve mode adds, the Kubernetes `Status` bodies
 * the proxy answers with itself, and the shape of one audit-log line. No I/O here.
 */

export interface RequestInfo {
  /** Kubernetes' verb: get, list, watch, create, update, patch, delete, deletecollection, or the lowercase method for non-resource paths. */
  verb: string;
  /** The namespace the request is in ('' when none). */
  namespace: string;
  /** Whether the path is an API resource (/api/…, /apis/g/v/…) rather than /healthz, /version… */
  resourceRequest: boolean;
  resource: string;
  subresource: string;
  name: string;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** The verb Kubernetes authorizes a method as, before list/watch/deletecollection are told apart. */
const METHOD_VERBS: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function queryFlag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value !== null && ['1', 'true'].includes(value.toLowerCase());
}

/**
 * Kubernetes' own RequestInfo rules (k8s.io/apiserver/pkg/endpoints/request), reduced to what
 * the audit log and read-only mode need: /api/v1/… and /apis/GROUP/VERSION/…, the legacy
 * /watch/ prefix, `?watch=true`, namespaces and their status/finalize subresources.
 */
export function requestInfo(method: string, rawUrl: string): RequestInfo {
  const url = new URL(rawUrl, 'http://proxy.invalid');
  const upper = method.toUpperCase();
  const parts = url.pathname.split('/').filter((p) => p.length > 0).map((p) => safeDecode(p));
  const nonResource: RequestInfo = { verb: upper.toLowerCase(), namespace: '', resourceRequest: false, resource: '', subresource: '', name: '' };
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) rest = parts.slice(2);
  else if (parts[0] === 'apis' && parts.length >= 3) rest = parts.slice(3);
  else return nonResource;
  if (rest.length === 0) return nonResource;

  let verb = METHOD_VERBS[upper] ?? upper.toLowerCase();
  if (rest[0] === 'watch') {
    verb = 'watch';
    rest = rest.slice(1);
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1] ?? '';
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? '')) rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = ''] = rest;
  // a GET without a name is a list, or a watch when asked
  if (name === '' && (verb === 'get' || verb === 'delete')) verb = verb === 'get' ? 'list' : 'deletecollection';
  if ((verb === 'get' || verb === 'list') && queryFlag(url.searchParams, 'watch')) verb = 'watch';
  return { verb, namespace, resourceRequest: true, resource, subresource, name };
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export const READ_ONLY_METHODS: readonly string[] = ['GET', 'HEAD', 'OPTIONS'];

export type Verdict = { allowed: true } | { allowed: false; message: string };

/**
 * --read-only lets through GET, HEAD and OPTIONS only. An upgrade (exec, attach, port-forward,
 * even over GET with WebSocket) acts on the cluster, so it is refused too.
 */
export function readOnlyVerdict(method: string, upgrade: boolean): Verdict {
  const upper = method.toUpperCase();
  if (upgrade) return { allowed: false, message: `k8s-auth proxy is read-only: ${upper} with an upgrade (exec, attach, port-forward) is refused` };
  if (READ_ONLY_METHODS.includes(upper)) return { allowed: true };
  return { allowed: false, message: `k8s-auth proxy is read-only: ${upper} is refused (only GET, HEAD and OPTIONS pass)` };
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  code: number;
}

const REASONS: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 502: 'BadGateway', 503: 'ServiceUnavailable', 500: 'InternalError' };

/** The Kubernetes `Status` body kubectl prints as "Error from server (Reason): message". */
export function kubeStatus(code: number, message: string): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: REASONS[code] ?? 'Unknown', code };
}

/** Header names (lowercase) a client sends that serve mode never forwards. */
export function isImpersonationHeader(name: string): boolean {
  return name.toLowerCase().startsWith('impersonate-');
}

/**
 * The client's headers minus its credentials: `authorization` always (the proxy puts its own
 * credential upstream), and every `Impersonate-*` header when asked (serve mode: the proxy
 * alone says who the user is). Returns a new object; the names stay as Node gives them.
 */
export function stripClientHeaders(headers: Readonly<Record<string, string | string[] | undefined>>, options: { impersonation: boolean }): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (lower === 'authorization' || lower === 'proxy-authorization') continue;
    if (options.impersonation && isImpersonationHeader(lower)) continue;
    out[name] = value;
  }
  return out;
}

export interface Identity {
  user: string;
  groups: string[];
}

/** Serve mode's upstream headers: Impersonate-User, and one Impersonate-Group per group (repeated header). */
export function impersonationHeaders(identity: Identity): Record<string, string | string[]> {
  return identity.groups.length > 0 ? { 'Impersonate-User': identity.user, 'Impersonate-Group': [...identity.groups] } : { 'Impersonate-User': identity.user };
}

export interface ClaimMapping {
  usernameClaim: string;
  usernamePrefix: string;
  groupsClaim: string;
  groupsPrefix: string;
}

/**
 * Who a verified ID token names, as the API server's own OIDC authenticator would: the username
 * claim (a string) with its prefix, groups from a string or a list of strings, each prefixed.
 * `sub`-style claims other than email get no implicit issuer prefix: pass --username-prefix.
 */
export function identityFromClaims(claims: Readonly<Record<string, unknown>>, mapping: ClaimMapping): { ok: true; identity: Identity } | { ok: false; problem: string } {
  const name = claims[mapping.usernameClaim];
  if (typeof name !== 'string' || name === '') return { ok: false, problem: `the ID token has no '${mapping.usernameClaim}' claim (the username claim)` };
  const raw = claims[mapping.groupsClaim];
  const groups = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string' && g !== '') : [];
  return { ok: true, identity: { user: `${mapping.usernamePrefix}${name}`, groups: groups.map((g) => `${mapping.groupsPrefix}${g}`) } };
}

/** What `--address` may be without TLS: loopback only (IPv4 127/8, ::1, localhost). */
export function isLoopbackAddress(address: string): boolean {
  const host = address.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function hostOf(value: string): string | undefined {
  try {
    return new URL(value.includes('://') ? value : `http://${value}`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Local mode on loopback holds your credential for anything that can reach the port, and a web
 * page can: by DNS rebinding (its own name resolving to 127.0.0.1: the Host header names it) or
 * by a cross-site request or WebSocket (exec!) from the browser (the Origin header names the
 * page). Both are refused unless they name a loopback host, as `kubectl proxy --accept-hosts`
 * does by default. Dashboards served from loopback (http://localhost:3000) pass.
 */
export function browserVerdict(host: string | undefined, origin: string | undefined): Verdict {
  const hostName = host === undefined ? undefined : hostOf(host);
  if (hostName === undefined || !isLoopbackAddress(hostName)) {
    return { allowed: false, message: `k8s-auth proxy answers only requests for a loopback host (127.0.0.1, localhost, [::1]), not Host '${host ?? ''}'` };
  }
  if (origin !== undefined && origin !== 'null') {
    const originHost = hostOf(origin);
    if (originHost === undefined || !isLoopbackAddress(originHost)) return { allowed: false, message: `k8s-auth proxy refuses requests from web pages outside this machine (Origin ${origin})` };
  } else if (origin === 'null') {
    return { allowed: false, message: 'k8s-auth proxy refuses requests from web pages outside this machine (Origin null)' };
  }
  return { allowed: true };
}

/** host:port as it goes in "Starting to serve on …" (IPv6 in brackets). */
export function formatListenAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export interface AuditInput {
  timeMs: number;
  identity: Identity | undefined;
  method: string;
  url: string;
  status: number;
  durationMs: number;
  /** response body bytes sent to the client */
  bytes: number;
}

export interface AuditRecord {
  time: string;
  user: string;
  groups: string[];
  verb: string;
  method: string;
  path: string;
  namespace: string;
  status: number;
  duration_ms: number;
  bytes: number;
}

/** One audit-log line (docs/proxy.md#audit-log): the path without its query (a query may hold a label selector, never a secret, but keep the line short). */
export function auditRecord(input: AuditInput): AuditRecord {
  const info = requestInfo(input.method, input.url);
  const path = new URL(input.url, 'http://proxy.invalid').pathname;
  return {
    time: new Date(input.timeMs).toISOString(),
    user: input.identity?.user ?? '',
    groups: input.identity?.groups ?? [],
    verb: info.verb,
    method: input.method.toUpperCase(),
    path,
    namespace: info.namespace,
    status: input.status,
    duration_ms: Math.round(input.durationMs * 1000) / 1000,
    bytes: input.bytes,
  };
}

/**
 * When a cached credential should be renewed, and until when it may still be sent: renewal at
 * 80 % of its lifetime, while the token still works, so requests keep flowing; sent until 5 s
 * (at most a tenth of its lifetime) before it expires. Undefined expiry (a static token): never.
 */
export function tokenSchedule(issuedAtMs: number, expiresAtMs: number | undefined): { renewAtMs: number; usableUntilMs: number } | undefined {
  if (expiresAtMs === undefined) return undefined;
  const lifetime = Math.max(0, expiresAtMs - issuedAtMs);
  return { renewAtMs: issuedAtMs + lifetime * 0.8, usableUntilMs: expiresAtMs - Math.min(5_000, lifetime * 0.1) };
}

/**
 * Whether the `id-token` of an `auth-provider: oidc` user must be renewed with its refresh token
 * before the proxy sends it: missing, or past tokenSchedule's renewal point (80 % of its lifetime
 * from `iat`), and never later than 10 s before expiry, kubectl's own margin. No `iat`: only
 * the 10 s margin applies. One renewal rule for both kinds of user.
 */
export function authProviderTokenDue(expMs: number | undefined, iatMs: number | undefined, nowMs: number): boolean {
  if (expMs === undefined) return true;
  const schedule = tokenSchedule(iatMs ?? expMs, expMs);
  return nowMs >= Math.min(schedule?.renewAtMs ?? expMs, expMs - 10_000);
}
