import type { RuleResult } from '../authentication-config.js';
import { loginCommand } from '../login-mode.js';
import type {
  ApiServerObservation,
  AuthenticationConfigObservation,
  CatalogObservation,
  KubeconfigObservation,
  LocksObservation,
  ProbeError,
  ProviderObservation,
  RedirectObservation,
  TokensObservation,
  VaultObservation,
} from './observations.js';

/**
 * Observations → verdicts with a fix, without I/O. Each check is one line for a person and one
 * object for a script; a failing check always says what to do.
 */
export type Verdict = 'pass' | 'warn' | 'fail' | 'skip';

export type CheckId = 'vault' | 'catalog' | 'provider' | 'redirect-uri' | 'kubeconfig' | 'locks' | 'tokens' | 'api-server' | 'authentication-config';

export interface CheckResult {
  id: CheckId;
  title: string;
  verdict: Verdict;
  detail: string;
  /** What to do; present for every fail and warn. */
  fix?: string;
}

export const CHECK_TITLES: Readonly<Record<CheckId, string>> = {
  vault: 'Vault reachable, token valid',
  catalog: 'catalog entry complete',
  provider: 'identity provider discovery over TLS',
  'redirect-uri': 'redirect URI matches the listener',
  kubeconfig: 'kubeconfig readable and writable',
  locks: 'no stale locks',
  tokens: 'cached tokens',
  'api-server': 'API server accepts the credentials',
  'authentication-config': "the ID token meets the API server's authentication configuration",
};

const RANK: Record<Verdict, number> = { skip: 0, pass: 1, warn: 2, fail: 3 };

function result(id: CheckId, verdict: Verdict, detail: string, fix?: string): CheckResult {
  const r: CheckResult = { id, title: CHECK_TITLES[id], verdict, detail };
  if (fix !== undefined) r.fix = fix;
  return r;
}

/** Several findings of one check: the worst verdict, every detail, the fixes of what is not a pass. */
function combine(id: CheckId, findings: readonly { verdict: Verdict; detail: string; fix?: string }[]): CheckResult {
  const worst = [...findings].sort((a, b) => RANK[b.verdict] - RANK[a.verdict])[0];
  if (!worst) return result(id, 'skip', 'nothing to check');
  const fixes = [...new Set(findings.filter((f) => f.fix && f.verdict !== 'pass').map((f) => f.fix as string))];
  return result(id, worst.verdict, findings.map((f) => f.detail).join('; '), fixes.length > 0 ? fixes.join('; ') : undefined);
}

export function isTlsCode(code: string | undefined): boolean {
  return code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|DEPTH_ZERO/.test(code);
}

function isUnreachableCode(code: string | undefined): boolean {
  return code !== undefined && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'].includes(code);
}

function isTimeoutCode(code: string | undefined): boolean {
  return code !== undefined && ['ETIMEDOUT', 'ECONNABORTED', 'TimeoutError', 'AbortError', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT'].includes(code);
}

/** `in 42m`, `in 3h 5m`, `in 2d 4h`, or `3m ago`. */
export function relativeTime(targetMs: number, nowMs: number): string {
  const seconds = Math.round((targetMs - nowMs) / 1000);
  const abs = Math.abs(seconds);
  const d = Math.floor(abs / 86_400);
  const h = Math.floor((abs % 86_400) / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const text = d > 0 ? `${d}d${h > 0 ? ` ${h}h` : ''}` : h > 0 ? `${h}h${m > 0 ? ` ${m}m` : ''}` : m > 0 ? `${m}m` : `${abs}s`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function vaultVerdict(o: VaultObservation): CheckResult {
  if (o.kind === 'not-used') return result('vault', 'skip', o.catalogMissing ? `VAULT_ADDR is not set, so Vault is not used (the catalog would be the file ${o.catalog}, which does not exist)` : `the catalog is the file ${o.catalog}; Vault is not used`);
  if (o.kind === 'error') return result('vault', 'fail', o.error.message, vaultFix(o.error));
  const policies = o.policies.length > 0 ? ` (policies: ${o.policies.join(', ')})` : '';
  const who = o.displayName ? ` '${o.displayName}'` : '';
  if (o.ttlSeconds === 0) return result('vault', 'pass', `Vault ${o.address}: token${who} valid, no expiry${policies}`);
  const left = relativeTime(o.ttlSeconds * 1000, 0).replace(/^in /, '');
  if (o.ttlSeconds < 600) {
    return result('vault', 'warn', `Vault ${o.address}: token${who} expires in ${left}${policies}`, o.renewable ? 'renew it: vault token renew' : 'sign in again: vault login');
  }
  return result('vault', 'pass', `Vault ${o.address}: token${who} valid for ${left}${policies}`);
}

function vaultFix(e: ProbeError): string {
  if (e.status === 401 || e.status === 403) return 'sign in to Vault again (vault login); if that does not help, ask for a policy that allows reading the catalog';
  if (e.status === 503) return 'Vault is sealed or in standby: wait until it is unsealed, then try again';
  if (/no Vault token/.test(e.message)) return 'run `vault login` (it writes ~/.vault-token) or export VAULT_TOKEN';
  if (/VAULT_ADDR/.test(e.message) && e.status === undefined && e.code === undefined) return 'export VAULT_ADDR=https://<your vault>:8200';
  if (isTlsCode(e.code)) return 'export VAULT_CACERT=<path of the CA that signed Vault\'s certificate>';
  if (isUnreachableCode(e.code)) return 'check VAULT_ADDR, your VPN, and HTTPS_PROXY/NO_PROXY';
  if (isTimeoutCode(e.code)) return 'check your network and proxy, or raise --http-timeout';
  return '`vault token lookup` in this shell shows what Vault says';
}

export function catalogVerdict(o: CatalogObservation): CheckResult {
  if (o.kind === 'missing-file') {
    return result(
      'catalog',
      'fail',
      `the catalog file ${o.source} does not exist${o.explicit ? '' : ' (the default: no --catalog, K8S_AUTH_CATALOG or VAULT_ADDR names another catalog)'}`,
      `create ${o.source} with your clusters (docs/configuration.md shows one), pass --catalog FILE (or set K8S_AUTH_CATALOG), or point at Vault: export VAULT_ADDR=https://vault.example:8200 (and VAULT_TOKEN)`,
    );
  }
  if (o.kind === 'listed') {
    if (o.names.length === 0) return result('catalog', 'warn', `no clusters in ${o.source}`, 'add cluster entries (docs/configuration.md), or point --catalog / VAULT_ADDR at the right catalog');
    return result('catalog', 'pass', `${o.names.length} cluster${o.names.length === 1 ? '' : 's'} in ${o.source}: ${o.names.join(', ')}`);
  }
  if (o.kind === 'error') {
    const m = o.error.message;
    let fix = `fix the entry in ${o.source} (docs/configuration.md lists the fields)`;
    if (/not found|does not exist|no cluster catalog/.test(m)) fix = '`k8s-auth clusters` lists the names; check --catalog / VAULT_ADDR point at the right catalog';
    else if (/^Vault|Vault /.test(m) || o.error.status !== undefined) fix = vaultFix(o.error);
    else if (/not valid YAML|must be a mapping|top-level key/.test(m)) fix = `fix the YAML of ${o.source}`;
    return result('catalog', 'fail', m, fix);
  }
  const e = o.entry;
  const parts = [`'${o.cluster}' in ${o.source}: server ${e.server}`, `issuer ${e.issuerUrl}`, `client ${e.clientId}${e.confidential ? ' (confidential)' : ' (public)'}`];
  if (e.redirectUri) parts.push(`redirect ${e.redirectUri}`);
  if (!e.hasServerCa) parts.push('API server CA: system roots');
  return result('catalog', 'pass', parts.join(', '));
}

export function providerVerdict(o: ProviderObservation): CheckResult {
  if (o.kind === 'no-entry') return result('provider', 'skip', 'no catalog entry to take the issuer from');
  const url = `${o.issuerUrl}/.well-known/openid-configuration`;
  const ca = o.caSources.join(' + ');
  const d = o.discovery;
  if ('error' in d) {
    const e = d.error;
    if (isTlsCode(e.code)) {
      return result('provider', 'fail', `discovery at ${url}: TLS certificate not trusted (${e.code}) with CA ${ca}`, "put the provider's CA in the entry's idp-certificate-authority-data (base64 PEM) or pass --certificate-authority FILE");
    }
    if (isUnreachableCode(e.code) || isTimeoutCode(e.code)) return result('provider', 'fail', e.message, 'check issuer-url, your network and HTTPS_PROXY/NO_PROXY');
    return result('provider', 'fail', e.message, 'check issuer-url');
  }
  if (d.status !== 200) {
    return result('provider', 'fail', `discovery at ${url} answered HTTP ${d.status}`, "issuer-url must be the provider's issuer exactly (discovery lives at <issuer>/.well-known/openid-configuration; Dex's usually ends in /dex)");
  }
  if (!d.document) return result('provider', 'fail', `discovery at ${url} is not JSON (${d.parseError ?? 'unreadable'})`, 'check issuer-url: something other than the provider answered');
  const doc = d.document;
  const findings: { verdict: Verdict; detail: string; fix?: string }[] = [];
  if (doc.issuer !== o.issuerUrl) {
    findings.push({
      verdict: 'fail',
      detail: `the provider names its issuer '${String(doc.issuer)}', the entry says '${o.issuerUrl}'`,
      fix: `set issuer-url to '${String(doc.issuer)}' exactly (kube-apiserver's --oidc-issuer-url must match it too)`,
    });
  }
  const missing = (['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const).filter((k) => typeof doc[k] !== 'string');
  if (missing.length > 0) findings.push({ verdict: 'fail', detail: `discovery lacks ${missing.join(', ')}`, fix: 'the provider must support the authorization code flow: check issuer-url' });
  if (o.jwks && 'error' in o.jwks) findings.push({ verdict: 'fail', detail: `signing keys unreachable: ${o.jwks.error.message}`, fix: 'check the network path to jwks_uri (proxy, firewall)' });
  else if (o.jwks && (o.jwks.status !== 200 || o.jwks.keys === 0)) findings.push({ verdict: 'fail', detail: `no signing keys at jwks_uri (HTTP ${o.jwks.status}, ${o.jwks.keys} keys)`, fix: 'check the provider: it publishes no keys to verify ID tokens with' });
  const methods = doc.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes('S256')) findings.push({ verdict: 'warn', detail: 'the provider does not advertise PKCE S256', fix: 'enable PKCE (S256) for the client at the provider' });
  const scopes = doc.scopes_supported;
  if (Array.isArray(scopes) && !scopes.includes('offline_access')) findings.push({ verdict: 'warn', detail: "the provider does not list the 'offline_access' scope (no refresh tokens: you will sign in again each time the ID token expires)", fix: 'allow offline_access / refresh tokens for the client (docs/providers.md)' });
  if (findings.length === 0 || findings.every((f) => f.verdict !== 'fail')) {
    const keys = o.jwks && !('error' in o.jwks) ? `, ${o.jwks.keys} signing key${o.jwks.keys === 1 ? '' : 's'}` : '';
    findings.unshift({ verdict: 'pass', detail: `discovery at ${url} over TLS (CA: ${ca}), issuer matches${keys}` });
  }
  return combine('provider', findings);
}

export function redirectVerdict(o: RedirectObservation): CheckResult {
  if (o.kind === 'no-entry') return result('redirect-uri', 'skip', 'no catalog entry to take the redirect URI from');
  if (o.planError) return result('redirect-uri', 'fail', o.planError.message, "write redirect-uri as http://127.0.0.1:<port>/<path> and register exactly that URI with the provider");
  const l = o.listener;
  if (!l) return result('redirect-uri', 'skip', 'the listener was not tried');
  if ('error' in l) {
    if (l.error.code === 'EADDRINUSE') return result('redirect-uri', 'fail', l.error.message, 'finish or stop the other sign-in (or the program holding the port), or register another port with the provider and set redirect-uri to it');
    if (l.error.code === 'EACCES') return result('redirect-uri', 'fail', l.error.message, 'use a port above 1023 in redirect-uri (and register it with the provider)');
    return result('redirect-uri', 'fail', l.error.message, 'check that this machine allows listening on 127.0.0.1');
  }
  const findings: { verdict: Verdict; detail: string; fix?: string }[] = [];
  if (o.configured !== undefined && l.redirectUri !== o.configured) {
    findings.push({
      verdict: 'fail',
      detail: `sign-in would send redirect_uri ${l.redirectUri}, but the entry (and so the provider) says ${o.configured}`,
      fix: `write redirect-uri with an explicit path, e.g. ${l.redirectUri}, and register that exact URI with the provider`,
    });
  }
  const rt = o.roundTrip;
  if (!rt || 'error' in rt) {
    findings.push({ verdict: 'fail', detail: `a request to ${l.redirectUri} did not reach the listener${rt ? `: ${rt.error.message}` : ''}`, fix: 'a firewall or local proxy intercepts loopback traffic: exempt 127.0.0.1 and ::1' });
  } else if (!rt.reached) {
    findings.push({ verdict: 'fail', detail: `a request to ${l.redirectUri} was answered (HTTP ${rt.status ?? '?'}) but not by the listener`, fix: 'another program answers on that address: stop it or choose another port' });
  }
  if (o.confidential && o.configured === undefined) {
    findings.push({ verdict: 'warn', detail: 'a confidential client without a fixed redirect-uri: providers that match redirect URIs exactly (Dex, Okta, Keycloak) refuse a random port', fix: 'register http://127.0.0.1:8000/callback with the provider and set redirect-uri to it' });
  }
  if (!findings.some((f) => f.verdict === 'fail')) {
    const how = o.configured === undefined ? ` (a free port is chosen at each sign-in; hosts ${l.hosts.join(', ')})` : ` (hosts ${l.hosts.join(', ')})`;
    findings.unshift({ verdict: 'pass', detail: `the listener answers at ${l.redirectUri}${how}` });
  }
  return combine('redirect-uri', findings);
}

export function kubeconfigVerdict(o: KubeconfigObservation, cluster?: string): CheckResult {
  const findings: { verdict: Verdict; detail: string; fix?: string }[] = [];
  for (const f of o.files) {
    if (f.exists && !f.readable) findings.push({ verdict: 'fail', detail: `${f.path} is not readable`, fix: `check the owner and mode of ${f.path}` });
    else if (f.parseError) findings.push({ verdict: 'fail', detail: f.parseError, fix: `fix or move ${f.path}: k8s-auth writes nothing to a kubeconfig it cannot read` });
    if (!f.writable) findings.push({ verdict: 'fail', detail: `${f.path} is not writable${f.exists ? '' : ' (nor its directory)'}`, fix: f.exists ? `chmod u+w ${f.path} (or fix its owner), or point KUBECONFIG at a writable file` : `create the directory of ${f.path}, or point KUBECONFIG elsewhere` });
    if (f.exists && f.mode !== undefined && (f.mode & 0o077) !== 0) {
      findings.push({ verdict: 'warn', detail: `${f.path} is readable by others (mode ${f.mode.toString(8).padStart(3, '0')}) and holds tokens`, fix: `chmod 600 ${f.path}` });
    }
  }
  const c = o.context;
  if (c.kind === 'missing') findings.push({ verdict: 'fail', detail: c.error, fix: `sign in: k8s-auth login ${cluster ?? c.name}${cluster !== undefined && cluster !== c.name ? ` --context-name ${c.name}` : ''}` });
  if (!findings.some((f) => f.verdict === 'fail')) {
    const files = o.files.map((f) => `${f.path}${f.exists ? '' : ' (will be created)'}`).join(', ');
    const ctx = c.kind === 'found' ? `; context ${c.name}: cluster ${c.cluster}, user ${c.user} (${authLabel(c.auth)})` : '';
    findings.unshift({ verdict: 'pass', detail: `${files}: readable and writable${ctx}` });
  }
  return combine('kubeconfig', findings);
}

function authLabel(auth: 'oidc' | 'exec' | 'token' | 'other'): string {
  return { oidc: 'auth-provider oidc', exec: 'exec k8s-auth credential', token: 'static token', other: 'not managed by k8s-auth' }[auth];
}

export function locksVerdict(o: LocksObservation, staleAfterMs = 30_000): CheckResult {
  const findings: { verdict: Verdict; detail: string; fix?: string }[] = [];
  for (const l of o.held) {
    const age = Math.round(l.ageMs / 1000);
    if (l.holder && l.sameHost && l.holderAlive === false) {
      findings.push({ verdict: 'fail', detail: `${l.path} is left by process ${l.holder.pid}, which is gone (kubectl refuses to write while it exists)`, fix: `rm ${l.path}` });
    } else if (!l.holder && l.ageMs > staleAfterMs) {
      findings.push({ verdict: 'fail', detail: `${l.path} is an empty lock ${age}s old (left by a kubectl that crashed?); kubectl refuses to write while it exists`, fix: `rm ${l.path} if no kubectl is running` });
    } else if (l.holder && !l.sameHost && l.ageMs > staleAfterMs) {
      findings.push({ verdict: 'warn', detail: `${l.path} is held by process ${l.holder.pid} on ${l.holder.host} for ${age}s`, fix: `if nothing runs on ${l.holder.host}, rm ${l.path}` });
    } else if (l.holder && l.ageMs > 60_000) {
      findings.push({ verdict: 'warn', detail: `${l.path} is held by running process ${l.holder.pid} for ${age}s (a sign-in waiting in a browser?)`, fix: `finish that sign-in, or stop process ${l.holder.pid}` });
    } else {
      findings.push({ verdict: 'pass', detail: `${l.path} is held right now (${age}s)` });
    }
  }
  if (!findings.some((f) => f.verdict !== 'pass')) findings.unshift({ verdict: 'pass', detail: `no stale locks (looked at ${o.checked.join(', ') || 'nothing'})` });
  return combine('locks', findings);
}

export function tokensVerdict(o: TokensObservation, nowMs: number, cluster: string | undefined): CheckResult {
  const login = loginCommand(cluster ?? '<cluster>', o.kind === 'no-context' || o.kind === 'not-ours' ? undefined : o.mode);
  if (o.kind === 'no-context') return result('tokens', 'skip', o.reason);
  if (o.kind === 'not-ours') return result('tokens', 'skip', `the context's user has ${o.auth === 'token' ? 'a static token' : 'credentials'} not managed by k8s-auth`);
  const where = o.mode === 'oidc' ? `in the kubeconfig (${o.source})` : `in the cache ${o.source}`;
  if (o.problem) return result('tokens', 'fail', `cache file ${o.source}: ${o.problem}`, `rm ${o.source} and sign in again: ${login}`);
  const findings: { verdict: Verdict; detail: string; fix?: string }[] = [];
  const t = o.idToken;
  if (!t && !o.hasRefreshToken) {
    findings.push({ verdict: 'fail', detail: `no tokens ${where}: not signed in`, fix: `sign in: ${login}` });
  } else if (t?.issuer && o.expectedIssuer && t.issuer !== o.expectedIssuer) {
    findings.push({ verdict: 'fail', detail: `the cached ID token is from ${t.issuer}, but the catalog says ${o.expectedIssuer}`, fix: `sign in again: ${login}` });
  } else if (!t || t.expiresAtMs === undefined) {
    findings.push(o.hasRefreshToken ? { verdict: 'pass', detail: `no usable ID token ${where}; a refresh token is cached and renews it on next use` } : { verdict: 'fail', detail: `the ID token ${where} is unreadable`, fix: `sign in again: ${login}` });
  } else if (t.expiresAtMs <= nowMs) {
    findings.push(
      o.hasRefreshToken
        ? { verdict: 'pass', detail: `ID token ${where} expired ${relativeTime(t.expiresAtMs, nowMs)} (${iso(t.expiresAtMs)}); the cached refresh token renews it on next use` }
        : { verdict: 'fail', detail: `ID token ${where} expired ${relativeTime(t.expiresAtMs, nowMs)} and there is no refresh token`, fix: `sign in again: ${login}` },
    );
  } else if (!o.hasRefreshToken) {
    findings.push({ verdict: 'warn', detail: `ID token ${where} valid until ${iso(t.expiresAtMs)} (${relativeTime(t.expiresAtMs, nowMs)}), but no refresh token: you will sign in again then`, fix: 'let the client have refresh tokens (the offline_access scope; docs/providers.md)' });
  } else {
    findings.push({ verdict: 'pass', detail: `ID token ${where} valid until ${iso(t.expiresAtMs)} (${relativeTime(t.expiresAtMs, nowMs)}); refresh token cached` });
  }
  if (o.fileMode !== undefined && (o.fileMode & 0o077) !== 0) findings.push({ verdict: 'warn', detail: `${o.source} is readable by others (mode ${o.fileMode.toString(8)})`, fix: `chmod 600 ${o.source}` });
  if (o.dirMode !== undefined && (o.dirMode & 0o077) !== 0) findings.push({ verdict: 'warn', detail: `the cache directory is open to others (mode ${o.dirMode.toString(8)})`, fix: 'chmod 700 the token cache directory' });
  return combine('tokens', findings);
}

export function apiServerVerdict(o: ApiServerObservation, entry?: { issuerUrl: string; clientId: string }, structured?: { rejected: boolean }): CheckResult {
  if (o.kind === 'no-context') return result('api-server', 'skip', o.reason);
  if (o.error) {
    const e = o.error;
    if (isTlsCode(e.code)) return result('api-server', 'fail', `API server ${o.server}: TLS certificate not trusted (${e.code})`, "the entry's certificate-authority-data must be the API server's CA; fix it, then sign in again to rewrite the kubeconfig cluster");
    if (isUnreachableCode(e.code) || isTimeoutCode(e.code)) return result('api-server', 'fail', e.message, 'check the server address, your VPN, and HTTPS_PROXY/NO_PROXY');
    return result('api-server', 'fail', e.message, 'run kubectl with -v=6 against this context to see the exchange');
  }
  const a = o.answer;
  if (!a) return result('api-server', 'skip', 'the API server was not asked');
  if (o.credentials === 'none') {
    return result('api-server', 'warn', `API server ${o.server} is reachable over TLS (HTTP ${a.status}), but the credentials were not tested: ${o.noCredentialsReason ?? 'no usable ID token'}`, o.noCredentialsReason?.includes('refresh') ? 'run any kubectl command against this context (it renews the token), then doctor again' : 'sign in first, then doctor again');
  }
  if (a.status === 401 && structured) {
    return result('api-server', 'fail', `API server ${o.server} rejected the ID token (401 Unauthorized)`, structured.rejected ? 'see the authentication-config check: it names the rule the token fails' : "the authentication-config check found no rule the token fails: check kube-apiserver's log for the reason");
  }
  if (a.status === 401) {
    const expect = entry ? ` --oidc-issuer-url=${entry.issuerUrl} --oidc-client-id=${entry.clientId}` : ' --oidc-issuer-url/--oidc-client-id equal to the entry';
    const structuredHint = entry ? `, or with --authentication-config a jwt issuer with url ${entry.issuerUrl} and '${entry.clientId}' among its audiences` : '';
    return result('api-server', 'fail', `API server ${o.server} rejected the ID token (401 Unauthorized)`, `kube-apiserver needs${expect} (and --oidc-ca-file for a private provider CA)${structuredHint}; check its log for the reason (doctor --authentication-config FILE checks the token against that file)`);
  }
  if (a.status === 403) return result('api-server', 'warn', `API server ${o.server} authenticated the ID token but forbids the ${o.review ?? 'review'} (403)`, 'harmless for kubectl; an admin can check the system:basic-user binding');
  if (a.status < 200 || a.status >= 300) return result('api-server', 'fail', `API server ${o.server} answered the ${o.review ?? 'review'} with HTTP ${a.status}${a.message ? `: ${a.message}` : ''}`, 'check the API server (its log, or kubectl -v=6)');
  if (o.review === 'SelfSubjectReview') {
    const groups = a.groups && a.groups.length > 0 ? ` (groups: ${a.groups.join(', ')})` : '';
    return result('api-server', 'pass', `API server ${o.server} knows you as ${a.username ?? '?'}${groups}`);
  }
  return result('api-server', 'pass', `API server ${o.server} accepted the ID token (SelfSubjectAccessReview${a.allowed === undefined ? '' : `, allowed: ${a.allowed}`}; it has no SelfSubjectReview to name you)`);
}

/** What to do about the first rule a token fails. */
function ruleFix(r: RuleResult, configured: readonly string[]): string {
  if (r.rule === 'iss') return `sign in with one of the issuers the API server trusts (${configured.join(', ')}), or an admin adds a jwt authenticator for this issuer`;
  if (r.rule === 'aud') return "the catalog's client-id must be one of the authenticator's issuer.audiences (or an admin adds this client to them)";
  if (r.rule === 'exp') return 'run any kubectl command (it renews the token) or sign in again';
  if (r.rule.startsWith('username claim') || r.rule.startsWith('groups claim')) return "the provider must put that claim in the ID token (ask for the scope that carries it, e.g. 'email' or 'groups'), or an admin maps another claim";
  return "the user's attributes at the provider must satisfy the rule (e.g. verify the e-mail address there), or an admin changes the rule";
}

/**
 * `doctor --authentication-config FILE`: the token's claims against the file's JWT authenticators.
 * A failed rule is a fail (the server rejects the token); rules doctor cannot evaluate are named.
 */
export function authenticationConfigVerdict(o: AuthenticationConfigObservation, apiServer: ApiServerObservation): CheckResult {
  if (o.kind === 'no-token') return result('authentication-config', 'skip', `${o.source}: ${o.reason}`);
  const e = o.evaluation;
  const failed = e.results.filter((r) => r.outcome === 'fail');
  const unevaluated = e.results.filter((r) => r.outcome === 'not-evaluated').map((r) => r.rule);
  const notEvaluated = unevaluated.length > 0 ? `; not evaluated: ${unevaluated.join('; ')}` : '';
  const by = `by ${o.source}${e.issuerUrl ? ` (issuer ${e.issuerUrl})` : ''}`;
  const first = failed[0];
  if (first) {
    return result('authentication-config', 'fail', `${by}, the API server rejects this token: ${failed.map((r) => `${r.rule}: ${r.detail}`).join('; ')}${notEvaluated}`, ruleFix(first, e.configuredIssuers));
  }
  const who = e.username !== undefined ? `, user '${e.username}'${e.groups && e.groups.length > 0 ? ` groups ${e.groups.join(', ')}` : ''}` : '';
  const passed = e.results.filter((r) => r.outcome === 'pass').map((r) => r.rule).join(', ');
  const rejected = apiServer.kind === 'probed' && apiServer.answer?.status === 401;
  if (rejected) {
    return result(
      'authentication-config',
      'warn',
      `${by}, every rule doctor can evaluate passes (${passed})${who}, yet the API server answered 401${notEvaluated}`,
      unevaluated.length > 0
        ? "one of the rules doctor did not evaluate, the token's signature (the keys at the issuer's jwks_uri) or the server's trust of the provider's CA fails: check kube-apiserver's log"
        : "the token's signature (the keys at the issuer's jwks_uri) or the server's trust of the provider's CA fails, or the server runs another configuration: check kube-apiserver's log",
    );
  }
  return result('authentication-config', 'pass', `${by}: ${passed}${who}${notEvaluated}`);
}
