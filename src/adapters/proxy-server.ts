import { Agent as HttpAgent, createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { createProxyServer, type ProxyServer, type ServerOptions } from 'http-proxy-3';
import { auditRecord, browserVerdict, formatListenAddress, kubeStatus, readOnlyVerdict, requestInfo, stripClientHeaders, type Identity } from '../core/proxy-request.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { debug, warn } from '../ui/log.js';

/**
 * The HTTP side of `k8s-auth proxy` (both modes): a Node HTTP(S) server whose requests and
 * upgrades http-proxy-3 forwards to the API server, after the mode's `authenticate` has said who
 * the client is and which headers carry the credential upstream. Watches and bodies stream (no
 * buffering, no proxy or idle timeout), upgrades (SPDY and WebSocket: exec, attach,
 * port-forward) are piped both ways, --read-only refusals and failed authentications are
 * answered here with a Kubernetes Status body and never reach the API server, and each request
 * becomes one audit-log line when it ends.
 */
export interface UpstreamConnection {
  /** https://host:port[/path] of the API server */
  server: string;
  caPem: string | undefined;
  insecureSkipTlsVerify: boolean;
  tlsServerName: string | undefined;
  clientCertificate: { certPem: string; keyPem: string } | undefined;
}

export type Authentication =
  | { ok: true; identity: Identity | undefined; headers: Record<string, string | string[]>; token: string | undefined }
  | { ok: false; status: 401 | 403 | 503; message: string };

export interface ProxyServerOptions {
  upstream: UpstreamConnection;
  address: string;
  port: number;
  tls: { certPem: string; keyPem: string } | undefined;
  readOnly: boolean;
  /** local mode on loopback: refuse other Host names (DNS rebinding) and cross-site Origins */
  loopbackBrowserGuard: boolean;
  /** serve mode: the client's Impersonate-* headers are dropped */
  stripImpersonation: boolean;
  authenticate(req: IncomingMessage): Promise<Authentication>;
  /** The API server answered 401 to a request sent with this token. */
  upstreamRejected?(token: string): void;
  /** Who requests refused before authentication are logged as (local mode: the one user it serves). */
  knownIdentity?: Identity;
  /** One JSON line per request. */
  audit: ((line: string) => void) | undefined;
}

export interface RunningProxy {
  address: string;
  port: number;
  /** "127.0.0.1:8001" */
  listen: string;
  /** Stops accepting, ends watches at once, lets other requests finish for up to `timeoutMs`, then cuts the rest. */
  stop(timeoutMs: number): Promise<{ cut: number }>;
}

interface InFlight {
  longRunning: boolean;
  close(): void;
  done: Promise<void>;
}

/** http-proxy-3 refuses upgrades other than `GET … Upgrade: websocket`; Kubernetes' SPDY (POST, SPDY/3.1) must pass too. */
function allowEveryUpgrade(proxy: ProxyServer): void {
  const internal = proxy as unknown as { wsPasses?: ((...args: unknown[]) => unknown)[] };
  const passes = internal.wsPasses;
  if (!Array.isArray(passes) || !passes.some((p) => p.name === 'checkMethodAndHeader')) {
    throw new CliError(ExitCode.INTERNAL, 'http-proxy-3 changed: its WebSocket passes have no checkMethodAndHeader to replace (k8s-auth pins ^1.23)');
  }
  internal.wsPasses = passes.filter((p) => p.name !== 'checkMethodAndHeader');
}

function sendStatus(res: ServerResponse, code: number, message: string): number {
  const body = JSON.stringify(kubeStatus(code, message));
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
  return Buffer.byteLength(body);
}

function writeSocketStatus(socket: Duplex, code: number, message: string): number {
  const body = JSON.stringify(kubeStatus(code, message));
  const reason = code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : code === 502 ? 'Bad Gateway' : 'Service Unavailable';
  if (!socket.destroyed && socket.writable) {
    socket.end(`HTTP/1.1 ${code} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  }
  return Buffer.byteLength(body);
}

function isWatch(req: IncomingMessage): boolean {
  return requestInfo(req.method ?? 'GET', req.url ?? '/').verb === 'watch';
}

export async function startProxyServer(options: ProxyServerOptions): Promise<RunningProxy> {
  const target = new URL(options.upstream.server);
  const secure = target.protocol === 'https:';
  const tlsOptions = {
    ...(options.upstream.caPem ? { ca: options.upstream.caPem } : {}),
    ...(options.upstream.clientCertificate ? { cert: options.upstream.clientCertificate.certPem, key: options.upstream.clientCertificate.keyPem } : {}),
    ...(options.upstream.tlsServerName ? { servername: options.upstream.tlsServerName } : {}),
    rejectUnauthorized: !options.upstream.insecureSkipTlsVerify,
  };
  // one pool of kept-alive connections for requests; upgrades get a connection of their own
  const agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets: 256, ...tlsOptions }) : new HttpAgent({ keepAlive: true, maxSockets: 256 });
  const upgradeAgent = secure ? new HttpsAgent({ keepAlive: false, ...tlsOptions }) : new HttpAgent({ keepAlive: false });
  const proxyOptions: ServerOptions = {
    target: options.upstream.server,
    changeOrigin: true,
    xfwd: false,
    secure: !options.upstream.insecureSkipTlsVerify,
    ...(options.upstream.tlsServerName ? { ssl: { servername: options.upstream.tlsServerName } } : {}),
  };
  const proxy = createProxyServer(proxyOptions);
  allowEveryUpgrade(proxy);

  const inFlight = new Set<InFlight>();
  const sentTokens = new WeakMap<IncomingMessage, string>();
  const upstreamStatus = new WeakMap<IncomingMessage, number>();
  const bodyBytes = new WeakMap<IncomingMessage, { n: number }>();

  proxy.on('proxyRes', (proxyRes, req) => {
    const counter = bodyBytes.get(req);
    if (counter) proxyRes.on('data', (chunk: Buffer) => (counter.n += chunk.length));
    const token = sentTokens.get(req);
    if (proxyRes.statusCode === 401 && token !== undefined) options.upstreamRejected?.(token);
  });
  proxy.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage) => {
    proxyReq.on('upgrade', (res: IncomingMessage) => upstreamStatus.set(req, res.statusCode ?? 101));
    proxyReq.on('response', (res: IncomingMessage) => {
      upstreamStatus.set(req, res.statusCode ?? 0);
      const token = sentTokens.get(req);
      if (res.statusCode === 401 && token !== undefined) options.upstreamRejected?.(token);
    });
  });
  proxy.on('error', (error, req, res) => {
    debug(`proxy error on ${req.method} ${req.url}: ${describeError(error)}`);
    const message = `k8s-auth proxy cannot reach the API server at ${options.upstream.server}: ${describeError(error)}`;
    if ('writeHead' in res) sendStatus(res, 502, message);
    else {
      upstreamStatus.set(req, upstreamStatus.get(req) ?? 502);
      writeSocketStatus(res, 502, message);
    }
  });

  const audit = (identity: Identity | undefined, req: IncomingMessage, started: number, status: number, bytes: number): void => {
    if (!options.audit) return;
    options.audit(JSON.stringify(auditRecord({ timeMs: Date.now(), identity, method: req.method ?? 'GET', url: req.url ?? '/', status, durationMs: performance.now() - started, bytes })));
  };

  const prepare = (req: IncomingMessage, auth: Extract<Authentication, { ok: true }>): ServerOptions => {
    const kept = stripClientHeaders(req.headers, { impersonation: options.stripImpersonation });
    for (const name of Object.keys(req.headers)) if (!(name in kept)) delete req.headers[name];
    if (auth.token !== undefined) sentTokens.set(req, auth.token);
    return { headers: auth.headers };
  };

  const track = (longRunning: boolean, close: () => void, finished: Promise<void>): void => {
    const entry: InFlight = { longRunning, close, done: finished };
    inFlight.add(entry);
    void finished.finally(() => inFlight.delete(entry));
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    let identity: Identity | undefined = options.knownIdentity;
    const counter = { n: 0 };
    let ownBytes: number | undefined;
    const finished = new Promise<void>((resolve) => res.on('close', resolve));
    track(isWatch(req), () => res.destroy(), finished);
    void finished.then(() => audit(identity, req, started, res.statusCode, ownBytes ?? counter.n));
    void (async () => {
      if (options.loopbackBrowserGuard) {
        const guard = browserVerdict(req.headers.host, req.headers.origin);
        if (!guard.allowed) {
          req.resume();
          ownBytes = sendStatus(res, 403, guard.message);
          return;
        }
      }
      if (options.readOnly) {
        const verdict = readOnlyVerdict(req.method ?? 'GET', false);
        if (!verdict.allowed) {
          req.resume();
          ownBytes = sendStatus(res, 403, verdict.message);
          return;
        }
      }
      const auth = await options.authenticate(req);
      if (!auth.ok) {
        req.resume();
        ownBytes = sendStatus(res, auth.status, auth.message);
        return;
      }
      identity = auth.identity;
      bodyBytes.set(req, counter);
      proxy.web(req, res, { ...prepare(req, auth), agent });
    })().catch((error: unknown) => {
      warn(`k8s-auth proxy: ${describeError(error)}`);
      ownBytes = sendStatus(res, 500, `k8s-auth proxy failed: ${describeError(error)}`);
    });
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const started = performance.now();
    let identity: Identity | undefined = options.knownIdentity;
    let ownStatus: number | undefined;
    let ownBytes = 0;
    const finished = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', (error) => debug(`client socket error on upgrade ${req.url}: ${describeError(error)}`));
    track(false, () => socket.destroy(), finished);
    const bytesAtStart = 'bytesWritten' in socket ? Number((socket as { bytesWritten: number }).bytesWritten) : 0;
    void finished.then(() => {
      const written = 'bytesWritten' in socket ? Number((socket as { bytesWritten: number }).bytesWritten) - bytesAtStart : 0;
      audit(identity, req, started, ownStatus ?? upstreamStatus.get(req) ?? 0, ownStatus !== undefined ? ownBytes : written);
    });
    void (async () => {
      if (options.loopbackBrowserGuard) {
        const guard = browserVerdict(req.headers.host, req.headers.origin);
        if (!guard.allowed) {
          ownStatus = 403;
          ownBytes = writeSocketStatus(socket, 403, guard.message);
          return;
        }
      }
      if (options.readOnly) {
        const verdict = readOnlyVerdict(req.method ?? 'GET', true);
        if (!verdict.allowed) {
          ownStatus = 403;
          ownBytes = writeSocketStatus(socket, 403, verdict.message);
          return;
        }
      }
      const auth = await options.authenticate(req);
      if (!auth.ok) {
        ownStatus = auth.status;
        ownBytes = writeSocketStatus(socket, auth.status, auth.message);
        return;
      }
      identity = auth.identity;
      proxy.ws(req, socket, head, { ...prepare(req, auth), agent: upgradeAgent });
    })().catch((error: unknown) => {
      warn(`k8s-auth proxy: ${describeError(error)}`);
      ownStatus = 500;
      socket.destroy();
    });
  };

  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, onRequest)
    : createHttpServer(onRequest);
  // a watch or a large upload may take as long as it takes: no request or idle cut
  server.requestTimeout = 0;
  server.timeout = 0;
  server.keepAliveTimeout = 65_000;
  server.on('upgrade', onUpgrade);
  server.on('clientError', (error, socket) => {
    debug(`client error: ${describeError(error)}`);
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'the port is in use: pick another --port (or --port 0 for a free one)' : error.code === 'EADDRNOTAVAIL' ? 'no interface of this machine has that address' : describeError(error);
      reject(new CliError(ExitCode.USAGE, `cannot listen on ${formatListenAddress(options.address, options.port)}: ${why}`));
    };
    server.once('error', onError);
    server.listen(options.port, options.address, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address();
  const port = bound && typeof bound === 'object' ? bound.port : options.port;

  return {
    address: options.address,
    port,
    listen: formatListenAddress(options.address, port),
    async stop(timeoutMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const entry of inFlight) if (entry.longRunning) entry.close();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const outcome = await Promise.race([Promise.all([...inFlight].map((e) => e.done)).then(() => 'done' as const), timedOut]);
      clearTimeout(timer);
      let cut = 0;
      if (outcome === 'timeout') {
        for (const entry of inFlight) {
          entry.close();
          cut += 1;
        }
      }
      server.closeAllConnections();
      await closed;
      agent.destroy();
      upgradeAgent.destroy();
      proxy.close();
      return { cut };
    },
  };
}
