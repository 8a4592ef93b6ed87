/**
 * Exit codes are a public contract (docs/exit-codes.md): scripts branch on them, so a code
 * never changes meaning once released.
 */
export const ExitCode = {
  OK: 0,
  /** Unexpected failure: a bug or an error nobody classified. */
  INTERNAL: 1,
  /** Bad flags, arguments or environment values. */
  USAGE: 2,
  /** The cluster catalog: entry missing, malformed, or the catalog file unreadable. */
  CATALOG: 3,
  /** Vault: unreachable, sealed, permission denied, not KV v2. */
  VAULT: 4,
  /** Identity provider: discovery, TLS, token endpoint, or an ID token that fails verification. */
  PROVIDER: 5,
  /** Sign-in did not finish in time (--timeout). */
  LOGIN_TIMEOUT: 6,
  /** The user or provider refused the sign-in (error= on the callback, access_denied). */
  LOGIN_DENIED: 7,
  /** kubeconfig or token cache: unreadable, malformed, locked, not writable. */
  KUBECONFIG: 8,
  /** Kubernetes API server refused or failed (403, 404, 409 after retries, 5xx). */
  KUBERNETES: 9,
  /** A fresh sign-in is needed but this invocation may not be interactive. */
  INTERACTION_REQUIRED: 10,
  /** A lock stayed held past its timeout. */
  LOCK_TIMEOUT: 11,
  /** doctor: at least one check failed. */
  CHECK_FAILED: 12,
  /** Interrupted by SIGINT (128 + 2), as shells report it. */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error meant for the user: `message` is the one line printed on stderr (what was wrong and
 * what to do). Never put a secret in it.
 */
export class CliError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;

  constructor(exitCode: ExitCodeValue, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.hint = options?.hint;
  }
}

export function isCliError(value: unknown): value is CliError {
  return value instanceof CliError;
}

/** The message of anything thrown, for wrapping; never includes a stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const cause = error.cause instanceof Error ? error.cause.message : undefined;
    const base = error.message || String(code ?? error.name);
    return cause && !base.includes(cause) ? `${base} (${cause})` : base;
  }
  return String(error);
}
