// Node's HTTP parser rejects methods it does not know (400 Bad Request), and Vault's API uses
// the LIST method. This listener sits between the TCP/TLS socket and node:http: it rewrites a
// request line "LIST /path HTTP/1.1" to "GET /path HTTP/1.1" plus the header
// `x-list-method: LIST`, following HTTP/1.1 framing (Content-Length) across keep-alive
// requests; a chunked request body switches the connection to pass-through.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';

export const LIST_METHOD_HEADER = 'x-list-method';
const HEAD_LIMIT = 64 * 1024;

/** The request's method as the client sent it (LIST included). */
export function originalMethod(req: IncomingMessage): string {
  return req.headers[LIST_METHOD_HEADER] === 'LIST' ? 'LIST' : (req.method ?? 'GET').toUpperCase();
}

export class ListRewriter {
  private state: 'head' | 'body' | 'passthrough' = 'head';
  private pending = Buffer.alloc(0);
  private remaining = 0;

  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let buf = chunk;
    while (buf.length > 0) {
      if (this.state === 'passthrough') {
        out.push(buf);
        break;
      }
      if (this.state === 'body') {
        const n = Math.min(this.remaining, buf.length);
        out.push(buf.subarray(0, n));
        this.remaining -= n;
        buf = buf.subarray(n);
        if (this.remaining === 0) this.state = 'head';
        continue;
      }
      this.pending = Buffer.concat([this.pending, buf]);
      buf = Buffer.alloc(0);
      const end = this.pending.indexOf('\r\n\r\n');
      if (end === -1) {
        if (this.pending.length > HEAD_LIMIT) {
          out.push(this.pending);
          this.pending = Buffer.alloc(0);
          this.state = 'passthrough';
        }
        break;
      }
      let head = this.pending.subarray(0, end + 4).toString('latin1');
      buf = this.pending.subarray(end + 4);
      this.pending = Buffer.alloc(0);
      // drop any client-sent marker, then mark a LIST
      head = head.replace(new RegExp(`\\r\\n${LIST_METHOD_HEADER}:[^\\r]*`, 'gi'), '');
      const lead = /^(\r\n)*/.exec(head)?.[0].length ?? 0;
      if (head.startsWith('LIST ', lead)) {
        const eol = head.indexOf('\r\n', lead);
        head = `${head.slice(0, lead)}GET ${head.slice(lead + 5, eol)}\r\n${LIST_METHOD_HEADER}: LIST${head.slice(eol)}`;
      }
      out.push(Buffer.from(head, 'latin1'));
      if (/\r\ntransfer-encoding:/i.test(head)) {
        this.state = 'passthrough';
      } else {
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        this.remaining = length ? Number(length[1]) : 0;
        this.state = this.remaining > 0 ? 'body' : 'head';
      }
    }
    return Buffer.concat(out);
  }
}

function rewritingStream(raw: Socket): Duplex {
  const rewriter = new ListRewriter();
  const stream = new Duplex({
    read() {
      raw.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      raw.write(chunk, cb);
    },
    final(cb) {
      raw.end();
      cb();
    },
    destroy(err, cb) {
      raw.destroy(err ?? undefined);
      cb(err);
    },
  });
  raw.on('data', (c: Buffer) => {
    const out = rewriter.push(c);
    if (out.length > 0 && !stream.push(out)) raw.pause();
  });
  raw.on('end', () => stream.push(null));
  raw.on('close', () => stream.destroy());
  raw.on('error', (e) => stream.destroy(e));
  // what node:http may call on a connection
  Object.assign(stream, {
    remoteAddress: raw.remoteAddress,
    remotePort: raw.remotePort,
    setTimeout: (ms: number, cb?: () => void) => (raw.setTimeout(ms, cb), stream),
    setNoDelay: (v?: boolean) => (raw.setNoDelay(v), stream),
    setKeepAlive: (e?: boolean, d?: number) => (raw.setKeepAlive(e, d), stream),
  });
  return stream;
}

export interface ListCapableServer {
  /** the TCP/TLS listener: listen() and close() on this one */
  listener: NetServer;
  /** the node:http server that parses the (rewritten) requests */
  http: HttpServer;
  /** destroys every open connection */
  destroyConnections(): void;
}

/** An HTTP or HTTPS server whose handler also receives LIST requests (see originalMethod). */
export function createListCapableServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  tls?: { cert: string; key: string },
): ListCapableServer {
  const http = createHttpServer(handler);
  const sockets = new Set<Socket>();
  const accept = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    http.emit('connection', rewritingStream(socket));
  };
  const listener = tls ? createTlsServer({ cert: tls.cert, key: tls.key }, accept) : createNetServer(accept);
  return {
    listener,
    http,
    destroyConnections: () => {
      for (const s of sockets) s.destroy();
    },
  };
}
