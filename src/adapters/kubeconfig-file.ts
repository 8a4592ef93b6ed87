import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { checkKubeconfigBeforeSignIn, checkKubeconfigDirectory } from './kubeconfig-check.js';
import { type Document, parseDocument } from 'yaml';
import { type KubeconfigSection, checkKubeconfig, getCurrentContext, hasNamed, readNamed, renderKubeconfig, setCurrentContext } from '../core/kubeconfig-merge.js';
import { chooseCurrentContextTarget, chooseWriteTarget, kubeconfigPathsFrom } from '../core/kubeconfig-paths.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { debug, info } from '../ui/log.js';
import { writeFileAtomic } from './atomic-file.js';
import { acquireLock } from './file-lock.js';

// login checks before the sign-in without loading this module (and the yaml library)
export { checkKubeconfigDirectory };

/**
 * Reading and writing kubeconfig files the way kubectl does: `<file>.lock` around every write
 * (so kubectl and we never interleave), a temp file renamed into place, mode 0600, and nothing
 * written when the file can't be read or parsed.
 */
export interface LoadedKubeconfig {
  path: string;
  doc: Document;
  /** The text as read ('' for a missing file), to keep its list-indentation style. */
  text: string;
  exists: boolean;
}

/** Names that make a file "already have the entry" when choosing where to write. */
export interface KubeconfigEntryKey {
  cluster?: string;
  user?: string;
  context?: string;
}

export interface UpdateOptions {
  lockTimeoutMs?: number;
}

export const DEFAULT_KUBECONFIG_LOCK_TIMEOUT_MS = 10_000;

export function resolveKubeconfigPaths(flag?: string, env: Record<string, string | undefined> = process.env): string[] {
  return kubeconfigPathsFrom(flag, env['KUBECONFIG'], homedir());
}

export function readKubeconfig(path: string): LoadedKubeconfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const doc = parseDocument('');
      checkKubeconfig(doc, path);
      return { path, doc, text: '', exists: false };
    }
    if (code === 'EISDIR') throw new CliError(ExitCode.KUBECONFIG, `kubeconfig ${path} is a directory, not a file: point --kubeconfig/KUBECONFIG at a file`);
    if (code === 'EACCES' || code === 'EPERM') throw new CliError(ExitCode.KUBECONFIG, `cannot read kubeconfig ${path} (permission denied): check its owner and mode`);
    throw new CliError(ExitCode.KUBECONFIG, `cannot read kubeconfig ${path}: ${describeError(error)}`, { cause: error });
  }
  const doc = parseDocument(text, { prettyErrors: false, keepSourceTokens: false });
  checkKubeconfig(doc, path);
  return { path, doc, text, exists: true };
}

function hasEntry(loaded: LoadedKubeconfig, key: KubeconfigEntryKey): boolean {
  return (
    (key.cluster !== undefined && hasNamed(loaded.doc, 'clusters', key.cluster)) ||
    (key.user !== undefined && hasNamed(loaded.doc, 'users', key.user)) ||
    (key.context !== undefined && hasNamed(loaded.doc, 'contexts', key.context))
  );
}

/** Where an update for `key` goes: the first file that has one of its names, else the first file. */
export function chooseKubeconfigTarget(paths: readonly string[], key: KubeconfigEntryKey): string {
  if (paths.length === 1) return paths[0] as string;
  const loaded = new Map(paths.map((p) => [p, readKubeconfig(p)]));
  return chooseWriteTarget(paths, (p) => hasEntry(loaded.get(p) as LoadedKubeconfig, key));
}

/**
 * Lock, re-read, mutate, write atomically (0600). Returns the path written. `mutate` gets the
 * yaml Document: use the setters of core/kubeconfig-merge.
 */
export async function updateKubeconfig(
  paths: readonly string[],
  entryKey: KubeconfigEntryKey,
  mutate: (doc: Document, path: string) => void,
  options: UpdateOptions = {},
): Promise<string> {
  const target = chooseKubeconfigTarget(paths, entryKey);
  await updateKubeconfigFile(target, mutate, options);
  return target;
}

/** The same for one known file. */
export async function updateKubeconfigFile(path: string, mutate: (doc: Document, path: string) => void, options: UpdateOptions = {}): Promise<void> {
  // fail on an unreadable/malformed file, or a directory someone else controls, before creating
  // anything next to it (the narrow reader where it can: the file is parsed in full under the lock)
  await checkKubeconfigBeforeSignIn(path);
  checkKubeconfigDirectory(path);
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new CliError(ExitCode.KUBECONFIG, `cannot create the directory of kubeconfig ${path}: ${describeError(error)}`, { cause: error });
  }
  const release = await acquireLock(`${path}.lock`, {
    timeoutMs: options.lockTimeoutMs ?? DEFAULT_KUBECONFIG_LOCK_TIMEOUT_MS,
    description: `kubeconfig ${path}`,
    onWait: () => info(`waiting for the lock on ${path}…`),
  });
  try {
    const loaded = readKubeconfig(path);
    mutate(loaded.doc, path);
    try {
      writeFileAtomic(path, renderKubeconfig(loaded.doc, loaded.text), 0o600);
    } catch (error) {
      throw new CliError(ExitCode.KUBECONFIG, `cannot write kubeconfig ${path}: ${describeError(error)}`, { cause: error });
    }
    debug(`wrote ${path}`);
  } finally {
    release();
  }
}

/**
 * Sets current-context where kubectl will read it: the first file that already sets one, else
 * `fallback` (normally the file the entries went to). Returns the path written.
 */
export async function setCurrentContextInFiles(paths: readonly string[], contextName: string, fallback: string, options: UpdateOptions = {}): Promise<string> {
  const target =
    paths.length === 1 ? (paths[0] as string) : chooseCurrentContextTarget(paths, (p) => getCurrentContext(readKubeconfig(p).doc), fallback);
  await updateKubeconfigFile(target, (doc) => setCurrentContext(doc, contextName), options);
  return target;
}

/** kubectl's merged view of several files: the first file that has a name (or current-context) wins. */
export interface MergedKubeconfig {
  paths: readonly string[];
  currentContext: string | undefined;
  find(section: KubeconfigSection, name: string): { path: string; value: Record<string, unknown> } | undefined;
}

export function readMergedKubeconfig(paths: readonly string[]): MergedKubeconfig {
  const files = paths.map(readKubeconfig).filter((f) => f.exists);
  return {
    paths,
    currentContext: files.map((f) => getCurrentContext(f.doc)).find((c) => c !== undefined),
    find(section, name) {
      for (const file of files) {
        const value = readNamed(file.doc, section, name);
        if (value !== undefined) return { path: file.path, value };
      }
      return undefined;
    },
  };
}
