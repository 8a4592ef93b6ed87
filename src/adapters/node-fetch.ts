import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { SecureContext } from 'node:tls';

/**
 * fetch over node:http/node:https, for the calls that need no proxy (issue 16): loading npm
 * undici's fetch and dispatcher cost `login` more start-up time than anything else before the
 * browser opens (docs/performance.md). It answers what the callers (openid-client, jose,
 * doctor) ask of fetch: method, headers, a string / URLSearchParams / bytes body, redirects
 * followed unless `redirect: 'manual'`, the body read under a size cap, errors shaped like
 * fetch's (a TypeError whose `cause` carries the socket or TLS error code). A body of any other
 * kind answers undefined: the caller uses undici.
 */
export interface NodeFetchOptions {
  tls: { secureContext?: SecureContext; rejectUnauthorized: boolean };
  signal: AbortSignal;
  maxBodyBytes: number;
  /** Thrown when the body passes maxBodyBytes. */
  tooLarge: () => Error;
}

export interface NodeFetchAnswer {
  status: number;
  statusText: string;
  /** Lower-case names; repeated headers joined with ", " as Headers.get joins them. */
  headers: Map<string, string>;
  body: Uint8Array<ArrayBuffer>;
  url: string;
}

const agents = new WeakMap<object, Agent>();
const MAX_REDIRECTS = 20;
const IDLE_SOCKET_MS = 4000;

function agentFor(tls: NodeFetchOptions['tls']): Agent {
  let agent = agents.get(tls);
  if (!agent) {
    // an idle socket is closed after 4 s: servers close theirs after 5 s (Node's default, and
    // Node's agent ignores their Keep-Alive hint without a timeout of its own), and a device
    // code poll every 5 s would otherwise reuse one just as the server drops it (ECONNRESET)
    agent = new Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, ...(tls.secureContext ? { secureContext: tls.secureContext } : {}), rejectUnauthorized: tls.rejectUnauthorized });
    agents.set(tls, agent);
  }
  return agent;
}

/** The body as bytes and its default content type, or null when it is not a kind handled here. */
function encodeBody(body: RequestInit['body']): { bytes: Buffer; type?: string } | undefined | null {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return { bytes: Buffer.from(body), type: 'text/plain;charset=UTF-8' };
  if (body instanceof URLSearchParams) return { bytes: Buffer.from(body.toString()), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  if (body instanceof Uint8Array) return { bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
  if (body instanceof ArrayBuffer) return { bytes: Buffer.from(body) };
  return null;
}

/** Whether `init` is one nodeFetch can send. */
export function nodeFetchCan(init: RequestInit | undefined): boolean {
  return encodeBody(init?.body) !== null;
}

function once(url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, options: NodeFetchOptions): Promise<{ res: IncomingMessage; bytes: Uint8Array<ArrayBuffer> }> {
  return new Promise((resolve, reject) => {
    const fail = (error: unknown): void => reject(options.signal.aborted ? options.signal.reason : new TypeError('fetch failed', { cause: error }));
    if (options.signal.aborted) return fail(options.signal.reason);
    const send = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
    if (!send) return reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
    const req = send(url, { method, headers, ...(url.protocol === 'https:' ? { agent: agentFor(options.tls) } : {}) });
    const onAbort = (): void => {
      req.destroy(options.signal.reason instanceof Error ? options.signal.reason : new Error('aborted'));
      fail(options.signal.reason);
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    const done = (): void => options.signal.removeEventListener('abort', onAbort);
    req.on('error', (error) => {
      done();
      fail(error);
    });
    req.on('response', (res) => {
      const declared = res.headers['content-length'];
      if (declared !== undefined && Number(declared) > options.maxBodyBytes) {
        done();
        res.destroy();
        return reject(options.tooLarge());
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > options.maxBodyBytes) {
          done();
          res.destroy();
          reject(options.tooLarge());
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (error) => {
        done();
        fail(error);
      });
      res.on('end', () => {
        done();
        resolve({ res, bytes: new Uint8Array(Buffer.concat(chunks, size)) });
      });
    });
    req.end(body);
  });
}

export async function nodeFetch(input: string, init: RequestInit | undefined, options: NodeFetchOptions): Promise<NodeFetchAnswer> {
  let url = new URL(input);
  let method = (init?.method ?? 'GET').toUpperCase();
  const encoded = encodeBody(init?.body) ?? undefined;
  const given = headerMap(init?.headers);
  let body = encoded?.bytes;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { accept: '*/*' };
    given.forEach((value, name) => (headers[name] = value));
    if (body !== undefined) {
      if (encoded?.type && !given.has('content-type')) headers['content-type'] = encoded.type;
      headers['content-length'] = String(body.byteLength);
    }
    const { res, bytes } = await once(url, method, headers, body, options);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (init?.redirect !== 'manual' && [301, 302, 303, 307, 308].includes(status) && location !== undefined) {
      if (init?.redirect === 'error' || hop >= MAX_REDIRECTS) throw new TypeError('fetch failed', { cause: new Error(`redirect ${status} not followed`) });
      url = new URL(location, url);
      // as fetch does: 303, and 301/302 after a POST, continue as a GET without a body
      if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        given.delete('content-type');
      }
      continue;
    }
    const out = new Map<string, string>();
    for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) appendHeader(out, res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
    return { status, statusText: res.statusMessage ?? '', headers: out, body: bytes, url: url.toString() };
  }
}

function appendHeader(headers: Map<string, string>, name: string, value: string): void {
  const key = name.toLowerCase();
  const before = headers.get(key);
  headers.set(key, before === undefined ? value : `${before}, ${value}`);
}

/**
 * Request headers as a lower-case map, without touching the global Headers class: its first use
 * loads Node's internal copy of undici (~10 ms), which discovery before the browser can do without.
 */
function headerMap(init: RequestInit['headers']): Map<string, string> {
  const headers = new Map<string, string>();
  if (!init) return headers;
  if (Array.isArray(init)) for (const [name, value] of init) appendHeader(headers, name as string, value as string);
  else if (typeof (init as Headers).forEach === 'function') (init as Headers).forEach((value, name) => appendHeader(headers, name, value));
  else for (const [name, value] of Object.entries(init)) appendHeader(headers, name, value);
  return headers;
}
