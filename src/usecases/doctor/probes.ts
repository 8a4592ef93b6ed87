import { accessSync, constants, readFileSync, readdirSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { CatalogChoice } from '../../core/catalog-choice.js';
import type { ClusterEntry } from '../../core/cluster-entry.js';
import type {
  ApiServerObservation,
  DiscoveryDocument,
  KubeconfigFileObservation,
  LockObservation,
  ProbeError,
  ProviderObservation,
  RedirectObservation,
  VaultObservation,
} from '../../core/doctor/observations.js';
import { CliError, ExitCode, describeError } from '../../errors.js';
import type { FetchFunction } from '../../adapters/http.js';

/**
 * The I/O half of `k8s-auth doctor`: each probe looks at one thing and returns an observation;
 * none of them throws, writes a file, refreshes a token or opens a browser.
 */
type Env = Record<string, string | undefined>;

/** The innermost errno/undici/OpenSSL code of an error chain. */
export function innermostCode(error: unknown): string | undefined {
  let code: string | undefined;
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current && typeof current === 'object'; depth++) {
    const c = (current as { code?: unknown }).code;
    if (typeof c === 'string') code = c;
    const name = (current as { name?: unknown }).name;
    if (code === undefined && (name === 'TimeoutError' || name === 'AbortError')) code = name;
    current = (current as { cause?: unknown }).cause;
  }
  return code;
}

export function probeError(error: unknown, status?: number): ProbeError {
  const e: ProbeError = { message: error instanceof CliError ? error.message : describeError(error) };
  const code = innermostCode(error);
  if (code) e.code = code;
  const httpStatus = status ?? (error as { response?: { statusCode?: unknown } } | undefined)?.response?.statusCode;
  if (typeof httpStatus === 'number') e.status = httpStatus;
  return e;
}

export async function probeVault(choice: CatalogChoice, env: Env, timeoutMs: number): Promise<VaultObservation> {
  if (choice.kind !== 'vault') return { kind: 'not-used', catalog: choice.path };
  const { vaultSettingsFromEnv, vaultClientFromSettings, vaultError } = await import('../../adapters/vault-client.js');
  let address: string | undefined;
  try {
    const settings = vaultSettingsFromEnv(env);
    address = settings.address;
    const client = vaultClientFromSettings(settings, { timeoutMs });
    const answer = (await client.tokenLookupSelf()) as { data?: Record<string, unknown> } | undefined;
    const data = answer?.data ?? {};
    const observation: VaultObservation = {
      kind: 'token',
      address: settings.address,
      ttlSeconds: typeof data['ttl'] === 'number' ? data['ttl'] : 0,
      renewable: data['renewable'] === true,
      policies: Array.isArray(data['policies']) ? data['policies'].filter((p): p is string => typeof p === 'string') : [],
    };
    if (typeof data['display_name'] === 'string' && data['display_name'] !== '') observation.displayName = data['display_name'];
    return observation;
  } catch (error) {
    const oneLine = error instanceof CliError ? error : vaultError(error, 'looking up its own token (lookup-self)', address);
    const e = probeError(error);
    e.message = oneLine.message;
    return address === undefined ? { kind: 'error', error: e } : { kind: 'error', address, error: e };
  }
}

export async function probeProvider(entry: ClusterEntry, caFiles: readonly string[], timeoutMs: number): Promise<ProviderObservation> {
  const { createFetch, decodeBase64Pem } = await import('../../adapters/http.js');
  const caPem = decodeBase64Pem(entry.idpCertificateAuthorityData);
  const caSources = ['system roots', ...(caPem ? ['catalog idp-certificate-authority-data'] : []), ...caFiles];
  const base: Omit<Extract<ProviderObservation, { kind: 'probed' }>, 'discovery'> = { kind: 'probed', issuerUrl: entry.issuerUrl, caSources };
  let fetch: FetchFunction;
  try {
    fetch = createFetch({ caPems: caPem ? [caPem] : [], caFiles, timeoutMs, peer: 'identity provider', exitCode: ExitCode.PROVIDER });
  } catch (error) {
    return { ...base, discovery: { error: probeError(error) } };
  }
  let response: Response;
  try {
    response = await fetch(`${entry.issuerUrl}/.well-known/openid-configuration`, { headers: { accept: 'application/json' } });
  } catch (error) {
    return { ...base, discovery: { error: probeError(error) } };
  }
  const text = await response.text().catch(() => '');
  if (response.status !== 200) return { ...base, discovery: { status: response.status } };
  let document: DiscoveryDocument;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    document = parsed as DiscoveryDocument;
  } catch (error) {
    return { ...base, discovery: { status: 200, parseError: describeError(error).split('\n')[0] ?? 'unreadable' } };
  }
  const observation: ProviderObservation = { ...base, discovery: { status: 200, document } };
  if (typeof document.jwks_uri === 'string') {
    try {
      const jwks = await fetch(document.jwks_uri, { headers: { accept: 'application/json' } });
      const body = (await jwks.json().catch(() => undefined)) as { keys?: unknown } | undefined;
      observation.jwks = { status: jwks.status, keys: Array.isArray(body?.keys) ? body.keys.length : 0 };
    } catch (error) {
      observation.jwks = { error: probeError(error) };
    }
  }
  return observation;
}

/**
 * Starts the real loopback listener the sign-in would use and sends it one request at the
 * redirect URI, as the browser would after the provider redirects.
 */
export async function probeRedirect(entry: ClusterEntry, listenPort: number | undefined): Promise<RedirectObservation> {
  const { planRedirect } = await import('../../core/oauth-callback.js');
  const observation: Extract<RedirectObservation, { kind: 'probed' }> = { kind: 'probed', confidential: entry.clientSecret !== undefined };
  if (entry.redirectUri !== undefined) observation.configured = entry.redirectUri;
  let plan: ReturnType<typeof planRedirect>;
  try {
    plan = planRedirect(listenPort === undefined ? (entry.redirectUri === undefined ? {} : { redirectUri: entry.redirectUri }) : { ...(entry.redirectUri === undefined ? {} : { redirectUri: entry.redirectUri }), listenPort });
  } catch (error) {
    observation.planError = probeError(error);
    return observation;
  }
  const { startLoopbackServer } = await import('../../adapters/loopback-server.js');
  let seenPath: string | undefined;
  let server: Awaited<ReturnType<typeof startLoopbackServer>>;
  try {
    server = await startLoopbackServer(plan, (req) => {
      seenPath = req.pathname;
      return { status: 200, html: 'k8s-auth doctor: the listener answers\n' };
    });
  } catch (error) {
    observation.listener = { error: probeError(error) };
    return observation;
  }
  observation.listener = { redirectUri: server.redirectUri, hosts: plan.hosts };
  try {
    const status = await getStatus(`${server.redirectUri}?k8s-auth-doctor=1`, 3_000);
    observation.roundTrip = seenPath === undefined ? { reached: false, status } : { reached: seenPath === plan.path, status, path: seenPath };
  } catch (error) {
    observation.roundTrip = { error: probeError(error) };
  } finally {
    server.close();
  }
  return observation;
}

/** A plain GET without any proxy (the browser reaches loopback directly). */
function getStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer from ${url} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** A missing file is writable when its nearest existing ancestor is a writable directory. */
function canCreate(path: string): boolean {
  let dir = dirname(path);
  for (let i = 0; i < 64; i++) {
    try {
      const s = statSync(dir);
      return s.isDirectory() && canWrite(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return false;
      const up = dirname(dir);
      if (up === dir) return false;
      dir = up;
    }
  }
  return false;
}

export async function probeKubeconfigFile(path: string): Promise<KubeconfigFileObservation> {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path, exists: false, readable: false, writable: canCreate(path) };
    return { path, exists: true, readable: false, parseError: `cannot stat ${path}: ${describeError(error)}`, writable: false };
  }
  const observation: KubeconfigFileObservation = { path, exists: true, readable: true, writable: stat.isFile() && canWrite(path), mode: stat.mode & 0o777 };
  const { readKubeconfig } = await import('../../adapters/kubeconfig-file.js');
  try {
    readKubeconfig(path);
  } catch (error) {
    observation.parseError = probeError(error).message;
    if (/permission denied/.test(observation.parseError)) observation.readable = false;
  }
  return observation;
}

/** Lock files next to the kubeconfigs and in the token cache directory, with who holds them. */
export async function probeLocks(kubeconfigPaths: readonly string[], cacheDirectory: string | undefined, nowMs: number): Promise<{ checked: string[]; held: LockObservation[] }> {
  const { readHolder } = await import('../../adapters/file-lock.js');
  const { processAlive } = await import('../../adapters/process-alive.js');
  const candidates = kubeconfigPaths.map((p) => `${p}.lock`);
  const checked = [...candidates];
  if (cacheDirectory) {
    checked.push(join(cacheDirectory, '*.lock'));
    try {
      for (const name of readdirSync(cacheDirectory)) if (name.endsWith('.lock')) candidates.push(join(cacheDirectory, name));
    } catch {
      // no cache directory yet: no cache locks
    }
  }
  const here = hostname();
  const held: LockObservation[] = [];
  for (const path of candidates) {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
    } catch {
      continue;
    }
    const holder = readHolder(path);
    const lock: LockObservation = { path, sameHost: holder ? holder.host === here : false, ageMs: Math.max(0, nowMs - mtimeMs) };
    if (holder) {
      lock.holder = holder;
      if (lock.sameHost) lock.holderAlive = processAlive(holder.pid);
    }
    held.push(lock);
  }
  return { checked, held };
}

export function fileMode(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
}

export function readTextIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const REVIEW_PATHS = [
  { review: 'SelfSubjectReview', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', apiVersion: 'authentication.k8s.io/v1' },
  { review: 'SelfSubjectReview', path: '/apis/authentication.k8s.io/v1beta1/selfsubjectreviews', apiVersion: 'authentication.k8s.io/v1beta1' },
] as const;

/**
 * Asks the API server who we are with the current ID token: a SelfSubjectReview (1.27+), else a
 * SelfSubjectAccessReview (which proves the token is accepted without naming us). Without a
 * usable token, only reachability and TLS are tried (GET /version).
 */
export async function probeApiServer(server: string, caData: string | undefined, idToken: string | undefined, noCredentialsReason: string | undefined, namespace: string | undefined, timeoutMs: number): Promise<ApiServerObservation> {
  const { createFetch, decodeBase64Pem } = await import('../../adapters/http.js');
  const caPem = decodeBase64Pem(caData);
  const observation: Extract<ApiServerObservation, { kind: 'probed' }> = { kind: 'probed', server, credentials: idToken ? 'id-token' : 'none' };
  try {
    const fetch = createFetch({ caPems: caPem ? [caPem] : [], timeoutMs, peer: 'API server', exitCode: ExitCode.KUBERNETES });
    if (!idToken) {
      if (noCredentialsReason) observation.noCredentialsReason = noCredentialsReason;
      const response = await fetch(`${server}/version`);
      await response.text().catch(() => '');
      observation.answer = { status: response.status };
      return observation;
    }
    const headers = { authorization: `Bearer ${idToken}`, 'content-type': 'application/json', accept: 'application/json' };
    for (const r of REVIEW_PATHS) {
      const response = await fetch(`${server}${r.path}`, { method: 'POST', headers, body: JSON.stringify({ apiVersion: r.apiVersion, kind: 'SelfSubjectReview' }) });
      const body = (await response.json().catch(() => undefined)) as { kind?: unknown; status?: { userInfo?: { username?: unknown; groups?: unknown } }; message?: unknown } | undefined;
      // 404: this version is not served; a 2xx that is not a review is not an answer either
      if (response.status === 404 || (response.ok && body?.kind !== 'SelfSubjectReview')) continue;
      observation.review = 'SelfSubjectReview';
      observation.answer = answerFrom(response.status, body);
      const info = body?.status?.userInfo;
      if (typeof info?.username === 'string') observation.answer.username = info.username;
      if (Array.isArray(info?.groups)) observation.answer.groups = info.groups.filter((g): g is string => typeof g === 'string');
      return observation;
    }
    const ssar = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { namespace: namespace ?? 'default', verb: 'list', resource: 'pods' } },
    };
    const response = await fetch(`${server}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, { method: 'POST', headers, body: JSON.stringify(ssar) });
    const body = (await response.json().catch(() => undefined)) as { status?: { allowed?: unknown }; message?: unknown } | undefined;
    observation.review = 'SelfSubjectAccessReview';
    observation.answer = answerFrom(response.status, body);
    if (typeof body?.status?.allowed === 'boolean') observation.answer.allowed = body.status.allowed;
  } catch (error) {
    observation.error = probeError(error);
  }
  return observation;
}

function answerFrom(status: number, body: { message?: unknown } | undefined): { status: number; message?: string } {
  return typeof body?.message === 'string' ? { status, message: body.message.split('\n')[0] ?? '' } : { status };
}
