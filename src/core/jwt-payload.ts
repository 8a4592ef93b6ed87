/**
 * The one unverified JWT payload reader. Decoding only, as kubectl reads `exp`: signatures are
 * checked at sign-in (adapters/id-token-verifier.ts), never here. No imports, so the CommonJS
 * exec hot path can carry it.
 */
export type JwtClaims = Record<string, unknown>;

/** The payload of a compact JWS as an object, or undefined when the token is not one. */
export function readJwtPayload(token: string): JwtClaims | undefined {
  const parts = token.split('.');
  const payload = parts[1];
  if (parts.length !== 3 || !payload) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as JwtClaims) : undefined;
  } catch {
    return undefined;
  }
}
