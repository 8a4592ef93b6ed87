// A peer that answers with bodies meant to exhaust the client: an endless fast body (as much
// JSON-looking text as the socket takes) or an endless drip (one byte at a time). Plain HTTP on
// 127.0.0.1, shaped as an OpenID provider (discovery, JWKS, token, device authorization,
// revocation), a Vault (KV v2 reads) or an API server, depending on the paths a test sets.
//
// Every hostile answer is bounded by the peer itself, so a test of a client that has no limit
// still ends: a stream stops after `maxBytes` or `maxMs`, whichever comes first, and the peer
// records how many bytes it sent (the measure of whether the client stopped reading early).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createCa, issueCert, removeCa, type CertificateAuthority } from './pki.js';

export type HostileBehaviour =
  /** a normal JSON answer */
  | { kind: 'json'; status?: number; body: unknown; headers?: Record<string, string> }
  /** 200, then JSON-looking bytes as fast as the socket takes them, no content-length */
  | { kind: 'endless' }
  /** 200 and headers at once, then one byte every `intervalMs`, for ever */
  | { kind: 'drip'; intervalMs?: number }
  /** a content-length far above any cap, then the bytes as fast as the socket takes them */
  | { kind: 'declared-huge' };

export interface HostileStream {
  path: string;
  kind: HostileBehaviour['kind'];
  bytes: number;
  /** how it ended: the client went away, or the peer's own bound stopped it */
  ended: 'client-closed' | 'max-bytes' | 'max-ms';
}

export interface HostilePeer {
  /** http(s)://127.0.0.1:PORT */
  origin: string;
  port: number;
  /** the throwaway CA of a TLS peer */
  ca: CertificateAuthority | undefined;
  /** path → behaviour */
  routes: Map<string, HostileBehaviour>;
  /** for paths not in `routes`; undefined: 404 */
  fallback: HostileBehaviour | undefined;
  /** every hostile stream so far */
  streams: HostileStream[];
  /** requests per path */
  hits: Map<string, number>;
  /** resolves when every open stream has ended */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface HostilePeerOptions {
  /** a stream stops after this many bytes (default 256 MiB) */
  maxBytes?: number;
  /** and after this long (default 20 s) */
  maxMs?: number;
  /** HTTPS with a throwaway CA (for clients that refuse plain http) */
  tls?: boolean;
}

const CHUNK = Buffer.alloc(64 * 1024, 'a');

export async function startHostilePeer(options: HostilePeerOptions = {}): Promise<HostilePeer> {
  const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  const maxMs = options.maxMs ?? 20_000;
  const routes = new Map<string, HostileBehaviour>();
  const streams: HostileStream[] = [];
  const hits = new Map<string, number>();
  const open = new Set<Promise<void>>();
  const sockets = new Set<Socket>();

  const stream = (res: ServerResponse, path: string, behaviour: HostileBehaviour & { kind: 'endless' | 'drip' | 'declared-huge' }): Promise<void> => {
    const record: HostileStream = { path, kind: behaviour.kind, bytes: 0, ended: 'client-closed' };
    streams.push(record);
    return new Promise<void>((resolve) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (behaviour.kind === 'declared-huge') headers['content-length'] = String(8 * 1024 * 1024 * 1024);
      res.writeHead(200, headers);
      res.flushHeaders();
      let done = false;
      const finish = (why: HostileStream['ended']): void => {
        if (done) return;
        done = true;
        record.ended = why;
        clearTimeout(deadline);
        clearInterval(drip);
        res.destroy();
        resolve();
      };
      const deadline = setTimeout(() => finish('max-ms'), maxMs);
      let drip: NodeJS.Timeout | undefined;
      res.on('close', () => finish('client-closed'));
      res.on('error', () => finish('client-closed'));
      const write = (data: Buffer): boolean => {
        record.bytes += data.length;
        return res.write(data);
      };
      write(Buffer.from('{"access_token":"'));
      if (behaviour.kind === 'drip') {
        drip = setInterval(() => {
          if (record.bytes >= maxBytes) finish('max-bytes');
          else write(Buffer.from('a'));
        }, behaviour.intervalMs ?? 100);
        return;
      }
      const pump = (): void => {
        while (!done) {
          if (record.bytes >= maxBytes) return finish('max-bytes');
          if (!write(CHUNK)) return;
        }
      };
      res.on('drain', pump);
      pump();
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    // read (and drop) the request body first, as a real server does
    req.resume();
    req.on('end', () => {
      const behaviour = routes.get(path) ?? peer.fallback;
      if (!behaviour) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":"not_found"}');
        return;
      }
      if (behaviour.kind === 'json') {
        const text = JSON.stringify(behaviour.body);
        res.writeHead(behaviour.status ?? 200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...behaviour.headers });
        res.end(text);
        return;
      }
      const done = stream(res, path, behaviour);
      open.add(done);
      void done.then(() => open.delete(done));
    });
  };

  const ca = options.tls ? await createCa('hostile-peer') : undefined;
  const cert = ca ? await issueCert(ca, { commonName: '127.0.0.1', sans: ['IP:127.0.0.1'], kind: 'server' }) : undefined;
  const server: Server = cert ? createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, handle) : createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const peer: HostilePeer = {
    origin: `${ca ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    ca,
    routes,
    fallback: undefined,
    streams,
    hits,
    settled: async () => {
      await Promise.all([...open]);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          if (ca) void removeCa(ca).finally(resolve);
          else resolve();
        });
      }),
  };
  return peer;
}

/** The discovery document of a provider at `issuer` whose endpoints all live on the peer. */
export function discoveryFor(issuer: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/keys`,
    device_authorization_endpoint: `${issuer}/device/code`,
    revocation_endpoint: `${issuer}/token/revocation`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'password', 'urn:ietf:params:oauth:grant-type:device_code'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic'],
  };
}
