import { CliError, ExitCode } from '../errors.js';

// The refresh grant's failures, apart from oidc-grants.ts so that code which only recognises
// them (the credential use case, loaded by `login --exec` before the browser) loads no openid-client.

/** A token response without an ID token; carries a rotated refresh token so it is not lost. */
export class RefreshWithoutIdTokenError extends CliError {
  readonly rotatedRefreshToken: string | undefined;
  constructor(issuer: string, grant: string, rotatedRefreshToken: string | undefined) {
    super(ExitCode.PROVIDER, `the identity provider at ${issuer} answered the ${grant} without an ID token, which Kubernetes needs`, {
      hint: grant === 'refresh'
        ? 'this provider does not issue ID tokens on refresh: sign in again with `k8s-auth login <cluster> --exec`, or ask its admin to enable it'
        : 'check that the client is allowed the openid scope',
    });
    this.name = 'RefreshWithoutIdTokenError';
    this.rotatedRefreshToken = rotatedRefreshToken;
  }
}

/** The provider said no to a refresh token (invalid_grant, or Dex's invalid_request: expired, revoked, already used). */
export class RefreshRejectedError extends CliError {
  readonly reason: string;
  constructor(issuer: string, reason: string, cause: unknown) {
    super(ExitCode.PROVIDER, `the identity provider at ${issuer} refused the cached refresh token (${reason})`, {
      hint: 'sign in again with `k8s-auth login <cluster> --exec`',
      cause,
    });
    this.name = 'RefreshRejectedError';
    this.reason = reason;
  }
}
