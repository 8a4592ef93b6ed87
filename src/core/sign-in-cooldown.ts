import { parseSeconds } from './seconds.js';

/**
 * After an interactive sign-in from `credential` failed (timed out, cancelled, refused), the
 * next callers (kubectl run by an IDE, a shell prompt, Lens; or the ones queued on the lock
 * behind the failed one) must not open tab after tab: for a cool-down period they answer
 * exit 10 instead. `k8s-auth login` is the way to sign in at once. Pure.
 */
export const DEFAULT_SIGN_IN_COOLDOWN_SECONDS = 30;
export const SIGN_IN_COOLDOWN_ENV = 'K8S_AUTH_SIGNIN_COOLDOWN';

export interface SignInFailure {
  /** epoch ms */
  failedAtMs: number;
  /** one line: what went wrong (our own message, no secret) */
  reason: string;
}

/** The cool-down from the environment: seconds (90, 90s, 2m, 1h; core/seconds.ts); 0 turns it off; undefined when malformed. */
export function cooldownSecondsFrom(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const text = env[SIGN_IN_COOLDOWN_ENV];
  if (text === undefined || text.trim() === '') return DEFAULT_SIGN_IN_COOLDOWN_SECONDS;
  return parseSeconds(text);
}

/** Seconds left of the cool-down, or 0 when a sign-in may start. A failure "in the future" (clock set back) counts from now. */
export function cooldownRemainingSeconds(failure: SignInFailure | undefined, nowMs: number, cooldownSeconds: number): number {
  if (!failure || cooldownSeconds <= 0) return 0;
  const since = Math.max(0, nowMs - failure.failedAtMs);
  const left = cooldownSeconds * 1000 - since;
  return left > 0 ? Math.ceil(left / 1000) : 0;
}

export function serializeSignInFailure(failure: SignInFailure): string {
  return `${JSON.stringify({ failedAt: new Date(failure.failedAtMs).toISOString(), reason: failure.reason })}\n`;
}

export function parseSignInFailure(text: string): SignInFailure | undefined {
  try {
    const raw = JSON.parse(text) as Record<string, unknown>;
    const at = typeof raw['failedAt'] === 'string' ? Date.parse(raw['failedAt']) : Number.NaN;
    if (!Number.isFinite(at)) return undefined;
    const reason = typeof raw['reason'] === 'string' ? raw['reason'].replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300) : 'unknown';
    return { failedAtMs: at, reason };
  } catch {
    return undefined;
  }
}

/** Where the failure is recorded: next to the cache entry it is about. */
export function signInFailurePath(cacheFile: string): string {
  return `${cacheFile}.signin-failed`;
}
