// The test proxy itself, spoken to over raw sockets (not through the clients it is used to test).
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { splitHostPort, startConnectProxy, type ConnectProxy } from '../support/connect-proxy.js';
import { closedPort, startFaultServer, type FaultServer } from '../support/fault-server.js';

/** Sends `text`, resolves with everything up to the end of the answer's head (or the close). */
function ask(port: number, text: string): Promise<{ head: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    const done = () => {
      socket.removeAllListeners('data');
      resolve({ head: data.split('\r\n\r\n')[0] ?? '', socket });
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.includes('\r\n\r\n')) done();
    });
    socket.on('end', done);
    socket.on('error', reject);
    socket.setTimeout(5_000, () => reject(new Error('no answer from the proxy')));
  });
}

/** Speaks TLS through an established tunnel: GET `path`, resolves with the whole answer. */
async function getThrough(socket: Socket, ca: string | undefined, path: string): Promise<string> {
  const secure = connectTls({ socket, ca, servername: 'localhost' });
  await once(secure, 'secureConnect');
  secure.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  let answer = '';
  secure.setEncoding('utf8').on('data', (d: string) => (answer += d));
  await once(secure, 'end');
  return answer;
}

/** Resolves with the error code of a plain TCP connect to `port` ('connected' if it succeeds). */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('support: the CONNECT proxy', () => {
  let proxy: ConnectProxy;
  let tls: FaultServer;
  let origin: Server;
  let originPort: number;
  const heads: string[] = [];

  beforeAll(async () => {
    [proxy, tls] = await Promise.all([startConnectProxy(), startFaultServer({ tls: true })]);
    // a plain-http origin that records the request head it receives and answers 200
    origin = createServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        heads.push(chunk.toString('latin1').split('\r\n\r\n')[0] ?? '');
        socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
      });
    });
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    originPort = (origin.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await Promise.all([proxy?.close(), tls?.close(), new Promise((r) => origin?.close(r))]);
  });
  beforeEach(() => {
    proxy.reset();
    proxy.refuseConnect = false;
    heads.length = 0;
  });

  it('tunnels CONNECT to a loopback TLS server and records the target', async () => {
    const target = `127.0.0.1:${tls.port}`;
    const { head, socket } = await ask(proxy.port, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    expect(head).toBe('HTTP/1.1 200 Connection Established');
    const secure = connectTls({ socket, ca: tls.ca?.certPem, servername: 'localhost' });
    await once(secure, 'secureConnect');
    secure.write('GET /through HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    let answer = '';
    secure.setEncoding('utf8').on('data', (d: string) => (answer += d));
    await once(secure, 'end');
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(answer).toContain('{"ok":true}');
    expect(tls.count('/through')).toBe(1);
    expect(proxy.records).toEqual([{ kind: 'connect', method: 'CONNECT', target, status: 200, authorized: true }]);
    expect(proxy.targets()).toEqual([target]);
  });

  it('forwards absolute-URI requests of any method (LIST) in origin form, hop-by-hop headers dropped', async () => {
    const { head, socket } = await ask(
      proxy.port,
      `LIST http://127.0.0.1:${originPort}/v1/secret/metadata/x?list=true HTTP/1.1\r\nHost: 127.0.0.1:${originPort}\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\nX-Vault-Token: t\r\n\r\n`,
    );
    socket.destroy();
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(heads).toHaveLength(1);
    const forwarded = (heads[0] ?? '').split('\r\n');
    expect(forwarded[0]).toBe('LIST /v1/secret/metadata/x?list=true HTTP/1.1');
    expect(forwarded).toContain('X-Vault-Token: t');
    expect(forwarded).toContain('connection: close');
    expect(forwarded.filter((l) => /^(proxy-)?connection: keep-alive$/i.test(l))).toEqual([]);
    expect(proxy.records).toEqual([{ kind: 'forward', method: 'LIST', target: `127.0.0.1:${originPort}`, status: 200, authorized: true }]);
  });

  it('refuses on demand (403), refuses non-loopback targets (403) and answers 502 for a closed port', async () => {
    proxy.refuseConnect = true;
    expect((await ask(proxy.port, `CONNECT 127.0.0.1:${tls.port} HTTP/1.1\r\n\r\n`)).head.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
    proxy.refuseConnect = false;
    expect((await ask(proxy.port, 'CONNECT example.invalid:443 HTTP/1.1\r\n\r\n')).head.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
    expect((await ask(proxy.port, 'GET http://example.invalid/ HTTP/1.1\r\n\r\n')).head.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
    const port = await closedPort();
    expect((await ask(proxy.port, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`)).head.split('\r\n')[0]).toBe('HTTP/1.1 502 Bad Gateway');
    expect(proxy.records.map((r) => r.status)).toEqual([403, 403, 403, 502]);
    expect(proxy.targets()).toEqual([]);
  });

  it('cuts open tunnels on closeTunnels() and keeps listening', async () => {
    const first = await ask(proxy.port, `CONNECT 127.0.0.1:${tls.port} HTTP/1.1\r\n\r\n`);
    expect(first.head).toBe('HTTP/1.1 200 Connection Established');
    // the tunnel is open: a TLS handshake goes through it, then the proxy cuts it mid-session
    const secure = connectTls({ socket: first.socket, ca: tls.ca?.certPem, servername: 'localhost' });
    await once(secure, 'secureConnect');
    const closed = once(first.socket, 'close');
    proxy.closeTunnels();
    await closed;
    expect(first.socket.destroyed).toBe(true);
    expect(secure.destroyed).toBe(true);
    // still listening: a new tunnel carries a whole request to the origin
    const second = await ask(proxy.port, `CONNECT 127.0.0.1:${tls.port} HTTP/1.1\r\n\r\n`);
    expect(second.head).toBe('HTTP/1.1 200 Connection Established');
    expect(await getThrough(second.socket, tls.ca?.certPem, '/after-cut')).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(tls.count('/after-cut')).toBe(1);
    expect(proxy.records.map((r) => [r.kind, r.status])).toEqual([
      ['connect', 200],
      ['connect', 200],
    ]);
  });

  it('splits host:port forms', () => {
    expect(splitHostPort('127.0.0.1:443')).toEqual({ host: '127.0.0.1', port: 443 });
    expect(splitHostPort('[::1]:8443')).toEqual({ host: '::1', port: 8443 });
    expect(splitHostPort('LocalHost:1')).toEqual({ host: 'localhost', port: 1 });
    expect(splitHostPort('127.0.0.1')).toBeUndefined();
    expect(splitHostPort('127.0.0.1:0')).toBeUndefined();
    expect(splitHostPort('127.0.0.1:70000')).toBeUndefined();
  });
});

describe('support: the CONNECT proxy with Basic credentials', () => {
  let proxy: ConnectProxy;
  let tls: FaultServer;

  beforeAll(async () => {
    [proxy, tls] = await Promise.all([startConnectProxy({ auth: { username: 'jane', password: 'p@ss word' } }), startFaultServer({ tls: true })]);
  });
  afterAll(async () => {
    await Promise.all([proxy?.close(), tls?.close()]);
  });

  it('answers 407 without them or with wrong ones, 200 with them; the URL carries them encoded', async () => {
    const target = `127.0.0.1:${tls.port}`;
    const none = await ask(proxy.port, `CONNECT ${target} HTTP/1.1\r\n\r\n`);
    expect(none.head).toMatch(/^HTTP\/1\.1 407 Proxy Authentication Required\r\n/);
    expect(none.head).toContain('proxy-authenticate: Basic');
    const wrong = await ask(proxy.port, `CONNECT ${target} HTTP/1.1\r\nProxy-Authorization: ${basic('jane', 'nope')}\r\n\r\n`);
    expect(wrong.head.split('\r\n')[0]).toBe('HTTP/1.1 407 Proxy Authentication Required');
    const right = await ask(proxy.port, `CONNECT ${target} HTTP/1.1\r\nProxy-Authorization: ${basic('jane', 'p@ss word')}\r\n\r\n`);
    expect(right.head).toBe('HTTP/1.1 200 Connection Established');
    right.socket.destroy();
    expect(proxy.records.map((r) => [r.status, r.authorized])).toEqual([
      [407, false],
      [407, false],
      [200, true],
    ]);
    const url = new URL(proxy.urlWithCredentials);
    expect([decodeURIComponent(url.username), decodeURIComponent(url.password), url.port]).toEqual(['jane', 'p@ss word', String(proxy.port)]);
  });

  it('closes with tunnels still open: the tunnel is cut and the port stops listening', async () => {
    const { head, socket } = await ask(proxy.port, `CONNECT 127.0.0.1:${tls.port} HTTP/1.1\r\nProxy-Authorization: ${basic('jane', 'p@ss word')}\r\n\r\n`);
    expect(head).toBe('HTTP/1.1 200 Connection Established');
    expect(await connectOutcome(proxy.port)).toBe('connected');
    const closed = once(socket, 'close');
    // close() resolves only once the server has stopped, which needs the open tunnel gone
    await proxy.close();
    await closed;
    expect(socket.destroyed).toBe(true);
    expect(await connectOutcome(proxy.port)).toBe('ECONNREFUSED');
  });
});
