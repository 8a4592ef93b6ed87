import { Option } from 'commander';
import { CliError, ExitCode } from '../errors.js';
import { debug } from '../ui/log.js';

/**
 * `-o/--output` for every data command, by one rule (docs/output.md, "Choosing the format"):
 *  1. `-o FORMAT` on the command line; a format the command does not have is a usage error (2);
 *  2. else K8S_AUTH_OUTPUT, when it names a format this command has; a value it does not have is
 *     ignored for this command, so a CI job can export K8S_AUTH_OUTPUT=json once for all of them;
 *  3. else the command's own default (`text`; `token` for `k8s-auth token`).
 * The variable is not commander's `.env()`: that would make an unsupported value an error.
 */
export const OUTPUT_ENV = 'K8S_AUTH_OUTPUT';

export type OutputSource = 'flag' | 'env' | 'default';

export interface ResolvedOutput<F extends string> {
  format: F;
  source: OutputSource;
}

/** The option itself: choices checked by commander, the default and the variable named in --help. */
export function outputOption<F extends string>(formats: readonly F[], fallback: F): Option {
  const all = [fallback, ...formats.filter((f) => f !== fallback)];
  const list = all.length > 1 ? `${all.slice(0, -1).join(', ')} or ${all[all.length - 1] ?? ''}` : all.join('');
  return new Option('-o, --output <format>', `${list} (default: $${OUTPUT_ENV} when it names one of these, else ${fallback})`).choices([...formats]);
}

export function resolveOutput<F extends string>(flag: string | undefined, formats: readonly F[], fallback: F, env: Record<string, string | undefined> = process.env): ResolvedOutput<F> {
  const isFormat = (value: string | undefined): value is F => value !== undefined && (formats as readonly string[]).includes(value);
  if (flag !== undefined) {
    // commander checks the choices first; this covers callers that pass a value of their own
    if (!isFormat(flag)) throw new CliError(ExitCode.USAGE, `unknown output format '${flag}': use one of ${formats.join(', ')}`);
    return { format: flag, source: 'flag' };
  }
  const fromEnv = env[OUTPUT_ENV]?.trim();
  if (isFormat(fromEnv)) return { format: fromEnv, source: 'env' };
  if (fromEnv) debug(`${OUTPUT_ENV}=${fromEnv} is not a format of this command (${formats.join(', ')}): ignored, printing ${fallback}`);
  return { format: fallback, source: 'default' };
}

/** The data formats text commands share. */
export const DATA_FORMATS = ['text', 'json', 'yaml'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];
