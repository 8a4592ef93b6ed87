import { fstatSync } from 'node:fs';

/**
 * A file's identity (device, inode, size, modification and change times), as git trusts its index:
 * any write changes the change time, and a rename the inode, so the same identity means the same
 * bytes, unless the file changed within the filesystem clock's granularity before it was read (a
 * second write in the same tick keeps the times). Such a "racy" file is never remembered.
 */
const RACY_MS = 50;

export interface FileIdentity {
  identity: string;
  size: number;
  /** changed so recently that a remembered read of it could go stale unseen */
  racy: boolean;
}

export function fileIdentity(fd: number): FileIdentity {
  const stat = fstatSync(fd, { bigint: true });
  const changedMs = Number((stat.ctimeNs > stat.mtimeNs ? stat.ctimeNs : stat.mtimeNs) / 1_000_000n);
  return { identity: `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`, size: Number(stat.size), racy: Date.now() - changedMs <= RACY_MS };
}
