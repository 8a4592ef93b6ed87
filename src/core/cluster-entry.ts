import { CliError, ExitCode } from '../errors.js';

/**
 * One cluster of the catalog (Vault secret `<prefix>/<name>` or a `clusters.<name>` mapping in
 * the local catalog file). Field names are the user-facing contract in docs/configuration.md.
 */
export interface ClusterEntry {
  name: string;
  server: string;
  certificateAuthorityData?: string;
  issuerUrl: string;
  clientId: string;
  clientSecret?: string;
  extraScopes: string[];
  idpCertificateAuthorityData?: string;
  redirectUri?: string;
  namespace?: string;
  usernameClaim: string;
  groupsClaim: string;
}

const KNOWN_FIELDS = [
  'server',
  'certificate-authority-data',
  'issuer-url',
  'client-id',
  'client-secret',
  'extra-scopes',
  'idp-certificate-authority-data',
  'redirect-uri',
  'namespace',
  'username-claim',
  'groups-claim',
] as const;

/** Where an entry came from, for messages: e.g. `Vault secret/k8s-auth/clusters/prod`. */
export type EntrySource = string;

function fail(name: string, source: EntrySource, detail: string): never {
  throw new CliError(ExitCode.CATALOG, `cluster '${name}' in ${source}: ${detail}`);
}

function optionalString(raw: Record<string, unknown>, field: string, name: string, source: EntrySource): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') fail(name, source, `field '${field}' must be a string, not ${Array.isArray(value) ? 'a list' : typeof value}`);
  return value.trim();
}

function requiredString(raw: Record<string, unknown>, field: string, name: string, source: EntrySource): string {
  const value = optionalString(raw, field, name, source);
  if (value === undefined) fail(name, source, `required field '${field}' is missing`);
  return value;
}

function checkUrl(value: string, field: string, name: string, source: EntrySource, allowHttpLoopback: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(name, source, `field '${field}' is not a URL: '${value}'`);
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowHttpLoopback && loopback)) {
    fail(name, source, `field '${field}' must be an https:// URL, not '${value}'`);
  }
  return value.replace(/\/+$/, '');
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function checkPemData(value: string | undefined, field: string, name: string, source: EntrySource): string | undefined {
  if (value === undefined) return undefined;
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+=*$/.test(compact)) fail(name, source, `field '${field}' must be base64 of a PEM certificate`);
  const pem = Buffer.from(compact, 'base64').toString('utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) fail(name, source, `field '${field}' does not decode to a PEM certificate`);
  return compact;
}

function checkRedirectUri(value: string | undefined, name: string, source: EntrySource): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(name, source, `field 'redirect-uri' is not a URL: '${value}'`);
  }
  // RFC 8252 §7.3: a loopback redirect on plain http, with an explicit port we can listen on.
  // The provider compares redirect URIs as strings: without an explicit path, 'http://h:p' and
  // the 'http://h:p/' we would send differ, so ask for the path up front.
  const hasPath = /^http:\/\/[^/]+\/./.test(value);
  if (url.protocol !== 'http:' || !isLoopbackHost(url.hostname) || url.port === '' || !hasPath) {
    fail(name, source, `field 'redirect-uri' must be http://127.0.0.1:<port>/<path> (or [::1] / localhost), not '${value}'`);
  }
  return value;
}

export function splitScopes(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(/[\s,]+/).filter((s) => s.length > 0);
}

/**
 * Validate an entry as read from Vault or the catalog file. Unknown fields are refused so that a
 * typo (`issuer_url`) is caught here, not as a confusing login failure.
 */
export function parseClusterEntry(name: string, raw: unknown, source: EntrySource): ClusterEntry {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(name, source, 'entry must be a mapping of fields');
  const record = raw as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(KNOWN_FIELDS as readonly string[]).includes(key)) fail(name, source, `unknown field '${key}' (known: ${KNOWN_FIELDS.join(', ')})`);
  }
  const server = checkUrl(requiredString(record, 'server', name, source), 'server', name, source, true);
  const issuerUrl = checkUrl(requiredString(record, 'issuer-url', name, source), 'issuer-url', name, source, true);
  const clientId = requiredString(record, 'client-id', name, source);
  const entry: ClusterEntry = {
    name,
    server,
    issuerUrl,
    clientId,
    extraScopes: splitScopes(optionalString(record, 'extra-scopes', name, source)),
    usernameClaim: optionalString(record, 'username-claim', name, source) ?? 'email',
    groupsClaim: optionalString(record, 'groups-claim', name, source) ?? 'groups',
  };
  const assign = <K extends keyof ClusterEntry>(key: K, value: ClusterEntry[K] | undefined) => {
    if (value !== undefined) entry[key] = value;
  };
  assign('certificateAuthorityData', checkPemData(optionalString(record, 'certificate-authority-data', name, source), 'certificate-authority-data', name, source));
  assign('clientSecret', optionalString(record, 'client-secret', name, source));
  assign('idpCertificateAuthorityData', checkPemData(optionalString(record, 'idp-certificate-authority-data', name, source), 'idp-certificate-authority-data', name, source));
  assign('redirectUri', checkRedirectUri(optionalString(record, 'redirect-uri', name, source), name, source));
  assign('namespace', optionalString(record, 'namespace', name, source));
  return entry;
}

/** Cluster names become kubeconfig keys and Vault paths: keep them plain. */
export function checkClusterName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(name)) {
    throw new CliError(ExitCode.USAGE, `invalid cluster name '${name}': use letters, digits, '.', '_' and '-'`);
  }
  return name;
}

/** Scopes for every sign-in: Dex needs `groups` for groups and `offline_access` for refresh tokens. */
export const BASE_SCOPES = ['openid', 'email', 'profile', 'groups', 'offline_access'] as const;

export function scopesFor(entry: Pick<ClusterEntry, 'extraScopes'>): string[] {
  return [...new Set([...BASE_SCOPES, ...entry.extraScopes])];
}
