/**
 * Secrets must never reach a log line, an error or --verbose output. Every adapter that handles
 * a secret registers it here; everything written to stderr passes through `redact`.
 */
const secrets = new Set<string>();

/** Values shorter than this are not secrets worth masking (and would mangle ordinary text). */
const MIN_SECRET_LENGTH = 6;

export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

/** JWT-shaped strings are masked even if nobody registered them. */
const JWT_PATTERN = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  return out.replace(JWT_PATTERN, '[redacted-jwt]');
}

/** For tests only. */
export function clearSecretsForTest(): void {
  secrets.clear();
}

/** For tests only: how many secrets are registered (a long-running server must not grow it). */
export function registeredSecretCountForTest(): number {
  return secrets.size;
}
