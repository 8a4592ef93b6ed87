// `k8s-auth proxy` (issue 14): what the real API server cannot show without a kubelet. The
// upstream here is an UPGRADE-SPEAKING TEST SERVER (a Node http server, not Kubernetes): it
// answers 101 to SPDY/3.1 (kubectl exec's POST) and WebSocket (GET, v5.channel.k8s.io) upgrades
// and echoes the bytes back, and it records the headers and body sizes of ordinary requests.
// Against it, through the built CLI: both upgrades pass and carry the proxy's token (never the
// client's), --read-only refuses an upgrade with a Status, an 8 MiB body streams through,
// SIGTERM lets a request in flight finish, and bad flags or an unreachable upstream are one
// line with a documented exit code. Kubernetes itself is in test/peers/kubernetes/auth-proxy.test.ts.
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { runCli } from '../support/run-cli.js';
import { startProxyCli, type RunningProxyCli } from './auth-proxy-harness.js';

const TOKEN = 'static-upstream-token-7f3a';

/** The renewal test's plugin mints `renew-<n>-<expiry ms>`: the upstream refuses one past its expiry. */
function expiredRenewalToken(authorization: string | undefined): boolean {
  const m = /^Bearer renew-\d+-(\d+)$/.exec(authorization ?? '');
  return m !== null && Number(m[1]) <= Date.now();
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bytes: number;
  upgrade: boolean;
}

describe('k8s-auth proxy: upgrades, bodies and stopping, against an upgrade-speaking test server (not Kubernetes)', () => {
  let dir: TempDir;
  let upstream: Server;
  let kubeconfig = '';
  let proxy: RunningProxyCli;
  const seen: Seen[] = [];

  beforeAll(async () => {
    dir = tempDir('k8s-auth-proxy-upgrade-');
    upstream = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes, upgrade: false });
        const send = () => {
          if (req.url?.startsWith('/apis/authentication.k8s.io/v1/selfsubjectreviews')) {
            res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'SelfSubjectReview', status: { userInfo: { username: 'test-user', groups: ['testers'] } } }));
          } else if (expiredRenewalToken(req.headers.authorization)) {
            res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 401 }));
          } else {
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes }));
          }
        };
        if (req.url?.startsWith('/slow')) setTimeout(send, 800);
        else send();
      });
    });
    upstream.on('upgrade', (req, socket, head) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes: 0, upgrade: true });
      const protocol = String(req.headers.upgrade ?? '');
      const lines = ['HTTP/1.1 101 Switching Protocols', `Upgrade: ${protocol}`, 'Connection: Upgrade'];
      if (protocol.toLowerCase() === 'websocket') {
        const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        lines.push(`Sec-WebSocket-Accept: ${accept}`, `Sec-WebSocket-Protocol: ${String(req.headers['sec-websocket-protocol'] ?? '')}`);
      } else {
        lines.push(`X-Stream-Protocol-Version: ${String(req.headers['x-stream-protocol-version'] ?? '')}`);
      }
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) socket.write(head);
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as AddressInfo).port;
    kubeconfig = dir.file('static.kubeconfig');
    writeFileSync(kubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'echo',
      clusters: [{ name: 'echo', cluster: { server: `http://127.0.0.1:${port}` } }],
      users: [{ name: 'static', user: { token: TOKEN } }],
      contexts: [{ name: 'echo', context: { cluster: 'echo', user: 'static' } }],
    }));
    proxy = await startProxyCli(['echo', '--kubeconfig', kubeconfig, '--port', '0', '--audit-log', '-'], cleanEnv({ HOME: dir.path }));
  });

  afterAll(async () => {
    await proxy?.stop();
    await new Promise((resolve) => upstream?.close(resolve));
    upstream?.closeAllConnections();
    dir?.remove();
  });

  /** A raw upgrade through the proxy: the status line and headers, then what the echo sends back. */
  const upgrade = (port: number, lines: string[], payload: string): Promise<{ head: string; echoed: string }> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      let head: string | undefined;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no echo: ${data}`));
      }, 10_000);
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        data += d;
        if (head === undefined && data.includes('\r\n\r\n')) {
          head = data.slice(0, data.indexOf('\r\n\r\n'));
          data = data.slice(head.length + 4);
          if (!head.startsWith('HTTP/1.1 101')) {
            clearTimeout(timer);
            socket.on('end', () => resolve({ head: head ?? '', echoed: data }));
            return;
          }
          socket.write(payload);
        }
        if (head?.startsWith('HTTP/1.1 101') && data.length >= payload.length) {
          clearTimeout(timer);
          socket.end();
          resolve({ head, echoed: data });
        }
      });
      socket.on('error', reject);
      socket.write(`${lines.join('\r\n')}\r\nHost: 127.0.0.1\r\n\r\n`);
    });

  it('SPDY/3.1 (kubectl exec over POST) upgrades through the proxy and echoes, with the proxy\'s token upstream', async () => {
    const r = await upgrade(proxy.port, [
      'POST /api/v1/namespaces/default/pods/web/exec?command=sh&stdin=true HTTP/1.1',
      'Connection: Upgrade', 'Upgrade: SPDY/3.1', 'X-Stream-Protocol-Version: v4.channel.k8s.io', 'Authorization: Bearer client-supplied',
    ], 'spdy-bytes-0123456789');
    expect(r.head).toMatch(/^HTTP\/1\.1 101/);
    expect(r.head.toLowerCase()).toContain('upgrade: spdy/3.1');
    expect(r.echoed).toBe('spdy-bytes-0123456789');
    const up = seen.filter((s) => s.upgrade && s.method === 'POST').pop();
    expect(up?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(up?.headers['x-stream-protocol-version']).toBe('v4.channel.k8s.io');
  });

  it('WebSocket (GET, v5.channel.k8s.io) upgrades through the proxy and echoes', async () => {
    const r = await upgrade(proxy.port, [
      'GET /api/v1/namespaces/default/pods/web/attach?stdout=true HTTP/1.1',
      'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}`, 'Sec-WebSocket-Protocol: v5.channel.k8s.io',
    ], 'ws-frame-bytes');
    expect(r.head).toMatch(/^HTTP\/1\.1 101/);
    expect(r.head.toLowerCase()).toContain('sec-websocket-protocol: v5.channel.k8s.io');
    expect(r.echoed).toBe('ws-frame-bytes');
    expect(seen.filter((s) => s.upgrade && s.method === 'GET').pop()?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    // each upgrade is one audit line once it closes: who, verb, status 101
    const until = Date.now() + 5_000;
    while (!proxy.stdout().includes('/attach') && Date.now() < until) await new Promise((r2) => setTimeout(r2, 50));
    const lines = proxy.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l['path'] === '/api/v1/namespaces/default/pods/web/attach')).toMatchObject({ user: 'test-user', groups: ['testers'], method: 'GET', namespace: 'default', status: 101 });
    expect(lines.find((l) => l['path'] === '/api/v1/namespaces/default/pods/web/exec')).toMatchObject({ verb: 'create', method: 'POST', status: 101 });
  });

  it('an 8 MiB request body streams through whole, and the client\'s Authorization is replaced', async () => {
    const size = 8 * 1024 * 1024;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxy.port, method: 'PUT', path: '/api/v1/namespaces/default/configmaps/big', headers: { 'content-type': 'application/octet-stream', authorization: 'Bearer client-supplied' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      for (let i = 0; i < 8; i += 1) req.write(chunk);
      req.end();
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ bytes: size });
    const put = seen.filter((s) => s.method === 'PUT').pop();
    expect(put?.bytes).toBe(size);
    expect(put?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('--read-only refuses an upgrade with a 403 Status, and nothing reaches the upstream', async () => {
    const ro = await startProxyCli(['echo', '--kubeconfig', kubeconfig, '--port', '0', '--read-only'], cleanEnv({ HOME: dir.path }));
    try {
      const before = seen.length;
      const r = await upgrade(ro.port, ['GET /api/v1/namespaces/default/pods/web/exec?command=sh HTTP/1.1', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=='], 'x');
      expect(r.head).toMatch(/^HTTP\/1\.1 403/);
      expect(JSON.parse(r.echoed)).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden', message: 'k8s-auth proxy is read-only: GET with an upgrade (exec, attach, port-forward) is refused' });
      expect(seen.slice(before).filter((s) => !s.url.includes('selfsubjectreviews'))).toEqual([]);
    } finally {
      await ro.stop();
    }
  });

  it('a web page cannot borrow the credential: another Host (DNS rebinding) or a cross-site Origin (even a WebSocket) is 403, a loopback dashboard passes', async () => {
    const before = seen.length;
    const ask = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: proxy.port, path: '/api/v1/namespaces/default/secrets', headers }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const rebound = await ask({ host: 'attacker.example:8001' });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ kind: 'Status', code: 403, message: "k8s-auth proxy answers only requests for a loopback host (127.0.0.1, localhost, [::1]), not Host 'attacker.example:8001'" });
    const crossSite = await ask({ origin: 'https://attacker.example' });
    expect(crossSite.status).toBe(403);
    const ws = await upgrade(proxy.port, ['GET /api/v1/namespaces/default/pods/web/exec?command=sh HTTP/1.1', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==', 'Origin: https://attacker.example'], 'x');
    expect(ws.head).toMatch(/^HTTP\/1\.1 403/);
    expect(seen.slice(before)).toEqual([]);
    const dashboard = await ask({ origin: 'http://localhost:3000' });
    expect(dashboard.status).toBe(200);
  });

  it('SIGTERM: the request in flight finishes, then the proxy exits 0', async () => {
    const p = await startProxyCli(['echo', '--kubeconfig', kubeconfig, '--port', '0'], cleanEnv({ HOME: dir.path }));
    const slow = new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: p.port, path: '/slow' }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    const until = Date.now() + 5_000;
    while (!seen.some((s) => s.url === '/slow') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    // the upstream records /slow when its body ends, 800 ms before it answers: stop now
    const code = p.stop('SIGTERM');
    expect(await slow).toBe(200);
    expect(await code).toBe(0);
    expect(p.stderr()).toContain('SIGTERM: no new connections');
  });

  it('an exec-plugin user: the plugin runs non-interactively (KUBERNETES_EXEC_INFO) with the kubeconfig\'s exec env entries, and its token goes upstream', async () => {
    const plugin = dir.file('plugin.cjs');
    const infoFile = dir.file('exec-info.json');
    // the token comes from the kubeconfig's exec env entries: the plugin sees them, as under kubectl
    writeFileSync(plugin, `require('node:fs').writeFileSync(${JSON.stringify(infoFile)}, process.env.KUBERNETES_EXEC_INFO || '');
process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: process.env.PLUGIN_TOKEN_PREFIX + '-' + process.env.PLUGIN_TOKEN_SUFFIX, expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() } }));
`);
    const execKubeconfig = dir.file('exec.kubeconfig');
    writeFileSync(execKubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'echo',
      clusters: [{ name: 'echo', cluster: { server: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } }],
      users: [{ name: 'exec', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: process.execPath, args: [plugin], env: [{ name: 'PLUGIN_TOKEN_PREFIX', value: 'exec-plugin' }, { name: 'PLUGIN_TOKEN_SUFFIX', value: 'token-91' }] } } }],
      contexts: [{ name: 'echo', context: { cluster: 'echo', user: 'exec' } }],
    }));
    const p = await startProxyCli(['echo', '--kubeconfig', execKubeconfig, '--port', '0'], cleanEnv({ HOME: dir.path, PLUGIN_TOKEN_PREFIX: 'not-from-the-kubeconfig' }));
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: p.port, path: '/api/v1/namespaces/default/configmaps/from-exec' }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(200);
      expect(seen.filter((s) => s.url === '/api/v1/namespaces/default/configmaps/from-exec').pop()?.headers.authorization).toBe('Bearer exec-plugin-token-91');
      expect(JSON.parse(readFileSync(infoFile, 'utf8'))).toMatchObject({ kind: 'ExecCredential', spec: { interactive: false } });
    } finally {
      await p.stop();
    }
  });

  it('a short-lived exec token is renewed in the background: requests in a row across its expiry all succeed', async () => {
    const plugin = dir.file('renewing-plugin.cjs');
    const counter = dir.file('renewals');
    writeFileSync(plugin, `const fs = require('node:fs');
const n = (fs.existsSync(${JSON.stringify(counter)}) ? Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8')) : 0) + 1;
fs.writeFileSync(${JSON.stringify(counter)}, String(n));
const exp = Date.now() + 5000;
process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: 'renew-' + n + '-' + exp, expirationTimestamp: new Date(exp).toISOString() } }));
`);
    const renewKubeconfig = dir.file('renew.kubeconfig');
    writeFileSync(renewKubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'echo',
      clusters: [{ name: 'echo', cluster: { server: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } }],
      users: [{ name: 'exec', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: process.execPath, args: [plugin] } } }],
      contexts: [{ name: 'echo', context: { cluster: 'echo', user: 'exec' } }],
    }));
    const p = await startProxyCli(['echo', '--kubeconfig', renewKubeconfig, '--port', '0'], cleanEnv({ HOME: dir.path }));
    const statuses: number[] = [];
    try {
      const end = Date.now() + 6_000;
      while (Date.now() < end) {
        statuses.push(await new Promise<number>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: p.port, path: '/api/v1/namespaces/default/configmaps/renewal' }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end();
        }));
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await p.stop();
    }
    // 5 s tokens (renewed at 4 s) over 6 s: the upstream saw at least two of them and refused none
    const tokens = new Set(seen.filter((s) => s.url === '/api/v1/namespaces/default/configmaps/renewal').map((s) => s.headers.authorization));
    expect(tokens.size).toBeGreaterThanOrEqual(2);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((code) => code !== 200)).toEqual([]);
  }, 30_000);

  it('bad flags and an unreachable upstream: one line, a documented exit code', async () => {
    const env = cleanEnv({ HOME: dir.path });
    const open = await runCli(['proxy', 'echo', '--kubeconfig', kubeconfig, '--address', '0.0.0.0'], env);
    expect(open.code).toBe(2);
    expect(open.stderr.trim().split('\n')).toEqual(['error: --address 0.0.0.0 is not a loopback address: serving your credentials beyond this machine needs --tls-cert and --tls-key (or use --address 127.0.0.1)']);
    const port = await runCli(['proxy', 'echo', '--kubeconfig', kubeconfig, '--port', 'eighty'], env);
    expect(port.code).toBe(2);
    expect(port.stderr.trim()).toBe("error: --port must be a port number (0-65535), not 'eighty'");
    const noTls = await runCli(['proxy', 'serve', '--issuer', 'https://idp.example.com', '--client-id', 'k', '--upstream-kubeconfig', kubeconfig], env);
    expect(noTls.code).toBe(2);
    expect(noTls.stderr.trim()).toBe('error: proxy serve needs --tls-cert and --tls-key: ID tokens never travel in plain HTTP');
    const dead = dir.file('dead.kubeconfig');
    writeFileSync(dead, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'dead',
      clusters: [{ name: 'dead', cluster: { server: 'http://127.0.0.1:9' } }], users: [{ name: 'static', user: { token: TOKEN } }],
      contexts: [{ name: 'dead', context: { cluster: 'dead', user: 'static' } }],
    }));
    const unreachable = await runCli(['proxy', 'dead', '--kubeconfig', dead, '--port', '0'], env);
    expect(unreachable.code).toBe(9);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
    expect(unreachable.stderr).toMatch(/^error: cannot reach the API server of context 'dead' at http:\/\/127\.0\.0\.1:9: .*ECONNREFUSED.*: check the kubeconfig's server address and that the API server is up/);
    expect(unreachable.stderr).not.toContain(TOKEN);
  });
});
