/**
 * Which proxy a request goes through, from HTTPS_PROXY / HTTP_PROXY / NO_PROXY, by the rules of
 * undici's EnvHttpProxyAgent (the client for the identity provider and direct TokenRequests), so
 * the Kubernetes API client decides exactly alike:
 * - lower-case names win over upper-case ones (https_proxy before HTTPS_PROXY);
 * - an https URL uses HTTPS_PROXY, else HTTP_PROXY; an http URL uses HTTP_PROXY;
 * - NO_PROXY is a comma- or space-separated list of host names, `.suffix` / `*.suffix` domains
 *   (the domain itself and every sub-domain) and `host:port`; `*` turns proxies off. Entries
 *   match the URL's host as written: `127.0.0.1` does not cover `localhost`, and there are no
 *   CIDR ranges;
 * - loopback is NOT bypassed implicitly (as curl; kubectl's Go client always bypasses it): list
 *   `localhost,127.0.0.1,::1` in NO_PROXY to keep local traffic off the proxy.
 */
export type ProxyEnv = Readonly<Record<string, string | undefined>>;

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/** The proxy URL (as configured, credentials included) for `url`, or undefined for a direct connection. */
export function proxyForUrl(url: URL, env: ProxyEnv): string | undefined {
  const httpProxy = env['http_proxy'] ?? env['HTTP_PROXY'];
  const httpsProxy = env['https_proxy'] ?? env['HTTPS_PROXY'];
  const proxy = url.protocol === 'https:' ? httpsProxy || httpProxy : url.protocol === 'http:' ? httpProxy : undefined;
  if (!proxy) return undefined;
  // brackets of an IPv6 literal kept, as undici compares them
  const host = url.host.replace(/:\d*$/, '').toLowerCase();
  const port = Number.parseInt(url.port, 10) || DEFAULT_PORTS[url.protocol] || 0;
  return bypassed(host, port, env['no_proxy'] ?? env['NO_PROXY'] ?? '') ? undefined : proxy;
}

/** Whether NO_PROXY exempts host:port. */
export function bypassed(host: string, port: number, noProxy: string): boolean {
  if (noProxy === '*') return true;
  for (const raw of noProxy.split(/[,\s]/)) {
    if (!raw) continue;
    const withPort = /^(.+):(\d+)$/.exec(raw);
    const entryHost = (withPort ? (withPort[1] as string) : raw).replace(/^\*?\./, '').toLowerCase();
    const entryPort = withPort ? Number.parseInt(withPort[2] as string, 10) : 0;
    if (entryPort && entryPort !== port) continue;
    if (host === entryHost || host.endsWith(`.${entryHost}`)) return true;
  }
  return false;
}

/** The proxy URL without credentials, for messages. */
export function describeProxy(proxy: string): string {
  try {
    const url = new URL(proxy);
    return `${url.protocol}//${url.host}`;
  } catch {
    return 'the configured proxy';
  }
}

/** Errors and their causes, outermost first (bounded). */
function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 6; depth++) {
    out.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return out;
}

const TUNNEL_STATUS = [
  /Proxy response \((\d{3})\) !== 200 when HTTP Tunneling/, // undici ProxyAgent
  /Bad response: (\d{3})\b/, // hpagent (the Kubernetes API client)
];

/** The status a proxy answered a CONNECT with, when that is why the request failed. */
export function proxyTunnelStatus(error: unknown): number | undefined {
  for (const link of chain(error)) {
    const message = link instanceof Error ? link.message : '';
    for (const pattern of TUNNEL_STATUS) {
      const match = pattern.exec(message);
      if (match?.[1]) return Number(match[1]);
    }
  }
  return undefined;
}

/** Whether the failure was reaching the proxy itself (refused, unknown host), not the peer. */
export function proxyUnreachable(error: unknown, proxy: string): string | undefined {
  let url: URL;
  try {
    url = new URL(proxy);
  } catch {
    return undefined;
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  for (const link of chain(error)) {
    const e = link as { code?: unknown; port?: unknown; hostname?: unknown; address?: unknown };
    if (e.code === 'ECONNREFUSED' && e.port === port) return 'ECONNREFUSED';
    if ((e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') && e.hostname === host) return e.code;
  }
  return undefined;
}

/** One line for a proxy that refused the tunnel or wants credentials. */
export function proxyRefusalMessage(status: number, proxy: string, peer: string, where: string): string {
  const name = describeProxy(proxy);
  if (status === 407) {
    let hasCredentials = false;
    try {
      hasCredentials = new URL(proxy).username !== '';
    } catch {
      // an unparsable proxy URL has no credentials we could have sent
    }
    return hasCredentials
      ? `proxy ${name} rejected the credentials in the proxy URL (407 Proxy Authentication Required) for ${peer} at ${where}: check the user and password in HTTPS_PROXY`
      : `proxy ${name} wants credentials (407 Proxy Authentication Required) for ${peer} at ${where}: put them in the proxy URL, e.g. HTTPS_PROXY=http://user:password@host:port`;
  }
  if (status >= 500) return `proxy ${name} could not reach ${peer} at ${where} (${status}): check the address, and that the proxy can reach it (or list the host in NO_PROXY if it is reachable directly)`;
  return `proxy ${name} refused the connection to ${peer} at ${where} (${status}): ask for it to be allowed, or list the host in NO_PROXY if it is reachable directly`;
}

export function proxyUnreachableMessage(code: string, proxy: string, peer: string, where: string): string {
  return `cannot reach proxy ${describeProxy(proxy)} (${code}) for ${peer} at ${where}: check HTTPS_PROXY / HTTP_PROXY, or list the host in NO_PROXY if it is reachable directly`;
}
