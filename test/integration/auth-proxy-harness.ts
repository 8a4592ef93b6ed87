// Runs `k8s-auth proxy …` (the built CLI, dist/) in the background for the auth-proxy tests:
// resolves once it prints "Starting to serve on HOST:PORT", stops it by pid with a signal.
import { spawn, type ChildProcess } from 'node:child_process';
import { cliEntry } from '../support/run-cli.js';
import { repoRoot } from '../support/skip.js';

export interface RunningProxyCli {
  /** 127.0.0.1:PORT */
  listen: string;
  port: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** sends the signal, resolves with the exit code once the process is gone */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export function startProxyCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<RunningProxyCli> {
  const child = spawn(process.execPath, [cliEntry, 'proxy', ...args], { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
  void exited.then(() => clearTimeout(killer));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`k8s-auth proxy did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    const onData = () => {
      const m = /^Starting to serve on (\S+):(\d+)$/m.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve({
        listen: `${m[1]}:${m[2]}`,
        port: Number(m[2]),
        child,
        stdout: () => stdout,
        stderr: () => stderr,
        exited,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`k8s-auth proxy exited (${code}) before serving: ${stderr}`));
    });
  });
}
