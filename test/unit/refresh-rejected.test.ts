// Which refresh errors mean "this refresh token is dead, sign in again" (RFC 6749's invalid_grant,
// and Dex's invalid_request for a replaced, reused, revoked or expired token) and which do not.
import { describe, expect, it } from 'vitest';
import { refreshTokenRejected } from '../../src/adapters/oidc-grants.js';

describe('refreshTokenRejected', () => {
  it('takes invalid_grant, whatever its description', () => {
    expect(refreshTokenRejected('invalid_grant', undefined)).toBe(true);
    expect(refreshTokenRejected('invalid_grant', 'grant request is invalid')).toBe(true);
  });
  it("takes Dex's invalid_request for a dead refresh token (Dex v2.44 server/refreshhandlers.go)", () => {
    expect(refreshTokenRejected('invalid_request', 'Refresh token is invalid or has already been claimed by another client.')).toBe(true);
    expect(refreshTokenRejected('invalid_request', 'Refresh token expired.')).toBe(true);
  });
  it('leaves other invalid_request answers and other errors to the provider-failure path', () => {
    expect(refreshTokenRejected('invalid_request', 'No refresh token is found in request.')).toBe(false);
    expect(refreshTokenRejected('invalid_request', undefined)).toBe(false);
    expect(refreshTokenRejected('invalid_client', 'Invalid client credentials.')).toBe(false);
    expect(refreshTokenRejected('server_error', 'Refresh token is invalid')).toBe(false);
  });
});
