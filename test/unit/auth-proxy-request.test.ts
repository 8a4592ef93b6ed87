import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { setOidcTokens } from '../../src/core/kubeconfig-merge.js';
import { auditRecord, authProviderTokenDue, browserVerdict, identityFromClaims, impersonationHeaders, isLoopbackAddress, kubeStatus, readOnlyVerdict, requestInfo, stripClientHeaders, tokenSchedule } from '../../src/core/proxy-request.js';

describe('requestInfo: verb and namespace as Kubernetes reads them', () => {
  it.each([
    ['GET', '/api/v1/namespaces/default/pods', 'list', 'default', 'pods', ''],
    ['GET', '/api/v1/namespaces/default/pods/web', 'get', 'default', 'pods', 'web'],
    ['GET', '/api/v1/namespaces/default/pods?watch=true&resourceVersion=5', 'watch', 'default', 'pods', ''],
    ['GET', '/api/v1/watch/namespaces/kube-system/configmaps', 'watch', 'kube-system', 'configmaps', ''],
    ['POST', '/apis/apps/v1/namespaces/team-a/deployments', 'create', 'team-a', 'deployments', ''],
    ['PUT', '/apis/apps/v1/namespaces/team-a/deployments/web/scale', 'update', 'team-a', 'deployments', 'web'],
    ['PATCH', '/api/v1/nodes/n1', 'patch', '', 'nodes', 'n1'],
    ['DELETE', '/api/v1/namespaces/default/configmaps/x', 'delete', 'default', 'configmaps', 'x'],
    ['DELETE', '/api/v1/namespaces/default/configmaps', 'deletecollection', 'default', 'configmaps', ''],
    ['GET', '/api/v1/namespaces/prod', 'get', 'prod', 'namespaces', 'prod'],
    ['PUT', '/api/v1/namespaces/prod/finalize', 'update', 'prod', 'namespaces', 'prod'],
    ['GET', '/api/v1/namespaces', 'list', '', 'namespaces', ''],
    ['POST', '/api/v1/namespaces/default/pods/web/exec?command=sh', 'create', 'default', 'pods', 'web'],
  ])('%s %s → %s in %s', (method, url, verb, namespace, resource, name) => {
    const info = requestInfo(method, url);
    expect(info).toMatchObject({ verb, namespace, resource, name, resourceRequest: true });
    if (url.includes('finalize')) expect(info.subresource).toBe('finalize');
  });

  it('non-resource paths: the lowercase method, no namespace', () => {
    expect(requestInfo('GET', '/healthz')).toMatchObject({ verb: 'get', namespace: '', resourceRequest: false });
    expect(requestInfo('GET', '/apis')).toMatchObject({ resourceRequest: false });
    expect(requestInfo('POST', '/version')).toMatchObject({ verb: 'post', resourceRequest: false });
    expect(requestInfo('GET', '/apis/apps/v1')).toMatchObject({ resourceRequest: false });
  });
});

describe('readOnlyVerdict', () => {
  it('lets GET, HEAD and OPTIONS through, any case', () => {
    for (const m of ['GET', 'head', 'Options']) expect(readOnlyVerdict(m, false)).toEqual({ allowed: true });
  });
  it('refuses every other method and every upgrade, naming it', () => {
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT']) {
      expect(readOnlyVerdict(m, false)).toEqual({ allowed: false, message: `k8s-auth proxy is read-only: ${m} is refused (only GET, HEAD and OPTIONS pass)` });
    }
    expect(readOnlyVerdict('GET', true)).toMatchObject({ allowed: false, message: expect.stringContaining('GET with an upgrade') });
  });
});

describe('headers', () => {
  const client = { Authorization: 'Bearer x', 'impersonate-user': 'system:admin', 'Impersonate-Group': ['system:masters'], 'impersonate-extra-scopes': 'a', 'Impersonate-Uid': '1', accept: 'application/json', 'proxy-authorization': 'Basic y', 'x-other': undefined };
  it('serve mode drops the credential and every Impersonate-* header, whatever its case', () => {
    expect(stripClientHeaders(client, { impersonation: true })).toEqual({ accept: 'application/json' });
  });
  it('local mode drops only the credential (the user may impersonate what RBAC lets them)', () => {
    expect(stripClientHeaders(client, { impersonation: false })).toEqual({ 'impersonate-user': 'system:admin', 'Impersonate-Group': ['system:masters'], 'impersonate-extra-scopes': 'a', 'Impersonate-Uid': '1', accept: 'application/json' });
  });
  it('one Impersonate-Group per group, none for no groups', () => {
    expect(impersonationHeaders({ user: 'oidc:jane', groups: ['oidc:a', 'oidc:b'] })).toEqual({ 'Impersonate-User': 'oidc:jane', 'Impersonate-Group': ['oidc:a', 'oidc:b'] });
    expect(impersonationHeaders({ user: 'u', groups: [] })).toEqual({ 'Impersonate-User': 'u' });
  });
});

describe('identityFromClaims', () => {
  const mapping = { usernameClaim: 'email', usernamePrefix: 'oidc:', groupsClaim: 'groups', groupsPrefix: 'g:' };
  it('prefixes the user and each group; a string group is one group', () => {
    expect(identityFromClaims({ email: 'jane@example.com', groups: ['dev', 7, 'ops', ''] }, mapping)).toEqual({ ok: true, identity: { user: 'oidc:jane@example.com', groups: ['g:dev', 'g:ops'] } });
    expect(identityFromClaims({ email: 'j@x', groups: 'dev' }, mapping)).toEqual({ ok: true, identity: { user: 'oidc:j@x', groups: ['g:dev'] } });
    expect(identityFromClaims({ email: 'j@x' }, mapping)).toEqual({ ok: true, identity: { user: 'oidc:j@x', groups: [] } });
  });
  it('refuses a token without the username claim', () => {
    expect(identityFromClaims({ sub: 'abc' }, mapping)).toEqual({ ok: false, problem: "the ID token has no 'email' claim (the username claim)" });
  });
});

describe('the rest', () => {
  it('loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost']) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', '128.0.0.1', 'example.com']) expect(isLoopbackAddress(a), a).toBe(false);
  });
  it('a Status body kubectl prints', () => {
    expect(kubeStatus(403, 'no')).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'no', reason: 'Forbidden', code: 403 });
    expect(kubeStatus(401, 'who').reason).toBe('Unauthorized');
  });
  it('an audit record: path without its query, verb and namespace from the path', () => {
    expect(auditRecord({ timeMs: Date.UTC(2026, 0, 2, 3, 4, 5), identity: { user: 'u', groups: ['g'] }, method: 'get', url: '/api/v1/namespaces/ns/pods?watch=1&labelSelector=a%3Db', status: 200, durationMs: 12.34567, bytes: 99 })).toEqual({
      time: '2026-01-02T03:04:05.000Z', user: 'u', groups: ['g'], verb: 'watch', method: 'GET', path: '/api/v1/namespaces/ns/pods', namespace: 'ns', status: 200, duration_ms: 12.346, bytes: 99,
    });
    expect(auditRecord({ timeMs: 0, identity: undefined, method: 'POST', url: '/api', status: 401, durationMs: 1, bytes: 0 })).toMatchObject({ user: '', groups: [], verb: 'post' });
  });
  it('renewal at 80 % of the lifetime; sent until 5 s (at most a tenth of the lifetime) before expiry; never for a static token', () => {
    expect(tokenSchedule(0, 3_600_000)).toEqual({ renewAtMs: 2_880_000, usableUntilMs: 3_595_000 });
    expect(tokenSchedule(1_000, 11_000)).toEqual({ renewAtMs: 9_000, usableUntilMs: 10_000 });
    expect(tokenSchedule(0, undefined)).toBeUndefined();
  });
});

describe('authProviderTokenDue: when an auth-provider oidc id-token is renewed with its refresh token', () => {
  it('missing or expired: due; in the last 20 % of its lifetime (never less than 10 s): due; else not', () => {
    expect(authProviderTokenDue(undefined, undefined, 0)).toBe(true);
    expect(authProviderTokenDue(1_000, 0, 2_000)).toBe(true);
    // one hour from iat 0: due from 48 minutes on
    expect(authProviderTokenDue(3_600_000, 0, 2_879_000)).toBe(false);
    expect(authProviderTokenDue(3_600_000, 0, 2_880_000)).toBe(true);
    // no iat: only kubectl's 10 s margin
    expect(authProviderTokenDue(3_600_000, undefined, 3_589_000)).toBe(false);
    expect(authProviderTokenDue(3_600_000, undefined, 3_590_000)).toBe(true);
    // 20 s lifetime: 20 % is 4 s, so kubectl's 10 s margin decides
    expect(authProviderTokenDue(20_000, 0, 9_999)).toBe(false);
    expect(authProviderTokenDue(20_000, 0, 10_000)).toBe(true);
  });
});

describe('setOidcTokens: the renewed tokens go into the auth-provider config, unless someone renewed meanwhile', () => {
  const text = 'users:\n- name: jane\n  user:\n    auth-provider:\n      name: oidc\n      config:\n        idp-issuer-url: https://idp.example\n        client-id: k\n        id-token: old-id\n        refresh-token: old-refresh\n';
  it('writes both while the file holds the refresh token used; leaves a newer one alone', () => {
    const doc = parseDocument(text);
    expect(setOidcTokens(doc, 'jane', { idToken: 'new-id', refreshToken: 'new-refresh' }, 'old-refresh')).toBe(true);
    expect(doc.toJS().users[0].user['auth-provider'].config).toEqual({ 'idp-issuer-url': 'https://idp.example', 'client-id': 'k', 'id-token': 'new-id', 'refresh-token': 'new-refresh' });
    expect(setOidcTokens(doc, 'jane', { idToken: 'late-id', refreshToken: 'late-refresh' }, 'old-refresh')).toBe(false);
    expect(doc.getIn(['users', 0, 'user', 'auth-provider', 'config', 'id-token'])).toBe('new-id');
    expect(setOidcTokens(doc, 'nobody', { idToken: 'x', refreshToken: 'y' }, 'new-refresh')).toBe(false);
  });
});

describe('cachedTokenSource: one token in memory, renewed ahead of expiry without a request waiting', async () => {
  const { cachedTokenSource } = await import('../../src/adapters/proxy-credentials.js');
  it('fetches once, renews in the background at 80 %, and at once after a 401', async () => {
    let now = 0;
    let fetches = 0;
    let release: (() => void) | undefined;
    const source = cachedTokenSource('exec', async () => {
      fetches += 1;
      const n = fetches;
      if (n === 2) await new Promise<void>((r) => (release = r));
      return { token: `t${n}`, expiresAtMs: now + 600_000 };
    }, () => now);
    expect(await Promise.all([source.current(), source.current()])).toEqual(['t1', 't1']);
    expect(fetches).toBe(1);
    now = 500_000; // past 80 % of ten minutes: renewal starts, the old token still answers
    expect(await source.current()).toBe('t1');
    expect(await source.current()).toBe('t1');
    expect(fetches).toBe(2);
    release?.();
    await new Promise((r) => setTimeout(r, 0));
    expect(await source.current()).toBe('t2');
    source.rejected('t2');
    expect(await source.current()).toBe('t3');
    now = 10_000_000; // expired: wait for a new one
    expect(await source.current()).toBe('t4');
  });
});

describe('browserVerdict: a web page may not borrow the local proxy\'s credential', () => {
  it('passes loopback Hosts, with no Origin or a loopback one', () => {
    for (const host of ['127.0.0.1:8001', 'localhost:8001', '[::1]:8001', 'localhost']) expect(browserVerdict(host, undefined), host).toEqual({ allowed: true });
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:8001', 'http://[::1]:9090']) expect(browserVerdict('127.0.0.1:8001', origin), origin).toEqual({ allowed: true });
  });
  it('refuses another Host (DNS rebinding) and a page elsewhere (cross-site request or WebSocket)', () => {
    expect(browserVerdict('evil.example:8001', undefined)).toEqual({ allowed: false, message: "k8s-auth proxy answers only requests for a loopback host (127.0.0.1, localhost, [::1]), not Host 'evil.example:8001'" });
    expect(browserVerdict(undefined, undefined).allowed).toBe(false);
    expect(browserVerdict('127.0.0.1:8001', 'https://evil.example')).toEqual({ allowed: false, message: 'k8s-auth proxy refuses requests from web pages outside this machine (Origin https://evil.example)' });
    expect(browserVerdict('127.0.0.1:8001', 'null').allowed).toBe(false);
    expect(browserVerdict('127.0.0.1:8001', 'http://127.0.0.1.evil.example').allowed).toBe(false);
  });
});
