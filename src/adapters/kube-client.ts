import { delimiter } from 'node:path';
import type { AuthorizationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { CliError, ExitCode, describeError } from '../errors.js';
import { debug, warn } from '../ui/log.js';
import { createKubeHttpLibrary, type KubeAgentPool, type KubeHttpLibraryOptions, type RequestStats } from './kube-http.js';

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
  /** Connections shared with other clients (kube-http.ts KubeAgentPool); default this client's own. */
  agentPool?: KubeAgentPool;
}

export async function loadKubeClient(options: LoadKubeClientOptions = {}): Promise<KubeClient> {
  // one read model: the narrow reader picks the files (the one path rule), the context, its
  // cluster and user, with the same errors every command gives; client-node then builds the
  // credentials (exec, auth-provider, certificates) from the same files
  const [k8s, { readKubeconfigTarget }] = await Promise.all([import('@kubernetes/client-node'), import('./kubeconfig-target.js')]);
  const target = await readKubeconfigTarget({ ...(options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : {}), ...(options.context !== undefined ? { context: options.context } : {}) });
  const paths = target.paths;
  const contextName = target.contextName;
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
  const context = kc.getContextObject(contextName);
  const cluster = context ? kc.getCluster(context.cluster) : null;
  if (!cluster || !cluster.server) {
    // the narrow reader found it: client-node reads the file differently
    throw new CliError(ExitCode.KUBECONFIG, `context '${contextName}' names cluster '${target.clusterName}', which the Kubernetes client cannot read in ${paths.join(delimiter)}: fix the kubeconfig`);
  }
  kc.setCurrentContext(contextName);
  debug(`Kubernetes API: context ${contextName}, cluster ${cluster.name} at ${cluster.server}`);
  // kubectl obeys insecure-skip-tls-verify silently; we obey it too, but say so
  if (cluster.skipTLSVerify) warn(`TLS verification is OFF for the Kubernetes API server at ${cluster.server} (insecure-skip-tls-verify in the kubeconfig); anyone on the path can read and alter this traffic`);

  const httpOptions: KubeHttpLibraryOptions = { server: cluster.server };
  if (options.timeoutMs !== undefined) httpOptions.timeoutMs = options.timeoutMs;
  if (options.maxInFlight !== undefined) httpOptions.maxInFlight = options.maxInFlight;
  if (options.agentPool !== undefined) httpOptions.agentPool = options.agentPool;
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
