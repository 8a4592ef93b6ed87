import { redact } from './redact.js';

/**
 * Humans read stderr; stdout is for data only. Colour only on a TTY and never with NO_COLOR.
 */
export interface LogOptions {
  verbose: boolean;
  quiet: boolean;
}

const state: LogOptions = { verbose: false, quiet: false };

export function configureLog(options: Partial<LogOptions>): void {
  Object.assign(state, options);
}

export function isVerbose(): boolean {
  return state.verbose;
}

export function isQuiet(): boolean {
  return state.quiet;
}

export function colorEnabled(stream: NodeJS.WriteStream = process.stderr): boolean {
  if (process.env['NO_COLOR'] !== undefined && process.env['NO_COLOR'] !== '') return false;
  if (process.env['FORCE_COLOR'] === '0') return false;
  return Boolean(stream.isTTY);
}

function paint(code: string, text: string): string {
  return colorEnabled() ? `\u001b[${code}m${text}\u001b[0m` : text;
}

export const style = {
  bold: (t: string) => paint('1', t),
  dim: (t: string) => paint('2', t),
  red: (t: string) => paint('31', t),
  green: (t: string) => paint('32', t),
  yellow: (t: string) => paint('33', t),
};

function write(line: string): void {
  process.stderr.write(`${redact(line)}\n`);
}

/** Progress and results meant for a person; silenced by --quiet. */
export function info(message: string): void {
  if (!state.quiet) write(message);
}

/** Something the user should know even with --quiet. */
export function warn(message: string): void {
  write(`${style.yellow('warning:')} ${message}`);
}

export function error(message: string): void {
  write(`${style.red('error:')} ${message}`);
}

/** Details for --verbose; redacted like everything else. */
export function debug(message: string): void {
  if (state.verbose) write(style.dim(`debug: ${message}`));
}
