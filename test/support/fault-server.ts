// Peers that misbehave on purpose, for the reliability tests: a loopback HTTP(S) server whose
// behaviour can be switched between answering normally, never answering (slow past every
// timeout), dropping the connection in the middle of a response, or resetting the connection
// at once; plus a port where nothing listens ("down"). Every request is counted, so tests can
// assert how often a client retried.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { createCa, issueCert, removeCa, type CertificateAuthority } from './pki.js';

export type FaultMode =
  /** answer with the handler */
  | 'answer'
  /** read the request, then never answer (until the server closes) */
  | 'hang'
  /** send the status line, headers and half of a declared body, then destroy the socket */
  | 'drop-mid-response'
  /** destroy the socket as soon as the request arrives (ECONNRESET) */
  | 'reset';

export interface FaultHit {
  method: string;
  path: string;
  /** ms since the server started */
  at: number;
  mode: FaultMode;
}

export type FaultHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

export interface FaultServer {
  /** http(s)://127.0.0.1:PORT */
  url: string;
  port: number;
  /** the throwaway CA of a TLS server (undefined for plain HTTP) */
  ca: CertificateAuthority | undefined;
  /** switch behaviour at any time; applies to the next request */
  mode: FaultMode;
  /** per path prefix overrides of `mode` (longest prefix wins) */
  modeFor: Map<string, FaultMode>;
  hits: FaultHit[];
  /** requests whose path starts with `prefix` (all when omitted) */
  count(prefix?: string, method?: string): number;
  resetHits(): void;
  close(): Promise<void>;
}

export interface FaultServerOptions {
  tls?: boolean;
  mode?: FaultMode;
  /** the normal answer; default 200 {"ok":true} */
  handler?: FaultHandler;
  /** fixed port, e.g. to take over an address a client already knows */
  port?: number;
}

async function readAll(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) break;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

const defaultHandler: FaultHandler = (_req, res) => sendJson(res, 200, { ok: true });

export async function startFaultServer(options: FaultServerOptions = {}): Promise<FaultServer> {
  const started = Date.now();
  const sockets = new Set<Socket>();
  const hits: FaultHit[] = [];
  let ca: CertificateAuthority | undefined;
  const handler = options.handler ?? defaultHandler;

  const fault: FaultServer = {
    url: '',
    port: 0,
    ca: undefined,
    mode: options.mode ?? 'answer',
    modeFor: new Map(),
    hits,
    count: (prefix, method) => hits.filter((h) => (prefix === undefined || h.path.startsWith(prefix)) && (method === undefined || h.method === method)).length,
    resetHits: () => void (hits.length = 0),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ca) await removeCa(ca);
    },
  };

  const modeOf = (path: string): FaultMode => {
    let best: string | undefined;
    for (const prefix of fault.modeFor.keys()) if (path.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
    return best === undefined ? fault.mode : (fault.modeFor.get(best) as FaultMode);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const mode = modeOf(path);
    hits.push({ method: req.method ?? 'GET', path, at: Date.now() - started, mode });
    void (async () => {
      const body = await readAll(req);
      switch (mode) {
        case 'hang':
          return; // the socket stays open until the client gives up or the server closes
        case 'reset':
          req.socket.destroy();
          return;
        case 'drop-mid-response': {
          // a declared body twice as long as what is sent, then the connection is cut
          const half = '{"issuer":"https://127.0.0.1/","keys":[{"kty":"RSA",';
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(half.length * 2) });
          res.write(half);
          setTimeout(() => req.socket.destroy(), 50);
          return;
        }
        case 'answer':
          await handler(req, res, body);
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(error) });
      else res.destroy();
    });
  };

  let server: Server;
  if (options.tls) {
    ca = await createCa('k8s-auth fault server');
    const cert = await issueCert(ca, { commonName: '127.0.0.1', sans: ['IP:127.0.0.1', 'DNS:localhost'], kind: 'server' });
    server = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, onRequest) as unknown as Server;
    fault.ca = ca;
  } else {
    server = createHttpServer(onRequest);
  }
  server.keepAliveTimeout = 1_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // TLS handshakes happen on 'secureConnection'; plain sockets are what we track either way
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  fault.port = (server.address() as AddressInfo).port;
  fault.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${fault.port}`;
  return fault;
}

/**
 * A loopback port with nothing listening on it: the "server is down" case (ECONNREFUSED). The
 * port was free a moment ago; a test using it should not expect anything else to take it.
 */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A TCP listener that accepts connections and never reads or writes: a TLS client hangs in its
 * handshake, a plain one waits for headers. Counts connections.
 */
export async function startBlackHole(): Promise<{ url: string; port: number; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createNetServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
