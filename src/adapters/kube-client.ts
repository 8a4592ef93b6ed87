import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { AuthorizationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { CliError, ExitCode, describeError } from '../errors.js';
import { debug, warn } from '../ui/log.js';
import { createKubeHttpLibrary, type KubeHttpLibraryOptions, type RequestStats } from './kube-http.js';

/**
 * The Kubernetes API as the caller's own kubeconfig credentials see it (the admin's or CI's
 * context, never a token of ours). @kubernetes/client-node is imported lazily: commands that
 * never talk to the API server don't pay for it.
 */
export interface KubeClient {
  kc: KubeConfig;
  core: CoreV1Api;
  rbac: RbacAuthorizationV1Api;
  authz: AuthorizationV1Api;
  contextName: string;
  clusterName: string;
  server: string;
  /** Requests sent and the most in flight at once (the benchmark and tests read it). */
  stats: RequestStats;
}

export interface LoadKubeClientOptions {
  /** A kubeconfig path; else $KUBECONFIG (':'-separated, merged like kubectl), else ~/.kube/config. */
  kubeconfig?: string;
  /** A context name; else the kubeconfig's current-context. */
  context?: string;
  /** Whole-request timeout (ms) for each API call; default 30 s. */
  timeoutMs?: number;
  /** Most requests in flight at once; default 8. */
  maxInFlight?: number;
}

/** The kubeconfig files kubectl would read, in merge order. */
export function kubeconfigPaths(explicit?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  if (explicit) return [explicit];
  const fromEnv = env['KUBECONFIG'];
  if (fromEnv) return fromEnv.split(delimiter).filter((path) => path.length > 0);
  return [join(homedir(), '.kube', 'config')];
}

export async function loadKubeClient(options: LoadKubeClientOptions = {}): Promise<KubeClient> {
  const k8s = await import('@kubernetes/client-node');
  const candidates = kubeconfigPaths(options.kubeconfig);
  // kubectl skips missing files in $KUBECONFIG; an explicit --kubeconfig must exist.
  const paths = options.kubeconfig ? candidates : candidates.filter((path) => existsSync(path));
  if (paths.length === 0 || (options.kubeconfig && !existsSync(options.kubeconfig))) {
    const where = options.kubeconfig ?? candidates.join(delimiter);
    throw new CliError(ExitCode.KUBECONFIG, `no kubeconfig at ${where}: pass --kubeconfig or set KUBECONFIG to a kubeconfig with access to the cluster`);
  }
  const kc = new k8s.KubeConfig();
  for (const [index, path] of paths.entries()) {
    try {
      if (index === 0) {
        kc.loadFromFile(path);
      } else {
        const next = new k8s.KubeConfig();
        next.loadFromFile(path);
        // like kubectl: the first file to set a value wins, including current-context
        kc.mergeConfig(next, true);
      }
    } catch (error) {
      throw new CliError(ExitCode.KUBECONFIG, `cannot read kubeconfig ${path}: ${firstLine(describeError(error))}: fix or regenerate the file`, { cause: error });
    }
  }
  const contextName = options.context ?? kc.getCurrentContext();
  if (!contextName) {
    throw new CliError(ExitCode.KUBECONFIG, `kubeconfig ${paths.join(delimiter)} has no current-context: pass --context NAME`);
  }
  const context = kc.getContextObject(contextName);
  if (!context) {
    const known = kc.getContexts().map((c) => c.name);
    throw new CliError(ExitCode.KUBECONFIG, `context '${contextName}' is not in kubeconfig ${paths.join(delimiter)}${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}: pass --context with one of them`);
  }
  kc.setCurrentContext(contextName);
  const cluster = kc.getCluster(context.cluster);
  if (!cluster || !cluster.server) {
    throw new CliError(ExitCode.KUBECONFIG, `context '${contextName}' names cluster '${context.cluster}', which is missing or has no server in ${paths.join(delimiter)}: fix the kubeconfig`);
  }
  if (context.user && !kc.getUser(context.user)) {
    throw new CliError(ExitCode.KUBECONFIG, `context '${contextName}' names user '${context.user}', which is not in ${paths.join(delimiter)}: fix the kubeconfig`);
  }
  debug(`Kubernetes API: context ${contextName}, cluster ${cluster.name} at ${cluster.server}`);
  // kubectl obeys insecure-skip-tls-verify silently; we obey it too, but say so
  if (cluster.skipTLSVerify) warn(`TLS verification is OFF for the Kubernetes API server at ${cluster.server} (insecure-skip-tls-verify in the kubeconfig); anyone on the path can read and alter this traffic`);

  const httpOptions: KubeHttpLibraryOptions = { server: cluster.server };
  if (options.timeoutMs !== undefined) httpOptions.timeoutMs = options.timeoutMs;
  if (options.maxInFlight !== undefined) httpOptions.maxInFlight = options.maxInFlight;
  const http = createKubeHttpLibrary(k8s, httpOptions);
  const configuration = k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    httpApi: http.library,
  });
  return {
    kc,
    core: new k8s.CoreV1Api(configuration),
    rbac: new k8s.RbacAuthorizationV1Api(configuration),
    authz: new k8s.AuthorizationV1Api(configuration),
    contextName,
    clusterName: cluster.name,
    server: cluster.server,
    stats: http.stats,
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

export { kubeApiError, isApiException, statusOf, withKubeRetry, type KubeErrorContext, type KubeStatus, type RetryOptions } from './kube-errors.js';
