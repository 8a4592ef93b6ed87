import { CliError } from '../../src/errors.js';

/** The CliError `fn` throws; anything else (or nothing) fails the test. */
export function cliErrorOf(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
}

/** The CliError `fn` rejects with; anything else (or success) fails the test. */
export async function cliErrorOfAsync(fn: () => Promise<unknown> | unknown): Promise<CliError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
}
