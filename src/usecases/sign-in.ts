import type { Configuration } from 'openid-client';
import { offersDeviceCode } from '../core/authorization-request.js';
import { chooseGrant, type GrantDecision, type GrantName } from '../core/grant-choice.js';
import type { DevicePrompt, GrantTokens } from '../adapters/oidc-grants.js';
import { passwordFromEnv, readPassword } from '../adapters/password-input.js';
import { CliError, ExitCode } from '../errors.js';
import { sanitizeProviderText } from '../core/oauth-callback.js';
import { debug } from '../ui/log.js';
import { redact } from '../ui/redact.js';

/**
 * A fresh sign-in with the grant the user asked for (or `auto`'s choice): the browser
 * authorization code flow (opened, or only printed with --no-browser), the device code flow,
 * or the password grant for CI.
 */
export interface SignInSettings {
  grant: GrantName;
  noBrowser: boolean;
  browserCommand?: string;
  /** --username or K8S_AUTH_USERNAME, for --grant password. */
  username?: string;
  /** Overall limit for the person to finish (browser or device code). */
  timeoutMs: number;
  env?: Readonly<Record<string, string | undefined>>;
  platform?: string;
}

/** The browser flow, provided by the login command's OIDC client (authorizationCodeSignIn). */
export type BrowserSignIn = (options: { openBrowser: boolean }) => Promise<GrantTokens>;

/**
 * The provider as the grant choice sees it: discovered metadata decides, and openid-client's
 * configuration is built only for the device code and password grants (the browser flow
 * opens the browser before openid-client loads).
 */
export interface GrantProvider {
  metadata: { device_authorization_endpoint?: unknown };
  configuration(): Promise<Configuration>;
}

/** Whether a sign-in with these settings needs a person: only a password from the environment does not. */
export function signInNeedsPerson(settings: Pick<SignInSettings, 'grant' | 'username' | 'env'>): boolean {
  const env = settings.env ?? process.env;
  return !(settings.grant === 'password' && passwordFromEnv(env) !== undefined && (settings.username ?? env['K8S_AUTH_USERNAME']));
}

export function decideGrant(metadata: GrantProvider['metadata'], settings: SignInSettings): GrantDecision {
  const decision = chooseGrant(settings.grant, {
    platform: settings.platform ?? process.platform,
    env: settings.env ?? process.env,
    noBrowser: settings.noBrowser,
    deviceCodeSupported: offersDeviceCode(metadata),
    ...(settings.browserCommand ? { browserCommand: settings.browserCommand } : {}),
  });
  debug(`sign-in flow: ${decision.grant} (${decision.why})`);
  return decision;
}

/**
 * What a person needs to approve a device code, on stderr (stdout may belong to kubectl). The
 * code and URLs are the provider's text: terminal escapes (clear screen, window title, a
 * rewritten line) are dropped as on every error path.
 */
export function showDevicePrompt(prompt: DevicePrompt, write: (text: string) => void = (t) => process.stderr.write(redact(t))): void {
  const minutes = Math.max(1, Math.round(prompt.expiresInSeconds / 60));
  const lines = [
    `To sign in, open ${sanitizeProviderText(prompt.verificationUri, 2048)} in a browser on any device and enter the code ${sanitizeProviderText(prompt.userCode, 64)}`,
  ];
  if (prompt.verificationUriComplete) lines.push(`(or open ${sanitizeProviderText(prompt.verificationUriComplete, 2048)} directly)`);
  lines.push(`Waiting for approval (the code expires in ${minutes} min)…`);
  write(`${lines.join('\n')}\n`);
}

export async function signIn(provider: GrantProvider, scopes: readonly string[], settings: SignInSettings, browser: BrowserSignIn): Promise<GrantTokens> {
  const decision = decideGrant(provider.metadata, settings);
  switch (decision.grant) {
    case 'browser':
      return browser({ openBrowser: decision.openBrowser });
    case 'device-code': {
      const [{ deviceCodeGrant }, config] = await Promise.all([import('../adapters/oidc-grants.js'), provider.configuration()]);
      return deviceCodeGrant(config, { scopes, prompt: (p) => showDevicePrompt(p), timeoutMs: settings.timeoutMs });
    }
    case 'password': {
      const env = settings.env ?? process.env;
      const username = settings.username ?? env['K8S_AUTH_USERNAME'];
      if (!username) {
        throw new CliError(ExitCode.USAGE, '--grant password needs a username: pass --username or set K8S_AUTH_USERNAME');
      }
      const password = await readPassword({ env, prompt: `Password for ${username}: ` });
      const [{ passwordGrant }, config] = await Promise.all([import('../adapters/oidc-grants.js'), provider.configuration()]);
      return passwordGrant(config, { scopes, username, password });
    }
  }
}
