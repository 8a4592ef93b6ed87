import { createHash } from 'node:crypto';
import { CliError, ExitCode } from '../errors.js';

/**
 * A user's identity (usually the email) as a ServiceAccount name: a valid DNS-1123 label.
 * Lowercase; every run of characters outside [a-z0-9] becomes one '-'; trimmed of '-'; at most
 * 63 characters, with a short hash of the whole identity as suffix when cut, so two long
 * identities that share a prefix never collide.
 *   janedoe@example.com          -> janedoe-example-com
 *   Jane.Doe_foo+k8s@Example.com -> jane-doe-foo-k8s-example-com
 */
export const MAX_LABEL_LENGTH = 63;
const HASH_LENGTH = 8;

export function serviceAccountNameFor(identity: string): string {
  const label = identity
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (label.length === 0) {
    throw new CliError(ExitCode.USAGE, `identity '${identity}' has no letters or digits, so it cannot name a ServiceAccount: use a username claim with a usable value`);
  }
  if (label.length <= MAX_LABEL_LENGTH) return label;
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, HASH_LENGTH);
  const head = label.slice(0, MAX_LABEL_LENGTH - HASH_LENGTH - 1).replace(/-+$/, '');
  return `${head}-${hash}`;
}
