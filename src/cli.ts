import { basename } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { NEEDS_ALL_COMMANDS, commandRegistrations } from './commands/index.js';
import { CliError, ExitCode, describeError } from './errors.js';
import { configureLog, error as logError, isVerbose } from './ui/log.js';
import { redact } from './ui/redact.js';
import { rewriteArgs } from './core/argv-aliases.js';
import { recordOptionSources } from './config/option-source.js';
import { addHelpExamples } from './commands/help-examples.js';

export { VERSION } from './core/version-info.js';
import { VERSION } from './core/version-info.js';

export interface GlobalOptions {
  verbose: boolean;
  quiet: boolean;
}

/**
 * The registrations to load for these arguments: just the named command when the first word
 * names one, everything for help, completion and anything unrecognised (so commander can list
 * the commands or suggest the nearest one).
 */
export function registrationsFor(args: readonly string[]): typeof commandRegistrations {
  const word = args.find((arg) => !arg.startsWith('-'));
  if (word === undefined || NEEDS_ALL_COMMANDS.includes(word)) return commandRegistrations;
  const selected = commandRegistrations.filter((r) => r.names.includes(word));
  return selected.length > 0 ? selected : commandRegistrations;
}

/** `args` are the user's words (argv without node and script); omitted, every command loads. */
export async function buildProgram(argv0 = 'k8s-auth', args: readonly string[] = []): Promise<Command> {
  // `kubectl k8s-auth …` runs us as kubectl-k8s_auth; help should show what the user typed.
  const name = basename(argv0) === 'kubectl-k8s_auth' ? 'kubectl k8s-auth' : 'k8s-auth';
  const program = new Command(name)
    .description('Single sign-on for Kubernetes: OIDC login into kubeconfig, exec credentials, RBAC from ID tokens, short-lived ServiceAccount tokens.')
    .version(VERSION, '--version', 'print the version')
    .addOption(new Option('-v, --verbose', 'print details of each step on stderr (secrets redacted)').env('K8S_AUTH_VERBOSE'))
    .addOption(new Option('-q, --quiet', 'print only errors and data').env('K8S_AUTH_QUIET'))
    .showHelpAfterError(false)
    .configureOutput({
      writeErr: (text) => process.stderr.write(redact(text)),
      outputError: (text, write) => write(oneLine(text)),
    })
    .exitOverride();
  program.hook('preAction', (_thisCommand, actionCommand) => {
    const opts = actionCommand.optsWithGlobals<GlobalOptions>();
    configureLog({ verbose: Boolean(opts.verbose), quiet: Boolean(opts.quiet) });
    recordOptionSources(actionCommand);
  });
  const selected = registrationsFor(args);
  const modules = await Promise.all(selected.map((registration) => registration.load()));
  for (const { register } of modules) register(program);
  for (const command of program.commands) command.exitOverride().configureOutput(program.configureOutput());
  addHelpExamples(program);
  return program;
}

/**
 * commander's messages are one line, except that it puts its "(Did you mean login?)" on a second
 * one: keep that suggestion on the one line, and point at --help.
 */
export function oneLine(text: string): string {
  const [first = '', ...rest] = text.trim().split('\n');
  const suggestion = /^\(Did you mean (.+)\?\)$/.exec(rest.find((line) => line.startsWith('(Did you mean')) ?? '');
  return `${first}${suggestion ? `: did you mean ${suggestion[1]}?` : ''} (see --help)\n`;
}

export async function main(argv: readonly string[]): Promise<void> {
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    process.stderr.write('\ninterrupted: nothing was written\n');
    // 'exit' handlers release locks and remove temp files
    process.exit(ExitCode.INTERRUPTED);
  });
  try {
    const args = rewriteArgs(argv.slice(2), commandRegistrations.flatMap((r) => r.names));
    const program = await buildProgram(argv[1], args);
    await program.parseAsync([...argv.slice(0, 2), ...args]);
  } catch (err) {
    if (interrupted) return;
    process.exitCode = handleError(err);
  }
}

export function handleError(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.OK;
    // commander already printed the one line
    return ExitCode.USAGE;
  }
  if (err instanceof CliError) {
    logError(err.message);
    if (err.hint) process.stderr.write(`${redact(`hint: ${err.hint}`)}\n`);
    if (isVerbose() && err.cause) process.stderr.write(`${redact(`cause: ${describeError(err.cause)}`)}\n`);
    return err.exitCode;
  }
  logError(`unexpected failure: ${describeError(err)} (please report this; run with --verbose for details)`);
  if (isVerbose() && err instanceof Error && err.stack) process.stderr.write(`${redact(err.stack)}\n`);
  return ExitCode.INTERNAL;
}
