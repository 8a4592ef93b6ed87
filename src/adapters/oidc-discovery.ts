import type { ServerMetadata } from 'openid-client';
import { checkEndpointProtocol } from '../core/authorization-request.js';
import { isLoopbackHost } from '../core/cluster-entry.js';
import { sanitizeProviderText } from '../core/oauth-callback.js';
import { CliError, ExitCode } from '../errors.js';
import { debug } from '../ui/log.js';
import { registerSecret } from '../ui/redact.js';
import { DEFAULT_HTTP_TIMEOUT_MS, type FetchFunction, type HttpAnswer, createRequest, fetchOver } from './http.js';

/**
 * OpenID Connect discovery without openid-client: one GET of the provider's metadata, checked as
 * openid-client checks it (HTTP 200, a JSON object, an `issuer` equal to the one asked for).
 * Why not openid-client here: loading it (with oauth4webapi) was the largest cost of `login`
 * before the browser opens, and nothing before the browser needs it; it loads while the person
 * signs in, built from this metadata (oidc-client.ts configurationFor), and does every check of
 * the code exchange and the ID token.
 */
export interface ProviderOptions {
  issuerUrl: string;
  clientId: string;
  clientSecret?: string;
  /** PEM texts added to the system roots (e.g. the catalog's idp-certificate-authority-data, decoded). */
  caPems?: readonly string[];
  /** PEM files added to the system roots (--certificate-authority). */
  caFiles?: readonly string[];
  insecureSkipTlsVerify?: boolean;
  /** Per-request timeout (--http-timeout). */
  timeoutMs?: number;
}

/** A provider whose metadata was fetched and checked, and the HTTP client that fetched it. */
export interface DiscoveredProvider {
  readonly options: ProviderOptions;
  readonly metadata: ServerMetadata;
  readonly fetch: FetchFunction;
  readonly timeoutMs: number;
  /** Plain http endpoints are allowed: the issuer is http on this machine (a local test IdP). */
  readonly allowHttp: boolean;
}

export async function discoverProviderMetadata(options: ProviderOptions): Promise<DiscoveredProvider> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  let issuer: URL;
  try {
    issuer = new URL(options.issuerUrl);
  } catch {
    throw new CliError(ExitCode.CATALOG, `issuer URL '${options.issuerUrl}' is not a URL`);
  }
  const what = `discovery at ${options.issuerUrl}`;
  // plain http only for a provider on this machine (a local test IdP), as the catalog allows
  const allowHttp = issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname);
  checkEndpointProtocol(issuer, allowHttp, what);
  if (options.clientSecret) registerSecret(options.clientSecret);
  const request = createRequest({
    caPems: options.caPems ?? [],
    caFiles: options.caFiles ?? [],
    insecureSkipTlsVerify: options.insecureSkipTlsVerify === true,
    timeoutMs,
    peer: 'identity provider',
    exitCode: ExitCode.PROVIDER,
  });
  const url = new URL(issuer.href);
  url.pathname = `${url.pathname}/.well-known/openid-configuration`.replace('//', '/');
  const started = Date.now();
  const metadata = metadataFrom(await request(url.href, { headers: { accept: 'application/json' }, redirect: 'manual' }), what);
  if (new URL(metadata.issuer).href !== issuer.href) {
    throw new CliError(
      ExitCode.PROVIDER,
      `${what} failed: the provider names itself '${sanitizeProviderText(metadata.issuer)}', not '${issuer.href}' (does the catalog's issuer-url match the provider's issuer exactly?)`,
    );
  }
  debug(`discovered ${metadata.issuer} in ${Date.now() - started} ms`);
  return { options, metadata, fetch: fetchOver(request), timeoutMs, allowHttp };
}

function metadataFrom(answer: HttpAnswer, what: string): ServerMetadata {
  const unexpected = (why: string): CliError => {
    const path = answer.url ? new URL(answer.url).pathname : 'the provider';
    return new CliError(ExitCode.PROVIDER, `the identity provider answered ${what} unexpectedly (HTTP ${answer.status} from ${path}${why ? `, ${why}` : ''}): is the issuer URL right?`);
  };
  if (answer.status !== 200) throw unexpected('');
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(answer.body));
  } catch {
    throw unexpected('not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw unexpected('not a JSON object');
  const issuer = (body as { issuer?: unknown }).issuer;
  if (typeof issuer !== 'string' || !URL.canParse(issuer)) throw unexpected('no issuer');
  return body as ServerMetadata;
}
