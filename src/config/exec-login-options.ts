import { Option, type Command } from 'commander';
import { absolutePath, grantFrom, signInExecArgs, type SignInFlags, type ValueSource } from './sign-in-flags.js';
import { chooseCatalog, type CatalogOptions } from './catalog-options.js';
import { parseExecApiVersion } from '../core/exec-credential.js';
import { CliError, ExitCode } from '../errors.js';
import type { ExecLoginOptions } from '../usecases/login-exec.js';
import type { SignInSettings } from '../usecases/sign-in.js';

/**
 * `login`'s flags for the exec plugin form and the sign-in flow. The auth-provider form stays
 * the default; `--exec` writes `user.exec` running `k8s-auth credential`, with the options the
 * credential command needs later repeated into its args (never a secret).
 */
export interface ExecLoginFlags extends SignInFlags, CatalogOptions {
  exec?: boolean;
  execCommand?: string;
  execApiVersion?: string;
  loginHint?: string;
  tokenCacheDir?: string;
  httpTimeout?: string | number;
}

/** The --exec flags (the sign-in flags are added by sign-in-flags.ts). */
export function addExecLoginOptions(command: Command): Command {
  return command
    .addOption(new Option('--exec', 'write the user as an exec credential plugin (`k8s-auth credential`) with a token cache, instead of an auth-provider holding the tokens (default: the form the user has now, else auth-provider)'))
    .addOption(new Option('--no-exec', 'write the user as auth-provider: oidc even where it is an exec plugin user now'))
    .addOption(new Option('--exec-command <path>', 'command kubectl runs for --exec (default: k8s-auth, looked up on PATH)'))
    .addOption(new Option('--exec-api-version <version>', 'client.authentication.k8s.io version for --exec: v1 (kubectl 1.22+) or v1beta1 (older kubectl)').default('v1'))
    .addOption(new Option('--login-hint <user>', 'ask the provider for this user, and keep this sign-in apart from others in the token cache'))
    .addOption(new Option('--token-cache-dir <dir>', 'token cache directory for --exec (default: $KUBECACHEDIR/k8s-auth, else ~/.kube/cache/k8s-auth)'));
}

/** Where the plugin finds the catalog later: the same choice, spelled out. */
export function catalogArgs(flags: CatalogOptions, env: Readonly<Record<string, string | undefined>>): { args: string[]; env: { name: string; value: string }[] } {
  const choice = chooseCatalog(flags, env);
  if (choice.kind === 'file') return { args: ['--catalog', absolutePath(choice.path)], env: [] };
  const vaultEnv = ['VAULT_ADDR', 'VAULT_NAMESPACE', 'VAULT_CACERT']
    .filter((name) => env[name]?.trim())
    .map((name) => ({ name, value: (env[name] as string).trim() }));
  return { args: ['--vault-mount', choice.mount, '--vault-prefix', choice.prefix], env: vaultEnv };
}

export interface LoginMode {
  grant: SignInSettings;
  exec?: ExecLoginOptions;
  /** --no-exec typed: the auth-provider form even for an exec plugin user. */
  authProvider?: boolean;
}

/**
 * `source` says where each sign-in flag's value came from (commander's getOptionValueSource):
 * timeouts are repeated into the exec args only when typed, never a default or a variable.
 */
export function loginModeFrom(flags: ExecLoginFlags, timeoutMs: number, env: Readonly<Record<string, string | undefined>> = process.env, source: ValueSource = () => undefined): LoginMode {
  const grant: SignInSettings = {
    grant: grantFrom(flags),
    noBrowser: flags.browser === false,
    timeoutMs,
    ...(flags.browserCommand ? { browserCommand: flags.browserCommand } : {}),
    ...(flags.username ? { username: flags.username } : {}),
  };
  const execOnly = ['execCommand', 'tokenCacheDir', 'loginHint'] as const;
  if (!flags.exec) {
    const stray = execOnly.find((name) => flags[name] !== undefined);
    if (stray) throw new CliError(ExitCode.USAGE, `--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} only applies with --exec`);
    return flags.exec === false ? { grant, authProvider: true } : { grant };
  }
  const apiVersion = parseExecApiVersion(flags.execApiVersion ?? 'v1');
  if (!apiVersion) throw new CliError(ExitCode.USAGE, `--exec-api-version must be v1 or v1beta1, not '${flags.execApiVersion ?? ''}'`);
  const catalog = catalogArgs(flags, env);
  // kubectl's later sign-ins and refreshes keep the flow, the CAs and the limits the user chose at login
  const extraArgs = [...catalog.args, ...signInExecArgs(flags, source)];
  const exec: ExecLoginOptions = {
    // a bare name is looked up on kubectl's PATH; a path is made absolute
    command: flags.execCommand ? (flags.execCommand.includes('/') ? absolutePath(flags.execCommand) : flags.execCommand) : 'k8s-auth',
    apiVersion,
    extraArgs,
    ...(catalog.env.length > 0 ? { env: catalog.env } : {}),
    ...(flags.loginHint ? { loginHint: flags.loginHint } : {}),
    ...(flags.tokenCacheDir ? { cacheDir: absolutePath(flags.tokenCacheDir) } : {}),
  };
  return { grant, exec };
}
