import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkKubeconfigBeforeSignIn, checkKubeconfigDirectory } from './kubeconfig-check.js';
import { asciiBytesOf, readKubeconfigText } from './kubeconfig-read.js';
import { type Document, parseDocument } from 'yaml';
import { checkKubeconfig, getCurrentContext, hasNamed, renderKubeconfig, setCurrentContext } from '../core/kubeconfig-merge.js';
import { type KubeconfigScope, editInScopeByPieces } from '../core/kubeconfig-splice.js';
import { chooseCurrentContextTarget, chooseWriteTarget } from '../core/kubeconfig-paths.js';
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
  /**
   * The entries `mutate` reads or writes (nothing else, and it must have no other effect): only
   * they go through the yaml library, the rest of the file is kept line for line
   * (core/kubeconfig-splice.ts). Without it, or when the file is not in the plain layout, the
   * whole file is parsed and rendered.
   */
  scope?: KubeconfigScope;
}

export const DEFAULT_KUBECONFIG_LOCK_TIMEOUT_MS = 10_000;

export function readKubeconfig(path: string): LoadedKubeconfig {
  // the reader's one-line errors for a directory, a permission problem or another failure (exit 8)
  const text = readKubeconfigText(path);
  if (text === undefined) {
    const doc = parseDocument('');
    checkKubeconfig(doc, path);
    return { path, doc, text: '', exists: false };
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
 * yaml Document: use the setters of core/kubeconfig-merge, on the entries `entryKey` names (and
 * current-context) only, with no other effect: it sees only those (UpdateOptions.scope).
 */
export async function updateKubeconfig(
  paths: readonly string[],
  entryKey: KubeconfigEntryKey,
  mutate: (doc: Document, path: string) => void,
  options: UpdateOptions = {},
): Promise<string> {
  const target = chooseKubeconfigTarget(paths, entryKey);
  const scope: KubeconfigScope = {
    ...(entryKey.cluster !== undefined ? { clusters: [entryKey.cluster] } : {}),
    ...(entryKey.user !== undefined ? { users: [entryKey.user] } : {}),
    ...(entryKey.context !== undefined ? { contexts: [entryKey.context] } : {}),
  };
  await updateKubeconfigFile(target, mutate, { scope, ...options });
  return target;
}

/** The same for one known file. */
export async function updateKubeconfigFile(path: string, mutate: (doc: Document, path: string) => void, options: UpdateOptions = {}): Promise<void> {
  // fail on an unreadable/malformed file, or a directory someone else controls, before creating
  // anything next to it (the narrow reader where it can: the file is parsed in full under the
  // lock). A scoped write reads the file once, under the lock, and falls back to that parse.
  if (!options.scope) await checkKubeconfigBeforeSignIn(path);
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
    const spliced = options.scope ? scopedUpdate(path, options.scope, mutate) : undefined;
    let data: string | Uint8Array[] | undefined = spliced;
    if (data === undefined) {
      const loaded = readKubeconfig(path);
      mutate(loaded.doc, path);
      data = renderKubeconfig(loaded.doc, loaded.text);
    }
    try {
      writeFileAtomic(path, data, 0o600);
    } catch (error) {
      throw new CliError(ExitCode.KUBECONFIG, `cannot write kubeconfig ${path}: ${describeError(error)}`, { cause: error });
    }
    debug(`wrote ${path}${spliced === undefined ? '' : ' (only the entries it changes)'}`);
  } finally {
    release();
  }
}

/**
 * The file with the scoped edit spliced in, or undefined when the file is missing, not in the
 * plain layout, or the splice does not read back as the edit: the caller takes the full path.
 */
function scopedUpdate(path: string, scope: KubeconfigScope, mutate: (doc: Document, path: string) => void): string | Uint8Array[] | undefined {
  let text: string | undefined;
  try {
    // under the lock; the same bytes as the read before the sign-in when the file is unchanged
    text = readKubeconfigText(path);
  } catch {
    return undefined; // unreadable: the full path says so
  }
  if (text === undefined) return undefined; // missing: the full path creates it
  const spliced = editInScopeByPieces(text, scope, (doc) => mutate(doc, path), path);
  // `mutate` only edits the document it is given (the scope's contract), so the full path may run it again
  if (spliced === undefined) {
    debug(`${path}: not merged line by line (layout, or the result did not read back the same); parsing the whole file`);
    return undefined;
  }
  // the unchanged spans from the bytes read, the new lines encoded: the same bytes as the text
  const bytes = asciiBytesOf(path, text);
  if (!bytes) return spliced.text;
  return spliced.pieces.map((piece) => (typeof piece === 'string' ? Buffer.from(piece, 'utf8') : bytes.subarray(piece.start, piece.end)));
}

/**
 * Sets current-context where kubectl will read it: the first file that already sets one, else
 * `fallback` (normally the file the entries went to). Returns the path written.
 */
export async function setCurrentContextInFiles(paths: readonly string[], contextName: string, fallback: string, options: UpdateOptions = {}): Promise<string> {
  const target =
    paths.length === 1 ? (paths[0] as string) : chooseCurrentContextTarget(paths, (p) => getCurrentContext(readKubeconfig(p).doc), fallback);
  await updateKubeconfigFile(target, (doc) => setCurrentContext(doc, contextName), { scope: {}, ...options });
  return target;
}

// read-only lookups parse only what they look at (adapters/kubeconfig-read.ts)
export { type MergedKubeconfig, readMergedKubeconfig } from './kubeconfig-read.js';
