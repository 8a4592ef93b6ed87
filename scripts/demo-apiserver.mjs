// The demo's API server (`npm run demo -- --keep`): etcd and kube-apiserver from the test peer
// cache (test/peers/kubernetes/install.sh builds them into
// ${K8S_AUTH_TEST_CACHE:-~/.cache/k8s-auth-test}/kubernetes-<ver>/bin; etcd is Debian's
// /usr/bin/etcd or K8S_AUTH_TEST_ETCD), on loopback, trusting the demo provider's ID tokens
// through a structured AuthenticationConfiguration, with RBAC that lets the demo user list
// namespaces. Plain JS like the rest of the demo. Everything lives in one temp dir; stop() ends
// exactly the processes started here, by pid, and removes it. The children run in their own
// process group (Ctrl-C reaches only the demo, which stops them in order), and a detached
// watchdog ends them should the demo die without stopping them (SIGKILL).
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeLoopbackPki } from './demo-provider.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const INSTALL_SCRIPT = 'test/peers/kubernetes/install.sh';

const executable = (path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The release test/peers/kubernetes/go.mod pins, e.g. 'v1.37.2'. */
function pinnedVersion() {
  const m = /^require k8s\.io\/kubernetes (v\d+\.\d+\.\d+)\b/m.exec(readFileSync(join(root, 'test', 'peers', 'kubernetes', 'go.mod'), 'utf8'));
  if (!m) throw new Error('test/peers/kubernetes/go.mod requires no k8s.io/kubernetes vX.Y.Z');
  return m[1];
}

/**
 * The binaries the demo's API server needs: { ok: true, apiserver, kubectl, etcd, version } or
 * { ok: false, missing } (one sentence naming what is missing).
 */
export function demoApiServerBinaries(env = process.env) {
  const version = pinnedVersion();
  const bin = join(env.K8S_AUTH_TEST_CACHE || join(homedir(), '.cache', 'k8s-auth-test'), `kubernetes-${version}`, 'bin');
  const apiserver = join(bin, 'kube-apiserver');
  const kubectl = join(bin, 'kubectl');
  const etcd = env.K8S_AUTH_TEST_ETCD || '/usr/bin/etcd';
  for (const path of [apiserver, kubectl, etcd]) if (!executable(path)) return { ok: false, missing: path };
  return { ok: true, apiserver, kubectl, etcd, version };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** One HTTPS request to the API server; resolves { status, json }. */
function api(target, { method = 'GET', path, body, auth }) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers = { accept: 'application/json', ...(data ? { 'content-type': 'application/json' } : {}) };
    if (auth.token) headers.authorization = `Bearer ${auth.token}`;
    const url = new URL(path, target.server);
    const req = request(url, { method, headers, ca: target.caPem, cert: auth.certPem, key: auth.keyPem, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * A detached shell that waits on a pipe from this process: EOF means the demo is gone. If `dir`
 * is still there then (the demo died without stopping its children), it ends the processes
 * listed in DIR/pids whose command line names DIR, and removes DIR. stop() removes DIR first and
 * closes the pipe, and the shell exits at once. No polling, no sleeping child.
 */
function startWatchdog(dir) {
  const script = `
    read -r _ || :
    [ -d "$1" ] || exit 0
    for sig in TERM KILL; do
      for p in $(cat "$1/pids" 2>/dev/null); do
        grep -qF "$1" "/proc/$p/cmdline" 2>/dev/null && kill -$sig "$p" 2>/dev/null
      done
      [ $sig = KILL ] || sleep 3
    done
    rm -rf "$1"`;
  const child = spawn('sh', ['-c', script, 'k8s-auth-demo-watchdog', dir], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.gone = new Promise((resolve) => {
    child.once('exit', resolve);
    child.once('error', resolve);
  });
  child.stdin.on('error', () => {}); // EPIPE when it is gone already
  child.unref();
  return child;
}

function logTail(file, lines) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts etcd and kube-apiserver; returns at once (before they are ready) with
 * { server, caPem, kubectl, version, pids (etcd, kube-apiserver, watchdog), dir, ready(),
 * waitForIdToken(idToken), stop() }.
 * `provider`: { issuer, caPem }; `clientId`: the ID tokens' audience; `username`: the user
 * (the email claim) granted get/list/watch on namespaces.
 */
export async function startDemoApiServer({ binaries, provider, clientId, username }) {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-demo-apiserver-'));
  mkdirSync(join(dir, 'logs'));
  const procs = [];
  const watchdog = startWatchdog(dir);
  let stopped;
  const stop = () => {
    stopped ??= (async () => {
      // kube-apiserver first, etcd last; SIGKILL after a grace period
      for (const p of [...procs].reverse()) {
        if (p.exited) continue;
        p.child.kill('SIGTERM');
        const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref());
        if ((await Promise.race([p.gone, timer])) === 'timeout') {
          p.child.kill('SIGKILL');
          await p.gone;
        }
      }
      rmSync(dir, { recursive: true, force: true });
      watchdog.stdin.end();
      await watchdog.gone;
    })();
    return stopped;
  };
  const spawnLogged = (name, bin, args) => {
    const logFile = join(dir, 'logs', `${name}.log`);
    const fd = openSync(logFile, 'a');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_') && !k.startsWith('KUBE')));
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd], env, cwd: dir, detached: true });
    closeSync(fd);
    const p = { name, child, logFile, exited: false };
    p.gone = new Promise((resolve) => {
      child.once('exit', resolve);
      child.once('error', resolve);
    }).then(() => (p.exited = true));
    procs.push(p);
    writeFileSync(join(dir, 'pids'), `${procs.map((q) => q.child.pid).filter(Boolean).join('\n')}\n`);
    return p;
  };
  try {
    const pki = makeLoopbackPki(join(dir, 'pki'));
    const pkiDir = join(dir, 'pki');
    // a system:masters client certificate from the same CA: the demo's own admin credential
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'admin.key'], pkiDir);
    openssl(['req', '-new', '-key', 'admin.key', '-subj', '/O=system:masters/CN=k8s-auth-demo-admin', '-out', 'admin.csr'], pkiDir);
    openssl(['x509', '-req', '-in', 'admin.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-sha256', '-out', 'admin.pem'], pkiDir);
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'sa.key'], pkiDir);
    openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], pkiDir);
    const admin = { certPem: readFileSync(join(pkiDir, 'admin.pem'), 'utf8'), keyPem: readFileSync(join(pkiDir, 'admin.key'), 'utf8') };
    const authnFile = join(dir, 'authentication-config.json');
    writeFileSync(
      authnFile,
      JSON.stringify({
        apiVersion: 'apiserver.config.k8s.io/v1',
        kind: 'AuthenticationConfiguration',
        jwt: [
          {
            issuer: { url: provider.issuer, certificateAuthority: provider.caPem, audiences: [clientId] },
            claimMappings: { username: { claim: 'email', prefix: '' }, groups: { claim: 'groups', prefix: '' } },
          },
        ],
      }),
      { mode: 0o600 },
    );

    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    spawnLogged('etcd', binaries.etcd, [
      '--name', 'demo', '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `demo=${peerUrl}`, '--initial-cluster-state', 'new', '--log-outputs', 'stderr',
    ]);
    const saIssuer = 'https://kubernetes.default.svc.cluster.local';
    spawnLogged('kube-apiserver', binaries.apiserver, [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
      '--endpoint-reconciler-type=none',
      `--tls-cert-file=${join(pkiDir, 'server.pem')}`, `--tls-private-key-file=${join(pkiDir, 'server.key')}`,
      `--client-ca-file=${join(pkiDir, 'ca.pem')}`,
      '--authorization-mode=Node,RBAC', `--authentication-config=${authnFile}`,
      `--service-account-issuer=${saIssuer}`, `--service-account-signing-key-file=${join(pkiDir, 'sa.key')}`,
      `--service-account-key-file=${join(pkiDir, 'sa.pub')}`, `--api-audiences=${saIssuer}`,
      '--service-cluster-ip-range=10.0.0.0/24', '--profiling=false', `--cert-dir=${join(dir, 'apiserver-certs')}`,
    ]);
    const target = { server: `https://127.0.0.1:${apiPort}`, caPem: pki.caPem };
    const failure = (what, detail = '') => {
      const tails = procs.map((p) => `--- ${p.name}${p.exited ? ` (exited, code ${p.child.exitCode})` : ''}:\n${logTail(p.logFile, p.exited ? 20 : 5)}`);
      return new Error(`the demo API server: ${what}${detail ? ` (${detail})` : ''}\n${tails.join('\n')}`);
    };
    /** Polls `probe` until true; fails at once when a process exited, or after timeoutMs. */
    const until = async (what, timeoutMs, probe) => {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      for (;;) {
        const dead = procs.find((p) => p.exited);
        if (dead) throw failure(`${dead.name} exited while waiting for ${what}`);
        try {
          if (await probe()) return;
        } catch (error) {
          last = error instanceof Error ? error.message : String(error);
        }
        if (Date.now() > deadline) throw failure(`timed out waiting for ${what}`, last);
        await sleep(250);
      }
    };
    const post = (path, body) => api(target, { method: 'POST', path, body, auth: admin });
    const applied = (res) => res.status === 201 || res.status === 409;

    /** Until kube-apiserver is ready; then the demo namespace and the user's RBAC grant. */
    const ready = async () => {
      await until('kube-apiserver /readyz', 120_000, async () => (await api(target, { path: '/readyz', auth: admin })).status === 200);
      const rbac = '/apis/rbac.authorization.k8s.io/v1';
      const name = 'k8s-auth-demo:read-namespaces';
      await until('the demo RBAC objects', 30_000, async () => {
        const results = [
          await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } }),
          await post(`${rbac}/clusterroles`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] }] }),
          await post(`${rbac}/clusterrolebindings`, {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRoleBinding',
            metadata: { name },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
            subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: username }],
          }),
        ];
        return results.every(applied);
      });
    };
    /** Until the JWT authenticator (it starts after fetching discovery and JWKS) accepts `idToken`. */
    const waitForIdToken = (idToken) =>
      until('the API server to accept the ID token', 60_000, async () => {
        const res = await api(target, { method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, auth: { token: idToken } });
        if (res.status !== 201 && res.status !== 401) throw new Error(`SelfSubjectReview: HTTP ${res.status}`);
        return res.status === 201;
      });
    return { ...target, kubectl: binaries.kubectl, version: binaries.version, dir, pids: [...procs.map((p) => p.child.pid), watchdog.pid].filter(Boolean), ready, waitForIdToken, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
