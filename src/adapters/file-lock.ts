import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, ExitCode } from '../errors.js';
import { processAlive } from './process-alive.js';

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

/**
 * A waiter gives up when ONE holder keeps the lock longer than the timeout (a hung process), not
 * when many healthy writers take it in turn: each change of holder restarts the clock. So that a
 * busy queue cannot keep a waiter forever either, the whole wait ends at this many timeouts.
 */
export const MAX_WAIT_TIMEOUTS = 6;

export async function acquireLock(lockPath: string, options: LockOptions): Promise<ReleaseLock> {
  const started = Date.now();
  const overall = started + options.timeoutMs * MAX_WAIT_TIMEOUTS;
  let deadline = started + options.timeoutMs;
  let seen: string | undefined;
  let turns = 0;
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
    // a new holder we can name restarts the clock (an empty or half-written lock names nobody)
    const key = holder ? `${holder.pid}@${holder.host}@${holder.createdAt}` : undefined;
    if (key !== undefined) {
      if (seen !== undefined && key !== seen) {
        turns += 1;
        deadline = Math.min(Date.now() + options.timeoutMs, overall);
      }
      seen = key;
    }
    if (Date.now() >= deadline) {
      const who = holder ? `process ${holder.pid} on ${holder.host}` : 'another process (kubectl?)';
      const what = options.description ?? lockPath;
      const message =
        turns > 0 && deadline >= overall
          ? `${what} was taken in turn by other processes for more than ${Math.round((options.timeoutMs * MAX_WAIT_TIMEOUTS) / 1000)}s (now ${who}, ${lockPath}): try again when they are done`
          : `${what} is locked by ${who} (${lockPath}) for more than ${Math.round(options.timeoutMs / 1000)}s: wait for it to finish, or remove the lock file if nothing is running`;
      throw new CliError(ExitCode.LOCK_TIMEOUT, message);
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
    // O_EXCL: never through a symlink, whatever it points at
    fd = openSync(lockPath, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      refuseOddLock(lockPath);
      return undefined;
    }
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

/**
 * A lock that is a symlink (or a FIFO, a directory…) is no lock k8s-auth or kubectl made: someone
 * planted it. Refused at once rather than waited on, read through or "recovered".
 */
function refuseOddLock(lockPath: string): void {
  let st;
  try {
    st = lstatSync(lockPath);
  } catch {
    return; // vanished: the next attempt creates it
  }
  if (st.isSymbolicLink()) {
    throw new CliError(ExitCode.KUBECONFIG, `the lock file ${lockPath} is a symbolic link: k8s-auth does not follow one (someone may have planted it)`, { hint: 'remove it, then run again' });
  }
  if (!st.isFile()) throw new CliError(ExitCode.KUBECONFIG, `the lock file ${lockPath} is not a regular file`, { hint: 'remove it, then run again' });
}

/** A holder record is ~100 bytes; read no more than this of a lock file. */
const MAX_HOLDER_BYTES = 4096;

/** The lock's text: no symlink followed, no FIFO waited on, at most MAX_HOLDER_BYTES. */
function readLockText(lockPath: string): string {
  const fd = openSync(lockPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) return '';
    const buffer = Buffer.alloc(MAX_HOLDER_BYTES);
    const n = readSync(fd, buffer, 0, MAX_HOLDER_BYTES, 0);
    return buffer.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export function readHolder(lockPath: string): LockHolder | undefined {
  try {
    const parsed: unknown = JSON.parse(readLockText(lockPath));
    if (parsed && typeof parsed === 'object') {
      const { pid, host, createdAt } = parsed as Record<string, unknown>;
      if (typeof pid === 'number' && typeof host === 'string' && typeof createdAt === 'string') return { pid, host, createdAt };
    }
  } catch {
    // empty (kubectl's), unreadable or vanished: no holder we can name
  }
  return undefined;
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
