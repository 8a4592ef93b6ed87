import { Option, type Command } from 'commander';
import { completeWith } from '../core/completion-tree.js';
import { GRANT_NAMES, parseGrantName, type GrantName } from '../core/grant-choice.js';
import { CliError, ExitCode } from '../errors.js';

/**
 * Flags choosing the sign-in flow, shared by `login` and `credential` (and written into the
 * exec args by `login --exec`, so kubectl's later sign-ins use the same flow).
 */
export interface GrantFlags {
  grant?: string;
  username?: string;
}

export function addGrantOptions(command: Command): Command {
  return command
    .addOption(
      // checked by grantFrom (one clear line, exit 2), not by commander; completes to the names
      completeWith(
        new Option('--grant <flow>', `sign-in flow: ${GRANT_NAMES.join(', ')} (auto: browser when one can be opened, else device code)`)
          .env('K8S_AUTH_GRANT')
          .default('auto'),
        GRANT_NAMES,
      ),
    )
    .addOption(new Option('--username <name>', 'username for --grant password (the password comes from stdin or K8S_AUTH_PASSWORD, never a flag)').env('K8S_AUTH_USERNAME'));
}

export function grantFrom(flags: GrantFlags): GrantName {
  const grant = parseGrantName(flags.grant ?? 'auto');
  if (!grant) throw new CliError(ExitCode.USAGE, `unknown --grant '${flags.grant ?? ''}': use one of ${GRANT_NAMES.join(', ')}`);
  return grant;
}

/** The grant flags to repeat in exec args (never secrets: the password is not a flag). */
export function grantArgs(flags: GrantFlags & { browser?: boolean; browserCommand?: string }): string[] {
  const args: string[] = [];
  const grant = grantFrom(flags);
  if (grant !== 'auto') args.push('--grant', grant);
  if (flags.username) args.push('--username', flags.username);
  if (flags.browser === false) args.push('--no-browser');
  if (flags.browserCommand) args.push('--browser-command', flags.browserCommand);
  return args;
}
