import { readFileSync } from 'node:fs';
import type { Dispatcher, RequestInit as UndiciRequestInit } from 'undici';
import { nodeFetch, nodeFetchCan } from './node-fetch.js';
import { secureContextWithExtraCas } from './tls-context.js';
import { proxyForUrl, proxyRefusalMessage, proxyTunnelStatus, proxyUnreachable, proxyUnreachableMessage } from '../core/proxy-env.js';
import { CliError, ExitCode, type ExitCodeValue, describeError } from '../errors.js';
import { debug, warn } from '../ui/log.js';

/**
 * One HTTP client for every peer (provider, Vault, API server): HTTPS_PROXY/HTTP_PROXY/NO_PROXY
 * honoured, custom CAs ADDED to the system roots (kubelogin's users were bitten by a CA that
 * replaced them), TLS verified unless the user explicitly opts out, and a timeout on every call.
 */
export interface HttpClientOptions {
  /** Extra CA certificates (PEM text), added to Node's bundled roots. */
  caPems?: readonly string[];
  /** Paths of PEM files to add, e.g. --certificate-authority. */
  caFiles?: readonly string[];
  /** Explicit opt-out of TLS verification; warns once. */
  insecureSkipTlsVerify?: boolean;
  /** That warning, naming where the opt-out came from (default: a generic line). */
  insecureWarning?: string;
  /** Whole-exchange timeout in milliseconds: connection, headers and the whole body. */
  timeoutMs?: number;
  /** Largest body read from this peer (default MAX_PROVIDER_BODY_BYTES); larger fails. */
  maxBodyBytes?: number;
  /** Names the peer in error messages, e.g. "identity provider". */
  peer?: string;
  /** Exit code for transport failures talking to this peer. */
  exitCode?: ExitCodeValue;
  /**
   * What to do when this peer's certificate is not trusted, e.g. TRUST_HINTS.apiServer; each
   * peer's CA comes from a different place. Default: TRUST_HINTS.provider.
   */
  trustHint?: string;
}

/**
 * Where each peer's CA goes, for "TLS certificate … is not trusted" lines: the one mechanism
 * every caller uses (createFetch's `trustHint`, transportError's last argument, vaultError).
 */
export const TRUST_HINTS = {
  /** login, credential, logout, doctor: the provider of a catalog entry. */
  provider: "pass its CA with --certificate-authority FILE, or put it in the catalog entry's idp-certificate-authority-data",
  /** rbac apply/plan: the provider that verifies the ID token, named by flags. */
  rbacIssuerFlags: "pass its CA with --idp-ca-file FILE (or, with --cluster, the catalog entry's idp-certificate-authority-data)",
  /** rbac apply/plan --cluster: the catalog entry's provider. */
  rbacCatalogEntry: "put its CA in the catalog entry's idp-certificate-authority-data, or pass --issuer-url/--client-id with --idp-ca-file FILE",
  /** rbac apply/plan on the current login: the kubeconfig user's provider. */
  rbacKubeconfigLogin: "put its CA in the kubeconfig user's idp-certificate-authority-data (log in again with the right CA), or pass --idp-ca-file FILE with --issuer-url/--client-id",
  /** rbac list/apply/revoke/sync, token: the Kubernetes API server. */
  apiServer: "put its CA in the kubeconfig cluster's certificate-authority (file) or certificate-authority-data",
  /** the catalog, token --via-vault, doctor: Vault. */
  vault: 'set VAULT_CACERT to its CA file',
} as const;

export type FetchFunction = (input: string | URL, init?: RequestInit) => Promise<Response>;

export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;

/**
 * The largest answer read from an identity provider (discovery, JWKS, token, device code and
 * revocation responses are a few kB): a provider streaming an endless body must not fill the
 * memory (docs/security.md).
 */
export const MAX_PROVIDER_BODY_BYTES = 1024 * 1024;

/** "1 MiB", "64 MiB", "512 KiB": a byte cap as people say it. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** A body larger than the cap; its message is the one line the user sees. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`answered with more than ${formatBytes(limit)}`);
    this.name = 'BodyTooLargeError';
  }
}

/** Statuses whose Response must have a null body (the fetch standard). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * Reads a whole body, failing once it passes `limit` bytes (before reading further when the
 * declared content-length already does). The caller's abort signal bounds the time.
 */
export async function readBodyBounded(body: ReadableStream<Uint8Array> | null, limit: number, declaredLength: string | null): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  if (declaredLength !== null && Number(declaredLength) > limit) {
    await body.cancel().catch(() => undefined);
    throw new BodyTooLargeError(limit);
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/**
 * One deadline for a whole exchange, from the first byte sent to the last byte of the body,
 * whatever signal the caller adds (openid-client and jose pass their own). A plain timer, held
 * until the exchange ends: on Node 20 an AbortSignal.timeout() combined through
 * AbortSignal.any() can be garbage-collected while a large body is read, and then never fires.
 */
export interface Deadline {
  signal: AbortSignal;
  /** Whether the deadline (not the caller) ended the exchange. */
  readonly expired: boolean;
  clear(): void;
}

export function startDeadline(timeoutMs: number, callerSignal?: AbortSignal | null): Deadline {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted) onCallerAbort();
  else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    clear() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

export function readCaFiles(paths: readonly string[]): string[] {
  return paths.map((path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new CliError(ExitCode.USAGE, `cannot read CA file ${path}: ${describeError(error)}`);
    }
  });
}

export { decodeBase64Pem } from '../core/base64-pem.js';

/** The proxy variables undici's EnvHttpProxyAgent reads (NO_PROXY only narrows them). */
export function proxyVariablesSet(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'].some((name) => Boolean(env[name]));
}

let proxySupport: Promise<unknown> | undefined;

/**
 * undici's ProxyAgent opens its tunnel with `Dispatcher.prototype.connect`, which only the
 * package index installs; importing the agent file alone (for start-up time) leaves it out and
 * every proxied request fails with "connect is not a function". Load the index, once, only when
 * a proxy is configured.
 */
function loadProxySupport(): Promise<unknown> {
  proxySupport ??= import('undici');
  return proxySupport;
}

interface UndiciParts {
  fetch: typeof import('undici').fetch;
  EnvHttpProxyAgent: typeof import('undici').EnvHttpProxyAgent;
  dispatcher?: Dispatcher;
}

/** undici's fetch and proxy agent, imported directly rather than its whole index (~15 ms). */
async function loadUndiciParts(): Promise<UndiciParts & { dispatcher?: never }> {
  const [agent, fetchModule] = await Promise.all([import('undici/lib/dispatcher/env-http-proxy-agent.js'), import('undici/lib/web/fetch/index.js')]);
  return { EnvHttpProxyAgent: agent.default, fetch: fetchModule.fetch };
}

/** An answer read whole (under the size cap and the deadline), with lower-case header names. */
export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: ReadonlyMap<string, string>;
  body: Uint8Array<ArrayBuffer>;
  url: string;
}

export type HttpRequest = (input: string | URL, init?: RequestInit) => Promise<HttpAnswer>;

/**
 * The client as plain answers: what discovery uses before the browser opens, since the global
 * Response and Headers classes load Node's internal undici on first use (~10 ms).
 */
export function createRequest(options: HttpClientOptions = {}): HttpRequest {
  const extra = [...(options.caPems ?? []), ...readCaFiles(options.caFiles ?? [])];
  const insecure = options.insecureSkipTlsVerify === true;
  if (insecure) warn(options.insecureWarning ?? `TLS verification is OFF for the ${options.peer ?? 'server'} (you asked for it); anyone on the path can read and alter this traffic`);
  // One TLS context per client: given a `ca` list, every new connection would parse all the
  // system roots again (~20 ms), e.g. the token exchange after the user took a while to sign in.
  const secureContext = extra.length > 0 ? secureContextWithExtraCas(extra) : undefined;
  const tls = { ...(secureContext ? { secureContext } : {}), rejectUnauthorized: !insecure };
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  // undici (its fetch, its proxy agent) loads only when a proxy is set or a body needs it: it is
  // the largest start-up cost of `login` otherwise (docs/performance.md)
  let undici: Promise<UndiciParts> | undefined;
  const loadUndici = (): Promise<UndiciParts> =>
    (undici ??= loadUndiciParts().then((parts) => ({
      ...parts,
      // plain-http targets are forwarded as absolute-URI requests, as curl does, rather than
      // tunnelled: some forward proxies refuse CONNECT to ports other than 443
      dispatcher: new parts.EnvHttpProxyAgent({ proxyTunnel: false, connect: tls, requestTls: tls, connectTimeout: Math.min(timeoutMs, 10_000), headersTimeout: timeoutMs, bodyTimeout: timeoutMs }),
    })));
  const peer = options.peer ?? 'server';
  const exitCode = options.exitCode ?? ExitCode.INTERNAL;
  const trustHint = options.trustHint ?? TRUST_HINTS.provider;
  const maxBodyBytes = options.maxBodyBytes ?? MAX_PROVIDER_BODY_BYTES;
  const proxied = proxyVariablesSet();

  return async (input, init) => {
    if (proxied) await loadProxySupport();
    const url = typeof input === 'string' ? input : input.toString();
    const deadline = startDeadline(timeoutMs, init?.signal);
    debug(`${init?.method ?? 'GET'} ${stripQuery(url)}`);
    try {
      if (!proxied && nodeFetchCan(init)) {
        const answer = await nodeFetch(url, init, { tls, signal: deadline.signal, maxBodyBytes, tooLarge: () => new BodyTooLargeError(maxBodyBytes) });
        debug(`${answer.status} from ${stripQuery(url)}`);
        return answer;
      }
      const { fetch: undiciFetch, dispatcher } = await loadUndici();
      // undici's own fetch, so the dispatcher is the one we built whatever Node bundles.
      const response = await undiciFetch(url, { ...(init as UndiciRequestInit), signal: deadline.signal, dispatcher });
      debug(`${response.status} from ${stripQuery(url)}`);
      // the body is read here, under the same deadline and a size cap, so no caller can read
      // past either
      const bytes = await readBodyBounded(response.body as ReadableStream<Uint8Array> | null, maxBodyBytes, response.headers.get('content-length'));
      return { status: response.status, statusText: response.statusText, headers: new Map(response.headers), body: new Uint8Array(bytes), url: response.url };
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        throw new CliError(exitCode, `${peer} at ${stripQuery(url)} ${error.message}: it is not answering as a ${peer} should; check the address`, { cause: error });
      }
      // a timeout while the body was read surfaces as the stream's error, not as TimeoutError
      throw transportError(deadline.expired ? new DOMException('timeout', 'TimeoutError') : error, peer, url, timeoutMs, exitCode, trustHint);
    } finally {
      deadline.clear();
    }
  };
}

/** The same client, fetch-shaped: openid-client's customFetch (through oidc-discovery.ts), jose's JWKS fetch, doctor's probes. */
export function createFetch(options: HttpClientOptions = {}): FetchFunction {
  return fetchOver(createRequest(options));
}

/** A fetch function over a requester: callers get a Response over the bytes already read. */
export function fetchOver(request: HttpRequest): FetchFunction {
  return async (input, init) => {
    const answer = await request(input, init);
    const response = new Response(NULL_BODY_STATUSES.has(answer.status) ? null : answer.body, { status: answer.status, statusText: answer.statusText, headers: [...answer.headers] });
    Object.defineProperty(response, 'url', { value: answer.url });
    return response;
  };
}

/**
 * A timeout as people say it: "30s", "0.5s", and below 0.1 s in milliseconds ("1ms"), so
 * --http-timeout 0.001 is not reported as "0s".
 */
export function formatTimeout(ms: number): string {
  if (ms < 100) return `${Math.max(1, Math.round(ms))}ms`;
  return `${Number.parseFloat((ms / 1000).toFixed(3))}s`;
}

/** Query strings can carry codes and state: keep them out of logs. */
export function stripQuery(url: string): string {
  const i = url.indexOf('?');
  return i === -1 ? url : `${url.slice(0, i)}?…`;
}

export function transportError(error: unknown, peer: string, url: string, timeoutMs: number, exitCode: ExitCodeValue, trustHint: string = TRUST_HINTS.provider): CliError {
  if (error instanceof CliError) return error;
  const where = stripQuery(url);
  // a proxy's refusal is not the peer's: name the proxy (never its credentials)
  const proxy = proxyFor(url);
  if (proxy !== undefined) {
    const status = proxyTunnelStatus(error);
    if (status !== undefined) return new CliError(exitCode, proxyRefusalMessage(status, proxy, peer, where), { cause: error });
    const unreachable = proxyUnreachable(error, proxy);
    if (unreachable !== undefined) return new CliError(exitCode, proxyUnreachableMessage(unreachable, proxy, peer, where), { cause: error });
  }
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new CliError(exitCode, `${peer} at ${where} did not answer within ${formatTimeout(timeoutMs)}: check the address and your network, or raise --http-timeout`, { cause: error });
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (code === 'ECONNREFUSED') return new CliError(exitCode, `${peer} at ${where} refused the connection: is it running and is the address right?`, { cause: error });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new CliError(exitCode, `cannot resolve the host of ${peer} at ${where}: check the address`, { cause: error });
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new CliError(exitCode, `TLS certificate of ${peer} at ${where} is not trusted (${code}): ${trustHint} rather than disabling verification`, { cause: error });
  }
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new CliError(exitCode, `${peer} at ${where} dropped the connection (${code}): try again; if it persists, check the server`, { cause: error });
  }
  return new CliError(exitCode, `cannot reach ${peer} at ${where}: ${describeError(cause ?? error)}`, { cause: error });
}

function proxyFor(url: string): string | undefined {
  try {
    return proxyForUrl(new URL(url), process.env);
  } catch {
    return undefined;
  }
}
