import { createHash } from 'node:crypto';
import { CliError, ExitCode } from '../errors.js';
import { sanitizeProviderText } from './oauth-callback.js';

/**
 * The authorization request of the browser flow (RFC 6749 §4.1.1 with PKCE, RFC 7636), built
 * from discovered metadata: what openid-client's buildAuthorizationUrl does for a plain code flow,
 * here so that `login` opens the browser before openid-client has loaded.
 */
export interface AuthorizationRequestInput {
  /** The provider's metadata: its issuer and authorization_endpoint. */
  metadata: { issuer: string; authorization_endpoint?: unknown };
  clientId: string;
  /** Plain http allowed (an issuer on this machine); https otherwise. */
  allowHttp: boolean;
  /** redirect_uri, scope, state, nonce, code_challenge… in the order they are sent. */
  parameters: Record<string, string>;
}

export function authorizationUrl(input: AuthorizationRequestInput): URL {
  const endpoint = input.metadata.authorization_endpoint;
  if (typeof endpoint !== 'string' || !URL.canParse(endpoint)) {
    throw new CliError(ExitCode.PROVIDER, `the identity provider at ${sanitizeProviderText(input.metadata.issuer)} advertises no usable authorization_endpoint: is the issuer URL right?`);
  }
  const url = new URL(endpoint);
  checkEndpointProtocol(url, input.allowHttp, 'the sign-in');
  const parameters = new URLSearchParams(input.parameters);
  if (!parameters.has('client_id')) parameters.set('client_id', input.clientId);
  if (!parameters.has('response_type')) parameters.set('response_type', 'code');
  for (const [key, value] of parameters) url.searchParams.append(key, value);
  return url;
}

/** openid-client's rule for every endpoint: https only, http where allowed (a provider on this machine). */
export function checkEndpointProtocol(url: URL, allowHttp: boolean, what: string): void {
  if (url.protocol === 'https:' || (allowHttp && url.protocol === 'http:')) return;
  throw new CliError(ExitCode.PROVIDER, `${what} needs https: the provider advertised a plain http endpoint`);
}

/** Whether the provider offers the device code flow (RFC 8628 metadata). */
export function offersDeviceCode(metadata: { device_authorization_endpoint?: unknown }): boolean {
  return typeof metadata.device_authorization_endpoint === 'string';
}

/** The S256 code challenge of a PKCE verifier (RFC 7636 §4.2). */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}
