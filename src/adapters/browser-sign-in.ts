import { randomBytes } from 'node:crypto';
import { authorizationUrl, pkceChallenge } from '../core/authorization-request.js';
import { decideCallback, planRedirect, sanitizeProviderText } from '../core/oauth-callback.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { renderCallbackPage } from '../ui/callback-page.js';
import { debug } from '../ui/log.js';
import { type LoopbackReply, type LoopbackRequest, startLoopbackServer } from './loopback-server.js';
import type { DiscoveredProvider } from './oidc-discovery.js';
import type { SignInResult } from './oidc-client.js';

/**
 * The browser flow: the authorization code grant with PKCE (S256), state and nonce over a
 * loopback redirect; the RFC 9207 `iss` callback parameter is checked when present. It starts
 * from discovered metadata and opens the browser before openid-client is loaded: loading it
 * (oidc-client.ts) was the largest cost of `login` before the browser (docs/performance.md),
 * and it is needed only for the code exchange, after the person has signed in.
 */
type OidcClient = typeof import('./oidc-client.js');

export interface SignInOptions {
  scopes: readonly string[];
  /** A fixed loopback redirect (the catalog's redirect-uri). */
  redirectUri?: string;
  /** --listen-port. */
  listenPort?: number;
  /** Shows the authorization URL to the user (browser or stderr). */
  openBrowser: (url: string) => Promise<void>;
  /** Whole sign-in budget (--timeout). */
  timeoutMs: number;
  /**
   * Who signed in, for the browser page (default: email, else sub); throws (a CliError) when the
   * claims cannot be used, so the page shows that failure instead of a success.
   */
  describeUser?: (claims: Record<string, unknown>) => string;
  /** Clusters named on the browser page. */
  clusters?: readonly string[];
  /** Extra authorization request parameters (e.g. prompt, login_hint). */
  extraParameters?: Record<string, string>;
}

function defaultDescribeUser(claims: Record<string, unknown>): string {
  const email = claims['email'];
  const sub = claims['sub'];
  return typeof email === 'string' && email ? email : typeof sub === 'string' ? sub : 'unknown user';
}

export async function authorizationCodeSignIn(provider: DiscoveredProvider, options: SignInOptions): Promise<SignInResult> {
  const plan = planRedirect({ ...(options.redirectUri ? { redirectUri: options.redirectUri } : {}), ...(options.listenPort !== undefined ? { listenPort: options.listenPort } : {}) });
  // 32 random bytes each, as openid-client's randomPKCECodeVerifier, randomState and randomNonce
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(32).toString('base64url');
  const nonce = randomBytes(32).toString('base64url');
  const challenge = pkceChallenge(verifier);
  const issuer = provider.metadata.issuer;
  // openid-client loads while the person signs in (see the top of this file)
  let client: Promise<OidcClient> | undefined;
  const loadClient = (): Promise<OidcClient> => (client ??= import('./oidc-client.js'));

  let settle!: { resolve: (r: SignInResult) => void; reject: (e: unknown) => void };
  const outcome = new Promise<SignInResult>((resolve, reject) => (settle = { resolve, reject }));
  let busy = false;
  let redirectUri = '';

  const handle = async (request: LoopbackRequest): Promise<LoopbackReply> => {
    const decision = decideCallback(request, { path: plan.path, state, issuer });
    switch (decision.kind) {
      case 'not-found':
        return { status: 404, html: 'not found\n' };
      case 'method-not-allowed':
        return { status: 405, html: 'method not allowed\n' };
      case 'bad-request':
        debug(`callback refused: ${decision.reason}`);
        return { status: 400, html: renderCallbackPage({ kind: 'notice', title: 'Not this sign-in', detail: `${decision.reason}. The login in your terminal is still waiting for its own sign-in.` }) };
      default:
        break;
    }
    if (busy) return { status: 409, html: renderCallbackPage({ kind: 'notice', title: 'Already handled', detail: 'This sign-in has already been received.' }) };
    busy = true;
    if (decision.kind === 'wrong-issuer') {
      settle.reject(new CliError(ExitCode.PROVIDER, `the sign-in response names issuer '${sanitizeProviderText(decision.issuer)}', not '${issuer}' (RFC 9207 mix-up protection): nothing was written`));
      return { status: 400, html: renderCallbackPage({ kind: 'error', title: 'Sign-in refused', detail: 'The response came from an unexpected identity provider.' }), final: true };
    }
    if (decision.kind === 'denied') {
      const detail = `${sanitizeProviderText(decision.error, 80)}${decision.description ? `: ${sanitizeProviderText(decision.description)}` : ''}`;
      settle.reject(new CliError(ExitCode.LOGIN_DENIED, `the identity provider refused the sign-in (${detail}): check that your account may use this cluster, then log in again`));
      return { status: 200, html: renderCallbackPage({ kind: 'error', title: 'Sign-in refused', detail: `The identity provider answered: ${detail}.` }), final: true };
    }
    let result: SignInResult;
    try {
      const current = new URL(redirectUri);
      current.search = request.query.toString();
      const { configurationFor, exchangeAuthorizationCode } = await loadClient();
      result = await exchangeAuthorizationCode(configurationFor(provider), current, { verifier, state, nonce });
    } catch (error) {
      // exchangeAuthorizationCode says in one line what the provider did wrong
      const failure = error instanceof CliError ? error : new CliError(ExitCode.INTERNAL, `the authorization code exchange failed unexpectedly: ${describeError(error)}`, { cause: error });
      settle.reject(failure);
      return { status: 502, html: renderCallbackPage({ kind: 'error', title: 'Sign-in failed', detail: failure.message }), final: true };
    }
    // the page must not say "signed in" for a token the command is about to refuse
    let who: string;
    try {
      who = (options.describeUser ?? defaultDescribeUser)(result.claims);
    } catch (error) {
      const failure = error instanceof CliError ? error : new CliError(ExitCode.PROVIDER, `the ID token cannot be used: ${describeError(error)}`, { cause: error });
      settle.reject(failure);
      return { status: 200, html: renderCallbackPage({ kind: 'error', title: 'Signed in, but not usable here', detail: failure.message }), final: true };
    }
    settle.resolve(result);
    return { status: 200, html: renderCallbackPage({ kind: 'success', who, clusters: [...(options.clusters ?? [])] }), final: true };
  };

  const server = await startLoopbackServer(plan, handle);
  redirectUri = server.redirectUri;
  let timer: NodeJS.Timeout | undefined;
  try {
    const parameters: Record<string, string> = {
      ...options.extraParameters,
      redirect_uri: redirectUri,
      scope: [...new Set(options.scopes)].join(' '),
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    };
    const url = authorizationUrl({ metadata: provider.metadata, clientId: provider.options.clientId, allowHttp: provider.allowHttp, parameters });
    await options.openBrowser(url.href);
    // load openid-client and fetch the JWKS while the person signs in: the callback then costs
    // no module loading and no round trip but the code exchange
    void loadClient()
      .then(({ configurationFor, prefetchJwks }) => prefetchJwks(configurationFor(provider)))
      .catch(() => undefined);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new CliError(ExitCode.LOGIN_TIMEOUT, `no sign-in within ${Math.round(options.timeoutMs / 1000)}s: run the command again and finish signing in, or raise --timeout`));
      }, options.timeoutMs);
    });
    return await Promise.race([outcome, timeout]);
  } finally {
    if (timer) clearTimeout(timer);
    // the outcome settles just before the final page is written: let it reach the browser
    if (busy) await Promise.race([server.finished, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    server.close();
  }
}
