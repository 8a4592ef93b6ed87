// oidc-provider configuration shaped like Dex: two clients, Dex scopes and claims (in the ID
// token), Dex endpoint paths, PKCE S256, rotating refresh tokens, device flow, revocation,
// self-contained pages, and every TTL explicit (so the provider prints no notices).
import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import type { Configuration, FindAccount } from 'oidc-provider';
import { deviceSuccessPage, errorPage, userCodeConfirmPage, userCodeInputPage } from './oidc-provider-pages.js';
import { SUPPORTED_SCOPES } from './oidc-provider-password-grant.js';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const MOUNT = '/dex';
const GRANTS = ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT, 'password'];

export function buildProviderConfiguration(opts: {
  confidentialSecret: string;
  confidentialRedirectUris: string[];
  signingJwk: JWK;
  findAccount: FindAccount;
  idTokenTtl: () => number;
}): Configuration {
  return {
    clients: [
      {
        client_id: 'k8s-auth',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        // native + loopback: oidc-provider ignores the port when matching (RFC 8252 7.3)
        redirect_uris: ['http://127.0.0.1/callback', 'http://[::1]/callback', 'http://localhost/callback'],
        grant_types: GRANTS,
        response_types: ['code'],
      },
      {
        client_id: 'k8s-auth-confidential',
        client_secret: opts.confidentialSecret,
        application_type: 'web',
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: opts.confidentialRedirectUris,
        grant_types: GRANTS,
        response_types: ['code'],
      },
    ],
    jwks: { keys: [opts.signingJwk as Record<string, unknown>] } as Configuration['jwks'],
    cookies: { keys: [randomBytes(32).toString('hex')] },
    findAccount: opts.findAccount,
    conformIdTokenClaims: false,
    scopes: SUPPORTED_SCOPES,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
      'federated:id': ['federated_claims'],
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    routes: {
      authorization: '/auth', token: '/token', jwks: '/keys', userinfo: '/userinfo',
      device_authorization: '/device/code', code_verification: '/device', revocation: '/token/revocation',
    },
    interactions: { url: (_ctx, interaction) => `${MOUNT}/interaction/${interaction.uid}` },
    rotateRefreshToken: () => true,
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: opts.idTokenTtl, IdToken: opts.idTokenTtl, AuthorizationCode: 60, RefreshToken: 14 * 24 * 3600,
      DeviceCode: 600, Interaction: 3600, Session: 24 * 3600, Grant: 14 * 24 * 3600,
      ClientCredentials: 600, BackchannelAuthenticationRequest: 600,
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      resourceIndicators: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: true },
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: (ctx, form, _out, err) => {
          ctx.type = 'html';
          ctx.body = userCodeInputPage(form, err ? 'The code you entered is incorrect or expired. Try again.' : undefined);
        },
        userCodeConfirmSource: (ctx, form, client, _info, userCode) => {
          ctx.type = 'html';
          ctx.body = userCodeConfirmPage(form, client.clientId, userCode);
        },
        successSource: (ctx) => {
          ctx.type = 'html';
          ctx.body = deviceSuccessPage();
        },
      },
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage({ ...out });
    },
  };
}
