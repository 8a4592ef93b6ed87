/**
 * Whether a directory k8s-auth writes credentials into (the token cache, the kubeconfig's) is
 * one nobody else controls: owned by the caller (or root, who can do anything anyway) and not
 * writable by other users. In a directory someone else controls, they can plant a symlink at
 * the predictable file name (a write then lands in a file of the victim's choosing) or replace
 * the file between our writes. Pure: the facts come from lstat/stat (adapters).
 */
export interface DirectoryFacts {
  /** Of the path after symlinks are followed. */
  isDirectory: boolean;
  uid: number;
  gid: number;
  /** st_mode; only the permission bits (incl. sticky) are read. */
  mode: number;
  /** The owner of the symlink itself when the path is one (who could re-point it). */
  linkUid?: number;
}

export interface Caller {
  uid: number;
  gid: number;
}

export type DirectoryProblem =
  | { kind: 'not-a-directory' }
  | { kind: 'foreign-owner'; uid: number }
  | { kind: 'writable-by-others'; mode: number };

function trustedOwner(uid: number, caller: Caller): boolean {
  return uid === caller.uid || uid === 0;
}

export function directoryProblem(facts: DirectoryFacts, caller: Caller): DirectoryProblem | undefined {
  if (!facts.isDirectory) return { kind: 'not-a-directory' };
  if (facts.linkUid !== undefined && !trustedOwner(facts.linkUid, caller)) return { kind: 'foreign-owner', uid: facts.linkUid };
  if (!trustedOwner(facts.uid, caller)) return { kind: 'foreign-owner', uid: facts.uid };
  // writable by everyone, or by a group that is not the caller's own (sticky or not: a planted
  // symlink needs only create permission)
  if ((facts.mode & 0o002) !== 0 || ((facts.mode & 0o020) !== 0 && facts.gid !== caller.gid)) return { kind: 'writable-by-others', mode: facts.mode & 0o7777 };
  return undefined;
}

/** `1777`, `777`, `755`: a mode as chmod takes it. */
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8);
}

/** Whether a file (cache entry, lock) may be read as ours: owned by the caller or root. */
export function trustedFileOwner(uid: number, caller: Caller): boolean {
  return trustedOwner(uid, caller);
}
