// A small HTTP proxy on 127.0.0.1 for the proxy tests: CONNECT tunnels (how clients reach https
// peers through HTTPS_PROXY) and absolute-URI requests (plain http peers through HTTP_PROXY).
// It records every tunnel and request target (host:port), can demand Basic proxy credentials,
// can refuse tunnels (403 to CONNECT), and only ever connects to loopback targets.
//
// Request heads are parsed here rather than by node:http, whose parser rejects methods it does
// not know (HPE_INVALID_METHOD): Vault's API uses LIST, which a proxy must pass through. A
// forwarded plain-http request goes upstream with `Connection: close`, so each client connection
// carries one request and the proxy never has to re-frame a response.
import { createServer, connect as connectTcp, type AddressInfo, type Server, type Socket } from 'node:net';

export interface ProxyRecord {
  /** 'connect' = an HTTPS tunnel, 'forward' = a plain-http absolute-URI request */
  kind: 'connect' | 'forward';
  method: string;
  /** host:port as the client asked for it (IPv6 in brackets) */
  target: string;
  /** what the proxy answered: 200 (tunnel open / forwarded), 403, 407, 502 */
  status: number;
  /** whether valid proxy credentials came with it (always true without `auth`) */
  authorized: boolean;
}

export interface ConnectProxyOptions {
  /** demand `Proxy-Authorization: Basic base64(username:password)` (407 otherwise) */
  auth?: { username: string; password: string };
  /** answer every CONNECT with 403 (also settable live on the proxy) */
  refuseConnect?: boolean;
  /** most client connections open at once; more are closed at once (default 64) */
  maxConnections?: number;
  /** idle sockets are destroyed after this long (default 30 s) */
  idleTimeoutMs?: number;
}

export interface ConnectProxy {
  /** http://127.0.0.1:PORT (no credentials) */
  url: string;
  /** http://user:password@127.0.0.1:PORT when `auth` was given, else `url` */
  urlWithCredentials: string;
  port: number;
  /** live list of every CONNECT and forwarded request, in arrival order */
  records: ProxyRecord[];
  /** targets that were tunnelled or forwarded (status 200), without repeats, in order */
  targets(): string[];
  /** records (any status) for `target`, or all records */
  count(target?: string): number;
  /** live toggle: answer CONNECT with 403 */
  refuseConnect: boolean;
  /** clears `records` */
  reset(): void;
  /** cuts every open tunnel and connection (clients must open new ones); keeps listening */
  closeTunnels(): void;
  close(): Promise<void>;
}

const HEAD_LIMIT = 64 * 1024;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const HOP_BY_HOP = /^(proxy-authorization|proxy-connection|connection|keep-alive)$/i;

interface Head {
  method: string;
  target: string;
  version: string;
  headers: [string, string][];
  rest: Buffer;
}

/** Splits `host:port` / `[v6]:port` into its parts; undefined when malformed. */
export function splitHostPort(authority: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(authority);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: (match[1] ?? match[2] ?? '').toLowerCase(), port };
}

function parseHead(buffer: Buffer, end: number): Head | undefined {
  const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const [method = '', target = '', version = ''] = (lines.shift() ?? '').split(' ');
  if (!method || !target || !/^HTTP\/1\.[01]$/.test(version)) return undefined;
  const headers: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return { method: method.toUpperCase(), target, version, headers, rest: buffer.subarray(end + 4) };
}

function header(head: Head, name: string): string | undefined {
  return head.headers.find(([k]) => k.toLowerCase() === name)?.[1];
}

function answer(socket: Socket, status: number, reason: string, extra: string[] = []): void {
  socket.end([`HTTP/1.1 ${status} ${reason}`, 'content-length: 0', 'connection: close', ...extra, '', ''].join('\r\n'));
  socket.resume(); // drain whatever else the client sends until it closes
}

export async function startConnectProxy(options: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const records: ProxyRecord[] = [];
  const sockets = new Set<Socket>();
  const maxConnections = options.maxConnections ?? 64;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const expectedAuth = options.auth ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}` : undefined;

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  };

  /** Opens the upstream TCP connection; both sides close together. */
  const upstream = (client: Socket, host: string, port: number, onOpen: (server: Socket) => void, onFail: () => void): void => {
    const server = connectTcp({ host, port });
    track(server);
    let open = false;
    server.once('connect', () => {
      open = true;
      onOpen(server);
    });
    // before the connection: the target is unreachable (502); after it: just a closed tunnel
    server.once('error', () => {
      if (!open && !client.destroyed) onFail();
    });
    server.on('close', () => client.destroy());
    client.on('close', () => server.destroy());
  };

  const handle = (client: Socket, head: Head): void => {
    const authorized = expectedAuth === undefined || header(head, 'proxy-authorization') === expectedAuth;
    if (head.method === 'CONNECT') {
      const record: ProxyRecord = { kind: 'connect', method: 'CONNECT', target: head.target, status: 0, authorized };
      records.push(record);
      const where = splitHostPort(head.target);
      if (!authorized) {
        record.status = 407;
        return answer(client, 407, 'Proxy Authentication Required', ['proxy-authenticate: Basic realm="k8s-auth test proxy"']);
      }
      if (proxy.refuseConnect || !where || !LOOPBACK.has(where.host)) {
        record.status = 403;
        return answer(client, 403, 'Forbidden');
      }
      upstream(
        client,
        where.host,
        where.port,
        (server) => {
          record.status = 200;
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          if (head.rest.length > 0) server.write(head.rest);
          client.pipe(server);
          server.pipe(client);
        },
        () => {
          record.status = 502;
          answer(client, 502, 'Bad Gateway');
        },
      );
      return;
    }
    let url: URL | undefined;
    try {
      url = /^http:\/\//i.test(head.target) ? new URL(head.target) : undefined;
    } catch {
      url = undefined;
    }
    const host = url?.hostname.replace(/^\[|\]$/g, '').toLowerCase() ?? '';
    const port = url ? Number(url.port || 80) : 0;
    const record: ProxyRecord = { kind: 'forward', method: head.method, target: url ? `${url.hostname}:${port}` : head.target, status: 0, authorized };
    records.push(record);
    if (!authorized) {
      record.status = 407;
      return answer(client, 407, 'Proxy Authentication Required', ['proxy-authenticate: Basic realm="k8s-auth test proxy"']);
    }
    if (!url || !LOOPBACK.has(host)) {
      record.status = 403;
      return answer(client, 403, 'Forbidden');
    }
    const forwarded = [
      `${head.method} ${url.pathname}${url.search} ${head.version}`,
      ...head.headers.filter(([k]) => !HOP_BY_HOP.test(k)).map(([k, v]) => `${k}: ${v}`),
      'connection: close',
      '',
      '',
    ].join('\r\n');
    upstream(
      client,
      host,
      port,
      (server) => {
        record.status = 200;
        server.write(Buffer.concat([Buffer.from(forwarded, 'latin1'), head.rest]));
        client.pipe(server);
        server.pipe(client);
      },
      () => {
        record.status = 502;
        answer(client, 502, 'Bad Gateway');
      },
    );
  };

  const server: Server = createServer((client) => {
    track(client);
    if (sockets.size > maxConnections * 2) {
      client.destroy();
      return;
    }
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffer.length > HEAD_LIMIT) {
          client.off('data', onData);
          answer(client, 431, 'Request Header Fields Too Large');
        }
        return;
      }
      client.off('data', onData);
      client.pause();
      const head = parseHead(buffer, end);
      if (!head) return answer(client, 400, 'Bad Request');
      // stays paused until piped upstream (or drained by a refusal)
      handle(client, head);
    };
    client.on('data', onData);
  });
  server.maxConnections = maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const proxy: ConnectProxy = {
    url,
    urlWithCredentials: options.auth ? `http://${encodeURIComponent(options.auth.username)}:${encodeURIComponent(options.auth.password)}@127.0.0.1:${port}` : url,
    port,
    records,
    targets: () => [...new Set(records.filter((r) => r.status === 200).map((r) => r.target))],
    count: (target) => records.filter((r) => target === undefined || r.target === target).length,
    refuseConnect: options.refuseConnect ?? false,
    reset: () => void records.splice(0, records.length),
    closeTunnels: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
