import { spawn } from 'node:child_process';
import { decodeJwtClaims } from '../core/id-token-claims.js';
import { tokenSchedule } from '../core/proxy-request.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { debug, warn } from '../ui/log.js';
import { registerSecret } from '../ui/redact.js';
import type { KubeconfigTarget } from './kubeconfig-target.js';
import { execTokenCache, readCachedTokens } from './token-cache-read.js';

/**
 * Where `k8s-auth proxy` gets the bearer token it forwards with, for the kubeconfig user of a
 * context: a static token (or token file), an `auth-provider: oidc` ID token (renewed with its
 * refresh token when due and written back into the kubeconfig, as kubectl does:
 * usecases/auth-provider-renewal.ts), or an exec plugin (k8s-auth's own token cache when its ID
 * token is fresh, else the plugin runs non-interactively with the kubeconfig's exec `env`
 * entries, as kubectl would run it). The token is kept in memory and renewed ahead of its expiry while the
 * old one still serves requests; concurrent requests share one renewal. A client certificate
 * user has no token: the certificate goes into the upstream TLS agent instead.
 */
export interface UpstreamToken {
  token: string;
  /** ms since the epoch; undefined when the token carries no expiry (static). */
  expiresAtMs: number | undefined;
}

export interface TokenSource {
  /** 'token', 'oidc', 'exec' or 'none' (client certificate or anonymous) */
  kind: 'token' | 'oidc' | 'exec' | 'none';
  /** The token to forward with now (undefined: none, e.g. client certificates). Throws a CliError when none can be had. */
  current(): Promise<string | undefined>;
  /** The API server refused `token` (401): drop it so the next request renews. */
  rejected(token: string): void;
}

function jwtExpiryMs(token: string): number | undefined {
  try {
    const exp = decodeJwtClaims(token)['exp'];
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

const EXEC_TIMEOUT_MS = 120_000;

/** Runs a kubeconfig exec plugin the way client-go does, never interactively; the ExecCredential's token and expiry. */
export function runExecPlugin(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<UpstreamToken> {
  const execInfo = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', spec: { interactive: false } });
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env: { ...env, KUBERNETES_EXEC_INFO: execInfo }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), EXEC_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new CliError(ExitCode.KUBECONFIG, `cannot run the kubeconfig exec plugin '${command}': ${describeError(error)}: check the user's exec.command`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        const last = stderr.trim().split('\n').filter((l) => l.trim() !== '').pop() ?? '';
        const line = last.replace(/^error:\s*/, '');
        // k8s-auth's own plugin says what to do (exit 10: run `k8s-auth login … --exec`)
        reject(new CliError(code === ExitCode.INTERACTION_REQUIRED ? ExitCode.INTERACTION_REQUIRED : ExitCode.KUBECONFIG, `the exec plugin '${command}' failed (exit ${code ?? 'signal'})${line ? `: ${line}` : ''}`));
        return;
      }
      let status: Record<string, unknown> | undefined;
      try {
        const parsed = JSON.parse(stdout) as { status?: Record<string, unknown> };
        status = parsed.status;
      } catch {
        status = undefined;
      }
      const token = status?.['token'];
      if (typeof token !== 'string' || token === '') {
        reject(new CliError(ExitCode.KUBECONFIG, `the exec plugin '${command}' printed no ExecCredential with a status.token (client certificates from exec plugins are not supported by k8s-auth proxy)`));
        return;
      }
      registerSecret(token);
      const expiry = status?.['expirationTimestamp'];
      const expiresAtMs = typeof expiry === 'string' && !Number.isNaN(Date.parse(expiry)) ? Date.parse(expiry) : jwtExpiryMs(token);
      resolve({ token, expiresAtMs });
    });
  });
}

interface Held {
  token: UpstreamToken;
  schedule: ReturnType<typeof tokenSchedule>;
}

/**
 * A token cached in memory: `fetch` is called for the first one, again in the background once
 * renewAtMs says so (requests keep the old token meanwhile), and at once when the token is
 * expired or was rejected. One fetch at a time.
 */
export function cachedTokenSource(kind: TokenSource['kind'], fetch: () => Promise<UpstreamToken>, now: () => number = Date.now): TokenSource {
  let held: Held | undefined;
  let renewing: Promise<Held> | undefined;
  const renew = (): Promise<Held> => {
    renewing ??= (async () => {
      const issuedAt = now();
      const token = await fetch();
      const next = { token, schedule: tokenSchedule(issuedAt, token.expiresAtMs) };
      held = next;
      return next;
    })().finally(() => {
      renewing = undefined;
    });
    return renewing;
  };
  return {
    kind,
    async current() {
      const t = now();
      if (held && (held.schedule === undefined || t < held.schedule.usableUntilMs)) {
        if (held.schedule !== undefined && t >= held.schedule.renewAtMs && !renewing) {
          debug('renewing the upstream token ahead of its expiry');
          renew().catch((error: unknown) => warn(`could not renew the upstream token yet (the current one is still valid): ${describeError(error)}`));
        }
        return held.token.token;
      }
      return (await renew()).token.token;
    },
    rejected(token) {
      if (held?.token.token === token) held = undefined;
    },
  };
}

/** The token source for a kubeconfig target (see TokenSource); `authProviderToken` gives an auth-provider oidc user's current ID token, renewed when due (usecases/auth-provider-renewal.ts). */
export function tokenSourceFor(target: KubeconfigTarget, selection: { kubeconfig?: string; context: string }, deps: { authProviderToken: () => Promise<UpstreamToken> }): TokenSource {
  if (target.credentials?.kind === 'token') {
    const token = target.credentials.token;
    return cachedTokenSource('token', () => Promise.resolve({ token, expiresAtMs: jwtExpiryMs(token) }));
  }
  if (target.credentials?.kind === 'client-certificate' || target.credentials?.kind === 'none') {
    return { kind: 'none', current: () => Promise.resolve(undefined), rejected: () => undefined };
  }
  if (target.userAuthProvider === 'oidc') {
    // renewed with its refresh token when due, written back into the kubeconfig (as kubectl does)
    return cachedTokenSource('oidc', deps.authProviderToken);
  }
  const exec = target.userExec;
  if (exec) {
    return cachedTokenSource('exec', async () => {
      // k8s-auth's own plugin: its token cache holds the ID token it would print
      // the plugin's environment as kubectl makes it: ours plus the kubeconfig's exec env entries
      const env = { ...process.env, ...exec.env };
      const cache = execTokenCache(exec.args, env);
      const cached = cache ? readCachedTokens(cache)?.idToken : undefined;
      const cachedExpiry = cached ? jwtExpiryMs(cached) : undefined;
      if (cached && cachedExpiry !== undefined && cachedExpiry > Date.now() + 120_000) {
        debug('upstream token from the exec plugin\'s token cache');
        return { token: cached, expiresAtMs: cachedExpiry };
      }
      debug(`running the exec plugin ${exec.command} for a fresh upstream token`);
      return runExecPlugin(exec.command, exec.args, env);
    });
  }
  throw new CliError(ExitCode.KUBECONFIG, `k8s-auth proxy cannot sign in as the user of context '${selection.context}': ${target.unsupported ?? 'its credentials are not supported'} (supported: a token, a client certificate, auth-provider oidc, an exec plugin)`);
}
