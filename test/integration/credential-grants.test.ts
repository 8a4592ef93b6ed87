// The token-endpoint grants (src/adapters/oidc-grants.ts) against the real provider, with the
// request bodies recorded: refresh resends the original scopes, rotations are returned, and
// refusals become one-line errors with the right exit codes.
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RefreshRejectedError } from '../../src/adapters/grant-errors.js';
import { passwordGrant, refreshGrant, supportsDeviceCode } from '../../src/adapters/oidc-grants.js';
import { CliError, ExitCode } from '../../src/errors.js';
import { startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { fetchTrusting, type TrustingFetch } from '../support/tls-fetch.js';

describe('grants against oidc-provider', () => {
  let fx: CredentialFixture;
  let trusting: TrustingFetch;
  let config: client.Configuration;
  const bodies: URLSearchParams[] = [];

  beforeAll(async () => {
    fx = await startCredentialFixture();
    trusting = fetchTrusting(fx.op.caPem);
    const recording: client.CustomFetch = async (url, options) => {
      if (url.endsWith('/token') && typeof options.body === 'string') bodies.push(new URLSearchParams(options.body));
      else if (url.endsWith('/token') && options.body instanceof URLSearchParams) bodies.push(new URLSearchParams(options.body));
      return trusting(url, options as RequestInit);
    };
    config = await client.discovery(new URL(fx.op.issuer), fx.op.clientId, undefined, client.None(), { [client.customFetch]: recording });
  });
  afterAll(async () => {
    await trusting?.close();
    await fx?.close();
  });

  it('refresh sends exactly the granted scope and returns the rotated refresh token', async () => {
    const first = await passwordGrant(config, { scopes: fx.scopes, username: 'jane@example.com', password: 'jane-password' });
    expect(first.refreshToken).toBeDefined();
    expect(first.scope?.split(' ').sort()).toEqual([...fx.scopes].sort());
    bodies.length = 0;
    const refreshed = await refreshGrant(config, first.refreshToken as string, first.scope);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.get('grant_type')).toBe('refresh_token');
    expect(bodies[0]?.get('scope')).toBe(first.scope);
    expect(refreshed.scope?.split(' ').sort()).toEqual([...fx.scopes].sort());
    expect(refreshed.refreshToken).toBeDefined();
    expect(refreshed.refreshToken).not.toBe(first.refreshToken);
    expect(refreshed.claims['groups']).toEqual(['developers']);
    expect(refreshed.expiresAt).toBeGreaterThan(Date.now() / 1000);
  });

  it('a used (rotated-away) refresh token is refused as invalid_grant', async () => {
    const first = await passwordGrant(config, { scopes: fx.scopes, username: 'jane@example.com', password: 'jane-password' });
    await refreshGrant(config, first.refreshToken as string, first.scope);
    const again = refreshGrant(config, first.refreshToken as string, first.scope);
    await expect(again).rejects.toBeInstanceOf(RefreshRejectedError);
    await expect(again).rejects.toMatchObject({ exitCode: ExitCode.PROVIDER, reason: expect.stringContaining('invalid_grant') });
  });

  it('a wrong password is LOGIN_DENIED and never echoes the password', async () => {
    const attempt = passwordGrant(config, { scopes: fx.scopes, username: 'jane@example.com', password: 'wrong-password-123' });
    await expect(attempt).rejects.toBeInstanceOf(CliError);
    const error = (await attempt.catch((e: unknown) => e)) as CliError;
    expect(error.exitCode).toBe(ExitCode.LOGIN_DENIED);
    expect(error.message).toContain("'jane@example.com'");
    expect(error.message).not.toContain('wrong-password-123');
  });

  it('sees the device endpoint in discovery', () => {
    expect(supportsDeviceCode(config)).toBe(true);
  });
});
