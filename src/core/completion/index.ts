import type { Argument, Command, Option } from 'commander';

/**
 * The command tree as shell completion sees it, read from the commander program itself so that a
 * new command or flag completes without touching the completion code. What a value completes to
 * is inferred from how the command author named it:
 *  - choices (`.choices([...])` on an option or argument) complete to those words;
 *  - an argument or option value named `cluster`/`clusters`/`cluster-name`, and the value of
 *    `--cluster`, complete to cluster names from the catalog;
 *  - an argument or option value named `context`/`contexts`, and the value of `--context`,
 *    complete to the context names of the kubeconfig (`--kubeconfig` on the line, else
 *    $KUBECONFIG, else ~/.kube/config);
 *  - a cluster argument of a command that also has `--context` completes to both (such commands
 *    accept a context name in the cluster's place);
 *  - one named like a file (`file`, `path`, `dir`, `kubeconfig`, `*-file`, `catalog`) completes
 *    to file names;
 *  - an option or argument marked with `completeWith(…, words)` completes to those words (for
 *    values checked by the command itself rather than by commander's `.choices`);
 *  - anything else is free text (no suggestions), as is any `--vault-*` option's value.
 */
export type ValueKind =
  | { type: 'free' }
  | { type: 'words'; words: readonly string[] }
  | { type: 'clusters' }
  | { type: 'contexts' }
  /** A cluster positional of a command that also takes `--context`: a context name works there too. */
  | { type: 'clusters-contexts' }
  | { type: 'files' };

/** Words set by `completeWith`, read by the tree; nothing else about the option changes. */
const completionWords = new WeakMap<Option | Argument, readonly string[]>();

/** Marks an option or argument whose value is one of `words` without making commander check it. */
export function completeWith<T extends Option | Argument>(target: T, words: readonly string[]): T {
  completionWords.set(target, [...words]);
  return target;
}

export interface CompletionOption {
  /** Every spelling, short first: `['-o', '--output']`. */
  names: readonly string[];
  description: string;
  /** undefined for a flag; otherwise what its value completes to. */
  value: ValueKind | undefined;
}

export interface CompletionArgument {
  name: string;
  value: ValueKind;
  variadic: boolean;
}

export interface CompletionNode {
  /** Subcommand names from the program down, `[]` for the program itself. */
  path: readonly string[];
  name: string;
  aliases: readonly string[];
  description: string;
  /** Own options plus the ones inherited from ancestors (commander accepts those after a subcommand). */
  options: readonly CompletionOption[];
  commands: readonly CompletionNode[];
  args: readonly CompletionArgument[];
}

/** Words a shell script may carry unquoted in a case pattern: command and option names. */
const PLAIN_WORD = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

export function inferValueKind(placeholder: string, choices: readonly string[] | undefined, optionName = ''): ValueKind {
  if (choices && choices.length > 0) return { type: 'words', words: [...choices] };
  const name = placeholder.toLowerCase().replace(/\.\.\.$/, '');
  if (/^(clusters?|cluster-name|cluster_name)$/.test(name) || optionName === '--cluster') return { type: 'clusters' };
  if (/^contexts?$/.test(name) || optionName === '--context') return { type: 'contexts' };
  // a Vault path (`--vault-prefix <path>`) is not a file path
  if (optionName.startsWith('--vault-')) return { type: 'free' };
  if (/^(file|files|path|paths|dir|directory|kubeconfig|catalog)$/.test(name) || /[-_](file|path|dir)$/.test(name)) return { type: 'files' };
  return { type: 'free' };
}

/** `-o, --output <format>` → `format`; `--catalog [file]` → `file`; flags → undefined. */
export function optionPlaceholder(flags: string): string | undefined {
  const match = /[<[]([^>\]]+)[>\]]/.exec(flags);
  return match?.[1];
}

function describeOption(option: Option): CompletionOption {
  const names = [option.short, option.long].filter((n): n is string => typeof n === 'string' && n.length > 0);
  const takesValue = option.required || option.optional;
  const placeholder = optionPlaceholder(option.flags) ?? '';
  return {
    names,
    description: firstLine(option.description),
    value: takesValue ? inferValueKind(placeholder, option.argChoices ?? completionWords.get(option), option.long ?? '') : undefined,
  };
}

function describeArgument(argument: Argument): CompletionArgument {
  return { name: argument.name(), value: inferValueKind(argument.name(), argument.argChoices ?? completionWords.get(argument)), variadic: argument.variadic };
}

function firstLine(text: string | undefined): string {
  const line = (text ?? '').split('\n')[0]?.trim() ?? '';
  return line.length > 100 ? `${line.slice(0, 97)}...` : line;
}

function describeCommand(command: Command, path: readonly string[], inherited: readonly CompletionOption[]): CompletionNode {
  const help = command.createHelp();
  const own = help.visibleOptions(command).map(describeOption);
  const ownNames = new Set(own.flatMap((o) => o.names));
  // an option redefined by a subcommand shadows the inherited one
  const options = [...own, ...inherited.filter((o) => !o.names.some((n) => ownNames.has(n)) && !o.names.includes('--version'))];
  const commands = help
    .visibleCommands(command)
    // commander's implicit `help [command]` is real and completes like any other command
    .filter((sub) => PLAIN_WORD.test(sub.name()))
    .map((sub) => describeCommand(sub, [...path, sub.name()], options.filter((o) => !o.names.includes('--help'))));
  return {
    path,
    name: command.name(),
    aliases: command.aliases().filter((a) => PLAIN_WORD.test(a)),
    // the short summary when the command has one (as `--help` lists it), else the description
    description: firstLine(command.summary() || command.description()),
    options: options.filter((o) => o.names.every((n) => /^--?[A-Za-z0-9][A-Za-z0-9-]*$/.test(n))),
    commands,
    args: command.registeredArguments.map(describeArgument).map((arg) =>
      arg.value.type === 'clusters' && own.some((o) => o.names.includes('--context') && o.value?.type === 'contexts')
        ? { ...arg, value: { type: 'clusters-contexts' } }
        : arg,
    ),
  };
}

export function completionTree(program: Command): CompletionNode {
  return describeCommand(program, [], []);
}

/** Every node, depth first, the program first. */
export function allNodes(root: CompletionNode): CompletionNode[] {
  return [root, ...root.commands.flatMap(allNodes)];
}

/** The key generated scripts use for a command path: names joined by single spaces. */
export function pathKey(path: readonly string[]): string {
  return path.join(' ');
}

/** `k8s-auth` → `_k8s_auth`: a shell function name derived from the command name. */
export function functionName(commandName: string): string {
  return `_${commandName.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** The options of a node that take a value, with the kind of value, one entry per spelling. */
export function valueOptions(node: CompletionNode): { name: string; value: ValueKind }[] {
  return node.options.flatMap((o) => (o.value ? o.names.map((name) => ({ name, value: o.value as ValueKind })) : []));
}

/**
 * Encodes a value kind as one word the generated scripts switch on:
 * `free`, `clusters`, `contexts`, `clusters-contexts`, `files`, or `words:a b c`.
 */
export function encodeKind(kind: ValueKind): string {
  return kind.type === 'words' ? `words:${kind.words.filter((w) => PLAIN_WORD.test(w)).join(' ')}` : kind.type;
}

/** POSIX shell single quoting (bash and zsh). */
export function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** fish single quoting: backslash and quote are the only escapes inside '…'. */
export function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
