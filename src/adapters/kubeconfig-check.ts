import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkDirectory, type DirectoryWords } from './directory-check.js';
import { KubeconfigFileView } from './kubeconfig-read.js';

/**
 * `login`'s check, before anyone signs in, that each kubeconfig it will write can be read and
 * parsed, without loading the yaml library when it need not (adapters/kubeconfig-read.ts): a file
 * in the plain layout is checked in its top-level keys and the items the login will write (the
 * ones the write parses: issue 16, a 1,000-context file is not parsed whole); any other file, or
 * no `targets`, whole. A missing file is fine. Errors are the usual one-line ones (exit 8).
 */
export async function checkKubeconfigBeforeSignIn(path: string, targets?: LoginEntries): Promise<void> {
  const view = KubeconfigFileView.open(path);
  if (!view || !targets) return view?.check();
  // login names its users `<username>@<cluster>`: the username is known only after the sign-in
  const users = view.names('users', (name) => targets.clusters.some((c) => name.endsWith(`@${c}`)));
  view.check({ clusters: targets.clusters, contexts: targets.contexts, users });
}

/** The clusters and contexts a login will write (by name). */
export interface LoginEntries {
  clusters: readonly string[];
  contexts: readonly string[];
}

/** The kubeconfig files, as kubectl picks them: the one path rule (core/kubeconfig-paths.ts). */
export { kubeconfigPaths } from '../core/kubeconfig-paths.js';

const KUBECONFIG_DIRECTORY: DirectoryWords = {
  what: 'kubeconfig directory',
  risk: 'replace your kubeconfig there, or plant a link for k8s-auth to write through',
  hint: 'keep the kubeconfig in a directory only you can write (--kubeconfig or KUBECONFIG)',
};

/**
 * Refuses a kubeconfig whose directory (or, for a symlinked kubeconfig, its target's) is someone
 * else's or writable by others; called before a sign-in and again before every write.
 */
export function checkKubeconfigDirectory(path: string): void {
  checkDirectory(dirname(path), KUBECONFIG_DIRECTORY);
  let real: string | undefined;
  try {
    real = realpathSync(path);
  } catch {
    real = undefined; // not there yet
  }
  if (real !== undefined && dirname(real) !== dirname(path)) checkDirectory(dirname(real), KUBECONFIG_DIRECTORY);
}
