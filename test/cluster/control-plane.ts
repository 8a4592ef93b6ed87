// A real, throwaway Kubernetes control plane for the cluster tier: Debian's etcd, plus
// kube-apiserver and kube-controller-manager v1.20 built from Debian's source package by
// test/cluster/build-control-plane.sh. Everything lives in one temp dir (PKI, etcd data, logs);
// stop() ends exactly the processes started here, and a process-exit hook and a watchdog make
// sure nothing survives a failed or killed test run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createCa, issueCert, removeCa } from '../support/pki.js';
import { apiRequest, selfSubjectAccessReview, type ApiAuth } from './api-client.js';
import { controlPlaneBinaries, type ControlPlaneBinaries, freePort, logTail, openssl, pidAlive, sleep, startWatchdog } from './processes.js';

export { controlPlaneBinaries } from './processes.js';

export interface OidcOptions {
  issuerUrl: string;
  caFile: string;
  clientId: string;
  /** default 'email' */
  usernameClaim?: string;
  /** default 'groups' */
  groupsClaim?: string;
  usernamePrefix?: string;
  groupsPrefix?: string;
}

/** The programs a control plane runs; `controlPlaneBinaries()` gives the 1.20 tier's. */
export interface ControlPlaneBinarySet {
  apiserver: string;
  /** without it: no ServiceAccount controllers and no aggregated ClusterRoles (view, edit…) */
  controllerManager?: string;
  etcd: string;
  /** 'legacy' (1.20) passes kube-controller-manager's --port=0, a flag newer releases removed */
  generation: 'legacy' | 'current';
}

export interface ControlPlaneOptions {
  /** the legacy --oidc-* flags */
  oidc?: OidcOptions;
  /** default: the 1.20 tier (test/cluster/build-control-plane.sh) */
  binaries?: ControlPlaneBinarySet;
  /** more kube-apiserver flags, given the control plane's temp dir to write files into (removed on stop) */
  apiserverArgs?: (dir: string) => string[];
}

export interface ControlPlane {
  /** https://127.0.0.1:PORT */
  server: string;
  /** base64 of the CA PEM (kubeconfig certificate-authority-data) */
  caData: string;
  caPem: string;
  caFile: string;
  /** kubeconfig with a system:masters client certificate (context "admin") */
  adminKubeconfig: string;
  /** the admin client credential for apiRequest() */
  adminAuth: ApiAuth;
  /** temp dir: PKI, etcd data, logs/ */
  dir: string;
  /** pids of etcd, kube-apiserver, kube-controller-manager */
  pids: number[];
  stop(): Promise<void>;
}

const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const START_TIMEOUT_MS = 120_000;

interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: boolean;
}

/** control planes not yet stopped; the exit hook kills what is left */
const live = new Set<{ procs: Proc[]; dir: string; caDir: string }>();
let exitHookInstalled = false;

function killNow(entry: { procs: Proc[]; dir: string; caDir: string }): void {
  for (const p of entry.procs) if (!p.exited && p.child.pid !== undefined) p.child.kill('SIGKILL');
  rmSync(entry.dir, { recursive: true, force: true });
  rmSync(entry.caDir, { recursive: true, force: true });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const entry of live) killNow(entry);
    live.clear();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      for (const entry of live) killNow(entry);
      live.clear();
      process.removeListener(signal, onSignal);
      // nobody else handles it: take the default action (exit by that signal)
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function spawnLogged(dir: string, name: string, bin: string, args: string[]): Proc {
  const logFile = join(dir, 'logs', `${name}.log`);
  const fd = openSync(logFile, 'a');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_') && !k.startsWith('KUBE')));
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd], env, cwd: dir });
  closeSync(fd);
  const proc: Proc = { name, child, logFile, exited: false };
  child.on('exit', () => {
    proc.exited = true;
  });
  child.on('error', () => {
    proc.exited = true;
  });
  return proc;
}

async function stopProc(p: Proc, graceMs: number): Promise<void> {
  if (p.exited) return;
  const done = new Promise<void>((resolve) => {
    if (p.exited) resolve();
    p.child.once('exit', () => resolve());
  });
  p.child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
  if ((await Promise.race([done, timer])) === 'timeout') {
    p.child.kill('SIGKILL');
    await done;
  }
}

function failure(what: string, procs: Proc[], extra = ''): Error {
  // processes that died first, with a longer tail; the rest briefly
  const ordered = [...procs.filter((p) => p.exited), ...procs.filter((p) => !p.exited)];
  const tails = ordered.map((p) => {
    const state = p.exited ? ` (exited, code ${String(p.child.exitCode)}, signal ${String(p.child.signalCode)})` : '';
    return `--- ${p.name}${state}: last lines of ${p.logFile}\n${logTail(p.logFile, p.exited ? 40 : 10)}`;
  });
  return new Error(`control plane: ${what}${extra ? `: ${extra}` : ''}\n${tails.join('\n')}`);
}

/** Polls `probe` until it answers true; fails early if any process exited. */
async function waitUntil(what: string, procs: Proc[], deadline: number, probe: () => Promise<boolean>): Promise<void> {
  let last = '';
  for (;;) {
    const dead = procs.find((p) => p.exited);
    if (dead) throw failure(`${dead.name} exited while waiting for ${what}`, procs);
    try {
      if (await probe()) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw failure(`timed out waiting for ${what}`, procs, last);
    await sleep(250);
  }
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const found = opts.binaries ? undefined : controlPlaneBinaries();
  if (found && !found.ok) throw new Error(`control plane: ${found.missing}`);
  const bins: ControlPlaneBinarySet = opts.binaries ?? { ...(found as Extract<ControlPlaneBinaries, { ok: true }>), generation: 'legacy' };
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'k8s-auth-cp-'));
  mkdirSync(join(dir, 'logs'));
  const ca = await createCa('k8s-auth test cluster CA');
  const entry = { procs: [] as Proc[], dir, caDir: ca.dir };
  live.add(entry);
  const watchdog = startWatchdog(dir, ca.dir);
  const stop = async (): Promise<void> => {
    // controller-manager first, etcd last
    for (const p of [...entry.procs].reverse()) await stopProc(p, 10_000);
    if (watchdog.pid !== undefined && pidAlive(watchdog.pid)) watchdog.kill('SIGKILL');
    live.delete(entry);
    rmSync(dir, { recursive: true, force: true });
    await removeCa(ca);
  };
  try {
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const serving = await issueCert(ca, { commonName: 'kube-apiserver', kind: 'server', sans: ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost', 'DNS:kubernetes.default.svc'] });
    const admin = await issueCert(ca, { commonName: 'k8s-auth-test-admin', kind: 'client', organization: 'system:masters' });
    const saKey = join(dir, 'sa.key');
    const saPub = join(dir, 'sa.pub');
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', saKey], dir);
    await openssl(['pkey', '-in', saKey, '-pubout', '-out', saPub], dir);

    const server = `https://127.0.0.1:${apiPort}`;
    const caData = Buffer.from(ca.certPem).toString('base64');
    const adminKubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(
      adminKubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': caData } }],
        users: [{ name: 'admin', user: { 'client-certificate-data': Buffer.from(admin.certPem).toString('base64'), 'client-key-data': Buffer.from(admin.keyPem).toString('base64') } }],
        contexts: [{ name: 'admin', context: { cluster: 'test', user: 'admin', namespace: 'default' } }],
        'current-context': 'admin',
      }),
      { mode: 0o600 },
    );
    const adminAuth: ApiAuth = { kind: 'clientCert', certPem: admin.certPem, keyPem: admin.keyPem };
    const target = { server, caPem: ca.certPem };
    const deadline = Date.now() + START_TIMEOUT_MS;
    const recordPid = (p: Proc): void => {
      entry.procs.push(p);
      writeFileSync(join(dir, 'pids'), `${entry.procs.map((q) => q.child.pid).filter((n) => n !== undefined).join('\n')}\n`);
    };

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    recordPid(
      spawnLogged(dir, 'etcd', bins.etcd, [
        '--name', 'cp', '--data-dir', join(dir, 'etcd'),
        '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
        '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
        '--initial-cluster', `cp=${peerUrl}`, '--initial-cluster-state', 'new',
        '--log-outputs', 'stderr',
      ]),
    );
    await waitUntil('etcd /health', entry.procs, deadline, async () => {
      const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2000) });
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    });

    const oidc = opts.oidc;
    recordPid(
      spawnLogged(dir, 'kube-apiserver', bins.apiserver, [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
        '--endpoint-reconciler-type=none',
        `--tls-cert-file=${serving.certFile}`, `--tls-private-key-file=${serving.keyFile}`,
        `--client-ca-file=${ca.certFile}`,
        '--authorization-mode=Node,RBAC',
        `--service-account-issuer=${SA_ISSUER}`, `--service-account-signing-key-file=${saKey}`,
        `--service-account-key-file=${saPub}`, `--api-audiences=${SA_ISSUER}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--profiling=false', `--cert-dir=${join(dir, 'apiserver-certs')}`,
        ...(oidc
          ? [
              `--oidc-issuer-url=${oidc.issuerUrl}`, `--oidc-ca-file=${oidc.caFile}`, `--oidc-client-id=${oidc.clientId}`,
              `--oidc-username-claim=${oidc.usernameClaim ?? 'email'}`, `--oidc-groups-claim=${oidc.groupsClaim ?? 'groups'}`,
              ...(oidc.usernamePrefix !== undefined ? [`--oidc-username-prefix=${oidc.usernamePrefix}`] : []),
              ...(oidc.groupsPrefix !== undefined ? [`--oidc-groups-prefix=${oidc.groupsPrefix}`] : []),
            ]
          : []),
        ...(opts.apiserverArgs ? opts.apiserverArgs(dir) : []),
      ]),
    );
    await waitUntil('kube-apiserver /readyz', entry.procs, deadline, async () => {
      const res = await apiRequest(target, { path: '/readyz', auth: adminAuth, timeoutMs: 3000 });
      return res.status === 200;
    });

    if (bins.controllerManager !== undefined) {
      const cmKubeconfig = join(dir, 'controller-manager.kubeconfig');
      writeFileSync(cmKubeconfig, readFileSync(adminKubeconfig), { mode: 0o600 });
      recordPid(
        spawnLogged(dir, 'kube-controller-manager', bins.controllerManager, [
          `--kubeconfig=${cmKubeconfig}`,
          '--controllers=clusterrole-aggregation,serviceaccount,serviceaccount-token,root-ca-cert-publisher,namespace,garbagecollector',
          ...(bins.generation === 'legacy' ? ['--port=0'] : []), '--secure-port=0', '--leader-elect=false',
          `--service-account-private-key-file=${saKey}`, `--root-ca-file=${ca.certFile}`,
          '--use-service-account-credentials=false', '--profiling=false',
        ]),
      );
      await waitUntil('the aggregated view ClusterRole and the default ServiceAccount', entry.procs, deadline, async () => {
        const view = await apiRequest(target, { path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/view', auth: adminAuth });
        const rules = (view.json as { rules?: unknown[] } | undefined)?.rules;
        if (view.status !== 200 || !Array.isArray(rules) || rules.length === 0) return false;
        const sa = await apiRequest(target, { path: '/api/v1/namespaces/default/serviceaccounts/default', auth: adminAuth });
        return sa.status === 200;
      });
    }

    return {
      server,
      caData,
      caPem: ca.certPem,
      caFile: ca.certFile,
      adminKubeconfig,
      adminAuth,
      dir,
      pids: entry.procs.map((p) => p.child.pid).filter((n): n is number => n !== undefined),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Waits (bounded) until the API server authenticates `idToken`: the 1.20 OIDC authenticator
 * only starts about 10 s after the server is ready, and answers 401 until then. Returns the
 * milliseconds waited.
 */
export async function waitForOidcAuthenticator(cp: Pick<ControlPlane, 'server' | 'caPem'>, idToken: string, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  let lastStatus = 0;
  for (;;) {
    const res = await selfSubjectAccessReview({ server: cp.server, caPem: cp.caPem }, { kind: 'bearer', token: idToken }, { verb: 'get', resource: 'namespaces' });
    lastStatus = res.status;
    if (res.status === 201) return Date.now() - started;
    if (res.status !== 401) throw new Error(`OIDC authenticator check: unexpected HTTP ${res.status}`);
    if (Date.now() - started > timeoutMs) throw new Error(`OIDC authenticator did not accept a known-good ID token within ${timeoutMs} ms (last HTTP ${lastStatus})`);
    await sleep(500);
  }
}

/** Whether any of the given pids still runs (for tests of stop()). */
export function anyAlive(pids: readonly number[]): boolean {
  return pids.some((pid) => pidAlive(pid));
}
