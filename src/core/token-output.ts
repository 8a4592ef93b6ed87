import { CliError, ExitCode } from '../errors.js';
import { formatDuration } from './duration.js';
import { readJwtPayload } from './jwt-payload.js';

/**
 * What `k8s-auth token` prints, as pure functions of a minted token: the bare token, a JSON
 * (or YAML, same fields) record, an ExecCredential for kubectl, or a kubeconfig. Plus the two decisions made before and
 * after minting: whether stdout may receive a token, and whether the server granted what we asked.
 */
export const TOKEN_OUTPUT_FORMATS = ['token', 'json', 'yaml', 'exec-credential', 'kubeconfig'] as const;
export type TokenOutputFormat = (typeof TOKEN_OUTPUT_FORMATS)[number];

export interface MintedToken {
  token: string;
  /** RFC 3339, as the server granted it (TokenRequest status.expirationTimestamp, or the JWT exp). */
  expirationTimestamp: string;
  serviceAccount: string;
  namespace: string;
  /** The cluster's name in the kubeconfig the token was minted through. */
  cluster: string;
  /** Vault lease, when minted through Vault's Kubernetes secrets engine. */
  leaseId?: string;
}

export interface TokenRecord {
  token: string;
  expirationTimestamp: string;
  serviceAccount: string;
  namespace: string;
  cluster: string;
  leaseId?: string;
}

export function tokenRecord(minted: MintedToken): TokenRecord {
  const record: TokenRecord = {
    token: minted.token,
    expirationTimestamp: minted.expirationTimestamp,
    serviceAccount: minted.serviceAccount,
    namespace: minted.namespace,
    cluster: minted.cluster,
  };
  if (minted.leaseId) record.leaseId = minted.leaseId;
  return record;
}

export const EXEC_CREDENTIAL_API_VERSION = 'client.authentication.k8s.io/v1';

export interface ExecCredential {
  apiVersion: typeof EXEC_CREDENTIAL_API_VERSION;
  kind: 'ExecCredential';
  spec: { interactive: boolean };
  status: { token: string; expirationTimestamp: string };
}

export function execCredential(minted: MintedToken): ExecCredential {
  return {
    apiVersion: EXEC_CREDENTIAL_API_VERSION,
    kind: 'ExecCredential',
    spec: { interactive: false },
    status: { token: minted.token, expirationTimestamp: minted.expirationTimestamp },
  };
}

/** The stdout text for the formats that print; kubeconfig output goes to a file instead. */
export function renderTokenOutput(format: Exclude<TokenOutputFormat, 'kubeconfig' | 'yaml'>, minted: MintedToken): string {
  switch (format) {
    case 'token':
      return `${minted.token}\n`;
    case 'json':
      return `${JSON.stringify(tokenRecord(minted), null, 2)}\n`;
    case 'exec-credential':
      return `${JSON.stringify(execCredential(minted))}\n`;
  }
}

/** YAML serializer, passed in so the yaml library loads only for `-o yaml` (token is a hot command). */
export type YamlStringify = (value: unknown, options: { lineWidth: number }) => string;

/** `-o yaml`: the JSON record's fields, the token on one line. */
export function renderTokenYaml(minted: MintedToken, stringify: YamlStringify): string {
  return stringify(tokenRecord(minted), { lineWidth: 0 });
}

/** How to reach the API server, copied from the kubeconfig cluster the token was minted through. */
export interface ClusterConnection {
  server: string;
  certificateAuthorityData?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
}

export interface KubeconfigCluster {
  server: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}

export interface TokenKubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  preferences: Record<string, never>;
  clusters: { name: string; cluster: KubeconfigCluster }[];
  users: { name: string; user: { token: string } }[];
  contexts: { name: string; context: { cluster: string; user: string; namespace: string } }[];
  'current-context': string;
}

/** `<sa>@<cluster>`: the user and context name, so it never collides with a person's entries. */
export function tokenContextName(serviceAccount: string, cluster: string): string {
  return `${serviceAccount}@${cluster}`;
}

export function kubeconfigCluster(connection: ClusterConnection): KubeconfigCluster {
  const cluster: KubeconfigCluster = { server: connection.server };
  if (connection.certificateAuthorityData) cluster['certificate-authority-data'] = connection.certificateAuthorityData;
  if (connection.insecureSkipTlsVerify) cluster['insecure-skip-tls-verify'] = true;
  if (connection.tlsServerName) cluster['tls-server-name'] = connection.tlsServerName;
  if (connection.proxyUrl) cluster['proxy-url'] = connection.proxyUrl;
  return cluster;
}

/** A self-contained kubeconfig (CA inlined) that uses the token: for --kubeconfig-out. */
export function tokenKubeconfig(minted: MintedToken, connection: ClusterConnection): TokenKubeconfig {
  const name = tokenContextName(minted.serviceAccount, minted.cluster);
  return {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: minted.cluster, cluster: kubeconfigCluster(connection) }],
    users: [{ name, user: { token: minted.token } }],
    contexts: [{ name, context: { cluster: minted.cluster, user: name, namespace: minted.namespace } }],
    'current-context': name,
  };
}

export interface OutputGuardInput {
  format: TokenOutputFormat;
  /** -o came from the command line or the environment, not the default. */
  explicit: boolean;
  stdoutIsTty: boolean;
}

/**
 * A token on a terminal ends up in scrollback, screen shares and recordings: print one there only
 * when asked (-o given) or when stdout is a pipe or file. Checked before anything is minted.
 */
export function checkTokenOutput(input: OutputGuardInput): void {
  if (input.format === 'kubeconfig' || input.explicit || !input.stdoutIsTty) return;
  throw new CliError(
    ExitCode.USAGE,
    'refusing to print a token on a terminal: pass -o token to print it anyway, pipe it (TOKEN=$(k8s-auth token ...)), or use -o kubeconfig --kubeconfig-out FILE',
  );
}

export interface GrantCheck {
  /** The lifetime the server granted, in seconds. */
  grantedSeconds: number;
  /** A one-line note for stderr when the grant differs from the request; undefined when it matches. */
  note: string | undefined;
}

/** Seconds of slack when the lifetime is measured against our own clock (skew, round trip). */
const CLOCK_SLACK_SECONDS = 60;
/** Seconds of slack when measured from the token's own iat and exp (server clock on both ends). */
const CLAIM_SLACK_SECONDS = 2;

/**
 * Compare the granted lifetime with the requested one. The token's own `iat`/`exp` claims give
 * the lifetime on the server's clock, immune to skew; without them, measure from when we asked.
 * Servers cap lifetimes silently (--service-account-max-token-expiration, Vault max_ttl).
 */
export function checkGrant(input: { requestedSeconds: number; requestedAt: Date; expirationTimestamp: string; token: string }): GrantCheck {
  const claims = jwtTimes(input.token);
  const expiresMs = Date.parse(input.expirationTimestamp);
  let grantedSeconds: number;
  let slack: number;
  if (claims.iat !== undefined && claims.exp !== undefined) {
    grantedSeconds = claims.exp - claims.iat;
    slack = CLAIM_SLACK_SECONDS;
  } else {
    // our clock and the server's second-granular timestamp: only good to about a minute
    grantedSeconds = Math.round((expiresMs - input.requestedAt.getTime()) / 60_000) * 60;
    slack = CLOCK_SLACK_SECONDS;
  }
  const difference = grantedSeconds - input.requestedSeconds;
  if (Math.abs(difference) <= slack) return { grantedSeconds, note: undefined };
  const asked = formatDuration(input.requestedSeconds);
  const got = formatDuration(grantedSeconds);
  const note =
    difference < 0
      ? `the server granted ${got}, not the ${asked} asked (it caps token lifetimes); the token expires at ${input.expirationTimestamp}`
      : `the server granted ${got}, longer than the ${asked} asked; the token expires at ${input.expirationTimestamp}`;
  return { grantedSeconds, note };
}

/** `iat` and `exp` of a JWT, read without verifying (we only measure what the server granted). */
export function jwtTimes(token: string): { iat?: number; exp?: number } {
  const { iat, exp } = readJwtPayload(token) ?? {};
  return {
    ...(typeof iat === 'number' ? { iat } : {}),
    ...(typeof exp === 'number' ? { exp } : {}),
  };
}
