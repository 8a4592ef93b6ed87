import { describe, expect, it } from 'vitest';
import { bypassed, describeProxy, proxyForUrl, proxyRefusalMessage, proxyTunnelStatus, proxyUnreachable, proxyUnreachableMessage } from '../../src/core/proxy-env.js';

const P = 'http://proxy.example:3128';
const at = (url: string, env: Record<string, string | undefined>) => proxyForUrl(new URL(url), env);

describe('proxyForUrl (undici EnvHttpProxyAgent rules)', () => {
  it('https peers use HTTPS_PROXY, else HTTP_PROXY; http peers only HTTP_PROXY', () => {
    expect(at('https://api.example:6443', { HTTPS_PROXY: P })).toBe(P);
    expect(at('https://api.example:6443', { HTTP_PROXY: P })).toBe(P);
    expect(at('http://api.example:8080', { HTTPS_PROXY: P })).toBeUndefined();
    expect(at('http://api.example:8080', { HTTP_PROXY: P })).toBe(P);
    expect(at('https://api.example', {})).toBeUndefined();
  });

  it('lower-case names win, even when empty', () => {
    expect(at('https://a.example', { https_proxy: 'http://lower:1', HTTPS_PROXY: P })).toBe('http://lower:1');
    expect(at('https://a.example', { no_proxy: '', NO_PROXY: 'a.example', HTTPS_PROXY: P })).toBe(P);
  });

  it('does not bypass loopback unless NO_PROXY lists it, by the name used', () => {
    expect(at('https://127.0.0.1:6443', { HTTPS_PROXY: P })).toBe(P);
    expect(at('https://localhost:6443', { HTTPS_PROXY: P })).toBe(P);
    expect(at('https://127.0.0.1:6443', { HTTPS_PROXY: P, NO_PROXY: '127.0.0.1' })).toBeUndefined();
    expect(at('https://localhost:6443', { HTTPS_PROXY: P, NO_PROXY: '127.0.0.1' })).toBe(P);
    expect(at('https://[::1]:6443', { HTTPS_PROXY: P, NO_PROXY: 'localhost,127.0.0.1,[::1]' })).toBeUndefined();
  });

  it('NO_PROXY: names, .suffix and *.suffix domains, host:port, *', () => {
    expect(bypassed('api.corp.example', 443, '.corp.example')).toBe(true);
    expect(bypassed('corp.example', 443, '.corp.example')).toBe(true);
    expect(bypassed('api.corp.example', 443, '*.corp.example')).toBe(true);
    expect(bypassed('api.corp.example', 443, 'corp.example')).toBe(true);
    expect(bypassed('notcorp.example', 443, 'corp.example')).toBe(false);
    expect(bypassed('api.example', 6443, 'api.example:6443')).toBe(true);
    expect(bypassed('api.example', 443, 'api.example:6443')).toBe(false);
    expect(at('https://API.example', { HTTPS_PROXY: P, NO_PROXY: 'other.example api.EXAMPLE' })).toBeUndefined();
    expect(bypassed('anything', 1, '*')).toBe(true);
    // no CIDR ranges (as undici)
    expect(bypassed('10.1.2.3', 443, '10.0.0.0/8')).toBe(false);
  });

  it('describes a proxy without its credentials', () => {
    expect(describeProxy('http://jane:secret@proxy.example:3128')).toBe('http://proxy.example:3128');
    expect(describeProxy('not a url')).toBe('the configured proxy');
  });

  it('finds the CONNECT status in undici\'s and hpagent\'s errors, anywhere in the cause chain', () => {
    const undici = new TypeError('fetch failed', { cause: new Error('Proxy response (403) !== 200 when HTTP Tunneling') });
    expect(proxyTunnelStatus(undici)).toBe(403);
    const hpagent = new Error('request to https://127.0.0.1:6443 failed: Bad response: 407', { cause: new Error('Bad response: 407') });
    expect(proxyTunnelStatus(hpagent)).toBe(407);
    expect(proxyTunnelStatus(new Error('connect ECONNREFUSED 127.0.0.1:6443'))).toBeUndefined();
    expect(proxyTunnelStatus(undefined)).toBeUndefined();
  });

  it('tells a proxy that is down from a peer that is down by the port or host', () => {
    const refused = (port: number) => new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', port }) });
    expect(proxyUnreachable(refused(3128), 'http://proxy.example:3128')).toBe('ECONNREFUSED');
    expect(proxyUnreachable(refused(6443), 'http://proxy.example:3128')).toBeUndefined();
    expect(proxyUnreachable(refused(80), 'http://proxy.example')).toBe('ECONNREFUSED');
    const unknown = Object.assign(new Error('getaddrinfo ENOTFOUND proxy.example'), { code: 'ENOTFOUND', hostname: 'proxy.example' });
    expect(proxyUnreachable(unknown, 'http://proxy.example:3128')).toBe('ENOTFOUND');
    expect(proxyUnreachable(unknown, 'not a url')).toBeUndefined();
  });

  it('words refusals by status, never with the credentials', () => {
    const withCredentials = 'http://jane:secret@proxy.example:3128';
    expect(proxyRefusalMessage(403, withCredentials, 'Vault', 'https://vault:8200')).toBe(
      'proxy http://proxy.example:3128 refused the connection to Vault at https://vault:8200 (403): ask for it to be allowed, or list the host in NO_PROXY if it is reachable directly',
    );
    expect(proxyRefusalMessage(407, withCredentials, 'Vault', 'https://vault:8200')).toMatch(/^proxy http:\/\/proxy\.example:3128 rejected the credentials in the proxy URL \(407/);
    expect(proxyRefusalMessage(407, P, 'Vault', 'https://vault:8200')).toMatch(/wants credentials \(407 Proxy Authentication Required\)/);
    expect(proxyRefusalMessage(502, P, 'identity provider', 'https://idp')).toMatch(/^proxy http:\/\/proxy\.example:3128 could not reach identity provider at https:\/\/idp \(502\)/);
    for (const status of [403, 407, 502]) expect(proxyRefusalMessage(status, withCredentials, 'x', 'y')).not.toContain('secret');
    expect(proxyUnreachableMessage('ECONNREFUSED', withCredentials, 'Vault', 'https://vault:8200')).not.toContain('secret');
  });
});
