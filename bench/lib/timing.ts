// Clocks and child processes for benchmarks: a wall clock with sub-millisecond resolution (to
// compare with `date +%s%N` written by another process), marker-file polling, and spawn→exit
// timing on the monotonic clock.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/**
 * Offset from performance.now() to the Unix epoch in ms, taken right at a Date.now() tick so it
 * is accurate to microseconds (Date.now() alone has 1 ms steps). Take it just before a
 * measurement: the monotonic and the wall clock may drift apart slowly.
 */
export function epochOffsetMs(): number {
  const start = Date.now();
  let now = start;
  while (now === start) now = Date.now();
  return now - performance.now();
}

/** Waits (polling, bounded) until `path` holds one complete line; fails early if `gaveUp` settles first. */
export async function waitForLine(path: string, timeoutMs: number, gaveUp?: Promise<unknown>, pollMs = 5): Promise<string> {
  let stop: unknown;
  let stopped = false;
  const settle = (value: unknown): void => {
    stopped = true;
    stop = value;
  };
  void gaveUp?.then(settle, settle);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.endsWith('\n')) return text.trimEnd();
    if (stopped) throw new Error(`${path} was not written: ${String(stop)}`);
    if (performance.now() > deadline) throw new Error(`${path} was not written within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export interface TimedChild {
  child: ChildProcess;
  /** performance.now() just before spawn */
  startedAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; exitedAt: number; stderr: string; stdout: string }>;
}

/** Spawns with stdout/stderr collected; kills it (SIGKILL) after `timeoutMs`. */
export function spawnTimed(file: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs: number }): TimedChild {
  const startedAt = performance.now();
  const child = spawn(file, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; exitedAt: number; stderr: string; stdout: string }>((resolve, reject) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'exit', not 'close': the process is gone; its pipes may drain a moment later
    child.once('exit', (code, signal) => {
      const exitedAt = performance.now();
      clearTimeout(timer);
      // let the pipes drain for the diagnostics, without counting that time
      child.once('close', () => resolve({ code, signal, exitedAt, stderr, stdout }));
    });
  });
  return { child, startedAt, exited };
}

/** Milliseconds from spawn to exit of `node -e 0`-like commands (must exit 0). */
export async function timeToExit(file: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  const run = spawnTimed(file, args, { env, cwd, timeoutMs: 30_000 });
  const result = await run.exited;
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${String(result.code ?? result.signal)}: ${result.stderr.trim()}`);
  return result.exitedAt - run.startedAt;
}
