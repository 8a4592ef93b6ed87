import { readFileSync, unlinkSync } from 'node:fs';
import { parseSignInFailure, serializeSignInFailure, signInFailurePath, type SignInFailure } from '../core/sign-in-cooldown.js';
import { describeError } from '../errors.js';
import { debug } from '../ui/log.js';
import { writeFileAtomic } from './atomic-file.js';

/**
 * The failed-sign-in record next to a cache entry (`<entry>.signin-failed`, 0600), written and
 * removed under the entry's lock. Best effort: a record that cannot be written or read only
 * means no cool-down, never a failed credential.
 */
export function readSignInFailure(cacheFile: string): SignInFailure | undefined {
  try {
    return parseSignInFailure(readFileSync(signInFailurePath(cacheFile), 'utf8'));
  } catch {
    return undefined;
  }
}

export function recordSignInFailure(cacheFile: string, failure: SignInFailure): void {
  try {
    writeFileAtomic(signInFailurePath(cacheFile), serializeSignInFailure(failure), 0o600);
  } catch (error) {
    debug(`cannot record the failed sign-in next to ${cacheFile}: ${describeError(error)}`);
  }
}

export function clearSignInFailure(cacheFile: string): void {
  try {
    unlinkSync(signInFailurePath(cacheFile));
  } catch {
    // none recorded
  }
}
