// Shared plumbing for the real test peers under test/peers/<name>/: where installs are cached,
// a free loopback port, starting a binary with its output in a log file, waiting until it is
// ready, and stopping it by pid. A process-exit hook kills whatever a failed test left running.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Installs are cached here, one folder per peer and version (never inside the repo). */
export function peerCacheDir(...parts: string[]): string {
  return join(process.env['K8S_AUTH_TEST_CACHE'] ?? join(homedir(), '.cache', 'k8s-auth-test'), ...parts);
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A port free on the loopback address right now (the kernel's pick). */
export function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

export interface PeerProcess {
  name: string;
  pid: number;
  logFile: string;
  /** true once the process has exited */
  readonly exited: boolean;
  /** the last lines of its log, for error messages */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
let hookInstalled = false;
function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export function readTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts `command args` with stdout and stderr appended to logFile. */
export function startPeerProcess(
  name: string,
  command: string,
  args: string[],
  opts: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv } & Pick<SpawnOptions, 'detached'>,
): PeerProcess {
  installExitHook();
  mkdirSync(join(opts.logFile, '..'), { recursive: true });
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', fd, fd],
    detached: opts.detached ?? false,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  running.add(child);
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    });
    child.once('error', () => {
      exited = true;
      running.delete(child);
      resolve();
    });
  });
  return {
    name,
    pid: child.pid,
    logFile: opts.logFile,
    get exited() {
      return exited;
    },
    logTail: (lines = 30) => readTail(opts.logFile, lines),
    async stop(graceMs = 5_000) {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
}

/**
 * Polls `ready` until it resolves true; fails early (with the log tail) if the process exits,
 * or after timeoutMs.
 */
export async function waitUntilReady(
  proc: PeerProcess,
  ready: () => Promise<boolean>,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exited) throw new Error(`${proc.name} exited before it was ready:\n${proc.logTail()}`);
    try {
      if (await ready()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`${proc.name} not ready after ${timeoutMs} ms:\n${proc.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
