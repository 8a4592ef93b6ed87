/**
 * Whether a process of this machine still runs (signal 0). EPERM means it runs under another
 * user: alive. Used for stale lock holders and dead writers' temp files.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
