// The harness itself: a real kube-apiserver + controller-manager start, serve the admin, run
// the aggregation and ServiceAccount controllers, and stop() leaves no process behind.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRequest } from './api-client.js';
import { anyAlive, startControlPlane, type ControlPlane } from './control-plane.js';
import { clusterTierSkip, KUBECTLS, kubectlSkip } from './tier.js';

const skipTier = clusterTierSkip();
const skipKubectl = !skipTier && kubectlSkip();
const run = promisify(execFile);

describe.skipIf(skipTier)('control plane harness', () => {
  let cp: ControlPlane;
  let startMs = 0;

  beforeAll(async () => {
    const t0 = Date.now();
    cp = await startControlPlane();
    startMs = Date.now() - t0;
    process.stderr.write(`control plane started in ${startMs} ms\n`);
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('serves the admin (system:masters client cert): list namespaces', async () => {
    const res = await apiRequest(cp, { path: '/api/v1/namespaces', auth: cp.adminAuth });
    expect(res.status).toBe(200);
    const names = ((res.json as { items: { metadata: { name: string } }[] }).items ?? []).map((n) => n.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system']));
  });

  it('refuses anonymous and unknown credentials', async () => {
    const anon = await apiRequest(cp, { path: '/api/v1/namespaces', auth: { kind: 'anonymous' } });
    expect(anon.status).toBe(403); // anonymous is authenticated as system:anonymous, then denied by RBAC
    const bogus = await apiRequest(cp, { path: '/api/v1/namespaces', auth: { kind: 'bearer', token: 'not-a-token' } });
    expect(bogus.status).toBe(401);
  });

  it('runs the controller-manager: aggregated view ClusterRole and default ServiceAccount', async () => {
    const view = await apiRequest(cp, { path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/view', auth: cp.adminAuth });
    expect(view.status).toBe(200);
    const rules = (view.json as { rules: { resources?: string[] }[] }).rules;
    expect(rules.flatMap((r) => r.resources ?? [])).toContain('pods');
    const sa = await apiRequest(cp, { path: '/api/v1/namespaces/default/serviceaccounts/default', auth: cp.adminAuth });
    expect(sa.status).toBe(200);
  });

  it('issues ServiceAccount tokens through TokenRequest', async () => {
    const res = await apiRequest(cp, {
      method: 'POST',
      path: '/api/v1/namespaces/default/serviceaccounts/default/token',
      auth: cp.adminAuth,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    });
    expect(res.status).toBe(201);
    const token = (res.json as { status: { token: string } }).status.token;
    const who = await apiRequest(cp, { path: '/api/v1/namespaces/default/serviceaccounts/default', auth: { kind: 'bearer', token } });
    expect(who.status).toBe(403); // authenticated as the ServiceAccount, which RBAC does not let read SAs
    expect(who.body).toContain('system:serviceaccount:default:default');
  });

  it.skipIf(skipKubectl)('Debian kubectl 1.20 and 1.32 both get namespaces with the admin kubeconfig', async () => {
    for (const k of KUBECTLS) {
      // KUBECONFIG points at the test cluster only; HOME too, so no user kubeconfig or cache is read
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cp.dir, KUBECONFIG: cp.adminKubeconfig };
      const { stdout } = await run(k.path, ['get', 'namespaces', '-o', 'name'], { env, timeout: 30_000 });
      expect(stdout.split('\n'), `kubectl ${k.version}`).toEqual(expect.arrayContaining(['namespace/default', 'namespace/kube-system']));
      const { stdout: version } = await run(k.path, ['version', '-o', 'json'], { env, timeout: 30_000 });
      const v = JSON.parse(version) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
      expect(v.clientVersion.gitVersion.startsWith(`v${k.version}.`)).toBe(true);
      expect(v.serverVersion.gitVersion).toBe('v1.20.2');
    }
  });

  it('stop() ends every process it started and removes its temp dir', async () => {
    expect(cp.pids).toHaveLength(3);
    expect(anyAlive(cp.pids)).toBe(true);
    const dir = cp.dir;
    const t0 = Date.now();
    await cp.stop();
    process.stderr.write(`control plane stopped in ${Date.now() - t0} ms\n`);
    expect(anyAlive(cp.pids)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});

/** pids of processes whose command line mentions `text` */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(skipTier)('control plane start failure', () => {
  it('reports the failing process with its log tail and leaves no process or temp dir', async () => {
    const err = await startControlPlane({
      oidc: { issuerUrl: 'https://127.0.0.1:1/dex', caFile: '/nonexistent/oidc-ca.crt', clientId: 'k8s-auth' },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    const message = err?.message ?? '';
    expect(message).toContain('kube-apiserver exited');
    expect(message).toContain('/nonexistent/oidc-ca.crt'); // from the apiserver's own log
    const dir = /(\/\S+\/k8s-auth-cp-[A-Za-z0-9]+)\//.exec(message)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir as string)).toBe(false);
    expect(processesMentioning(dir as string)).toEqual([]);
  });
});
