// `k8s-auth proxy serve` (issue 14, point 2) with ID tokens the real provider will not issue:
// the oidc-provider test provider (test/support/oidc-provider.ts, a real OpenID Provider) mints
// tokens with email_verified false, another audience, an expiry in the past. The upstream is an
// UPGRADE-SPEAKING TEST SERVER (a Node HTTP server, not Kubernetes) recording exactly which
// headers arrive, so the test sees what Kubernetes would be told: the upstream credential, one
// Impersonate-User, one Impersonate-Group per group, and none of the client's Impersonate-*
// headers, on plain requests and on upgrades. Dex and the real API server are in
// test/peers/kubernetes/auth-proxy.test.ts.
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { runCli } from '../support/run-cli.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { createCa, issueCert, removeCa, type CertificateAuthority } from '../support/pki.js';
import { startProxyCli, type RunningProxyCli } from './auth-proxy-harness.js';

const UPSTREAM_TOKEN = 'upstream-impersonator-token-5c1d';

interface Seen {
  url: string;
  headers: Record<string, string[]>;
  upgrade: boolean;
}

describe('k8s-auth proxy serve: verified ID tokens become Impersonate-* headers, the client\'s never pass (upgrade-speaking test server, not Kubernetes)', () => {
  let dir: TempDir;
  let provider: TestProvider;
  let ca: CertificateAuthority;
  let upstream: Server;
  let serve: RunningProxyCli;
  let tls: { certFile: string; keyFile: string };
  let kubeconfig: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    dir = tempDir('k8s-auth-proxy-serve-');
    [provider, ca] = await Promise.all([startTestProvider(), createCa('k8s-auth proxy serve CA')]);
    upstream = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headersDistinct as Record<string, string[]>, upgrade: false });
      req.resume();
      const body = req.url?.startsWith('/apis/authentication.k8s.io/v1/selfsubjectreviews') ? { status: { userInfo: { username: 'impersonator', groups: [] } } } : { ok: true };
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    upstream.on('upgrade', (req, socket) => {
      seen.push({ url: req.url ?? '', headers: req.headersDistinct as Record<string, string[]>, upgrade: true });
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: SPDY/3.1\r\nConnection: Upgrade\r\n\r\n');
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    kubeconfig = dir.file('upstream.kubeconfig');
    writeFileSync(kubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'up',
      clusters: [{ name: 'up', cluster: { server: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } }],
      users: [{ name: 'impersonator', user: { token: UPSTREAM_TOKEN } }],
      contexts: [{ name: 'up', context: { cluster: 'up', user: 'impersonator' } }],
    }));
    tls = await issueCert(ca, { commonName: '127.0.0.1', sans: ['IP:127.0.0.1'], kind: 'server' });
    serve = await startProxyCli([
      'serve', '--issuer', provider.issuer, '--issuer-ca', provider.caFile, '--client-id', provider.clientId,
      '--upstream-kubeconfig', kubeconfig, '--tls-cert', tls.certFile, '--tls-key', tls.keyFile, '--port', '0',
      '--username-prefix', 'oidc:', '--groups-prefix', 'oidc:', '--audit-log', '-',
    ], cleanEnv({ HOME: dir.path }));
  });

  afterAll(async () => {
    await serve?.stop();
    await new Promise((resolve) => upstream?.close(resolve));
    upstream?.closeAllConnections();
    await provider?.close();
    if (ca) await removeCa(ca);
    dir?.remove();
  });

  const get = (path: string, headers: Record<string, string | string[]>): Promise<{ status: number; body: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: serve.port, path, ca: ca.certPem, agent: false, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      });
      req.on('error', reject);
      req.end();
    });

  const CLIENT_IMPERSONATION = { 'Impersonate-User': 'system:admin', 'Impersonate-Group': ['system:masters', 'admins'], 'impersonate-uid': '0', 'Impersonate-Extra-Scopes': 'all' };

  it('a valid token: the upstream gets its own credential, Impersonate-User and one Impersonate-Group per group, and none of the client\'s', async () => {
    const token = await provider.mintIdToken({ email: 'jane@example.com', groups: ['developers', 'ops'] });
    const r = await get('/api/v1/namespaces/default/pods', { authorization: `Bearer ${token}`, ...CLIENT_IMPERSONATION });
    expect(r.status).toBe(200);
    const up = seen.filter((s) => s.url === '/api/v1/namespaces/default/pods').pop();
    expect(up?.headers['authorization']).toEqual([`Bearer ${UPSTREAM_TOKEN}`]);
    expect(up?.headers['impersonate-user']).toEqual(['oidc:jane@example.com']);
    expect(up?.headers['impersonate-group']).toEqual(['oidc:developers', 'oidc:ops']);
    expect(Object.keys(up?.headers ?? {}).filter((h) => h.startsWith('impersonate-')).sort()).toEqual(['impersonate-group', 'impersonate-user']);
  });

  it('an upgrade (SPDY exec): the same headers upstream, the client\'s stripped, bytes echoed', async () => {
    const token = await provider.mintIdToken({ email: 'jane@example.com', groups: ['developers'] });
    const socket = tlsConnect({ host: '127.0.0.1', port: serve.port, ca: ca.certPem, servername: '127.0.0.1' });
    const echoed = await new Promise<string>((resolve, reject) => {
      let data = '';
      let upgraded = false;
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        data += d;
        if (!upgraded && data.includes('\r\n\r\n')) {
          if (!data.startsWith('HTTP/1.1 101')) return reject(new Error(data));
          upgraded = true;
          data = data.slice(data.indexOf('\r\n\r\n') + 4);
          socket.write('exec-bytes');
        }
        if (upgraded && data.length >= 'exec-bytes'.length) resolve(data);
      });
      socket.on('error', reject);
      socket.write(['POST /api/v1/namespaces/default/pods/web/exec?command=id HTTP/1.1', 'Host: 127.0.0.1', 'Connection: Upgrade', 'Upgrade: SPDY/3.1', `Authorization: Bearer ${token}`, 'Impersonate-User: system:admin', 'Impersonate-Group: system:masters', '', ''].join('\r\n'));
    });
    socket.destroy();
    expect(echoed).toBe('exec-bytes');
    const up = seen.filter((s) => s.upgrade).pop();
    expect(up?.headers['authorization']).toEqual([`Bearer ${UPSTREAM_TOKEN}`]);
    expect(up?.headers['impersonate-user']).toEqual(['oidc:jane@example.com']);
    expect(up?.headers['impersonate-group']).toEqual(['oidc:developers']);
  });

  it.each([
    ['email_verified false', { email: 'jane@example.com', emailVerified: false }, "the ID token's email jane@example.com is not verified by the provider"],
    ['another audience', { email: 'jane@example.com', audience: 'someone-else' }, "the ID token is for audience 'someone-else'"],
    ['expired', { email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 }, 'the ID token expired at'],
  ])('%s: 401 with a Status saying why, nothing forwarded', async (_name, opts, message) => {
    const before = seen.length;
    const token = await provider.mintIdToken(opts);
    const r = await get('/api/v1/namespaces/default/secrets', { authorization: `Bearer ${token}`, ...CLIENT_IMPERSONATION });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 });
    expect(String(r.body['message'])).toContain(message);
    expect(seen.slice(before)).toEqual([]);
  });

  it('an upgrade with no token: 401 on the socket, nothing forwarded; every refusal is an audit line without a user', async () => {
    const before = seen.length;
    const socket = tlsConnect({ host: '127.0.0.1', port: serve.port, ca: ca.certPem, servername: '127.0.0.1' });
    const answer = await new Promise<string>((resolve, reject) => {
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
      socket.write(['GET /api/v1/namespaces/default/pods/web/exec HTTP/1.1', 'Host: 127.0.0.1', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==', 'Impersonate-User: system:admin', '', ''].join('\r\n'));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 401 Unauthorized/);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ kind: 'Status', code: 401, message: expect.stringContaining('no ID token') });
    expect(seen.slice(before)).toEqual([]);
    const until = Date.now() + 5_000;
    while (serve.stdout().split('\n').filter((l) => l.includes('"status":401')).length < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const lines = serve.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const refused = lines.filter((l) => l['status'] === 401);
    expect(refused).toHaveLength(4);
    expect(refused.every((l) => l['user'] === '')).toBe(true);
    expect(lines.find((l) => l['path'] === '/api/v1/namespaces/default/pods' && l['status'] === 200)).toMatchObject({ user: 'oidc:jane@example.com', groups: ['oidc:developers', 'oidc:ops'], verb: 'list' });
  });

  it('an issuer over plain http:// on another host: refused before listening, one line, exit 2; tokens would cross the network in clear', async () => {
    for (const issuer of ['http://idp.example.com', 'http://10.0.0.7:5556/dex']) {
      const run = await runCli(['proxy', 'serve', '--issuer', issuer, '--client-id', 'k', '--upstream-kubeconfig', kubeconfig, '--tls-cert', tls.certFile, '--tls-key', tls.keyFile, '--port', '0'], cleanEnv({ HOME: dir.path }));
      expect(run.code).toBe(2);
      expect(run.stdout).not.toContain('Starting to serve');
      expect(run.stderr.trim().split('\n')).toEqual([`error: --issuer must be https:// (plain http:// only for a provider on this machine), not '${issuer}'`]);
    }
  });
});
