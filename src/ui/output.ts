import { createRequire } from 'node:module';
import { CliError, ExitCode } from '../errors.js';

/** Formats every data command accepts with -o/--output. `text` is the human form. */
export type OutputFormat = 'text' | 'json' | 'yaml';

export function parseOutputFormat(value: string | undefined, allowed: readonly string[] = ['text', 'json', 'yaml']): string {
  const format = value ?? 'text';
  if (!allowed.includes(format)) {
    throw new CliError(ExitCode.USAGE, `unknown output format '${format}': use one of ${allowed.join(', ')}`);
  }
  return format;
}

/**
 * Writes data to stdout: JSON and YAML are stable, machine-readable forms. The yaml library
 * (about 230 files) loads only for `-o yaml`: `whoami -o json` is on a start-up budget.
 */
export function printData(format: 'json' | 'yaml', data: unknown): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const { stringify } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  process.stdout.write(stringify(data));
}

/**
 * A table on a TTY, tab-separated lines otherwise (so `cut`/`awk` work on piped output).
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], isTty = Boolean(process.stdout.isTTY)): string {
  if (!isTty) return rows.map((row) => row.join('\t')).join('\n') + (rows.length > 0 ? '\n' : '');
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('   ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
