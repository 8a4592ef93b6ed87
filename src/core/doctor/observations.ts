/**
 * What `k8s-auth doctor` saw, as plain data: the use case probes (Vault, catalog, provider,
 * listener, files, API server) and records observations; core/doctor/verdicts.ts turns them into
 * verdicts and fixes without I/O. Nothing here holds a secret: tokens are summarised by claims
 * and expiry only.
 */

import type { TokenEvaluation } from '../authentication-config.js';

/** A failure as the probe saw it: the one-line message and what classifies it. */
export interface ProbeError {
  message: string;
  /** HTTP status, when a server answered. */
  status?: number;
  /** errno / undici / OpenSSL code of the innermost cause (ECONNREFUSED, UNABLE_TO_VERIFY_LEAF_SIGNATURE…). */
  code?: string;
}

export type VaultObservation =
  | { kind: 'not-used'; catalog: string; catalogMissing?: boolean }
  | { kind: 'error'; address?: string; error: ProbeError }
  | {
      kind: 'token';
      address: string;
      /** Seconds left; 0 for a token that never expires (root, periodic without TTL). */
      ttlSeconds: number;
      renewable: boolean;
      displayName?: string;
      policies: readonly string[];
    };

export interface EntrySummary {
  server: string;
  issuerUrl: string;
  clientId: string;
  confidential: boolean;
  redirectUri?: string;
  hasServerCa: boolean;
  hasIdpCa: boolean;
  extraScopes: readonly string[];
}

export type CatalogObservation =
  | { kind: 'listed'; source: string; names: readonly string[] }
  | { kind: 'entry'; source: string; cluster: string; entry: EntrySummary }
  | { kind: 'error'; source: string; cluster?: string; error: ProbeError }
  /** The catalog is a file (no --catalog, K8S_AUTH_CATALOG or VAULT_ADDR chose otherwise) that does not exist. */
  | { kind: 'missing-file'; source: string; explicit: boolean };

export interface DiscoveryDocument {
  issuer?: unknown;
  authorization_endpoint?: unknown;
  token_endpoint?: unknown;
  jwks_uri?: unknown;
  code_challenge_methods_supported?: unknown;
  scopes_supported?: unknown;
}

export type ProviderObservation =
  | { kind: 'no-entry' }
  | {
      kind: 'probed';
      issuerUrl: string;
      /** Where the CA for the provider came from: 'system roots', the catalog, or --certificate-authority. */
      caSources: readonly string[];
      discovery: { status: number; document?: DiscoveryDocument; parseError?: string } | { error: ProbeError };
      /** Keys at jwks_uri, when discovery named one. */
      jwks?: { status: number; keys: number } | { error: ProbeError };
    };

export type RedirectObservation =
  | { kind: 'no-entry' }
  | {
      kind: 'probed';
      /** The catalog's redirect-uri (undefined: any free port). */
      configured?: string;
      confidential: boolean;
      /** The plan was refused (a bad redirect-uri or --listen-port). */
      planError?: ProbeError;
      /** The listener we started, or why it could not start. */
      listener?: { redirectUri: string; hosts: readonly string[] } | { error: ProbeError };
      /** A request to the redirect URI reached the listener on the expected path. */
      roundTrip?: { reached: boolean; status?: number; path?: string } | { error: ProbeError };
    };

export interface KubeconfigFileObservation {
  path: string;
  exists: boolean;
  readable: boolean;
  /** The file exists and cannot be parsed as a kubeconfig. */
  parseError?: string;
  /** The file (or, when missing, the directory it would be created in) is writable. */
  writable: boolean;
  /** Permission bits, e.g. 0o600. */
  mode?: number;
}

export type ContextObservation =
  | { kind: 'not-asked' }
  | { kind: 'missing'; name: string; error: string }
  | {
      kind: 'found';
      name: string;
      cluster: string;
      user: string;
      server: string;
      /** How its user authenticates. */
      auth: 'oidc' | 'exec' | 'token' | 'other';
    };

export interface KubeconfigObservation {
  files: readonly KubeconfigFileObservation[];
  context: ContextObservation;
}

export interface LockObservation {
  path: string;
  /** Holder recorded in the lock (ours); undefined for kubectl's empty locks or unreadable ones. */
  holder?: { pid: number; host: string; createdAt: string };
  sameHost: boolean;
  /** Whether the holder pid is alive (only known on the same host). */
  holderAlive?: boolean;
  ageMs: number;
}

export interface LocksObservation {
  checked: readonly string[];
  held: readonly LockObservation[];
}

export interface IdTokenSummary {
  /** exp in ms since the epoch; undefined if unreadable. */
  expiresAtMs?: number;
  issuer?: string;
  subject?: string;
  audience?: readonly string[];
}

export type TokensObservation =
  | { kind: 'no-context'; reason: string }
  | { kind: 'not-ours'; auth: 'token' | 'other' }
  | {
      kind: 'found';
      /** kubeconfig (auth-provider oidc) or the token cache file (exec). */
      mode: 'oidc' | 'exec';
      source: string;
      idToken?: IdTokenSummary;
      hasRefreshToken: boolean;
      /** Cache file problem (unreadable, another key, unknown format). */
      problem?: string;
      /** Cache file and directory permission bits (exec mode). */
      fileMode?: number;
      dirMode?: number;
      /** The catalog's issuer for this cluster, to catch a token from another provider. */
      expectedIssuer?: string;
    };

export type ApiServerObservation =
  | { kind: 'no-context'; reason: string }
  | {
      kind: 'probed';
      server: string;
      /** Whether a usable (unexpired) credential was sent. */
      credentials: 'id-token' | 'none';
      /** Why no credential was sent, when none was. */
      noCredentialsReason?: string;
      review?: 'SelfSubjectReview' | 'SelfSubjectAccessReview';
      /** The answer: status plus identity from a SelfSubjectReview, or allowed from an SSAR. */
      answer?: { status: number; username?: string; groups?: readonly string[]; allowed?: boolean; message?: string };
      error?: ProbeError;
    };

/**
 * `doctor --authentication-config FILE`: the ID token judged against kube-apiserver's
 * structured authentication configuration (core/authentication-config.ts).
 */
export type AuthenticationConfigObservation =
  | { kind: 'no-token'; source: string; reason: string }
  | { kind: 'evaluated'; source: string; evaluation: TokenEvaluation };

export interface DoctorObservations {
  /** The cluster the checks were about, if any. */
  cluster?: string;
  nowMs: number;
  vault: VaultObservation;
  catalog: CatalogObservation;
  provider: ProviderObservation;
  redirect: RedirectObservation;
  kubeconfig: KubeconfigObservation;
  locks: LocksObservation;
  tokens: TokensObservation;
  apiServer: ApiServerObservation;
  /** Only with --authentication-config. */
  authenticationConfig?: AuthenticationConfigObservation;
}
