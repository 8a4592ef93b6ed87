// Resource Owner Password grant (RFC 6749 4.3), which Dex supports, added to oidc-provider.
// Like Dex: tokens for a valid login/password, a refresh token only with offline_access.
import type Provider from 'oidc-provider';
import type { Account, errors as OidcErrors } from 'oidc-provider';

export const SUPPORTED_SCOPES = ['openid', 'offline_access', 'email', 'profile', 'groups', 'federated:id'];

interface PasswordUser {
  sub: string;
  password: string;
}

export function registerPasswordGrant(
  provider: Provider,
  errors: typeof OidcErrors,
  deps: { findByLogin(login: string): PasswordUser | undefined; findAccount(sub: string): Account | undefined; withholdScopes?: readonly string[] },
): void {
  provider.registerGrantType<{ username?: string; password?: string }>(
    'password',
    async (ctx) => {
      const { username, password, scope } = ctx.oidc.params;
      if (!username || !password) throw new errors.InvalidRequest('username and password are required');
      const user = deps.findByLogin(String(username));
      const account = user ? deps.findAccount(user.sub) : undefined;
      if (!user || !account || user.password !== password) {
        throw new errors.InvalidGrant('invalid username or password');
      }
      const requested = String(scope ?? 'openid').split(' ').filter(Boolean);
      const unknown = requested.filter((s) => !SUPPORTED_SCOPES.includes(s));
      if (unknown.length > 0) throw new errors.InvalidScope('requested scope is not supported', unknown.join(' '));
      // a reduced-scope provider grants less than asked (and says so in `scope`)
      const scopes = [...new Set(requested)].filter((s) => !(deps.withholdScopes ?? []).includes(s)).join(' ');
      const { client } = ctx.oidc;
      const authTime = Math.floor(Date.now() / 1000);

      const grant = new provider.Grant({ accountId: user.sub, clientId: client.clientId });
      grant.addOIDCScope(scopes);
      const grantId = await grant.save();
      ctx.oidc.entity('Grant', grant);
      ctx.oidc.entity('Account', account);

      const at = new provider.AccessToken({ accountId: user.sub, client, grantId, gty: 'password', scope: scopes });
      ctx.oidc.entity('AccessToken', at);
      const accessToken = await at.save();

      let refreshToken: string | undefined;
      if (scopes.split(' ').includes('offline_access')) {
        const rt = new provider.RefreshToken({
          accountId: user.sub, client, grantId, gty: 'password', scope: scopes, authTime, rotations: 0,
        });
        ctx.oidc.entity('RefreshToken', rt);
        refreshToken = await rt.save();
      }

      let idToken: string | undefined;
      if (requested.includes('openid')) {
        const claims = await account.claims('id_token', scopes, {}, []);
        const token = new provider.IdToken({ ...claims, auth_time: authTime }, { ctx });
        // the provider filters the claims by this scope (conformIdTokenClaims is off)
        (token as unknown as { scope: string }).scope = scopes;
        idToken = await token.issue({ use: 'idtoken' });
      }

      ctx.body = {
        access_token: accessToken,
        expires_in: at.expiration,
        id_token: idToken,
        refresh_token: refreshToken,
        scope: scopes,
        token_type: 'Bearer',
      };
    },
    ['username', 'password', 'scope'],
  );
}
