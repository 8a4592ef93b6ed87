// Issue 19 point 1: every sign-in flag is defined once (src/config/sign-in-flags.ts), and what
// `login --exec` writes into the exec args is read back by `credential` to the same values.
// Pure: the real `login` and `credential` commands are registered on a fresh program, their
// actions replaced, and their argv parsed by commander; nothing runs.
import { resolve } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { register as registerCredential } from '../../src/commands/credential.js';
import { register as registerLogin } from '../../src/commands/login.js';
import { loginModeFrom, type ExecLoginFlags } from '../../src/config/exec-login-options.js';
import { parseSignInFlags, SIGN_IN_FLAG_NAMES, valueSourceOf, type SignInFlagName } from '../../src/config/sign-in-flags.js';
import { CliError, ExitCode } from '../../src/errors.js';

function parsed(register: (program: Command) => void, name: string, argv: string[]): { flags: ExecLoginFlags; command: Command } {
  const program = new Command().exitOverride();
  register(program);
  const command = program.commands.find((c) => c.name() === name) as Command;
  command.exitOverride();
  let flags: ExecLoginFlags | undefined;
  command.action((_positional: unknown, opts: ExecLoginFlags) => {
    flags = opts;
  });
  program.parse(['node', 'k8s-auth', name, ...argv]);
  return { flags: flags as ExecLoginFlags, command };
}

/** A typed value for each shared flag, in the forms a person types. */
const TYPED: Record<SignInFlagName, string[]> = {
  grant: ['--grant', 'device-code'],
  username: ['--username', 'jane@example.com'],
  browser: ['--no-browser'],
  browserCommand: ['--browser-command', 'firefox'],
  listenPort: ['--listen-port', '8000'],
  certificateAuthority: ['--certificate-authority', 'ca.pem', '--certificate-authority', '/etc/ssl/idp.pem'],
  insecureSkipTlsVerify: ['--insecure-skip-tls-verify'],
  timeout: ['--timeout', '120.5'],
  httpTimeout: ['--http-timeout', '2m'],
};

function roundTrip(argv: string[]) {
  const login = parsed(registerLogin, 'login', ['prod', '--exec', '--catalog', '/etc/k8s-auth/clusters.yaml', ...argv]);
  const atLogin = parseSignInFlags(login.flags);
  const exec = loginModeFrom(login.flags, atLogin.timeoutMs, {}, valueSourceOf(login.command)).exec;
  const written = [...(exec?.extraArgs ?? [])];
  const credential = parsed(registerCredential, 'credential', ['prod', ...written]);
  // a CA file is the same file once its relative path is made absolute (kubectl runs the plugin from anywhere)
  return { atLogin: { ...atLogin, caFiles: atLogin.caFiles.map((f) => resolve(f)) }, written, atCredential: parseSignInFlags(credential.flags) };
}

describe('login --exec writes the sign-in flags so that credential reads the same values', () => {
  it('covers every shared flag', () => {
    expect(Object.keys(TYPED).sort()).toEqual([...SIGN_IN_FLAG_NAMES].sort());
  });

  it.each(SIGN_IN_FLAG_NAMES.map((name) => [name] as const))('%s', (name) => {
    const { atLogin, written, atCredential } = roundTrip(TYPED[name]);
    expect(written.length, `login --exec wrote nothing for ${name}`).toBeGreaterThan(2);
    expect(atCredential).toEqual(atLogin);
  });

  it('all of them together, and a relative CA path made absolute', () => {
    const { atLogin, written, atCredential } = roundTrip(SIGN_IN_FLAG_NAMES.flatMap((name) => TYPED[name]));
    expect(atCredential).toEqual(atLogin);
    expect(atLogin.timeoutMs).toBe(120_500);
    expect(atLogin.httpTimeoutMs).toBe(120_000);
    expect(written[written.indexOf('--certificate-authority') + 1]).toMatch(/^\/.+\/ca\.pem$/);
  });
});

describe('one duration syntax in both commands', () => {
  const usage = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(CliError);
      expect((error as CliError).exitCode).toBe(ExitCode.USAGE);
      return (error as Error).message;
    }
    throw new Error('no error');
  };
  it.each([['90', 90_000], ['90s', 90_000], ['2m', 120_000], ['1h', 3_600_000], ['120.5', 120_500]] as const)('--timeout %s', (text, ms) => {
    for (const name of ['login', 'credential']) {
      const register = name === 'login' ? registerLogin : registerCredential;
      expect(parseSignInFlags(parsed(register, name, ['prod', '--timeout', text]).flags).timeoutMs).toBe(ms);
    }
  });
  it('refuses the same values with the same line', () => {
    for (const text of ['0', 'abc', '1e3', '-1', '1h30m']) {
      const login = usage(() => parseSignInFlags(parsed(registerLogin, 'login', ['prod', '--timeout', text]).flags));
      const credential = usage(() => parseSignInFlags(parsed(registerCredential, 'credential', ['prod', '--timeout', text]).flags));
      expect(credential).toBe(login);
      expect(login).toMatch(/^--timeout must be a positive number of seconds \(or 90s, 2m, 1h\), not '/);
    }
  });
});
