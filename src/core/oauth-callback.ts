import { CliError, ExitCode } from '../errors.js';
import { isLoopbackHost } from './cluster-entry.js';

/**
 * Decisions of the loopback redirect (RFC 8252), without I/O: where to listen, and what a
 * request to the listener means.
 */
export const DEFAULT_CALLBACK_PATH = '/callback';

export interface RedirectPlan {
  /** Addresses to listen on (both loopbacks for `localhost`, which may resolve to ::1). */
  hosts: string[];
  /** 0 = any free port. */
  port: number;
  path: string;
  /** Host as written in the redirect URI. */
  uriHost: string;
}

export function planRedirect(options: { redirectUri?: string; listenPort?: number }): RedirectPlan {
  const { redirectUri, listenPort } = options;
  if (listenPort !== undefined && (!Number.isInteger(listenPort) || listenPort < 1 || listenPort > 65535)) {
    throw new CliError(ExitCode.USAGE, `--listen-port must be a port number (1-65535), not '${listenPort}'`);
  }
  if (redirectUri === undefined) {
    return { hosts: ['127.0.0.1'], port: listenPort ?? 0, path: DEFAULT_CALLBACK_PATH, uriHost: '127.0.0.1' };
  }
  const url = new URL(redirectUri);
  if (url.protocol !== 'http:' || !isLoopbackHost(url.hostname) || url.port === '') {
    throw new CliError(ExitCode.USAGE, `redirect URI '${redirectUri}' must be http://127.0.0.1:<port>/<path> (or [::1] / localhost)`);
  }
  const port = Number(url.port);
  if (listenPort !== undefined && listenPort !== port) {
    throw new CliError(ExitCode.USAGE, `--listen-port ${listenPort} conflicts with the catalog's redirect-uri ${redirectUri} (port ${port}): drop --listen-port`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const hosts = host === 'localhost' ? ['127.0.0.1', '::1'] : [host];
  return { hosts, port, path: url.pathname || '/', uriHost: url.hostname };
}

export function redirectUriFor(plan: RedirectPlan, port: number): string {
  return `http://${plan.uriHost}:${port}${plan.path}`;
}

export type CallbackDecision =
  /** Another path (favicon.ico…): 404, keep waiting. */
  | { kind: 'not-found' }
  /** Not a GET: 405, keep waiting. */
  | { kind: 'method-not-allowed' }
  /** Missing or wrong state, or nothing usable: 400, keep waiting (a stale tab or a forged request must not end the login). */
  | { kind: 'bad-request'; reason: string }
  /** RFC 9207: the response names another issuer (mix-up): end the login. */
  | { kind: 'wrong-issuer'; issuer: string }
  /** error= with our state: the user or provider refused; end the login. */
  | { kind: 'denied'; error: string; description?: string }
  /** A code with our state. */
  | { kind: 'code' };

export interface CallbackRequest {
  method: string;
  pathname: string;
  query: URLSearchParams;
}

export interface CallbackExpectations {
  path: string;
  state: string;
  issuer: string;
}

export function decideCallback(request: CallbackRequest, expected: CallbackExpectations): CallbackDecision {
  if (request.pathname !== expected.path) return { kind: 'not-found' };
  if (request.method !== 'GET') return { kind: 'method-not-allowed' };
  const states = request.query.getAll('state');
  if (states.length === 0) return { kind: 'bad-request', reason: 'the callback has no state parameter' };
  if (states.length > 1 || states[0] !== expected.state) return { kind: 'bad-request', reason: 'the state parameter does not match this login (an old or foreign sign-in tab?)' };
  const issuer = request.query.get('iss');
  if (issuer !== null && issuer !== expected.issuer) return { kind: 'wrong-issuer', issuer };
  const error = request.query.get('error');
  if (error !== null) {
    const description = request.query.get('error_description');
    return description ? { kind: 'denied', error, description } : { kind: 'denied', error };
  }
  const codes = request.query.getAll('code');
  if (codes.length !== 1 || codes[0] === '') return { kind: 'bad-request', reason: 'the callback has no authorization code' };
  return { kind: 'code' };
}

/** Provider-supplied text, made safe for one terminal line. */
export function sanitizeProviderText(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * DNS rebinding: a page on evil.example whose name resolves to 127.0.0.1 reaches the listener
 * with `Host: evil.example:<port>`. Only the loopback names, with the listening port, are ours
 * (port 80 may be left out, as browsers do).
 */
export function isLoopbackHostHeader(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const value = host.toLowerCase();
  for (const name of ['127.0.0.1', '[::1]', 'localhost']) {
    if (value === `${name}:${port}`) return true;
    if (port === 80 && value === name) return true;
  }
  return false;
}

/** Request lines longer than this get 414 (RFC 8252 callbacks are a few hundred bytes). */
export const MAX_CALLBACK_URL_LENGTH = 8192;
