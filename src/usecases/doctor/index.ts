import { kubeconfigPaths } from '../../core/kubeconfig-paths.js';
import { homedir } from 'node:os';
import { type CatalogOptions, chooseCatalog } from '../../core/catalog-choice.js';
import { openCatalog } from '../catalog.js';
import { type ClusterEntry, scopesFor } from '../../core/cluster-entry.js';
import { type DoctorReport, doctorReport } from '../../core/doctor/report.js';
import type {
  ApiServerObservation,
  AuthenticationConfigObservation,
  CatalogObservation,
  ContextObservation,
  DoctorObservations,
  EntrySummary,
  IdTokenSummary,
  TokensObservation,
  VaultObservation,
} from '../../core/doctor/observations.js';
import { parseCachedTokens } from '../../core/token-cache-entry.js';
import { cacheFilePath, parseScopes, tokenCacheDirectory, type TokenCacheKey } from '../../core/token-cache-key.js';
import { CREDENTIAL_FLAGS, readCredentialFlags } from '../../core/exec-credential.js';
import { registerSecret } from '../../ui/redact.js';
import { type CurrentLogin, readCurrentLogin } from '../current-login.js';
import { fileMode, probeApiServer, probeError, probeKubeconfigFile, probeLocks, probeProvider, probeRedirect, probeVault, readTextIfExists } from './probes.js';
import { dirname } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { catalogFromExecArgs } from '../../core/login-mode.js';
import { type JwtAuthenticator, evaluateTokenAgainstConfig, parseAuthenticationConfig } from '../../core/authentication-config.js';
import { decodeJwtClaims } from '../../core/id-token-claims.js';
import { readJwtPayload } from '../../core/jwt-payload.js';
import { CliError, ExitCode, describeError } from '../../errors.js';

/**
 * `k8s-auth doctor [<cluster>]`: look at every piece a sign-in and a kubectl call depend on,
 * read-only, and report a verdict with a fix for each (core/doctor/verdicts.ts). Without a
 * cluster, the current kubeconfig context's cluster is checked.
 */
export interface DoctorRequest {
  cluster?: string;
  catalog: CatalogOptions;
  kubeconfig?: string;
  /** kubeconfig context; default: the cluster name (as login writes it), else the current context. */
  context?: string;
  /** Extra CA files for the identity provider (as login's --certificate-authority). */
  caFiles: readonly string[];
  listenPort?: number;
  tokenCacheDir?: string;
  httpTimeoutMs: number;
  /** kube-apiserver's --authentication-config file: judge the ID token against it. */
  authenticationConfig?: string;
  env?: Record<string, string | undefined>;
  now?: () => number;
}

/** Tokens this close to expiry count as expired (kubectl refreshes 10 s before `exp`). */
const EXPIRY_SKEW_MS = 10_000;

export async function runDoctor(request: DoctorRequest): Promise<DoctorReport> {
  return doctorReport(await observe(request));
}

export async function observe(request: DoctorRequest): Promise<DoctorObservations> {
  const env = request.env ?? process.env;
  const now = request.now ?? Date.now;
  const timeoutMs = request.httpTimeoutMs;
  const structured = request.authenticationConfig === undefined ? undefined : readAuthenticationConfig(request.authenticationConfig);
  const paths = kubeconfigPaths(request.kubeconfig, env);

  const contextName = request.context ?? request.cluster;
  let login: CurrentLogin | undefined;
  let context: ContextObservation = { kind: 'not-asked' };
  try {
    login = readCurrentLogin({ ...(request.kubeconfig === undefined ? {} : { kubeconfig: request.kubeconfig }), ...(contextName === undefined ? {} : { context: contextName }), env });
    context = { kind: 'found', name: login.contextName, cluster: login.clusterName, user: login.userName, server: login.server, auth: login.kind };
  } catch (error) {
    if (contextName !== undefined) context = { kind: 'missing', name: contextName, error: probeError(error).message };
  }
  const cluster = request.cluster ?? (login ? (login.execCluster ?? login.clusterName) : undefined);

  // no catalog chosen (no --catalog, K8S_AUTH_CATALOG, VAULT_ADDR): the one the kubeconfig's exec
  // user names (`--catalog` in the args `login --exec` wrote) is the one kubectl's plugin reads
  let catalogOptions = request.catalog;
  const chosen = chooseCatalog(catalogOptions, env);
  const fromExec = chosen.kind === 'file' && !chosen.explicit && login?.kind === 'exec' ? catalogFromExecArgs(login.execArgs ?? []) : undefined;
  if (fromExec !== undefined) catalogOptions = { ...catalogOptions, catalog: fromExec };
  const choice = fromExec !== undefined ? chooseCatalog(catalogOptions, env) : chosen;
  const missingFile = choice.kind === 'file' && !existsSync(choice.path);
  const catalog = openCatalog(choice, env, timeoutMs);
  const [vaultProbe, catalogResult] = await Promise.all([
    probeVault(choice, env, timeoutMs),
    missingFile && choice.kind === 'file'
      ? Promise.resolve<{ observation: CatalogObservation; entry?: ClusterEntry }>({ observation: { kind: 'missing-file', source: choice.path, explicit: choice.explicit || fromExec !== undefined } })
      : probeCatalog(catalog.describe(), cluster, () => catalog.list(), (name) => catalog.get(name)),
  ]);
  const vault: VaultObservation = missingFile && vaultProbe.kind === 'not-used' ? { ...vaultProbe, catalogMissing: true } : vaultProbe;
  const entry = catalogResult.entry;

  const cacheDirectory = tokenCacheDirectory(env, homedir(), request.tokenCacheDir);
  const nowMs = now();
  const [provider, redirect, files, locks] = await Promise.all([
    entry ? probeProvider(entry, request.caFiles, timeoutMs) : Promise.resolve({ kind: 'no-entry' as const }),
    entry ? probeRedirect(entry, request.listenPort) : Promise.resolve({ kind: 'no-entry' as const }),
    Promise.all(paths.map(probeKubeconfigFile)),
    probeLocks(paths, cacheDirectory, nowMs),
  ]);

  const { observation: tokens, idToken, usableIdToken, whyNoToken } = observeTokens(login, context, entry, request.tokenCacheDir, env, nowMs);
  let apiServer: ApiServerObservation;
  if (!login) apiServer = { kind: 'no-context', reason: context.kind === 'missing' ? context.error : 'no kubeconfig context to take the API server from' };
  else apiServer = await probeApiServer(login.server, login.caData, usableIdToken, whyNoToken, login.namespace, timeoutMs);

  const observations: DoctorObservations = {
    nowMs,
    vault,
    catalog: catalogResult.observation,
    provider,
    redirect,
    kubeconfig: { files, context },
    locks,
    tokens,
    apiServer,
  };
  if (cluster !== undefined) observations.cluster = cluster;
  if (structured) observations.authenticationConfig = judgeToken(structured, idToken, whyNoToken, nowMs);
  return observations;
}

async function probeCatalog(
  source: string,
  cluster: string | undefined,
  list: () => Promise<string[]>,
  get: (name: string) => Promise<ClusterEntry>,
): Promise<{ observation: CatalogObservation; entry?: ClusterEntry }> {
  try {
    if (cluster === undefined) return { observation: { kind: 'listed', source, names: await list() } };
    const entry = await get(cluster);
    return { observation: { kind: 'entry', source, cluster, entry: summarizeEntry(entry) }, entry };
  } catch (error) {
    const observation: CatalogObservation = { kind: 'error', source, error: probeError(error) };
    if (cluster !== undefined) observation.cluster = cluster;
    return { observation };
  }
}

function summarizeEntry(entry: ClusterEntry): EntrySummary {
  const summary: EntrySummary = {
    server: entry.server,
    issuerUrl: entry.issuerUrl,
    clientId: entry.clientId,
    confidential: entry.clientSecret !== undefined,
    hasServerCa: entry.certificateAuthorityData !== undefined,
    hasIdpCa: entry.idpCertificateAuthorityData !== undefined,
    extraScopes: entry.extraScopes,
  };
  if (entry.redirectUri !== undefined) summary.redirectUri = entry.redirectUri;
  return summary;
}

function summarizeIdToken(token: string): IdTokenSummary {
  const summary: IdTokenSummary = {};
  // a token that is not a JWT we can read gives an empty summary: the verdict says so
  const claims = readJwtPayload(token) ?? {};
  if (typeof claims['exp'] === 'number') summary.expiresAtMs = claims['exp'] * 1000;
  if (typeof claims['iss'] === 'string') summary.issuer = claims['iss'];
  if (typeof claims['sub'] === 'string') summary.subject = claims['sub'];
  const aud = claims['aud'];
  if (typeof aud === 'string') summary.audience = [aud];
  else if (Array.isArray(aud)) summary.audience = aud.filter((a): a is string => typeof a === 'string');
  return summary;
}

/** The cache key an exec user's arguments name, else the entry's. */
function execCacheKey(login: CurrentLogin, entry: ClusterEntry | undefined): { key?: TokenCacheKey; cacheDir?: string } {
  const args = login.execArgs ?? [];
  const at = args.indexOf('credential');
  const flags = at === -1 ? undefined : readCredentialFlags(args.slice(at + 2), { hotPath: false });
  const cacheDir = flags?.get(CREDENTIAL_FLAGS.cacheDir);
  const issuer = flags?.get(CREDENTIAL_FLAGS.issuer);
  const clientId = flags?.get(CREDENTIAL_FLAGS.clientId);
  const scopes = flags?.get(CREDENTIAL_FLAGS.scopes);
  const hint = flags?.get(CREDENTIAL_FLAGS.loginHint);
  let key: TokenCacheKey | undefined;
  if (issuer && clientId && scopes !== undefined) key = { issuer, clientId, scopes: parseScopes(scopes), ...(hint ? { loginHint: hint } : {}) };
  else if (entry) key = { issuer: entry.issuerUrl, clientId: entry.clientId, scopes: scopesFor(entry), ...(hint ? { loginHint: hint } : {}) };
  return { ...(key ? { key } : {}), ...(cacheDir ? { cacheDir } : {}) };
}

function observeTokens(
  login: CurrentLogin | undefined,
  context: ContextObservation,
  entry: ClusterEntry | undefined,
  cacheDirOverride: string | undefined,
  env: Record<string, string | undefined>,
  nowMs: number,
): { observation: TokensObservation; idToken?: string; usableIdToken?: string; whyNoToken?: string } {
  if (!login) return { observation: { kind: 'no-context', reason: context.kind === 'missing' ? context.error : 'no kubeconfig context to read tokens from' } };
  if (login.kind === 'token' || login.kind === 'other') return { observation: { kind: 'not-ours', auth: login.kind }, whyNoToken: 'the context does not use k8s-auth' };
  const expected = entry ? { expectedIssuer: entry.issuerUrl } : {};
  let idToken: string | undefined;
  let hasRefreshToken: boolean;
  let observation: TokensObservation;
  if (login.kind === 'oidc') {
    idToken = login.idToken;
    hasRefreshToken = login.refreshToken !== undefined;
    observation = { kind: 'found', mode: 'oidc', source: login.kubeconfigPath, hasRefreshToken, ...expected };
  } else {
    const { key, cacheDir } = execCacheKey(login, entry);
    if (!key) return { observation: { kind: 'no-context', reason: `the exec user '${login.userName}' names no issuer and the catalog has no entry for it` } };
    const directory = tokenCacheDirectory(env, homedir(), cacheDir ?? cacheDirOverride);
    const file = cacheFilePath(directory, key);
    observation = { kind: 'found', mode: 'exec', source: file, hasRefreshToken: false, ...expected };
    let text: string | undefined;
    try {
      text = readTextIfExists(file);
    } catch (error) {
      observation.problem = `cannot be read: ${probeError(error).message}`;
    }
    if (text !== undefined) {
      const parsed = parseCachedTokens(text, key);
      if (parsed.ok) {
        registerSecret(parsed.entry.idToken);
        registerSecret(parsed.entry.refreshToken);
        idToken = parsed.entry.idToken;
        observation.hasRefreshToken = parsed.entry.refreshToken !== undefined;
      } else {
        observation.problem = parsed.problem;
      }
      const mode = fileMode(file);
      const dirMode = fileMode(dirname(file));
      if (mode !== undefined) observation.fileMode = mode;
      if (dirMode !== undefined) observation.dirMode = dirMode;
    }
    hasRefreshToken = observation.hasRefreshToken;
  }
  if (idToken) observation.idToken = summarizeIdToken(idToken);
  const exp = observation.idToken?.expiresAtMs;
  if (idToken && exp !== undefined && exp - EXPIRY_SKEW_MS > nowMs) return { observation, idToken, usableIdToken: idToken };
  const whyNoToken = !idToken ? 'no ID token is cached' : hasRefreshToken ? 'the ID token has expired (kubectl renews it with the refresh token on next use)' : 'the ID token has expired';
  return { observation, ...(idToken ? { idToken } : {}), whyNoToken };
}

/** The --authentication-config file, read and parsed; a bad file is a usage error (exit 2). */
function readAuthenticationConfig(path: string): { source: string; jwt: JwtAuthenticator[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(ExitCode.USAGE, `--authentication-config ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? describeError(error)}`);
  }
  const parsed = parseAuthenticationConfig(text, path);
  if (!parsed.ok) throw new CliError(ExitCode.USAGE, `--authentication-config: ${parsed.problem}`);
  return { source: path, jwt: parsed.jwt };
}

/** Any ID token we hold, expired or not: its claims say which rule the server applies. */
function judgeToken(config: { source: string; jwt: JwtAuthenticator[] }, idToken: string | undefined, whyNoToken: string | undefined, nowMs: number): AuthenticationConfigObservation {
  if (!idToken) return { kind: 'no-token', source: config.source, reason: whyNoToken ?? 'no ID token to judge' };
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwtClaims(idToken);
  } catch {
    return { kind: 'no-token', source: config.source, reason: 'the ID token is not a readable JWT' };
  }
  return { kind: 'evaluated', source: config.source, evaluation: evaluateTokenAgainstConfig(config.jwt, claims, nowMs) };
}
