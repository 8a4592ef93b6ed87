import * as https from 'node:https';
import { proxyForUrl } from '../core/proxy-env.js';
import type { ClusterConnection } from '../core/token-output.js';
import { rfc3339 } from '../core/exec-credential.js';
import { CliError, ExitCode } from '../errors.js';
import { debug, warn } from '../ui/log.js';
import { registerSecret } from '../ui/redact.js';
import { KubeTransportError, kubeBodyTooLarge } from './kube-transport-error.js';
import { readKubeconfigTarget, type KubeconfigSelection, type KubeconfigTarget, type StaticCredentials } from './kubeconfig-target.js';

/** A TokenRequest answer is a few kB (the token and its expiry): the cap for it (docs/security.md). */
export const MAX_TOKEN_REQUEST_BODY_BYTES = 1024 * 1024;

/**
 * The TokenRequest API (POST /api/v1/namespaces/NS/serviceaccounts/NAME/token), called with the
 * caller's own kubeconfig credentials. Static credentials (token, client certificate) take a
 * direct node:https call, so `k8s-auth token` costs little more than starting node; exec plugins,
 * auth-provider and the rest go through @kubernetes/client-node's
 * CoreV1Api.createNamespacedServiceAccountToken, which knows them all.
 */
export interface TokenRequestInput {
  serviceAccount: string;
  namespace: string;
  expirationSeconds: number;
  audiences: readonly string[];
}

export interface GrantedToken {
  token: string;
  /** RFC 3339, status.expirationTimestamp as the server granted it. */
  expirationTimestamp: string;
}

export interface TokenMinter {
  contextName: string;
  clusterName: string;
  connection: ClusterConnection;
  /** How the call is made: a direct HTTPS call, or client-node for complex credentials. */
  via: 'direct' | 'client-node';
  request(input: TokenRequestInput): Promise<GrantedToken>;
}

export interface OpenTokenMinterOptions extends KubeconfigSelection {
  timeoutMs?: number;
}

export const DEFAULT_TOKEN_TIMEOUT_MS = 30_000;
const USER_AGENT = 'k8s-auth (token)';

export async function openTokenMinter(options: OpenTokenMinterOptions = {}): Promise<TokenMinter> {
  return tokenMinterFor(await readKubeconfigTarget(options), options);
}

/**
 * A minter for an already-read kubeconfig target. `bearer` stands in for credentials the target
 * cannot give without client-node: the caller's own still-fresh OIDC ID token, which is exactly
 * what the context's exec plugin or auth-provider would send.
 */
export function tokenMinterFor(target: KubeconfigTarget, options: OpenTokenMinterOptions = {}, bearer?: string): TokenMinter {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS;
  const base = { contextName: target.contextName, clusterName: target.clusterName, connection: target.connection };
  const credentials: StaticCredentials | undefined = target.credentials ?? (bearer ? { kind: 'token', token: bearer } : undefined);
  if (credentials) {
    if (target.connection.insecureSkipTlsVerify) warn(`TLS verification is OFF for the Kubernetes API server at ${target.connection.server} (insecure-skip-tls-verify in the kubeconfig); anyone on the path can read and alter this traffic, the minted token included`);
    debug(`TokenRequest through context ${target.contextName} (cluster ${target.clusterName} at ${target.connection.server}), direct HTTPS${target.credentials ? '' : ' with the fresh ID token'}`);
    return { ...base, via: 'direct', request: (input) => withRetries(() => requestDirect(target, credentials, input, timeoutMs), target, input) };
  }
  debug(`TokenRequest through context ${target.contextName} via @kubernetes/client-node (${target.unsupported ?? 'complex credentials'})`);
  return { ...base, via: 'client-node', request: (input) => requestWithClientNode(options, target, input, timeoutMs) };
}

export function tokenRequestPath(namespace: string, serviceAccount: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(serviceAccount)}/token`;
}

export function tokenRequestBody(input: TokenRequestInput): Record<string, unknown> {
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    // no audiences: the API server's own (what kubectl and the API server itself accept)
    spec: { audiences: [...input.audiences], expirationSeconds: input.expirationSeconds },
  };
}

/** The shape @kubernetes/client-node 1.x throws (ApiException), so kube-errors maps both alike. */
class HttpStatusError extends Error {
  readonly code: number;
  readonly body: string;
  readonly headers: Record<string, string>;
  constructor(code: number, body: string, headers: Record<string, string>) {
    super(`HTTP-Code: ${code}`);
    this.name = 'ApiException';
    this.code = code;
    this.body = body;
    this.headers = headers;
  }
}

async function requestDirect(target: KubeconfigTarget, credentials: StaticCredentials, input: TokenRequestInput, timeoutMs: number): Promise<GrantedToken> {
  const url = new URL(target.connection.server.replace(/\/+$/, '') + tokenRequestPath(input.namespace, input.serviceAccount));
  const body = JSON.stringify(tokenRequestBody(input));
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', 'user-agent': USER_AGENT };
  if (credentials.kind === 'token') headers['authorization'] = `Bearer ${credentials.token}`;
  const tls: https.RequestOptions = { rejectUnauthorized: !target.connection.insecureSkipTlsVerify };
  if (target.caPem) tls.ca = target.caPem;
  if (target.connection.tlsServerName) tls.servername = target.connection.tlsServerName;
  if (credentials.kind === 'client-certificate') {
    tls.cert = credentials.certPem;
    tls.key = credentials.keyPem;
  }
  debug(`POST ${url.origin}${url.pathname}`);
  const response = proxyForUrl(url, process.env) !== undefined ? await sendThroughProxy(url, headers, body, tls, timeoutMs) : await send(url, headers, body, tls, timeoutMs);
  debug(`${response.status} from ${url.origin}${url.pathname}`);
  if (response.status < 200 || response.status > 299) throw new HttpStatusError(response.status, response.body, response.headers);
  return grantedFrom(parseJson(response.body));
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function send(url: URL, headers: Record<string, string>, body: string, tls: https.RequestOptions, timeoutMs: number): Promise<RawResponse> {
  if (url.protocol !== 'https:') {
    return Promise.reject(new CliError(ExitCode.KUBECONFIG, `the cluster server ${url.origin} is not https: minting a token over plain HTTP would expose it; fix the kubeconfig`));
  }
  return new Promise<RawResponse>((resolve, reject) => {
    const req = https.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: false, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_TOKEN_REQUEST_BODY_BYTES) {
          clearTimeout(timer);
          reject(kubeBodyTooLarge(url.origin, MAX_TOKEN_REQUEST_BODY_BYTES));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (error) => reject(new KubeTransportError(`response from ${url.origin} broke off`, { cause: error })));
      res.on('end', () => {
        clearTimeout(timer);
        const out: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
        resolve({ status: res.statusCode ?? 0, headers: out, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    const timer = setTimeout(() => {
      const error = new KubeTransportError(`no answer within ${timeoutMs} ms`, { name: 'TimeoutError' });
      req.destroy(error);
      reject(error);
    }, timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(new KubeTransportError(`request to ${url.origin} failed: ${error.message}`, { cause: error }));
    });
    req.end(body);
  });
}

/** HTTPS_PROXY/NO_PROXY honoured like the rest of k8s-auth (undici, loaded only when needed). */
async function sendThroughProxy(url: URL, headers: Record<string, string>, body: string, tls: https.RequestOptions, timeoutMs: number): Promise<RawResponse> {
  const { EnvHttpProxyAgent, request } = await import('undici');
  const connect = { ca: tls.ca as string | undefined, cert: tls.cert as string | undefined, key: tls.key as string | undefined, rejectUnauthorized: tls.rejectUnauthorized, servername: tls.servername };
  const dispatcher = new EnvHttpProxyAgent({ connect, requestTls: connect, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  // a plain timer held for the whole exchange, headers and body (see startDeadline in http.ts)
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort();
  }, timeoutMs);
  try {
    const res = await request(url, { method: 'POST', headers, body, dispatcher, signal: controller.signal });
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_TOKEN_REQUEST_BODY_BYTES) {
        res.body.destroy();
        throw kubeBodyTooLarge(url.origin, MAX_TOKEN_REQUEST_BODY_BYTES);
      }
      chunks.push(chunk as Buffer);
    }
    return { status: res.statusCode, headers: out, body: Buffer.concat(chunks).toString('utf8') };
  } catch (error) {
    if (error instanceof CliError) throw error;
    // undici names a refused proxy tunnel AbortError too: only the timer makes this a timeout
    const name = expired ? 'TimeoutError' : 'KubeTransportError';
    throw new KubeTransportError(name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `request to ${url.origin} failed`, { cause: error, name });
  } finally {
    clearTimeout(timer);
    await dispatcher.close();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** status.token and status.expirationTimestamp of a TokenRequest answer (Date or string). */
export function grantedFrom(answer: unknown): GrantedToken {
  const status = (answer as { status?: { token?: unknown; expirationTimestamp?: unknown } } | undefined)?.status;
  const token = status?.token;
  const expires = status?.expirationTimestamp;
  const expirationTimestamp = expires instanceof Date ? rfc3339(expires) : typeof expires === 'string' ? expires : undefined;
  if (typeof token !== 'string' || token === '' || !expirationTimestamp || Number.isNaN(Date.parse(expirationTimestamp))) {
    throw new CliError(ExitCode.KUBERNETES, 'the API server answered the TokenRequest without a token or expiry: check that it serves authentication.k8s.io/v1 TokenRequest');
  }
  registerSecret(token);
  return { token, expirationTimestamp };
}

/**
 * One try, then the shared retry policy (kube-errors' withKubeRetry) goes on from attempt 2:
 * minting is safe to repeat (nothing is stored), so 429, 5xx and dropped connections are
 * retried, 4 attempts in all; a timeout is not (it already waited --http-timeout). kube-errors is imported only on failure, keeping the success path light.
 */
async function withRetries(call: () => Promise<GrantedToken>, target: KubeconfigTarget, input: TokenRequestInput): Promise<GrantedToken> {
  try {
    return await call();
  } catch (first) {
    const errors = await import('./kube-errors.js');
    try {
      return await errors.withKubeRetry(call, { idempotent: true, retryTimeouts: false, describe: 'TokenRequest', firstFailure: { error: first } });
    } catch (last) {
      throw tokenRequestError(errors, last, target.clusterName, input, target.connection.server);
    }
  }
}

async function requestWithClientNode(selection: KubeconfigSelection, target: KubeconfigTarget, input: TokenRequestInput, timeoutMs: number): Promise<GrantedToken> {
  const kube = await import('./kube-client.js');
  const errors = await import('./kube-errors.js');
  const options: Parameters<typeof kube.loadKubeClient>[0] = { context: target.contextName, timeoutMs };
  if (selection.kubeconfig) options.kubeconfig = selection.kubeconfig;
  const client = await kube.loadKubeClient(options);
  try {
    const answer = await errors.withKubeRetry(
      () =>
        client.core.createNamespacedServiceAccountToken({
          name: input.serviceAccount,
          namespace: input.namespace,
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [...input.audiences], expirationSeconds: input.expirationSeconds } },
        }),
      { idempotent: true, describe: 'TokenRequest' },
    );
    return grantedFrom(answer);
  } catch (error) {
    throw tokenRequestError(errors, error, target.clusterName, input, client.server);
  }
}

type KubeErrors = typeof import('./kube-errors.js');

/** TokenRequest failures in the words of this command; the rest as every API call says them. */
export function tokenRequestError(errors: KubeErrors, error: unknown, cluster: string, input: TokenRequestInput, server: string): CliError {
  if (error instanceof CliError) return error;
  const who = `ServiceAccount ${input.namespace}/${input.serviceAccount}`;
  if (errors.isApiException(error)) {
    const status = errors.statusOf(error);
    const message = status?.message?.split('\n')[0] ?? '';
    if (error.code === 404 && (status?.details?.kind === 'serviceaccounts' || /serviceaccount/i.test(message))) {
      return new CliError(ExitCode.KUBERNETES, `${who} does not exist on cluster ${cluster}: create it with \`k8s-auth rbac apply\` (or name another with --service-account / --namespace)`, { cause: error });
    }
    if (error.code === 403) {
      return new CliError(ExitCode.KUBERNETES, `you may not mint tokens for ${who} on cluster ${cluster} (403 Forbidden): ask a cluster admin for 'create' on serviceaccounts/token in ${input.namespace}, or mint through Vault with --via-vault ROLE`, { cause: error });
    }
    if ((error.code === 400 || error.code === 422) && /expiration/i.test(message)) {
      return new CliError(ExitCode.KUBERNETES, `the API server refused the token lifetime for ${who} (${message}): ask for a shorter --ttl`, { cause: error });
    }
  }
  return errors.kubeApiError(error, { verb: 'create', resource: 'serviceaccounts/token', name: input.serviceAccount, namespace: input.namespace, server });
}
