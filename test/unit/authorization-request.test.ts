// The browser flow's authorization request, built from discovered metadata before openid-client
// loads (core/authorization-request.ts): the same URL openid-client's buildAuthorizationUrl
// builds, and the same refusals.
import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { authorizationUrl, pkceChallenge } from '../../src/core/authorization-request.js';

const metadata = { issuer: 'https://idp.example/dex', authorization_endpoint: 'https://idp.example/dex/auth?connector_id=ldap' };
const parameters = { login_hint: 'jane', redirect_uri: 'http://127.0.0.1:8000/callback', scope: 'openid groups', state: 's', nonce: 'n', code_challenge: 'c', code_challenge_method: 'S256' };

describe('authorization request', () => {
  it('is the URL openid-client builds for the same metadata and parameters, query kept', () => {
    const ours = authorizationUrl({ metadata, clientId: 'kube', allowHttp: false, parameters });
    const theirs = oidc.buildAuthorizationUrl(new oidc.Configuration(metadata, 'kube'), parameters);
    expect(ours.href).toBe(theirs.href);
    expect(ours.searchParams.get('connector_id')).toBe('ldap');
    expect(ours.searchParams.get('response_type')).toBe('code');
    expect(ours.searchParams.get('client_id')).toBe('kube');
  });

  it('refuses a plain http endpoint unless the issuer is on this machine, and a missing one', () => {
    const http = { issuer: 'http://127.0.0.1:5556', authorization_endpoint: 'http://127.0.0.1:5556/auth' };
    expect(() => authorizationUrl({ metadata: http, clientId: 'kube', allowHttp: false, parameters })).toThrow('needs https');
    expect(authorizationUrl({ metadata: http, clientId: 'kube', allowHttp: true, parameters }).origin).toBe('http://127.0.0.1:5556');
    expect(() => authorizationUrl({ metadata: { issuer: 'https://idp.example' }, clientId: 'kube', allowHttp: false, parameters })).toThrow('no usable authorization_endpoint');
    expect(() => authorizationUrl({ metadata: { issuer: 'https://idp.example', authorization_endpoint: 'not a url' }, clientId: 'kube', allowHttp: false, parameters })).toThrow('no usable authorization_endpoint');
  });

  it('computes the S256 challenge as openid-client does (RFC 7636 appendix B vector)', async () => {
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    expect(pkceChallenge(verifier)).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    expect(pkceChallenge(verifier)).toBe(await oidc.calculatePKCECodeChallenge(verifier));
  });
});
