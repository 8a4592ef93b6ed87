// Small process and file helpers for the control-plane harness.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where build-control-plane.sh and fetch-kubectl.sh keep their downloads and builds. */
export function testCacheDir(): string {
  return process.env.K8S_AUTH_TEST_CACHE ?? join(homedir(), '.cache', 'k8s-auth-test');
}

export type ControlPlaneBinaries =
  | { ok: true; apiserver: string; controllerManager: string; etcd: string }
  | { ok: false; missing: string };

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function controlPlaneBinaries(): ControlPlaneBinaries {
  const binDir = join(testCacheDir(), 'v1.20.2', 'bin');
  const apiserver = join(binDir, 'kube-apiserver');
  const controllerManager = join(binDir, 'kube-controller-manager');
  const etcd = process.env.K8S_AUTH_TEST_ETCD ?? '/usr/bin/etcd';
  for (const [name, path] of [['kube-apiserver', apiserver], ['kube-controller-manager', controllerManager]] as const) {
    if (!executable(path)) return { ok: false, missing: `${name} not found at ${path}; run test/cluster/build-control-plane.sh` };
  }
  if (!executable(etcd)) return { ok: false, missing: `etcd not found at ${etcd}; install Debian's etcd-server (test/cluster/build-control-plane.sh does)` };
  return { ok: true, apiserver, controllerManager, etcd };
}

/** A port free on 127.0.0.1 right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

export function logTail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0] ?? ''} failed: ${stderr.trim() || String(err)}`);
  }
}

/** True while a process with this pid exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // state is the field after the parenthesised command name
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A detached shell that, should this process die without cleaning up (SIGKILL), ends the
 * processes listed in DIR/pids whose command line names DIR, then removes DIR.
 */
export function startWatchdog(dir: string, caDir: string): ChildProcess {
  const script = `
    while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
    [ -d "$2" ] || exit 0
    for sig in TERM KILL; do
      for p in $(cat "$2/pids" 2>/dev/null); do
        grep -qF "$2" "/proc/$p/cmdline" 2>/dev/null && kill -$sig "$p" 2>/dev/null
      done
      sleep 3
    done
    rm -rf "$2" "$3"`;
  const child = spawn('sh', ['-c', script, 'watchdog', String(process.pid), dir, caDir], { detached: true, stdio: 'ignore' });
  child.unref();
  return child;
}
