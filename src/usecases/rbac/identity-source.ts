import { readFileSync } from 'node:fs';
import type { VerifiedClaims } from '../../adapters/id-token-verifier.js';
import type { Catalog } from '../catalog.js';
import type { CatalogOptions } from '../../core/catalog-choice.js';
import { isLoopbackHost, type ClusterEntry } from '../../core/cluster-entry.js';
import { TRUST_HINTS } from '../../adapters/http.js';
import { identityFromClaims, type RbacIdentity } from '../../core/rbac/identity.js';
import { CliError, ExitCode, describeError } from '../../errors.js';
import { debug } from '../../ui/log.js';
import { loginCommand } from '../../core/login-mode.js';
import { registerSecret } from '../../ui/redact.js';

/**
 * Where `rbac apply` gets the ID token and what verifies it:
 *  - the token: --id-token FILE, `-` for stdin, else the current login's ID token;
 *  - the issuer and audience: --issuer-url/--client-id (CI without a catalog), else the catalog
 *    entry --cluster names, else the current login's own issuer and client id.
 * The token is verified (signature, issuer, audience, expiry, email_verified) before anything
 * else happens; an unverified token yields an error and nothing is created.
 */
export interface IdentitySourceOptions {
  /** A file holding the raw JWT, or '-' for stdin. */
  idToken?: string;
  cluster?: string;
  issuerUrl?: string;
  clientId?: string;
  /** PEM file of the provider's CA (with --issuer-url). */
  idpCaFile?: string;
  audience?: string;
  usernameClaim?: string;
  groupsClaim?: string;
  githubOrg?: string;
  allowUnverifiedEmail?: boolean;
  kubeconfig?: string;
  context?: string;
  catalog?: CatalogOptions;
  httpTimeoutMs?: number;
  /**
   * How the user gave cluster/issuerUrl/clientId, for messages: e.g. "--cluster (from
   * K8S_AUTH_CATALOG_ENTRY)" when the value came from the environment. Default: the flag name.
   */
  labels?: Partial<Record<'cluster' | 'issuerUrl' | 'clientId', string>>;
  /** Injected for tests. */
  readStdin?: () => Promise<string>;
  /** The catalog already open (`--all-clusters` reads every entry from one). */
  openedCatalog?: Catalog;
  /**
   * Verifications already made or under way, by token and verifier: the clusters of one
   * `--all-clusters` run that share a provider and client verify the token once.
   */
  verifications?: Map<string, Promise<VerifiedClaims>>;
}

export interface VerifiedIdentity extends RbacIdentity {
  /** Where the token came from, for messages: a file, stdin, or the kubeconfig context. */
  tokenSource: string;
  /** The claim that named the user (the API server's --oidc-username-claim should be the same). */
  usernameClaim: string;
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export async function readIdTokenArgument(value: string, readStdin: () => Promise<string> = readAllStdin): Promise<string> {
  let text: string;
  if (value === '-') {
    if (process.stdin.isTTY && readStdin === readAllStdin) throw new CliError(ExitCode.USAGE, '--id-token - reads the token from stdin, but stdin is a terminal: pipe the token in, or pass a file');
    text = await readStdin();
  } else {
    try {
      text = readFileSync(value, 'utf8');
    } catch (error) {
      throw new CliError(ExitCode.USAGE, `cannot read the ID token file ${value}: ${describeError(error)}`);
    }
  }
  const token = text.trim();
  registerSecret(token);
  if (token === '') throw new CliError(ExitCode.USAGE, `the ID token ${value === '-' ? 'on stdin' : `file ${value}`} is empty: pass the raw id_token`);
  return token;
}

interface Verifier {
  issuerUrl: string;
  clientId: string;
  caPems: string[];
  usernameClaim: string;
  groupsClaim: string;
  /** Where this provider's CA is configured, for an untrusted certificate. */
  trustHint: string;
}

function fromEntry(entry: ClusterEntry): Verifier {
  const ca = entry.idpCertificateAuthorityData ? Buffer.from(entry.idpCertificateAuthorityData, 'base64').toString('utf8') : undefined;
  return { issuerUrl: entry.issuerUrl, clientId: entry.clientId, caPems: ca ? [ca] : [], usernameClaim: entry.usernameClaim, groupsClaim: entry.groupsClaim, trustHint: TRUST_HINTS.rbacCatalogEntry };
}

async function catalogEntry(name: string, options: IdentitySourceOptions): Promise<ClusterEntry> {
  if (options.openedCatalog) return options.openedCatalog.get(name);
  const { chooseCatalog } = await import('../../core/catalog-choice.js');
  const { openCatalog } = await import('../catalog.js');
  const { DEFAULT_HTTP_TIMEOUT_MS } = await import('../../adapters/http.js');
  return openCatalog(chooseCatalog(options.catalog ?? {}), process.env, options.httpTimeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS).get(name);
}

/** An issuer URL as the verifier will use it: https, or plain http only on this machine. Checked before any network. */
export function checkIssuerUrl(value: string, label = '--issuer-url'): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(ExitCode.USAGE, `${label} '${value}' is not a URL: pass the issuer's https:// URL (the token's iss), e.g. https://dex.example.com/dex`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new CliError(ExitCode.USAGE, `${label} '${value}' must be an https:// URL (plain http only for a provider on this machine): pass the issuer's https:// URL`);
  }
}

export async function resolveVerifiedIdentity(options: IdentitySourceOptions): Promise<VerifiedIdentity> {
  const label = { cluster: '--cluster', issuerUrl: '--issuer-url', clientId: '--client-id', ...options.labels };
  if ((options.issuerUrl === undefined) !== (options.clientId === undefined)) {
    throw new CliError(ExitCode.USAGE, `${label.issuerUrl} and ${label.clientId} go together: pass both, or name a catalog cluster (\`rbac plan CLUSTER\`)`);
  }
  if (options.issuerUrl !== undefined && options.cluster !== undefined) {
    const fromEnv = [label.cluster, label.issuerUrl, label.clientId].map((l) => /\(from (\w+)\)/.exec(l)?.[1]).filter((v): v is string => v !== undefined);
    const unset = fromEnv.length > 0 ? ` (unset ${fromEnv.join(' or ')} if it was meant for another command)` : '';
    throw new CliError(ExitCode.USAGE, `${label.cluster} and ${label.issuerUrl}/${label.clientId} both name the issuer: use one${unset}`);
  }
  if (options.issuerUrl !== undefined) checkIssuerUrl(options.issuerUrl, label.issuerUrl);
  if (options.clientId !== undefined && options.clientId.trim() === '') throw new CliError(ExitCode.USAGE, `${label.clientId} is empty: pass the client id the ID token was issued to (its aud)`);

  let verifier: Verifier | undefined;
  if (options.issuerUrl !== undefined && options.clientId !== undefined) {
    const { readCaFiles } = await import('../../adapters/http.js');
    verifier = { issuerUrl: options.issuerUrl, clientId: options.clientId, caPems: options.idpCaFile ? readCaFiles([options.idpCaFile]) : [], usernameClaim: 'email', groupsClaim: 'groups', trustHint: TRUST_HINTS.rbacIssuerFlags };
  } else if (options.cluster !== undefined) {
    verifier = fromEntry(await catalogEntry(options.cluster, options));
  }

  let token: string | undefined;
  let tokenSource: string;
  if (options.idToken !== undefined) {
    token = await readIdTokenArgument(options.idToken, options.readStdin);
    tokenSource = options.idToken === '-' ? 'stdin' : options.idToken;
  } else {
    const { readCurrentLogin } = await import('../current-login.js');
    const login = readCurrentLogin({ ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}), ...(options.context ? { context: options.context } : {}) });
    tokenSource = `kubeconfig context ${login.contextName}`;
    // logged out (or never signed in): "needs a sign-in", exit 10, before the catalog or any request
    const signIn = await import('../sign-in-state.js');
    if (await signIn.holdsNoTokens(login)) throw signIn.needsSignIn(login);
    if (login.kind === 'oidc') {
      token = login.idToken;
      if (!verifier && login.issuerUrl && login.clientId) {
        const ca = login.idpCaData ? Buffer.from(login.idpCaData, 'base64').toString('utf8') : undefined;
        verifier = { issuerUrl: login.issuerUrl, clientId: login.clientId, caPems: ca ? [ca] : [], usernameClaim: 'email', groupsClaim: 'groups', trustHint: TRUST_HINTS.rbacKubeconfigLogin };
      }
    } else if (login.kind === 'exec') {
      const entry = await catalogEntry(options.cluster ?? login.execCluster ?? login.clusterName, options);
      verifier ??= fromEntry(entry);
      const [{ keyForEntry }, { execTokenCache, openTokenCache, readCachedTokens }] = await Promise.all([import('../credential.js'), import('../../adapters/token-cache-read.js')]);
      // the plugin's own args name its cache entry (login hint, cache directory); a hand-written
      // `credential <cluster>` without them uses the catalog entry's key
      const cache = execTokenCache(login.execArgs ?? []) ?? openTokenCache(keyForEntry(entry));
      token = readCachedTokens(cache)?.idToken;
    }
    if (!token) {
      throw new CliError(ExitCode.USAGE, `no ID token found for ${tokenSource} (it ${login.kind === 'oidc' || login.kind === 'exec' ? 'holds none' : 'does not sign in with OpenID Connect'}): pass --id-token FILE (or - for stdin), or run \`${loginCommand(login.execCluster ?? login.clusterName, login.kind)}\` first`);
    }
    registerSecret(token);
  }
  if (!verifier) {
    throw new CliError(ExitCode.USAGE, 'nothing says which issuer to verify the ID token against: name a catalog cluster (`rbac plan CLUSTER`) or pass --issuer-url with --client-id');
  }

  const { verifyIdToken } = await import('../../adapters/id-token-verifier.js');
  const usernameClaim = options.usernameClaim ?? verifier.usernameClaim;
  debug(`verifying the ID token from ${tokenSource} against ${verifier.issuerUrl} (audience ${options.audience ?? verifier.clientId})`);
  const verifyOptions = {
    issuerUrl: verifier.issuerUrl,
    audience: options.audience ?? verifier.clientId,
    caPems: verifier.caPems,
    trustHint: verifier.trustHint,
    usernameClaim,
    allowUnverifiedEmail: options.allowUnverifiedEmail === true,
    ...(options.httpTimeoutMs !== undefined ? { timeoutMs: options.httpTimeoutMs } : {}),
  };
  const key = JSON.stringify([token, verifyOptions]);
  let claims = options.verifications?.get(key);
  if (claims === undefined) {
    claims = verifyIdToken(token, verifyOptions);
    options.verifications?.set(key, claims);
  } else {
    debug(`the ID token was verified against ${verifier.issuerUrl} for another cluster of this run`);
  }
  const verified = await claims;
  const identity = identityFromClaims(verified, {
    usernameClaim,
    groupsClaim: options.groupsClaim ?? verifier.groupsClaim,
    ...(options.githubOrg !== undefined ? { githubOrg: options.githubOrg } : {}),
  });
  return { ...identity, tokenSource, usernameClaim };
}
