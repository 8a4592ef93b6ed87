import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { processAlive } from './process-alive.js';

export interface AtomicWriteOptions {
  /**
   * Write through a symlinked target (default true: dotfile managers link ~/.kube/config). The
   * token cache says false: the rename then replaces the name itself, never the link's target.
   */
  followSymlink?: boolean;
}

/**
 * Write a file so that a reader (or a crash) only ever sees the old or the new content, never a
 * truncated one: a temp file in the same directory, fsync, rename over the target. Mode 0600 by
 * default: these files hold credentials. A symlinked target (dotfile managers) is written through
 * unless `followSymlink: false`.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[], mode = 0o600, options: AtomicWriteOptions = {}): void {
  const target = options.followSymlink === false ? path : resolveTarget(path);
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', mode);
  try {
    if (typeof data === 'string') writeAll(fd, Buffer.from(data, 'utf8'));
    else if (data instanceof Uint8Array) writeAll(fd, data);
    else for (const chunk of data) writeAll(fd, chunk);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    safeUnlink(temp);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, target);
  } catch (error) {
    safeUnlink(temp);
    throw error;
  }
  syncDirectory(dir);
  removeDeadTempFiles(dir, basename(target));
}

/** `write` may take less than it was given (a nearly full disk): the rest, until all is written. */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) {
    const written = writeSync(fd, bytes, at, bytes.length - at);
    if (written <= 0) throw new Error(`wrote ${at} of ${bytes.length} bytes`);
    at += written;
  }
}

/** A temp file older than this whose writer is gone is garbage (a write takes milliseconds). */
const DEAD_TEMP_AGE_MS = 60_000;

/**
 * A writer killed between creating its temp file and the rename (SIGKILL, power loss) leaves
 * `.<name>.<pid>.<hex>.tmp` behind, holding credentials. Remove those of processes that no longer
 * exist, once they are old enough that no writer on another host sharing the directory can still
 * be using one.
 */
function removeDeadTempFiles(dir: string, base: string): void {
  const pattern = new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!pid || pid === process.pid || processAlive(pid)) continue;
    const path = join(dir, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > DEAD_TEMP_AGE_MS) unlinkSync(path);
    } catch {
      // gone already, or not ours to remove
    }
  }
}

function resolveTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path; // does not exist yet
  }
}

function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not all filesystems allow fsync on a directory; the rename is still atomic
  }
}

function safeUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
