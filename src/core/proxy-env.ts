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
