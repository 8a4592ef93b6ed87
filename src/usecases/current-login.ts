import { kubeconfigPaths } from '../core/kubeconfig-paths.js';
import { readMergedKubeconfig } from '../adapters/kubeconfig-read.js';
import { loginCommand } from '../core/login-mode.js';
import { CliError, ExitCode } from '../errors.js';
import { registerSecret } from '../ui/redact.js';

/**
 * Who the kubeconfig signs in as, for a context (default: the current one). Read-only, no
 * network. For an `auth-provider: oidc` user the tokens come from the kubeconfig; for our exec
 * plugin (`k8s-auth credential <cluster>`) only the cluster is known and the caller asks the
 * token cache.
 */
export interface CurrentLogin {
  contextName: string;
  /** The kubeconfig cluster name, which for our entries is the catalog name. */
  clusterName: string;
  userName: string;
  server: string;
  namespace?: string;
  /** How the user authenticates. */
  kind: 'oidc' | 'exec' | 'token' | 'other';
  /** For kind 'exec': the cluster argument after `credential` (usually clusterName). */
  execCluster?: string;
  /** For kind 'exec': the plugin's arguments (they name the token cache key). */
  execArgs?: string[];
  /** For kind 'exec': the plugin command, its client.authentication.k8s.io version and env. */
  execCommand?: string;
  execApiVersion?: string;
  execEnv?: { name: string; value: string }[];
  idToken?: string;
  refreshToken?: string;
  issuerUrl?: string;
  clientId?: string;
  clientSecret?: string;
  /** base64 PEM of the provider's CA. */
  idpCaData?: string;
  /** base64 PEM of the API server's CA. */
  caData?: string;
  /** The file holding the user entry. */
  kubeconfigPath: string;
}

export interface CurrentLoginOptions {
  kubeconfig?: string;
  context?: string;
  env?: Record<string, string | undefined>;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** 'exec' for a user running `k8s-auth credential`, so a hint can say `--exec`. */
function formOf(user: Record<string, unknown>): string | undefined {
  const exec = record(user['exec']);
  return exec && Array.isArray(exec['args']) && exec['args'].includes('credential') ? 'exec' : undefined;
}

export function readCurrentLogin(options: CurrentLoginOptions = {}): CurrentLogin {
  const paths = kubeconfigPaths(options.kubeconfig, options.env ?? process.env);
  const merged = readMergedKubeconfig(paths);
  const where = paths.join(process.platform === 'win32' ? ';' : ':');
  const contextName = options.context ?? merged.currentContext;
  if (!contextName) throw new CliError(ExitCode.KUBECONFIG, `no current context in ${where}: run \`k8s-auth login <cluster>\` or name a context`);
  const context = merged.find('contexts', contextName);
  if (!context) throw new CliError(ExitCode.KUBECONFIG, `context '${contextName}' not found in ${where}: run \`k8s-auth login <cluster>\``);
  const clusterName = str(context.value['cluster']);
  const userName = str(context.value['user']);
  if (!clusterName || !userName) throw new CliError(ExitCode.KUBECONFIG, `context '${contextName}' in ${context.path} lacks a cluster or user: run \`k8s-auth login <cluster>\` again`);
  const cluster = merged.find('clusters', clusterName);
  const server = str(cluster?.value['server']);
  const user = merged.find('users', userName);
  // the hint restores the form the user has (an exec plugin user stays one: issue 17, point 2)
  if (!server) throw new CliError(ExitCode.KUBECONFIG, `cluster '${clusterName}' of context '${contextName}' has no server in ${where}: run \`${loginCommand(clusterName, user ? formOf(user.value) : undefined)}\` again`);
  if (!user) throw new CliError(ExitCode.KUBECONFIG, `user '${userName}' of context '${contextName}' not found in ${where}: run \`k8s-auth login ${clusterName}\` again`);

  const login: CurrentLogin = { contextName, clusterName, userName, server, kind: 'other', kubeconfigPath: user.path };
  const namespace = str(context.value['namespace']);
  if (namespace) login.namespace = namespace;
  const caData = str(cluster?.value['certificate-authority-data']);
  if (caData) login.caData = caData;

  const provider = record(user.value['auth-provider']);
  const exec = record(user.value['exec']);
  if (provider && provider['name'] === 'oidc') {
    const config = record(provider['config']) ?? {};
    login.kind = 'oidc';
    const set = (key: keyof CurrentLogin, field: string, secret = false) => {
      const value = str(config[field]);
      if (value === undefined) return;
      if (secret) registerSecret(value);
      (login as unknown as Record<string, unknown>)[key] = value;
    };
    set('idToken', 'id-token', true);
    set('refreshToken', 'refresh-token', true);
    set('issuerUrl', 'idp-issuer-url');
    set('clientId', 'client-id');
    set('clientSecret', 'client-secret', true);
    set('idpCaData', 'idp-certificate-authority-data');
  } else if (exec) {
    const args = Array.isArray(exec['args']) ? exec['args'].filter((a): a is string => typeof a === 'string') : [];
    const at = args.indexOf('credential');
    if (at !== -1) {
      login.kind = 'exec';
      login.execArgs = args;
      const command = str(exec['command']);
      if (command) login.execCommand = command;
      const apiVersion = str(exec['apiVersion']);
      if (apiVersion) login.execApiVersion = apiVersion;
      const env = Array.isArray(exec['env'])
        ? exec['env'].map(record).filter((e): e is Record<string, unknown> => e !== undefined && str(e['name']) !== undefined && typeof e['value'] === 'string').map((e) => ({ name: e['name'] as string, value: e['value'] as string }))
        : [];
      if (env.length > 0) login.execEnv = env;
      login.execCluster = args[at + 1] !== undefined && !args[at + 1]?.startsWith('-') ? (args[at + 1] as string) : clusterName;
    }
  } else if (str(user.value['token'])) {
    login.kind = 'token';
    registerSecret(str(user.value['token']));
  }
  return login;
}
