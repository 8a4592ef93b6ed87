import { colorEnabled, isQuiet } from './log.js';

/**
 * A spinner on stderr for steps that wait on the network, only on a TTY (never in CI logs or
 * pipes). ora is loaded lazily so commands that never wait don't pay for it.
 */
export interface Spinner {
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

const silent: Spinner = { succeed() {}, fail() {}, stop() {} };

export async function startSpinner(text: string, quiet = false): Promise<Spinner> {
  // a terminal that reports 0 columns (e.g. a pty nobody sized) sends ora into an endless clear loop
  if (quiet || !process.stderr.isTTY || process.env['CI'] || !process.stderr.columns) return silent;
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: process.stderr, color: colorEnabled() ? 'cyan' : false }).start();
  return {
    succeed: (t) => void spinner.succeed(t),
    fail: (t) => void spinner.fail(t),
    stop: () => void spinner.stop(),
  };
}

/**
 * Runs `work` with a spinner on a TTY (nothing otherwise); the spinner is gone before anything
 * else is printed, whether `work` succeeds or throws.
 */
export async function withSpinner<T>(text: string, work: () => Promise<T>): Promise<T> {
  const spinner = await startSpinner(text, isQuiet());
  try {
    return await work();
  } finally {
    spinner.stop();
  }
}
