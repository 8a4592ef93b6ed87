import { describe, expect, it } from 'vitest';
import { bypassed, describeProxy, proxyForUrl } from '../../src/core/proxy-env.js';

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
});
