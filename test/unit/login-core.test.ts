import { describe, expect, it } from 'vitest';
import { browserArgv, splitCommandLine } from '../../src/core/command-line.js';
import { decodeJwtClaims, describeExpiry, summarizeClaims } from '../../src/core/id-token-claims.js';
import { decideCallback, planRedirect, redirectUriFor, sanitizeProviderText } from '../../src/core/oauth-callback.js';
import type { ClusterEntry } from '../../src/core/cluster-entry.js';
import { planSignIns } from '../../src/core/clusters/index.js';
import { usernameFor } from '../../src/usecases/login.js';
import { renderCallbackPage } from '../../src/ui/callback-page.js';
import { ExitCode } from '../../src/errors.js';
import { cliErrorOf } from '../support/cli-error.js';

const failure = cliErrorOf;

describe('loopback redirect plan', () => {
  it('defaults to 127.0.0.1, any free port, /callback; --listen-port fixes the port', () => {
    const plan = planRedirect({});
    expect(plan).toEqual({ hosts: ['127.0.0.1'], port: 0, path: '/callback', uriHost: '127.0.0.1' });
    expect(redirectUriFor(plan, 5555)).toBe('http://127.0.0.1:5555/callback');
    expect(planRedirect({ listenPort: 8000 }).port).toBe(8000);
  });
  it('follows a catalog redirect-uri exactly, and listens on both loopbacks for localhost', () => {
    expect(planRedirect({ redirectUri: 'http://[::1]:8000/cb' })).toEqual({ hosts: ['::1'], port: 8000, path: '/cb', uriHost: '[::1]' });
    expect(planRedirect({ redirectUri: 'http://localhost:8000/oidc' }).hosts).toEqual(['127.0.0.1', '::1']);
  });
  it('refuses a conflicting --listen-port and a non-loopback redirect', () => {
    expect(failure(() => planRedirect({ redirectUri: 'http://127.0.0.1:8000/cb', listenPort: 9000 })).exitCode).toBe(ExitCode.USAGE);
    expect(failure(() => planRedirect({ redirectUri: 'https://example.com:8000/cb' })).exitCode).toBe(ExitCode.USAGE);
    expect(failure(() => planRedirect({ listenPort: 70000 })).exitCode).toBe(ExitCode.USAGE);
  });
});

describe('callback decisions', () => {
  const expected = { path: '/callback', state: 'S', issuer: 'https://dex/dex' };
  const decide = (query: string, method = 'GET', pathname = '/callback') => decideCallback({ method, pathname, query: new URLSearchParams(query) }, expected);
  it('accepts our state with a code, with or without the right iss', () => {
    expect(decide('code=c&state=S')).toEqual({ kind: 'code' });
    expect(decide('code=c&state=S&iss=https%3A%2F%2Fdex%2Fdex')).toEqual({ kind: 'code' });
  });
  it('answers other paths 404 and other methods 405', () => {
    expect(decide('', 'GET', '/favicon.ico')).toEqual({ kind: 'not-found' });
    expect(decide('code=c&state=S', 'POST')).toEqual({ kind: 'method-not-allowed' });
  });
  it('refuses missing, wrong or repeated state without ending the login, even with error=', () => {
    expect(decide('code=c').kind).toBe('bad-request');
    expect(decide('code=c&state=T').kind).toBe('bad-request');
    expect(decide('code=c&state=S&state=S').kind).toBe('bad-request');
    expect(decide('error=access_denied&state=T').kind).toBe('bad-request');
    expect(decide('state=S').kind).toBe('bad-request');
  });
  it('ends the login on error= with our state, and on a foreign iss', () => {
    expect(decide('error=access_denied&error_description=no&state=S')).toEqual({ kind: 'denied', error: 'access_denied', description: 'no' });
    expect(decide('code=c&state=S&iss=https%3A%2F%2Fevil')).toEqual({ kind: 'wrong-issuer', issuer: 'https://evil' });
  });
  it('makes provider text safe for one terminal line', () => {
    expect(sanitizeProviderText('a\nb\u001b[31m  c')).toBe('a b [31m c');
    expect(sanitizeProviderText('x'.repeat(300), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('browser command lines', () => {
  it('splits words like a shell without running one', () => {
    expect(splitCommandLine('node scripts/headless-browser.mjs')).toEqual(['node', 'scripts/headless-browser.mjs']);
    expect(splitCommandLine(`"/opt/My Browser/bin" --new-window 'a b' c\\ d`)).toEqual(['/opt/My Browser/bin', '--new-window', 'a b', 'c d']);
    expect(splitCommandLine('echo $HOME; rm -rf /')).toEqual(['echo', '$HOME;', 'rm', '-rf', '/']);
    expect(splitCommandLine(`x ""`)).toEqual(['x', '']);
    expect(failure(() => splitCommandLine('open "unclosed')).exitCode).toBe(ExitCode.USAGE);
    expect(failure(() => splitCommandLine('   ')).exitCode).toBe(ExitCode.USAGE);
  });
  it('appends the URL, or puts it where %s is', () => {
    expect(browserArgv(['firefox', '--new-tab'], 'https://u')).toEqual(['firefox', '--new-tab', 'https://u']);
    expect(browserArgv(['w3m', '%s', '-dump'], 'https://u')).toEqual(['w3m', 'https://u', '-dump']);
  });
});

describe('ID token claims', () => {
  const token = ['e30', Buffer.from(JSON.stringify({ iss: 'https://i', sub: 's', email: 'e@x', groups: ['a', 'b'], exp: 1000, upn: 'u' })).toString('base64url'), 'sig'].join('.');
  it('decodes and summarizes with the configured claims', () => {
    expect(summarizeClaims(decodeJwtClaims(token))).toEqual({ issuer: 'https://i', subject: 's', email: 'e@x', username: 'e@x', groups: ['a', 'b'], expiresAt: 1000 });
    expect(summarizeClaims(decodeJwtClaims(token), 'upn', 'none').username).toBe('u');
    expect(summarizeClaims(decodeJwtClaims(token), 'upn', 'none').groups).toEqual([]);
  });
  it('refuses what is not a JWT', () => {
    expect(failure(() => decodeJwtClaims('opaque')).exitCode).toBe(ExitCode.KUBECONFIG);
  });
  it('describes expiry for people', () => {
    expect(describeExpiry(1000 + 3600 + 120, 1000)).toBe('in 1h2m');
    expect(describeExpiry(1000, 1000 + 180)).toBe('3m ago');
  });
});

describe('sign-in grouping and usernames', () => {
  const entry = (name: string, issuerUrl: string, clientId: string, extra: Partial<ClusterEntry> = {}): ClusterEntry => ({
    name, server: 'https://s', issuerUrl, clientId, extraScopes: [], usernameClaim: 'email', groupsClaim: 'groups', ...extra,
  });
  it('signs in once per distinct issuer and client, in order', () => {
    // login's grouping without --trusted-client (core/clusters/sign-in.ts)
    const groups = planSignIns([entry('a', 'https://i1', 'c'), entry('b', 'https://i2', 'c'), entry('c', 'https://i1', 'c'), entry('d', 'https://i1', 'other')]);
    expect(groups.map((g) => g.entries.map((e) => e.name))).toEqual([['a', 'c'], ['b'], ['d']]);
  });
  it('takes the username claim, and says what to fix when it is missing', () => {
    expect(usernameFor(entry('a', 'https://i', 'c'), { email: 'x@y' })).toBe('x@y');
    expect(usernameFor(entry('a', 'https://i', 'c', { usernameClaim: 'sub' }), { sub: 'abc' })).toBe('abc');
    const e = failure(() => usernameFor(entry('a', 'https://i', 'c'), { sub: 'abc' }));
    expect(e.exitCode).toBe(ExitCode.PROVIDER);
    expect(e.message).toMatch(/no 'email' claim \(username-claim of cluster 'a'\)/);
  });
});

describe('callback page', () => {
  it('is self-contained, accessible, and escapes what it shows', () => {
    const html = renderCallbackPage({ kind: 'success', who: '<script>alert(1)</script>', clusters: ['prod'] });
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).toMatch(/<html lang="en">/);
    expect(html).toMatch(/role="status"/);
    expect(html).not.toMatch(/(src|href)=|url\(|@import/);
    expect(renderCallbackPage({ kind: 'error', title: 'Sign-in refused', detail: 'x' })).toMatch(/role="alert"/);
  });
});
