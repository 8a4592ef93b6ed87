import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, resolve } from 'node:path';
import { kubeconfigPaths } from '../core/kubeconfig-paths.js';
import { readMergedKubeconfig } from './kubeconfig-read.js';
import type { ClusterConnection } from '../core/token-output.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { registerSecret } from '../ui/redact.js';

/**
 * The kubeconfig context a command talks through, read without @kubernetes/client-node (which
 * costs ~0.5 s to load): files merged like kubectl ($KUBECONFIG, first file to set a value wins),
 * relative paths resolved against the file that named them, CA inlined. Static credentials (a
 * bearer token, a token file, a client certificate) are returned ready to use; anything else
 * (exec plugins, auth-provider, impersonation, basic auth, proxy-url) is left to client-node.
 */
export type StaticCredentials =
  | { kind: 'token'; token: string }
  | { kind: 'client-certificate'; certPem: string; keyPem: string }
  | { kind: 'none' };

export interface KubeconfigTarget {
  paths: string[];
  contextName: string;
  clusterName: string;
  /** The context's own namespace, if it names one. */
  namespace: string | undefined;
  connection: ClusterConnection;
  /** CA PEM to verify the server with (undefined: Node's roots). */
  caPem: string | undefined;
  /** Usable without client-node, or undefined with the reason why not. */
  credentials: StaticCredentials | undefined;
  unsupported: string | undefined;
  /** The user's exec plugin, if it has one (to find k8s-auth's own token cache); `env` its `env` entries, which kubectl adds to the plugin's environment. */
  userExec: { command: string; args: string[]; env: Record<string, string> } | undefined;
  /** The user's `auth-provider` name (`oidc` for a k8s-auth login), if it has one. */
  userAuthProvider: string | undefined;
  /** The `id-token` of an `auth-provider: oidc` user (who the context signs in as). */
  oidcIdToken: string | undefined;
}

export interface KubeconfigSelection {
  /** An explicit kubeconfig path (--kubeconfig); else $KUBECONFIG, else ~/.kube/config. */
  kubeconfig?: string;
  /** A context name, or a cluster name (its first context); else the current context. */
  cluster?: string;
  /** Exactly this context (no cluster-name fallback); wins over `cluster`. */
  context?: string;
  env?: NodeJS.ProcessEnv;
}

interface Entry {
  value: Record<string, unknown>;
  /** The directory of the file that defined it, for relative paths. */
  base: string;
}

/**
 * The kubeconfig files to read, by the one path rule (core/kubeconfig-paths.ts): kubectl skips
 * missing files in $KUBECONFIG, an explicit --kubeconfig must exist. kube-client.ts reads the
 * same files after this reader has picked and checked the context.
 */
export function existingKubeconfigPaths(kubeconfig: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates = kubeconfigPaths(kubeconfig, env);
  const paths = kubeconfig ? candidates : candidates.filter((path) => existsSync(path));
  if (paths.length === 0 || (kubeconfig && !existsSync(kubeconfig))) {
    throw new CliError(ExitCode.KUBECONFIG, `no kubeconfig at ${kubeconfig ?? candidates.join(delimiter)}: pass --kubeconfig or set KUBECONFIG to a kubeconfig with access to the cluster`);
  }
  return paths;
}

export async function readKubeconfigTarget(selection: KubeconfigSelection = {}): Promise<KubeconfigTarget> {
  const paths = existingKubeconfigPaths(selection.kubeconfig, selection.env);
  // the one read model (adapters/kubeconfig-read.ts): only the items named below are parsed
  const merged = readMergedKubeconfig(paths);
  const entry = (section: 'clusters' | 'users' | 'contexts', name: string): Entry | undefined => {
    const found = merged.find(section, name);
    return found ? { value: found.value, base: dirname(resolve(found.path)) } : undefined;
  };
  const contexts: ContextLookup = { has: (name) => merged.find('contexts', name) !== undefined, names: () => merged.names('contexts'), clusterOf: (name) => str(merged.find('contexts', name)?.value['cluster']) };
  const current = merged.currentContext;
  const where = paths.join(delimiter);
  const contextName = selection.context !== undefined ? exactContext(selection.context, contexts, where) : pickContext(selection.cluster, current, contexts, where);
  const context = entry('contexts', contextName)?.value ?? {};
  const clusterName = str(context['cluster']);
  const cluster = clusterName ? entry('clusters', clusterName) : undefined;
  const server = cluster ? str(cluster.value['server']) : undefined;
  if (!clusterName || !cluster || !server) {
    throw new CliError(ExitCode.KUBECONFIG, `context '${contextName}' names cluster '${clusterName ?? ''}', which is missing or has no server in ${where}: fix the kubeconfig`);
  }
  const userName = str(context['user']);
  const user = userName ? entry('users', userName) : undefined;
  if (userName && !user) {
    throw new CliError(ExitCode.KUBECONFIG, `context '${contextName}' names user '${userName}', which is not in ${where}: fix the kubeconfig`);
  }
  const { connection, caPem } = clusterConnection(cluster, server);
  const { credentials, unsupported } = staticCredentials(user);
  const proxy = str(cluster.value['proxy-url']);
  const exec = user?.value['exec'];
  const execRecord = exec && typeof exec === 'object' ? (exec as Record<string, unknown>) : undefined;
  const execCommand = execRecord ? str(execRecord['command']) : undefined;
  const execArgs = execRecord && Array.isArray(execRecord['args']) ? execRecord['args'].filter((a): a is string => typeof a === 'string') : [];
  const execEnv: Record<string, string> = {};
  for (const entry of execRecord && Array.isArray(execRecord['env']) ? (execRecord['env'] as unknown[]) : []) {
    const e = entry && typeof entry === 'object' ? (entry as Record<string, unknown>) : {};
    if (typeof e['name'] === 'string' && e['name'] !== '' && typeof e['value'] === 'string') execEnv[e['name']] = e['value'];
  }
  const provider = user?.value['auth-provider'];
  const providerRecord = provider && typeof provider === 'object' ? (provider as Record<string, unknown>) : undefined;
  const providerConfig = providerRecord?.['config'];
  const authProvider = providerRecord ? str(providerRecord['name']) : undefined;
  const oidcIdToken = authProvider === 'oidc' && providerConfig && typeof providerConfig === 'object' ? str((providerConfig as Record<string, unknown>)['id-token']) : undefined;
  if (oidcIdToken) registerSecret(oidcIdToken);
  return {
    paths,
    contextName,
    clusterName,
    namespace: str(context['namespace']),
    connection,
    caPem,
    credentials: proxy ? undefined : credentials,
    unsupported: proxy ? 'the cluster uses proxy-url' : unsupported,
    userExec: execCommand ? { command: execCommand, args: execArgs, env: execEnv } : undefined,
    userAuthProvider: authProvider,
    oidcIdToken,
  };
}

/** What picking a context needs to know of the merged files' contexts. */
interface ContextLookup {
  has(name: string): boolean;
  names(): string[];
  clusterOf(name: string): string | undefined;
}

/** A context named exactly (--context of the commands that use the caller's own kubeconfig). */
function exactContext(name: string, contexts: ContextLookup, where: string): string {
  if (contexts.has(name)) return name;
  const known = contexts.names();
  throw new CliError(ExitCode.KUBECONFIG, `context '${name}' is not in kubeconfig ${where}${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}: pass --context with one of them`);
}

function pickContext(wanted: string | undefined, current: string | undefined, contexts: ContextLookup, where: string): string {
  if (wanted) {
    if (contexts.has(wanted)) return wanted;
    const known = contexts.names();
    const ofCluster = known.find((name) => contexts.clusterOf(name) === wanted);
    if (ofCluster) return ofCluster;
    throw new CliError(ExitCode.KUBECONFIG, `no context or cluster named '${wanted}' in ${where}${known.length > 0 ? ` (contexts: ${known.join(', ')})` : ''}: run \`k8s-auth login ${wanted}\` or pass --context with one of them`);
  }
  if (!current) throw new CliError(ExitCode.KUBECONFIG, `kubeconfig ${where} has no current-context: run \`k8s-auth login CLUSTER\` or pass --context NAME`);
  if (!contexts.has(current)) throw new CliError(ExitCode.KUBECONFIG, `current-context '${current}' is not defined in ${where}: fix the kubeconfig or pass --context NAME`);
  return current;
}

function clusterConnection(cluster: Entry, server: string): { connection: ClusterConnection; caPem: string | undefined } {
  const c = cluster.value;
  const connection: ClusterConnection = { server };
  let caPem: string | undefined;
  const caData = str(c['certificate-authority-data']);
  const caFile = str(c['certificate-authority']);
  if (caData) {
    caPem = Buffer.from(caData, 'base64').toString('utf8');
    connection.certificateAuthorityData = caData;
  } else if (caFile) {
    caPem = readReferenced(caFile, cluster.base, 'certificate-authority');
    connection.certificateAuthorityData = Buffer.from(caPem, 'utf8').toString('base64');
  }
  if (c['insecure-skip-tls-verify'] === true) connection.insecureSkipTlsVerify = true;
  const serverName = str(c['tls-server-name']);
  if (serverName) connection.tlsServerName = serverName;
  const proxy = str(c['proxy-url']);
  if (proxy) connection.proxyUrl = proxy;
  return { connection, caPem };
}

const COMPLEX_USER_FIELDS = ['exec', 'auth-provider', 'as', 'as-groups', 'as-uid', 'as-user-extra', 'username', 'password'];

function staticCredentials(user: Entry | undefined): { credentials: StaticCredentials | undefined; unsupported: string | undefined } {
  if (!user) return { credentials: { kind: 'none' }, unsupported: undefined };
  const u = user.value;
  const complex = COMPLEX_USER_FIELDS.find((field) => u[field] !== undefined && u[field] !== null && u[field] !== '');
  if (complex) return { credentials: undefined, unsupported: `the user uses ${complex}` };
  const token = str(u['token']);
  const tokenFile = str(u['tokenFile']);
  const certData = str(u['client-certificate-data']);
  const certFile = str(u['client-certificate']);
  const keyData = str(u['client-key-data']);
  const keyFile = str(u['client-key']);
  if (certData || certFile) {
    const certPem = certData ? Buffer.from(certData, 'base64').toString('utf8') : readReferenced(certFile as string, user.base, 'client-certificate');
    const keyPem = keyData ? Buffer.from(keyData, 'base64').toString('utf8') : keyFile ? readReferenced(keyFile, user.base, 'client-key') : undefined;
    if (!keyPem) throw new CliError(ExitCode.KUBECONFIG, 'the kubeconfig user has a client certificate but no client key: fix the kubeconfig');
    registerSecret(keyPem);
    return { credentials: { kind: 'client-certificate', certPem, keyPem }, unsupported: undefined };
  }
  if (token) {
    registerSecret(token);
    return { credentials: { kind: 'token', token }, unsupported: undefined };
  }
  if (tokenFile) {
    const fromFile = readReferenced(tokenFile, user.base, 'tokenFile').trim();
    registerSecret(fromFile);
    return { credentials: { kind: 'token', token: fromFile }, unsupported: undefined };
  }
  return { credentials: { kind: 'none' }, unsupported: undefined };
}

function readReferenced(path: string, base: string, field: string): string {
  const full = isAbsolute(path) ? path : resolve(base, path);
  try {
    return readFileSync(full, 'utf8');
  } catch (error) {
    throw new CliError(ExitCode.KUBECONFIG, `cannot read ${field} ${full} named in the kubeconfig: ${describeError(error)}`, { cause: error });
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
