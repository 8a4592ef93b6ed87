import type { YamlValue } from './simple-yaml.js';
import { CliError, ExitCode } from '../errors.js';

/**
 * The checks `checkKubeconfig` (core/kubeconfig-merge.ts) makes on a parsed yaml Document, made
 * on the plain value the narrow reader (core/simple-yaml.ts) gave for the same text, with the
 * same messages: empty is fine, else a mapping whose clusters/users/contexts are lists and
 * whose current-context is a string. Lets `login` check a kubeconfig before the sign-in
 * without loading the yaml library.
 */
/** The error for a kubeconfig the yaml library cannot parse (its first message line). */
export function invalidKubeconfigYaml(source: string, message: string): CliError {
  const first = message.split('\n')[0] ?? 'parse error';
  return new CliError(ExitCode.KUBECONFIG, `kubeconfig ${source} is not valid YAML: ${first}; fix or move it, nothing was written`);
}

export function checkPlainKubeconfig(value: YamlValue, source: string): void {
  if (value === null || value === '') return;
  if (typeof value !== 'object' || Array.isArray(value)) throw new CliError(ExitCode.KUBECONFIG, `kubeconfig ${source} is not a mapping (kind: Config): fix or move it, nothing was written`);
  for (const section of ['clusters', 'users', 'contexts'] as const) {
    const v = value[section];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v)) throw new CliError(ExitCode.KUBECONFIG, `kubeconfig ${source}: '${section}' must be a list: fix or move it, nothing was written`);
  }
  const current = value['current-context'];
  if (current !== undefined && current !== null && typeof current !== 'string') {
    throw new CliError(ExitCode.KUBECONFIG, `kubeconfig ${source}: 'current-context' must be a string: fix or move it, nothing was written`);
  }
}
