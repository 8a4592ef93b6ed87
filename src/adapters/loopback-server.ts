import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_CALLBACK_URL_LENGTH, type RedirectPlan, isLoopbackHostHeader, redirectUriFor } from '../core/oauth-callback.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { CALLBACK_PAGE_HEADERS } from '../ui/callback-page.js';
import { debug } from '../ui/log.js';

/**
 * The RFC 8252 loopback listener: loopback addresses only, one path, capped request size
 * (Node answers 431 to oversized headers; we answer 414 to an oversized URL), no keep-alive,
 * and 400 to any Host but 127.0.0.1, [::1] or localhost with our port (DNS rebinding).
 * The handler decides what each request means; a `final` reply closes the listener once sent.
 */
export interface LoopbackRequest {
  method: string;
  pathname: string;
  query: URLSearchParams;
}

export interface LoopbackReply {
  status: number;
  html: string;
  /** Close the listener once this reply is sent (the sign-in is over, one way or another). */
  final?: boolean;
}

export type LoopbackHandler = (request: LoopbackRequest) => Promise<LoopbackReply> | LoopbackReply;

export interface LoopbackServer {
  redirectUri: string;
  port: number;
  /** Resolves when a final reply has been sent (or the server was closed). */
  readonly finished: Promise<void>;
  close(): void;
}

const MAX_HEADER_BYTES = 16 * 1024;

export async function startLoopbackServer(plan: RedirectPlan, handler: LoopbackHandler): Promise<LoopbackServer> {
  const servers: Server[] = [];
  let closed = false;
  let markFinished: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (markFinished = resolve));

  const close = () => {
    if (closed) return;
    closed = true;
    for (const server of servers) {
      server.close();
      server.closeAllConnections();
    }
    markFinished();
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    res.shouldKeepAlive = false;
    const send = (reply: LoopbackReply) => {
      if (res.writableEnded) return;
      res.writeHead(reply.status, { ...CALLBACK_PAGE_HEADERS, connection: 'close', 'content-length': Buffer.byteLength(reply.html) });
      res.end(reply.html, () => {
        if (reply.final) close();
      });
    };
    if (!isLoopbackHostHeader(req.headers.host, port)) {
      debug('loopback: request for a foreign Host refused (400)');
      send({ status: 400, html: 'bad request: this listener only answers 127.0.0.1, [::1] and localhost\n' });
      return;
    }
    const rawUrl = req.url ?? '/';
    if (rawUrl.length > MAX_CALLBACK_URL_LENGTH) {
      debug(`loopback: ${rawUrl.length}-byte request URL refused (414)`);
      send({ status: 414, html: 'URI too long\n' });
      return;
    }
    let url: URL;
    try {
      url = new URL(rawUrl, 'http://127.0.0.1');
    } catch {
      send({ status: 400, html: 'bad request\n' });
      return;
    }
    debug(`loopback: ${req.method ?? '?'} ${url.pathname}`);
    Promise.resolve()
      .then(() => handler({ method: req.method ?? 'GET', pathname: url.pathname, query: url.searchParams }))
      .then(send, (error: unknown) => {
        debug(`loopback handler failed: ${describeError(error)}`);
        send({ status: 500, html: 'internal error\n', final: false });
      });
  };

  let port = plan.port;
  for (const [index, host] of plan.hosts.entries()) {
    const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 0 }, onRequest);
    server.on('clientError', (_error, socket) => {
      // oversized headers (431) and malformed requests: answer if possible and drop the socket
      if (socket.writable) socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    try {
      port = await listen(server, host, port);
    } catch (error) {
      // `localhost` also listens on ::1 when the machine has IPv6; without it 127.0.0.1 suffices
      if (index > 0 && ['EADDRNOTAVAIL', 'EAFNOSUPPORT'].includes((error as NodeJS.ErrnoException).code ?? '')) {
        debug(`loopback: no ${host} on this host (${(error as NodeJS.ErrnoException).code ?? ''}); listening on ${plan.hosts[0] ?? ''} only`);
        continue;
      }
      for (const s of servers) s.close();
      throw listenError(error, host, port);
    }
    servers.push(server);
  }
  const redirectUri = redirectUriFor(plan, port);
  debug(`listening for the sign-in callback on ${redirectUri}`);
  return { redirectUri, port, finished, close };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.removeListener('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function listenError(error: unknown, host: string, port: number): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  if (code === 'EADDRINUSE') {
    return new CliError(ExitCode.USAGE, `cannot listen for the sign-in callback on ${where}: the port is in use (another login running?); finish or stop it, or choose another --listen-port`, { cause: error });
  }
  if (code === 'EACCES') return new CliError(ExitCode.USAGE, `cannot listen for the sign-in callback on ${where}: permission denied; choose a --listen-port above 1023`, { cause: error });
  return new CliError(ExitCode.INTERNAL, `cannot listen for the sign-in callback on ${where}: ${describeError(error)}`, { cause: error });
}
