import type { Command } from 'commander';

/**
 * Which options of the running command took their value from an environment variable, so that a
 * bad value is reported under the name the user actually set: `K8S_AUTH_TIMEOUT (--timeout) must
 * be …`, not only `--timeout must be …` when no such flag was typed.
 */
const fromEnv = new Map<string, string>();

/** Called once per run, before the action (cli.ts preAction hook). */
export function recordOptionSources(command: Command): void {
  fromEnv.clear();
  for (let c: Command | null = command; c !== null; c = c.parent) {
    for (const option of c.options) {
      if (option.long && option.envVar && c.getOptionValueSource(option.attributeName()) === 'env') fromEnv.set(option.long, option.envVar);
    }
  }
}

/** `--timeout`, or `K8S_AUTH_TIMEOUT (--timeout)` when the value came from that variable. */
export function flagLabel(flag: string): string {
  const variable = fromEnv.get(flag);
  return variable ? `${variable} (${flag})` : flag;
}
