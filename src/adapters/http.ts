import { readFileSync } from 'node:fs';
import type { RequestInit as UndiciRequestInit } from 'undici';
import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import { fetch as undiciFetch } from 'undici/lib/web/fetch/index.js';
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
  /** Whole-request timeout in milliseconds. */
  timeoutMs?: number;
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

export function readCaFiles(paths: readonly string[]): string[] {
  return paths.map((path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new CliError(ExitCode.USAGE, `cannot read CA file ${path}: ${describeError(error)}`);
    }
  });
}

export function decodeBase64Pem(data: string | undefined): string | undefined {
  if (!data) return undefined;
  return Buffer.from(data, 'base64').toString('utf8');
}

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

export function createFetch(options: HttpClientOptions = {}): FetchFunction {
  const extra = [...(options.caPems ?? []), ...readCaFiles(options.caFiles ?? [])];
  const insecure = options.insecureSkipTlsVerify === true;
  if (insecure) warn(`TLS verification is OFF for the ${options.peer ?? 'server'} (you asked for it); anyone on the path can read and alter this traffic`);
  // One TLS context per client: given a `ca` list, every new connection would parse all the
  // system roots again (~20 ms), e.g. the token exchange after the user took a while to sign in.
  const secureContext = extra.length > 0 ? secureContextWithExtraCas(extra) : undefined;
  const tls = { ...(secureContext ? { secureContext } : {}), rejectUnauthorized: !insecure };
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const dispatcher = new EnvHttpProxyAgent({
    connect: tls,
    requestTls: tls,
    connectTimeout: Math.min(timeoutMs, 10_000),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const peer = options.peer ?? 'server';
  const exitCode = options.exitCode ?? ExitCode.INTERNAL;
  const trustHint = options.trustHint ?? TRUST_HINTS.provider;
  const proxied = proxyVariablesSet();

  return async (input, init) => {
    if (proxied) await loadProxySupport();
    const url = typeof input === 'string' ? input : input.toString();
    const signal = init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    debug(`${init?.method ?? 'GET'} ${stripQuery(url)}`);
    try {
      // undici's own fetch, so the dispatcher is the one we built whatever Node bundles.
      const response = await undiciFetch(url, { ...(init as UndiciRequestInit), signal, dispatcher });
      debug(`${response.status} from ${stripQuery(url)}`);
      return response as unknown as Response;
    } catch (error) {
      throw transportError(error, peer, url, timeoutMs, exitCode, trustHint);
    }
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
