// The Kubernetes client adapter against the API double: real @kubernetes/client-node, real
// HTTPS, apiserver-shaped failures.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kubeApiError, loadKubeClient, withKubeRetry, type KubeClient } from '../../src/adapters/kube-client.js';
import { createKubeAgentPool } from '../../src/adapters/kube-http.js';
import { CliError, ExitCode } from '../../src/errors.js';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';

let double: KubeApiDouble;
let client: KubeClient;

beforeAll(async () => {
  double = await startKubeApiDouble();
  client = await loadKubeClient({ kubeconfig: double.kubeconfigPath });
});
afterAll(async () => {
  await double?.close();
});
beforeEach(() => {
  double.clearFaults();
  double.resetRecords();
});

async function expectCliError(promise: Promise<unknown>): Promise<CliError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error('expected a CliError');
}

describe('loadKubeClient', () => {
  it('reads the context, cluster and server from the kubeconfig', () => {
    expect(client.contextName).toBe('double');
    expect(client.clusterName).toBe('double');
    expect(client.server).toBe(double.url);
  });

  it('a missing kubeconfig is one KUBECONFIG line', async () => {
    const error = await expectCliError(loadKubeClient({ kubeconfig: '/nonexistent/kubeconfig' }));
    expect(error.exitCode).toBe(ExitCode.KUBECONFIG);
    expect(error.message).toContain('/nonexistent/kubeconfig');
    expect(error.message).not.toContain('\n');
  });

  it('an unknown context names the known ones', async () => {
    const error = await expectCliError(loadKubeClient({ kubeconfig: double.kubeconfigPath, context: 'nope' }));
    expect(error.exitCode).toBe(ExitCode.KUBECONFIG);
    expect(error.message).toMatch(/context 'nope' is not in kubeconfig .*known: double/);
  });

  it('a malformed kubeconfig is one KUBECONFIG line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'k8s-auth-kc-'));
    try {
      const path = join(dir, 'config');
      await writeFile(path, 'clusters: [\n  not: yaml: at all');
      const error = await expectCliError(loadKubeClient({ kubeconfig: path }));
      expect(error.exitCode).toBe(ExitCode.KUBECONFIG);
      expect(error.message).not.toContain('\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('honours $KUBECONFIG when no path is given', async () => {
    const saved = process.env['KUBECONFIG'];
    process.env['KUBECONFIG'] = `/nonexistent/one:${double.kubeconfigPath}`;
    try {
      const viaEnv = await loadKubeClient();
      expect(viaEnv.server).toBe(double.url);
    } finally {
      if (saved === undefined) delete process.env['KUBECONFIG'];
      else process.env['KUBECONFIG'] = saved;
    }
  });
});

describe('the client against the double', () => {
  it('creates, reads and lists a ServiceAccount with the 1.x object-style calls', async () => {
    await client.core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'probe', labels: { a: 'b' } } } });
    const read = await client.core.readNamespacedServiceAccount({ namespace: 'default', name: 'probe' });
    expect(read.metadata?.resourceVersion).toBeTruthy();
    const list = await client.core.listNamespacedServiceAccount({ namespace: 'default', labelSelector: 'a=b' });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['probe']);
    expect(double.writes()).toHaveLength(1);
    await client.core.deleteNamespacedServiceAccount({ namespace: 'default', name: 'probe' });
  });

  it('a 403 names the verb and resource the caller lacks', async () => {
    double.addFault({ kind: 'forbidden', verb: 'create', resource: 'clusterrolebindings' });
    const error = await client.rbac
      .createClusterRoleBinding({ body: { metadata: { name: 'x' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [] } })
      .then(
        () => undefined,
        (e: unknown) => kubeApiError(e, { verb: 'create', resource: 'clusterrolebindings', name: 'x' }),
      );
    expect(error?.exitCode).toBe(ExitCode.KUBERNETES);
    expect(error?.message).toBe("you may not create clusterrolebindings: ask a cluster admin for 'create' on clusterrolebindings.rbac.authorization.k8s.io, or use a kubeconfig context that has it");
  });

  it('maps 404, 409 AlreadyExists, 409 Conflict and 422 to one line each', async () => {
    const notFound = await client.core.readNamespacedServiceAccount({ namespace: 'default', name: 'ghost' }).catch((e: unknown) => kubeApiError(e, { verb: 'get', resource: 'serviceaccounts', name: 'ghost', namespace: 'default' }));
    expect((notFound as CliError).message).toBe('serviceaccounts ghost not found in namespace default (serviceaccounts "ghost" not found): check the name and namespace');

    double.seed('serviceaccounts', { metadata: { name: 'dup', namespace: 'default' } });
    const exists = await client.core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'dup' } } }).catch((e: unknown) => kubeApiError(e, { verb: 'create', resource: 'serviceaccounts', name: 'dup', namespace: 'default' }));
    expect((exists as CliError).message).toMatch(/^serviceaccounts dup already exists in namespace default/);

    const stale = await client.core
      .replaceNamespacedServiceAccount({ namespace: 'default', name: 'dup', body: { metadata: { name: 'dup', resourceVersion: '1' } } })
      .catch((e: unknown) => kubeApiError(e, { verb: 'update', resource: 'serviceaccounts', name: 'dup', namespace: 'default' }));
    expect((stale as CliError).message).toMatch(/409 Conflict/);

    const invalid = await client.core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'Bad_Name' } } }).catch((e: unknown) => kubeApiError(e, { verb: 'create', resource: 'serviceaccounts', name: 'Bad_Name', namespace: 'default' }));
    expect((invalid as CliError).message).toMatch(/rejected serviceaccounts Bad_Name in namespace default as invalid \(ServiceAccount "Bad_Name" is invalid: metadata.name/);
    for (const e of [notFound, exists, stale, invalid]) {
      expect((e as CliError).exitCode).toBe(ExitCode.KUBERNETES);
      expect((e as CliError).message).not.toContain('\n');
    }
  });

  it('retries 429 honouring Retry-After, then succeeds', async () => {
    double.addFault({ kind: 'throttle', verb: 'list', resource: 'clusterroles', retryAfterSeconds: 1, times: 1 });
    const slept: number[] = [];
    const result = await withKubeRetry(() => client.rbac.listClusterRole(), { idempotent: true, sleep: async (ms) => void slept.push(ms) });
    expect(Array.isArray(result.items)).toBe(true);
    expect(slept).toEqual([1000]);
    expect(double.requests.filter((r) => r.resource === 'clusterroles')).toHaveLength(2);
  });

  it('caps Retry-After and gives up after the bounded count', async () => {
    double.addFault({ kind: 'throttle', verb: 'list', resource: 'clusterroles', retryAfterSeconds: 120 });
    const slept: number[] = [];
    const error = await withKubeRetry(() => client.rbac.listClusterRole(), { idempotent: true, maxAttempts: 3, maxDelayMs: 2000, sleep: async (ms) => void slept.push(ms) }).catch((e: unknown) =>
      kubeApiError(e, { verb: 'list', resource: 'clusterroles' }),
    );
    expect(slept).toEqual([2000, 2000]);
    expect(double.requests).toHaveLength(3);
    expect((error as CliError).message).toMatch(/429 Too Many Requests/);
  });

  it('retries reads on 500 but never writes', async () => {
    double.addFault({ kind: 'error', status: 500, verb: 'list', resource: 'roles', times: 2 });
    const slept: number[] = [];
    await withKubeRetry(() => client.rbac.listNamespacedRole({ namespace: 'default' }), { idempotent: true, sleep: async (ms) => void slept.push(ms) });
    expect(slept).toHaveLength(2);

    double.addFault({ kind: 'error', status: 500, verb: 'create', resource: 'roles', times: 1 });
    const error = await withKubeRetry(
      () => client.rbac.createNamespacedRole({ namespace: 'default', body: { metadata: { name: 'r' }, rules: [] } }),
      { idempotent: false, sleep: async () => undefined },
    ).catch((e: unknown) => kubeApiError(e, { verb: 'create', resource: 'roles', name: 'r', namespace: 'default' }));
    expect((error as CliError).message).toBe(
      'the API server failed to create roles r in namespace default (500 InternalError: Internal error occurred: etcdserver: request timed out): run again; if it persists, check the control plane',
    );
    expect(double.writes().filter((r) => r.resource === 'roles')).toHaveLength(1);
  });

  it('a slow answer past the timeout is one line naming the server', async () => {
    const impatient = await loadKubeClient({ kubeconfig: double.kubeconfigPath, timeoutMs: 300 });
    double.addFault({ kind: 'slow', delayMs: 1500, verb: 'list', resource: 'namespaces', times: 1 });
    const error = await impatient.core.listNamespace().catch((e: unknown) => kubeApiError(e, { verb: 'list', resource: 'namespaces', server: impatient.server }));
    expect((error as CliError).exitCode).toBe(ExitCode.KUBERNETES);
    expect((error as CliError).message).toContain(`Kubernetes API server at ${double.url} did not answer`);
  });

  it('a refused connection names the server', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'k8s-auth-kc-'));
    try {
      const path = join(dir, 'config');
      await writeFile(path, `apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\nusers:\n- name: u\n  user:\n    token: abcdefgh\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n`);
      const dead = await loadKubeClient({ kubeconfig: path });
      const error = await dead.core.listNamespace().catch((e: unknown) => kubeApiError(e, { verb: 'list', resource: 'namespaces', server: dead.server }));
      expect((error as CliError).message).toBe('Kubernetes API server at https://127.0.0.1:1 refused the connection: is it running and is the address right?');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('clients given one agent pool share keep-alive connections to one server; without it each has its own', async () => {
    const readThrice = async (c: KubeClient): Promise<void> => {
      for (let i = 0; i < 3; i++) await c.core.readNamespace({ name: 'default' });
    };
    const pool = createKubeAgentPool();
    const [first, second] = await Promise.all([1, 2].map(() => loadKubeClient({ kubeconfig: double.kubeconfigPath, agentPool: pool })));
    await readThrice(first as KubeClient);
    await readThrice(second as KubeClient);
    expect(double.requests).toHaveLength(6);
    expect(double.tlsConnections()).toBe(1);
    expect(pool.agents).toHaveLength(1);

    double.resetRecords();
    const [own1, own2] = await Promise.all([1, 2].map(() => loadKubeClient({ kubeconfig: double.kubeconfigPath })));
    await readThrice(own1 as KubeClient);
    await readThrice(own2 as KubeClient);
    expect(double.requests).toHaveLength(6);
    expect(double.tlsConnections()).toBe(2);
  });

  it('bounds requests in flight', async () => {
    const bounded = await loadKubeClient({ kubeconfig: double.kubeconfigPath, maxInFlight: 3 });
    double.addFault({ kind: 'slow', delayMs: 50, verb: 'get', resource: 'namespaces' });
    await Promise.all(Array.from({ length: 12 }, () => bounded.core.readNamespace({ name: 'default' })));
    expect(bounded.stats.requests).toBe(12);
    expect(bounded.stats.maxInFlight).toBe(3);
    expect(double.maxConcurrent()).toBeLessThanOrEqual(3);
  });
});
