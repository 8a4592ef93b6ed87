import { lstatSync, statSync } from 'node:fs';
import { type Caller, type DirectoryFacts, type DirectoryProblem, directoryProblem, formatMode } from '../core/directory-trust.js';
import { CliError, ExitCode } from '../errors.js';

/**
 * The checks of core/directory-trust.ts on a real directory, for the token cache and the
 * kubeconfig: refused (exit 8) with one line naming what is wrong, before anything is written.
 */

/** The caller's uid and gid; undefined where there are none (Windows): nothing to check there. */
export function currentCaller(): Caller | undefined {
  if (typeof process.getuid !== 'function' || typeof process.getgid !== 'function') return undefined;
  return { uid: process.getuid(), gid: process.getgid() };
}

/** lstat + stat of a directory; undefined when it does not exist (yet). */
export function inspectDirectory(path: string): DirectoryFacts | undefined {
  let link;
  try {
    link = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!link.isSymbolicLink()) return { isDirectory: link.isDirectory(), uid: link.uid, gid: link.gid, mode: link.mode };
  try {
    const target = statSync(path);
    return { isDirectory: target.isDirectory(), uid: target.uid, gid: target.gid, mode: target.mode, linkUid: link.uid };
  } catch {
    return { isDirectory: false, uid: link.uid, gid: link.gid, mode: link.mode, linkUid: link.uid };
  }
}

export interface DirectoryWords {
  /** "token cache directory", "kubeconfig directory" */
  what: string;
  /** who could do what, e.g. "read or replace your tokens there" */
  risk: string;
  /** what to do instead, for a directory that is someone else's or open to others */
  hint: string;
}

export function directoryError(path: string, problem: DirectoryProblem, caller: Caller, words: DirectoryWords): CliError {
  switch (problem.kind) {
    case 'not-a-directory':
      return new CliError(ExitCode.KUBECONFIG, `the ${words.what} ${path} is not a directory`, { hint: words.hint });
    case 'foreign-owner':
      return new CliError(ExitCode.KUBECONFIG, `the ${words.what} ${path} is owned by uid ${problem.uid}, not you (uid ${caller.uid}): another user could ${words.risk}`, { hint: words.hint });
    case 'writable-by-others':
      return new CliError(ExitCode.KUBECONFIG, `the ${words.what} ${path} is writable by other users (mode ${formatMode(problem.mode)}): they could ${words.risk}; it was left as it is`, { hint: words.hint });
  }
}

/** Throws when an existing directory is someone else's or writable by others; returns its facts. */
export function checkDirectory(path: string, words: DirectoryWords): DirectoryFacts | undefined {
  const caller = currentCaller();
  if (!caller) return undefined;
  const facts = inspectDirectory(path);
  if (!facts) return undefined;
  const problem = directoryProblem(facts, caller);
  if (problem) throw directoryError(path, problem, caller, words);
  return facts;
}

/** Refuses a symlink (or anything but a plain file) at a path k8s-auth writes credentials to. */
export function refuseLinkedFile(path: string, what: string): void {
  let link;
  try {
    link = lstatSync(path);
  } catch {
    return; // absent: created with O_EXCL, never through a link
  }
  if (link.isSymbolicLink()) {
    throw new CliError(ExitCode.KUBECONFIG, `the ${what} ${path} is a symbolic link: k8s-auth does not write credentials through one (someone may have planted it)`, { hint: 'remove it, then run again' });
  }
  if (!link.isFile()) throw new CliError(ExitCode.KUBECONFIG, `the ${what} ${path} is not a regular file`, { hint: 'remove it, then run again' });
}
