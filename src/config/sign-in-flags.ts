import { isAbsolute, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { completeWith } from '../core/completion/index.js';
import { GRANT_NAMES, parseGrantName, type GrantName } from '../core/grant-choice.js';
import { parseSeconds, printable, SECONDS_EXAMPLES } from '../core/seconds.js';
import { CliError, ExitCode } from '../errors.js';
import { flagLabel } from './option-source.js';

/**
 * The sign-in flags, each defined once: its spelling, its environment variable, its parser and
 * how `login --exec` writes it back into the exec args. `login` and `credential` take them all,
 * `logout` and `doctor` the ones they need. Every time value has one syntax (core/seconds.ts:
 * `90`, `90s`, `2m`, `1h`, decimals allowed). test/unit/sign-in-flags.test.ts proves that what
 * `login --exec` writes, `credential` reads back to the same values.
 */
export interface SignInFlags {
  grant?: string;
  username?: string;
  timeout?: string;
  listenPort?: string;
  browserCommand?: string;
  /** false with --no-browser */
  browser?: boolean;
  certificateAuthority?: string[];
  insecureSkipTlsVerify?: boolean;
  /** commander gives a string; CatalogOptions callers may pass a number of seconds */
  httpTimeout?: string | number;
}

export type SignInFlagName = keyof SignInFlags;

export const DEFAULT_SIGN_IN_TIMEOUT_SECONDS = 180;
export const DEFAULT_HTTP_TIMEOUT_SECONDS = 30;

/** commander's collector for a repeatable option. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Where a value came from, as commander says (`cli`, `env`, `default`, …). */
export type ValueSource = (name: SignInFlagName) => string | undefined;

interface SignInFlag {
  /** a fresh commander Option each time (commander must not share one between commands) */
  options(): Option[];
  /** the exec args that repeat this flag's value for kubectl's later runs of `credential` (never a secret) */
  execArgs(flags: SignInFlags, source: ValueSource): string[];
}

const typedOnly = (name: SignInFlagName, flag: string) => (flags: SignInFlags, source: ValueSource): string[] => {
  const value = flags[name];
  // a default or a variable is not frozen into the kubeconfig: only what was typed at login
  return source(name) === 'cli' && value !== undefined ? [flag, String(value)] : [];
};

/** The definitions, in the order --help lists them and login --exec writes them. */
export const SIGN_IN_FLAGS: Readonly<Record<SignInFlagName, SignInFlag>> = {
  grant: {
    options: () => [
      // checked by grantFrom (one clear line, exit 2), not by commander; completes to the names
      completeWith(
        new Option('--grant <flow>', `sign-in flow: ${GRANT_NAMES.join(', ')} (auto: browser when one can be opened, else device code)`).env('K8S_AUTH_GRANT').default('auto'),
        GRANT_NAMES,
      ),
    ],
    execArgs: (flags) => {
      const grant = grantFrom(flags);
      return grant === 'auto' ? [] : ['--grant', grant];
    },
  },
  username: {
    options: () => [new Option('--username <name>', 'username for --grant password (the password comes from stdin or K8S_AUTH_PASSWORD, never a flag)').env('K8S_AUTH_USERNAME')],
    execArgs: (flags) => (flags.username ? ['--username', flags.username] : []),
  },
  browser: {
    options: () => [new Option('--no-browser', 'do not open a browser: print the sign-in URL on stderr and wait (works through ssh -L)')],
    execArgs: (flags) => (flags.browser === false ? ['--no-browser'] : []),
  },
  browserCommand: {
    options: () => [new Option('--browser-command <command>', 'open the sign-in URL with this command: no shell, the URL is added as the last argument (default: $BROWSER, else the system browser)')],
    execArgs: (flags) => (flags.browserCommand ? ['--browser-command', flags.browserCommand] : []),
  },
  listenPort: {
    options: () => [new Option('--listen-port <port>', 'fixed port of the loopback redirect http://127.0.0.1:<port>/callback, e.g. for ssh -L (default: any free port)')],
    execArgs: (flags) => (flags.listenPort !== undefined ? ['--listen-port', flags.listenPort] : []),
  },
  certificateAuthority: {
    options: () => [new Option('--certificate-authority <file>', "CA certificate (PEM) for the identity provider, added to the system's (repeatable)").argParser(collect)],
    // kubectl runs the plugin from any directory: a relative path would break
    execArgs: (flags) => (flags.certificateAuthority ?? []).flatMap((file) => ['--certificate-authority', absolutePath(file)]),
  },
  insecureSkipTlsVerify: {
    options: () => [new Option('--insecure-skip-tls-verify', "don't verify the identity provider's TLS certificate (unsafe; warns)")],
    execArgs: (flags) => (flags.insecureSkipTlsVerify ? ['--insecure-skip-tls-verify'] : []),
  },
  timeout: {
    options: () => [new Option('--timeout <seconds>', `give up when a sign-in is not finished within this time (${SECONDS_EXAMPLES})`).env('K8S_AUTH_TIMEOUT').default(String(DEFAULT_SIGN_IN_TIMEOUT_SECONDS))],
    execArgs: typedOnly('timeout', '--timeout'),
  },
  httpTimeout: {
    options: () => [httpTimeoutOption()],
    execArgs: typedOnly('httpTimeout', '--http-timeout'),
  },
};

export const SIGN_IN_FLAG_NAMES = Object.keys(SIGN_IN_FLAGS) as SignInFlagName[];

/** Adds the named sign-in flags (all of them by default) to `command`. */
export function addSignInOptions(command: Command, names: readonly SignInFlagName[] = SIGN_IN_FLAG_NAMES): Command {
  for (const name of names) for (const option of SIGN_IN_FLAGS[name].options()) command.addOption(option);
  return command;
}

/**
 * `--http-timeout` for every command that talks HTTP (one syntax, one variable); `doctor` has a
 * shorter default, `rbac` and `token` say "request" because they talk to the API server too.
 */
export function httpTimeoutOption(options: { defaultSeconds?: number; what?: string } = {}): Option {
  const option = new Option('--http-timeout <seconds>', `timeout of each ${options.what ?? 'HTTP request'} (${SECONDS_EXAMPLES})`).env('K8S_AUTH_HTTP_TIMEOUT');
  return options.defaultSeconds !== undefined ? option.default(String(options.defaultSeconds)) : option;
}

/** The exec args `login --exec` writes for the sign-in flags: what `credential` needs on a cache miss. */
export function signInExecArgs(flags: SignInFlags, source: ValueSource): string[] {
  return SIGN_IN_FLAG_NAMES.flatMap((name) => SIGN_IN_FLAGS[name].execArgs(flags, source));
}

/** A source function for `signInExecArgs` from the command login parsed. */
export function valueSourceOf(command: Pick<Command, 'getOptionValueSource'>): ValueSource {
  return (name) => command.getOptionValueSource(name) as string | undefined;
}

/** The sign-in flags as values: what login and credential hand to the sign-in. */
export interface SignInValues {
  grant: GrantName;
  username?: string;
  timeoutMs: number;
  listenPort?: number;
  browserCommand?: string;
  noBrowser: boolean;
  caFiles: string[];
  insecureSkipTlsVerify: boolean;
  httpTimeoutMs: number;
}

/** Parses every sign-in flag; each bad value is one usage line naming the flag (or its variable). */
export function parseSignInFlags(flags: SignInFlags): SignInValues {
  const timeoutMs = Math.round(secondsFlag(flags.timeout ?? String(DEFAULT_SIGN_IN_TIMEOUT_SECONDS), '--timeout', { positive: true }) * 1000);
  const listenPort = parsePort(flags.listenPort);
  const httpMs = httpTimeoutMs(flags.httpTimeout);
  return {
    grant: grantFrom(flags),
    ...(flags.username ? { username: flags.username } : {}),
    timeoutMs,
    ...(listenPort !== undefined ? { listenPort } : {}),
    ...(flags.browserCommand ? { browserCommand: flags.browserCommand } : {}),
    noBrowser: flags.browser === false,
    caFiles: flags.certificateAuthority ?? [],
    insecureSkipTlsVerify: Boolean(flags.insecureSkipTlsVerify),
    httpTimeoutMs: httpMs,
  };
}

export function grantFrom(flags: Pick<SignInFlags, 'grant'>): GrantName {
  const grant = parseGrantName(flags.grant ?? 'auto');
  if (!grant) throw new CliError(ExitCode.USAGE, `unknown --grant '${printable(flags.grant ?? '')}': use one of ${GRANT_NAMES.join(', ')}`);
  return grant;
}

/**
 * Seconds of a time flag in the one syntax (core/seconds.ts). `positive` for limits (a zero
 * timeout would fail at once), not for margins (`--skew 0`, `--lock-timeout 0`).
 */
export function secondsFlag(value: string | number, flag: string, options: { positive: boolean }): number {
  const seconds = typeof value === 'number' ? (Number.isFinite(value) && value >= 0 ? value : undefined) : parseSeconds(value);
  if (seconds === undefined || (options.positive && seconds <= 0)) {
    throw new CliError(ExitCode.USAGE, `${flagLabel(flag)} must be a ${options.positive ? 'positive ' : ''}number of seconds (or ${SECONDS_EXAMPLES.split(', ').slice(1).join(', ')}), not '${printable(String(value))}'`);
  }
  return seconds;
}

/** `--http-timeout` in milliseconds; unset or empty gives the command's default. */
export function httpTimeoutMs(value: string | number | undefined, fallbackMs = DEFAULT_HTTP_TIMEOUT_SECONDS * 1000): number {
  if (value === undefined || value === '') return fallbackMs;
  return Math.round(secondsFlag(value, '--http-timeout', { positive: true }) * 1000);
}

/** `--listen-port`: a port number 1-65535 (with `allowZero`, 0 for a free one: `proxy --port`), or undefined when not given. */
export function parsePort(value: string | undefined, flag = '--listen-port', options: { allowZero?: boolean } = {}): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  const lowest = options.allowZero === true ? 0 : 1;
  if (!/^\d+$/.test(value) || port < lowest || port > 65535) throw new CliError(ExitCode.USAGE, `${flag} must be a port number (${lowest}-65535), not '${printable(value)}'`);
  return port;
}

/** kubectl runs the plugin from any directory: paths written into exec args are made absolute. */
export function absolutePath(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}
