import { CliError, ExitCode, describeError } from '../errors.js';
import { debug } from '../ui/log.js';
import { proxyTunnelStatus } from '../core/proxy-env.js';
import { TRUST_HINTS, formatTimeout, transportError } from './http.js';

/**
 * API server failures as one line each: what was refused, and what the caller can do. A 403
 * names the verb and resource the caller lacks, so they know exactly what to ask an admin for.
 * Kept free of @kubernetes/client-node imports (errors are recognised by shape) so unit tests
 * and the hot paths don't load it.
 */
export interface KubeErrorContext {
  /** Kubernetes verb: get, list, create, update, delete, … */
  verb: string;
  /** Plural resource: serviceaccounts, clusterrolebindings, serviceaccounts/token, … */
  resource: string;
  name?: string;
  namespace?: string;
  /** API server URL, for transport errors. */
  server?: string;
}

/** The `Status` object kube-apiserver answers on failure. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; retryAfterSeconds?: number; causes?: { message?: string; field?: string }[] };
}

export interface ApiExceptionLike {
  code: number;
  body: unknown;
  headers: Record<string, string>;
}

/** ApiException from @kubernetes/client-node 1.x: numeric `code`, raw `body` (text), `headers`. */
export function isApiException(error: unknown): error is ApiExceptionLike & Error {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'number' && 'body' in error;
}

/** The parsed Status body of an API error, when it has one. */
export function statusOf(error: unknown): KubeStatus | undefined {
  if (!isApiException(error)) return undefined;
  const body = error.body;
  if (body && typeof body === 'object') return body as KubeStatus;
  if (typeof body !== 'string' || body.length === 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' ? (parsed as KubeStatus) : undefined;
  } catch {
    return undefined;
  }
}

const RESOURCE_GROUPS: Record<string, string> = {
  clusterroles: 'rbac.authorization.k8s.io',
  clusterrolebindings: 'rbac.authorization.k8s.io',
  roles: 'rbac.authorization.k8s.io',
  rolebindings: 'rbac.authorization.k8s.io',
  selfsubjectaccessreviews: 'authorization.k8s.io',
  subjectaccessreviews: 'authorization.k8s.io',
  selfsubjectrulesreviews: 'authorization.k8s.io',
};

/** `clusterrolebindings.rbac.authorization.k8s.io`, or the bare name for the core group. */
export function qualifiedResource(resource: string): string {
  const [base = resource, sub] = resource.split('/');
  const group = RESOURCE_GROUPS[base];
  const qualified = group ? `${base}.${group}` : base;
  return sub ? `${qualified}/${sub}` : qualified;
}

function where(ctx: KubeErrorContext): string {
  return ctx.namespace ? ` in namespace ${ctx.namespace}` : '';
}

function target(ctx: KubeErrorContext): string {
  return ctx.name ? `${ctx.resource} ${ctx.name}` : ctx.resource;
}

function serverMessage(status: KubeStatus | undefined): string {
  const message = status?.message?.split('\n')[0]?.trim();
  return message ? ` (${message})` : '';
}

export function kubeApiError(error: unknown, ctx: KubeErrorContext): CliError {
  if (error instanceof CliError) return error;
  if (!isApiException(error)) {
    const server = ctx.server ?? 'the API server';
    if (error instanceof Error && error.name === 'TimeoutError') {
      return new CliError(ExitCode.KUBERNETES, `Kubernetes API server at ${server} did not answer within ${formatTimeout(timeoutOf(error))} (${ctx.verb} ${ctx.resource}): check the address and your network, or raise --http-timeout`, { cause: error });
    }
    return transportError(error, 'Kubernetes API server', server, timeoutOf(error), ExitCode.KUBERNETES, TRUST_HINTS.apiServer);
  }
  const status = statusOf(error);
  const code = error.code;
  const fail = (message: string): CliError => new CliError(ExitCode.KUBERNETES, message, { cause: error });
  switch (code) {
    case 401:
      return fail(`the API server${ctx.server ? ` at ${ctx.server}` : ''} did not accept your credentials (401 Unauthorized): log in again or check the user of your kubeconfig context`);
    case 403:
      return fail(
        `you may not ${ctx.verb} ${ctx.resource}${where(ctx)}: ask a cluster admin for '${ctx.verb}' on ${qualifiedResource(ctx.resource)}${ctx.namespace ? ` in ${ctx.namespace}` : ''}, or use a kubeconfig context that has it`,
      );
    case 404:
      return fail(`${target(ctx)} not found${where(ctx)}${serverMessage(status)}: check the name and namespace`);
    case 409:
      return status?.reason === 'AlreadyExists'
        ? fail(`${target(ctx)} already exists${where(ctx)}: someone else created it meanwhile; run again`)
        : fail(`${target(ctx)}${where(ctx)} kept changing while we updated it (409 Conflict): run again; if it persists, something else is rewriting it`);
    case 422:
      return fail(`the API server rejected ${target(ctx)}${where(ctx)} as invalid${serverMessage(status)}: fix the input (mapping or names) it points at`);
    case 429:
      return fail(`the API server is throttling requests (429 Too Many Requests) and kept doing so after retries: wait a minute and run again`);
    default:
      if (code >= 500) {
        return fail(`the API server failed to ${ctx.verb} ${target(ctx)}${where(ctx)} (${code} ${status?.reason ?? 'server error'}${status?.message ? `: ${status.message.split('\n')[0]}` : ''}): run again; if it persists, check the control plane`);
      }
      return fail(`the API server refused to ${ctx.verb} ${target(ctx)}${where(ctx)} (${code}${status?.reason ? ` ${status.reason}` : ''})${serverMessage(status)}`);
  }
}

function timeoutOf(error: unknown): number {
  const match = error instanceof Error ? /within (\d+) ms/.exec(error.message) : null;
  return match?.[1] ? Number(match[1]) : 30_000;
}

export interface RetryOptions {
  /** Reads (get/list) are retried on 5xx and dropped connections; writes only on 429/503. */
  idempotent: boolean;
  /** Total attempts, the first included. Default 4. */
  maxAttempts?: number;
  /** First backoff delay; doubles each retry (with jitter). Default 200 ms. */
  baseDelayMs?: number;
  /** Cap on any single wait, Retry-After included. Default 10 s. */
  maxDelayMs?: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Names the call in --verbose output. */
  describe?: string;
  /** Retry a transport timeout of an idempotent call (default true); false when a timeout already waited long enough. */
  retryTimeouts?: boolean;
  /**
   * The first attempt was already made by a caller that keeps this module off its success path
   * (token-request.ts), and failed with this: the policy goes on from attempt 2.
   */
  firstFailure?: { error: unknown };
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds from a Retry-After header (or the Status details), in ms; undefined when absent. */
export function retryAfterMs(error: unknown, now = Date.now()): number | undefined {
  if (!isApiException(error)) return undefined;
  const header = error.headers?.['retry-after'] ?? error.headers?.['Retry-After'];
  if (header !== undefined) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const fromStatus = statusOf(error)?.details?.retryAfterSeconds;
  return typeof fromStatus === 'number' ? fromStatus * 1000 : undefined;
}

function isRetryable(error: unknown, idempotent: boolean, retryTimeouts: boolean): boolean {
  if (isApiException(error)) {
    // 429 and 503 mean the request was not processed: safe to resend even a write
    if (error.code === 429 || error.code === 503) return true;
    return idempotent && error.code >= 500;
  }
  if (error instanceof CliError) return false;
  // a call that already used its whole --http-timeout is tried again only when the caller says so
  if (error instanceof Error && error.name === 'TimeoutError' && !retryTimeouts) return false;
  // a proxy that refused the tunnel or wants credentials answers the same next time
  const tunnel = proxyTunnelStatus(error);
  if (tunnel === 403 || tunnel === 407) return false;
  return idempotent; // transport failure on a read
}

/**
 * Runs `call` with bounded retries: 429/503 honour Retry-After (capped), idempotent reads are
 * retried on 5xx and transport errors with exponential backoff. Throws the last error as is;
 * callers map it with `kubeApiError`.
 */
export async function withKubeRetry<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 10_000;
  const sleep = options.sleep ?? defaultSleep;
  const afterFailure = async (error: unknown, attempt: number): Promise<void> => {
    if (attempt >= maxAttempts || !isRetryable(error, options.idempotent, options.retryTimeouts ?? true)) throw error;
    const backoff = base * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
    const delay = Math.min(cap, retryAfterMs(error) ?? backoff);
    debug(`${options.describe ?? 'API call'} failed (${isApiException(error) ? error.code : describeError(error)}); retry ${attempt}/${maxAttempts - 1} in ${Math.round(delay)} ms`);
    await sleep(delay);
  };
  let attempt = 1;
  if (options.firstFailure) {
    await afterFailure(options.firstFailure.error, attempt);
    attempt += 1;
  }
  for (; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      await afterFailure(error, attempt);
    }
  }
}
