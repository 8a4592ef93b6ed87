import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, ExitCode } from '../errors.js';

/**
 * Exclusive lock files, created with O_EXCL like kubectl's `<kubeconfig>.lock`, so k8s-auth and
 * kubectl never write the same file at once. Unlike kubectl (which fails at once) and early
 * kubelogin (which waited forever), a waiter gives up after a timeout, and a lock whose holder is
 * gone is recovered by rule:
 *  - our locks record pid and host: on this host, a pid that no longer exists means stale;
 *  - an empty lock (kubectl writes none) or one from another host is stale once older than
 *    `staleAfterMs` (kubectl holds its lock for milliseconds).
 */
export interface LockOptions {
  /** How long to wait for the holder before failing. */
  timeoutMs: number;
  /** Age after which a lock we cannot attribute to a live local process is considered stale. */
  staleAfterMs?: number;
  /** Told once when we start waiting, e.g. to print "waiting for another k8s-auth…". */
  onWait?: (holder: LockHolder | undefined) => void;
  /** What the lock protects, for the timeout message. */
  description?: string;
}

export interface LockHolder {
  pid: number;
  host: string;
  createdAt: string;
}

export type ReleaseLock = () => void;

export const DEFAULT_STALE_AFTER_MS = 30_000;

export async function acquireLock(lockPath: string, options: LockOptions): Promise<ReleaseLock> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = 10;
  let told = false;
  for (;;) {
    const release = tryCreate(lockPath);
    if (release) return release;
    const holder = readHolder(lockPath);
    if (isStale(lockPath, holder, options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS)) {
      breakStaleLock(lockPath, holder);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder ? `process ${holder.pid} on ${holder.host}` : 'another process (kubectl?)';
      throw new CliError(
        ExitCode.LOCK_TIMEOUT,
        `${options.description ?? lockPath} is locked by ${who} (${lockPath}) for more than ${Math.round(options.timeoutMs / 1000)}s: wait for it to finish, or remove the lock file if nothing is running`,
      );
    }
    if (!told) {
      told = true;
      options.onWait?.(holder);
    }
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
    delay = Math.min(delay * 2, 200);
  }
}

export async function withLock<T>(lockPath: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  const release = await acquireLock(lockPath, options);
  try {
    return await work();
  } finally {
    release();
  }
}

function tryCreate(lockPath: string): ReleaseLock | undefined {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new CliError(ExitCode.KUBECONFIG, `cannot create lock file ${lockPath}: ${(error as Error).message}`);
  }
  const holder: LockHolder = { pid: process.pid, host: hostname(), createdAt: new Date().toISOString() };
  try {
    writeSync(fd, JSON.stringify(holder));
  } finally {
    closeSync(fd);
  }
  const onExit = () => removeIfOurs(lockPath, holder);
  process.once('exit', onExit);
  return () => {
    process.removeListener('exit', onExit);
    removeIfOurs(lockPath, holder);
  };
}

function removeIfOurs(lockPath: string, holder: LockHolder): void {
  const current = readHolder(lockPath);
  if (current && current.pid === holder.pid && current.createdAt === holder.createdAt) {
    try {
      unlinkSync(lockPath);
    } catch {
      // already gone: nothing to release
    }
  }
}

export function readHolder(lockPath: string): LockHolder | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(lockPath, 'utf8'));
    if (parsed && typeof parsed === 'object') {
      const { pid, host, createdAt } = parsed as Record<string, unknown>;
      if (typeof pid === 'number' && typeof host === 'string' && typeof createdAt === 'string') return { pid, host, createdAt };
    }
  } catch {
    // empty (kubectl's), unreadable or vanished: no holder we can name
  }
  return undefined;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isStale(lockPath: string, holder: LockHolder | undefined, staleAfterMs: number): boolean {
  if (holder && holder.host === hostname()) return !processAlive(holder.pid);
  try {
    return Date.now() - statSync(lockPath).mtimeMs > staleAfterMs;
  } catch {
    return false; // vanished: the next create attempt will tell
  }
}

/**
 * Two waiters may judge the same lock stale at once; a second O_EXCL file serialises the
 * breaking so one cannot delete a fresh lock the other just created.
 */
function breakStaleLock(lockPath: string, judged: LockHolder | undefined): void {
  const breaker = `${lockPath}.break`;
  let fd: number;
  try {
    fd = openSync(breaker, 'wx', 0o600);
  } catch {
    // someone else is breaking it; if their breaker is itself left over from a crash, clear it
    try {
      if (Date.now() - statSync(breaker).mtimeMs > 10_000) unlinkSync(breaker);
    } catch {
      // gone already
    }
    return;
  }
  closeSync(fd);
  try {
    const now = readHolder(lockPath);
    const same = judged === undefined ? now === undefined : now !== undefined && now.pid === judged.pid && now.createdAt === judged.createdAt;
    if (same) unlinkSync(lockPath);
  } catch {
    // vanished meanwhile
  } finally {
    try {
      unlinkSync(breaker);
    } catch {
      // nothing to clean
    }
  }
}
