import { CliError, ExitCode } from '../errors.js';
import { readJwtPayload, type JwtClaims } from './jwt-payload.js';

/**
 * Reading claims out of an ID token we already hold (in the kubeconfig or just verified by
 * openid-client). Decoding only: signature checks happen at sign-in, never here.
 */
export type Claims = JwtClaims;

export function decodeJwtClaims(token: string): Claims {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) throw new CliError(ExitCode.KUBECONFIG, 'the stored ID token is not a JWT: log in again');
  const claims = readJwtPayload(token);
  if (claims) return claims;
  throw new CliError(ExitCode.KUBECONFIG, 'the stored ID token has an unreadable payload: log in again');
}

export interface IdentitySummary {
  issuer: string | undefined;
  subject: string | undefined;
  email: string | undefined;
  /** The username-claim value (email by default), what Kubernetes sees as the user. */
  username: string | undefined;
  groups: string[];
  /** Unix seconds. */
  expiresAt: number | undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function groupsFrom(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  if (typeof value === 'string' && value !== '') return [value];
  return [];
}

export function summarizeClaims(claims: Claims, usernameClaim = 'email', groupsClaim = 'groups'): IdentitySummary {
  const exp = claims['exp'];
  const username = claims[usernameClaim];
  return {
    issuer: str(claims['iss']),
    subject: str(claims['sub']),
    email: str(claims['email']),
    username: typeof username === 'number' ? String(username) : str(username),
    groups: groupsFrom(claims[groupsClaim]),
    expiresAt: typeof exp === 'number' ? exp : undefined,
  };
}

/** "in 59m", "3m ago": for people reading whoami. */
export function describeExpiry(expiresAt: number, nowSeconds: number): string {
  const delta = expiresAt - nowSeconds;
  const abs = Math.abs(delta);
  const span = abs >= 86_400 ? `${Math.floor(abs / 86_400)}d${Math.floor((abs % 86_400) / 3600)}h` : abs >= 3600 ? `${Math.floor(abs / 3600)}h${Math.floor((abs % 3600) / 60)}m` : abs >= 60 ? `${Math.floor(abs / 60)}m` : `${abs}s`;
  return delta >= 0 ? `in ${span}` : `${span} ago`;
}

export function isoFromUnix(seconds: number | undefined): string | undefined {
  return seconds === undefined ? undefined : new Date(seconds * 1000).toISOString();
}
