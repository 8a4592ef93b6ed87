import { homedir } from 'node:os';
import { delimiter as pathDelimiter, join } from 'node:path';

/**
 * Which kubeconfig files, like kubectl: --kubeconfig, else KUBECONFIG (a list), else
 * ~/.kube/config. Empty list items are skipped and duplicates dropped, as client-go does.
 */
export function kubeconfigPathsFrom(flag: string | undefined, envValue: string | undefined, home: string, delimiter: string = pathDelimiter): string[] {
  if (flag !== undefined && flag.trim() !== '') return [flag];
  const fromEnv = [...new Set((envValue ?? '').split(delimiter).filter((p) => p.trim() !== ''))];
  if (fromEnv.length > 0) return fromEnv;
  return [join(home, '.kube', 'config')];
}

/**
 * The one path rule every reader and writer uses: kubeconfigPathsFrom with the process's (or a
 * given) environment, home from $HOME as kubectl takes it (client-go's homedir), else the OS's.
 */
export function kubeconfigPaths(flag: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  return kubeconfigPathsFrom(flag, env['KUBECONFIG'], env['HOME'] || homedir());
}

/** Entries are written to the first file that already has one of them, else the first file. */
export function chooseWriteTarget(paths: readonly string[], hasEntry: (path: string) => boolean): string {
  const first = paths[0];
  if (first === undefined) throw new Error('no kubeconfig path');
  return paths.find(hasEntry) ?? first;
}

/**
 * With several files, kubectl takes current-context from the first file that sets one, so it
 * must be changed there (client-go's writeCurrentContext); if none sets one, in `fallback`.
 */
export function chooseCurrentContextTarget(paths: readonly string[], currentContextOf: (path: string) => string | undefined, fallback: string): string {
  return paths.find((p) => currentContextOf(p) !== undefined) ?? fallback;
}
