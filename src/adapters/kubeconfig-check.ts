import { readFileSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkDirectory, type DirectoryWords } from './directory-check.js';
import { checkPlainKubeconfig } from '../core/kubeconfig-shape.js';
import { parseSimpleYaml } from '../core/simple-yaml.js';

/**
 * `login`'s check, before anyone signs in, that each kubeconfig it will write can be read and
 * parsed, without loading the yaml library when it need not: the narrow reader answers for the
 * plain YAML kubectl and we write (about 8x faster on a 1,000-context file, and no ~12 ms
 * library load before the browser opens). A missing file is fine. Anything the narrow reader
 * declines (comments after values, anchors, a read error …) goes to the full reader, which
 * gives the usual one-line errors (exit 8).
 */
export async function checkKubeconfigBeforeSignIn(path: string): Promise<void> {
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
  }
  const plain = text === undefined ? undefined : parseSimpleYaml(text);
  if (plain !== undefined) {
    checkPlainKubeconfig(plain, path);
    return;
  }
  (await import('./kubeconfig-file.js')).readKubeconfig(path);
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
