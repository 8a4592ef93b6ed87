import * as http from 'node:http';
import * as https from 'node:https';
import { createSecureContext } from 'node:tls';
import type { HttpLibrary, RequestContext, ResponseContext } from '@kubernetes/client-node';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';
import { proxyForUrl, type ProxyEnv } from '../core/proxy-env.js';
import { KubeTransportError, kubeBodyTooLarge } from './kube-transport-error.js';

/**
 * The HTTP layer under @kubernetes/client-node. Its default one has no timeout and builds a new
 * TLS agent for every request (a handshake per call); this one adds a whole-request timeout,
 * reuses keep-alive connections per TLS identity, bounds the requests in flight so a large
 * apply never floods the API server, and honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY (client-node
 * itself only knows the kubeconfig's proxy-url) by the same rules as every other peer.
 */
export interface RequestStats {
  requests: number;
  /** Requests other than GET (creates, updates, deletes, reviews). */
  writes: number;
  maxInFlight: number;
  inFlight: number;
}

export interface KubeHttpLibraryOptions {
  server: string;
  timeoutMs?: number;
  maxInFlight?: number;
  /** Where the proxy variables come from; default process.env. */
  env?: ProxyEnv;
  /** Keep-alive agents to share with other libraries (one per TLS identity and proxy); default this library's own. */
  agentPool?: KubeAgentPool;
}

/**
 * Keep-alive agents by TLS identity (CA, client certificate and key, verification, servername)
 * and proxy. `rbac apply --all-clusters` gives every cluster's client the same pool, so catalog
 * clusters that reach one API server with the same TLS settings share its connections (and one
 * bound on sockets to it) instead of each making its own handshakes. Bearer tokens are headers
 * of each request, not part of a connection.
 */
export interface KubeAgentPool {
  agents: { fields: unknown[]; proxy: string; agent: http.Agent }[];
}

export function createKubeAgentPool(): KubeAgentPool {
  return { agents: [] };
}

type ClientNode = typeof import('@kubernetes/client-node');


export const DEFAULT_KUBE_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_IN_FLIGHT = 8;
/**
 * The largest API server answer read (docs/security.md). The lists k8s-auth reads (RBAC objects,
 * ServiceAccounts by label) are kilobytes to a few megabytes even on large clusters; a server or
 * proxy streaming without end must not fill the memory.
 */
export const MAX_KUBE_BODY_BYTES = 32 * 1024 * 1024;

export function createKubeHttpLibrary(k8s: ClientNode, options: KubeHttpLibraryOptions): { library: HttpLibrary; stats: RequestStats } {
  const timeoutMs = options.timeoutMs ?? DEFAULT_KUBE_TIMEOUT_MS;
  const limit = Math.max(1, options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
  const stats: RequestStats = { requests: 0, writes: 0, maxInFlight: 0, inFlight: 0 };
  const waiting: (() => void)[] = [];
  const pool = options.agentPool ?? createKubeAgentPool();
  // tunnelled through CONNECT like kubectl, with the same TLS options end to end
  const proxy = proxyForUrl(new URL(options.server), options.env ?? process.env);
  const proxyKey = proxy ?? '';

  const acquire = async (method: string): Promise<void> => {
    if (stats.inFlight >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    stats.inFlight += 1;
    stats.requests += 1;
    if (method !== 'GET') stats.writes += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
  };
  const release = (): void => {
    stats.inFlight -= 1;
    waiting.shift()?.();
  };

  /**
   * client-node hands us a fresh https.Agent per request; swap it for a shared keep-alive one
   * (through the environment's proxy when one applies). Its own proxy-url agents are left alone:
   * the kubeconfig's proxy-url wins over the environment, as in kubectl.
   */
  const reuse = (agent: http.Agent | undefined): http.Agent | undefined => {
    if (!agent || agent.constructor !== https.Agent) return agent;
    const tls = (agent as https.Agent).options;
    const fields = [tls.ca, tls.cert, tls.key, tls.pfx, tls.passphrase, tls.rejectUnauthorized, tls.servername];
    // client-node builds a new Agent per request from the same TLS values: compare them as
    // they are (the same strings and buffers, so mostly by reference) instead of hashing a CA
    // bundle per request, which cost ~0.4 ms a request in a 2,000-request rbac apply
    let shared = pool.agents.find((entry) => entry.proxy === proxyKey && entry.fields.every((value, i) => sameTlsValue(value, fields[i])))?.agent;
    if (!shared) {
      // one TLS context for every connection of this agent: given ca/cert/key, each new socket
      // would parse them again (~1.5 ms each; 80 connections in a ten-cluster rbac apply)
      const secureContext = tls.secureContext ?? createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key, pfx: tls.pfx, passphrase: tls.passphrase });
      const agentOptions = { ...tls, secureContext, keepAlive: true, maxSockets: limit };
      shared = proxy === undefined ? new https.Agent(agentOptions) : new HttpsProxyAgent({ ...agentOptions, proxy });
      pool.agents.push({ fields, proxy: proxyKey, agent: shared });
    }
    return shared;
  };
  const plainProxyAgent = proxy === undefined ? undefined : new HttpProxyAgent({ keepAlive: true, maxSockets: limit, proxy });

  const send = async (request: RequestContext): Promise<ResponseContext> => {
    await acquire(String(request.getHttpMethod()));
    try {
      const agent = request.getAgent();
      // a plain-http server (loopback, insecure-skip-tls-verify) gets a plain http.Agent
      const plain = plainProxyAgent !== undefined && agent?.constructor === http.Agent;
      return await sendOnce(k8s, request, plain ? plainProxyAgent : reuse(agent), timeoutMs);
    } finally {
      release();
    }
  };
  return { library: k8s.wrapHttpLibrary({ send }), stats };
}

function sendOnce(k8s: ClientNode, request: RequestContext, agent: http.Agent | undefined, timeoutMs: number): Promise<ResponseContext> {
  const url = new URL(request.getUrl());
  const transport = url.protocol === 'http:' ? http : https;
  const body = request.getBody();
  if (body !== undefined && typeof body !== 'string') {
    return Promise.reject(new KubeTransportError('only string request bodies are supported', {}));
  }
  return new Promise<ResponseContext>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    };
    const req = transport.request(url, { method: request.getHttpMethod(), headers: request.getHeaders(), agent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_KUBE_BODY_BYTES) {
          fail(kubeBodyTooLarge(url.origin, MAX_KUBE_BODY_BYTES));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (error) => fail(new KubeTransportError(`response from ${url.origin} broke off`, { cause: error })));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const data = Buffer.concat(chunks);
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve(new k8s.ResponseContext(res.statusCode ?? 0, headers, { text: async () => data.toString('utf8'), binary: async () => data }));
      });
    });
    const timer = setTimeout(() => {
      const error = new KubeTransportError(`no answer within ${timeoutMs} ms`, { name: 'TimeoutError' });
      fail(error);
      req.destroy(error);
    }, timeoutMs);
    req.on('error', (error) => fail(new KubeTransportError(`request to ${url.origin} failed: ${error.message}`, { cause: error })));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Equal TLS option values: strings and numbers by value, buffers by bytes, lists item by item, other objects as JSON. */
function sameTlsValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((value, i) => sameTlsValue(value, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return false;
}
