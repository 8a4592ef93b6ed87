/**
 * The client-go exec credential protocol (client.authentication.k8s.io): what kubectl tells the
 * plugin in KUBERNETES_EXEC_INFO, what the plugin answers on stdout, and the kubeconfig
 * `user.exec` stanza that makes kubectl run `k8s-auth credential`. Pure; on the exec hot path
 * (node builtins only).
 */
export const EXEC_API_V1 = 'client.authentication.k8s.io/v1';
export const EXEC_API_V1BETA1 = 'client.authentication.k8s.io/v1beta1';
export type ExecApiVersion = typeof EXEC_API_V1 | typeof EXEC_API_V1BETA1;
export const EXEC_API_VERSIONS: readonly ExecApiVersion[] = [EXEC_API_V1, EXEC_API_V1BETA1];

/** Short names accepted by `--exec-api-version`. */
export function parseExecApiVersion(value: string): ExecApiVersion | undefined {
  const v = value.trim();
  if (v === 'v1' || v === EXEC_API_V1) return EXEC_API_V1;
  if (v === 'v1beta1' || v === EXEC_API_V1BETA1) return EXEC_API_V1BETA1;
  return undefined;
}

export interface ExecInfo {
  apiVersion: ExecApiVersion;
  /** spec.interactive; undefined when kubectl sent no KUBERNETES_EXEC_INFO (run by hand, or an old client). */
  interactive: boolean | undefined;
  /** spec.cluster.server when the kubeconfig sets provideClusterInfo. */
  clusterServer?: string;
}

export type ParsedExecInfo = { ok: true; info: ExecInfo } | { ok: false; problem: string };

/**
 * Without KUBERNETES_EXEC_INFO we answer v1beta1: every client-go that speaks v1 sets the
 * variable, so a caller that does not is an old one (or a person at a shell).
 */
export function parseExecInfo(value: string | undefined): ParsedExecInfo {
  if (value === undefined || value.trim() === '') return { ok: true, info: { apiVersion: EXEC_API_V1BETA1, interactive: undefined } };
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return { ok: false, problem: 'KUBERNETES_EXEC_INFO is not valid JSON' };
  }
  if (!raw || typeof raw !== 'object') return { ok: false, problem: 'KUBERNETES_EXEC_INFO is not a JSON object' };
  const r = raw as Record<string, unknown>;
  const apiVersion = typeof r['apiVersion'] === 'string' ? r['apiVersion'] : '';
  if (apiVersion !== EXEC_API_V1 && apiVersion !== EXEC_API_V1BETA1) {
    return { ok: false, problem: `KUBERNETES_EXEC_INFO has apiVersion '${apiVersion}': k8s-auth speaks ${EXEC_API_V1} and ${EXEC_API_V1BETA1} (set user.exec.apiVersion to one of them)` };
  }
  if (r['kind'] !== undefined && r['kind'] !== 'ExecCredential') return { ok: false, problem: `KUBERNETES_EXEC_INFO has kind '${String(r['kind'])}', expected ExecCredential` };
  const spec = r['spec'] && typeof r['spec'] === 'object' ? (r['spec'] as Record<string, unknown>) : {};
  const info: ExecInfo = { apiVersion, interactive: typeof spec['interactive'] === 'boolean' ? spec['interactive'] : undefined };
  const cluster = spec['cluster'] && typeof spec['cluster'] === 'object' ? (spec['cluster'] as Record<string, unknown>) : undefined;
  if (cluster && typeof cluster['server'] === 'string') info.clusterServer = cluster['server'];
  return { ok: true, info };
}


/** RFC 3339 in UTC without fractions, the form client-go's metav1.Time writes; the one formatter. */
export function rfc3339(time: Date | number): string {
  const ms = typeof time === 'number' ? time : time.getTime();
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The one JSON document the plugin writes on stdout. */
export function formatExecCredential(apiVersion: ExecApiVersion, token: string, expiresAtMs: number, interactive?: boolean): string {
  const doc = {
    kind: 'ExecCredential',
    apiVersion,
    spec: { interactive: interactive ?? false },
    status: { expirationTimestamp: rfc3339(expiresAtMs), token },
  };
  return `${JSON.stringify(doc)}\n`;
}

/**
 * Flags of `k8s-auth credential` that the hot path reads to find the cache file without the
 * catalog. Shared with the command definition so both sides agree on the spelling.
 */
export const CREDENTIAL_FLAGS = {
  issuer: '--issuer',
  clientId: '--client-id',
  scopes: '--scopes',
  loginHint: '--login-hint',
  cacheDir: '--token-cache-dir',
  skew: '--skew',
} as const;

/** Flags after which the full path must run (it prints help, or logs what it does). */
const BAIL_FLAGS = new Set(['-h', '--help', '-v', '--verbose']);

const WANTED: ReadonlySet<string> = new Set(Object.values(CREDENTIAL_FLAGS));

/**
 * Reads the few flags that name a cache entry from the flags of `k8s-auth credential <cluster>`
 * (`--flag value` or `--flag=value`). The hot path gives up (undefined) on help, verbose or `--`;
 * a lookup that only wants the cache entry passes `{ hotPath: false }`.
 */
export function readCredentialFlags(args: readonly string[], options: { hotPath?: boolean } = {}): Map<string, string> | undefined {
  const bail = options.hotPath ?? true;
  const found = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (bail && (BAIL_FLAGS.has(arg) || arg === '--')) return undefined;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (!WANTED.has(name)) continue;
    const value = eq > 0 && name !== arg ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) return undefined;
    found.set(name, value);
  }
  return found;
}

export interface ExecUserOptions {
  apiVersion: ExecApiVersion;
  /** `k8s-auth`, or --exec-command PATH. */
  command: string;
  args: readonly string[];
  env?: readonly { name: string; value: string }[];
  installHint?: string;
}

export const DEFAULT_INSTALL_HINT = [
  'k8s-auth signs you in to this cluster but is not on your PATH.',
  'Install it from a clone of its repository: npm ci && npm install --global .',
  '(or from its package: npm pack, then npm install --global ./k8s-auth-<version>.tgz)',
  'then run: k8s-auth login <cluster> --exec',
].join('\n');

/**
 * The kubeconfig `users[].user` value. interactiveMode IfAvailable: kubectl hands us the
 * terminal when there is one, and says spec.interactive=false when there is not (background
 * tools), which is when we must never open a browser. kubectl < 1.22 ignores interactiveMode
 * (checked with Debian's 1.20) and sends `spec: {}`: the plugin then asks whether its stdin,
 * which such kubectl passes through, is a terminal.
 */
export function buildExecUser(options: ExecUserOptions): { exec: Record<string, unknown> } {
  const exec: Record<string, unknown> = {
    apiVersion: options.apiVersion,
    command: options.command,
    args: [...options.args],
  };
  if (options.env && options.env.length > 0) exec['env'] = options.env.map((e) => ({ name: e.name, value: e.value }));
  exec['interactiveMode'] = 'IfAvailable';
  exec['provideClusterInfo'] = false;
  exec['installHint'] = options.installHint ?? DEFAULT_INSTALL_HINT;
  return { exec };
}

export interface CredentialArgsOptions {
  cluster: string;
  issuer: string;
  clientId: string;
  scopes: readonly string[];
  loginHint?: string;
  cacheDir?: string;
  skewSeconds?: number;
  /** Options the full path needs on a miss: catalog/Vault options, grant, CA files… */
  extra?: readonly string[];
}

/** `credential <cluster> --issuer … --client-id … --scopes …` plus the options that matter. */
export function buildCredentialArgs(options: CredentialArgsOptions): string[] {
  const args = ['credential', options.cluster, CREDENTIAL_FLAGS.issuer, options.issuer, CREDENTIAL_FLAGS.clientId, options.clientId, CREDENTIAL_FLAGS.scopes, options.scopes.join(' ')];
  if (options.loginHint) args.push(CREDENTIAL_FLAGS.loginHint, options.loginHint);
  if (options.cacheDir) args.push(CREDENTIAL_FLAGS.cacheDir, options.cacheDir);
  if (options.skewSeconds !== undefined) args.push(CREDENTIAL_FLAGS.skew, String(options.skewSeconds));
  args.push(...(options.extra ?? []));
  return args;
}
