// How the user's words are read before commander sees them (pure: argv in, argv out).

/**
 * `k8s-auth --version` and a lone `k8s-auth -v` mean `k8s-auth version` (with what follows, e.g.
 * `-o json`). `-v` stays --verbose wherever a command is named: `k8s-auth -v login prod`.
 */
export function versionAlias(args: readonly string[]): readonly string[] {
  const first = args[0];
  if (first === '--version') return ['version', ...args.slice(1)];
  if (first === '-v' && !args.slice(1).some((a) => !a.startsWith('-') && !isOutputValue(args, a))) return ['version', ...args.slice(1)];
  return args;
}

function isOutputValue(args: readonly string[], word: string): boolean {
  const i = args.indexOf(word);
  return i > 0 && (args[i - 1] === '-o' || args[i - 1] === '--output');
}

/**
 * `k8s-auth help <command…>` is `k8s-auth <command…> --help` for a command that exists; for a
 * mistyped one it is the bare word, so the answer is the one-line "unknown command … did you mean"
 * (exit 2), not commander's root help with exit 0.
 */
export function helpAlias(args: readonly string[], commandNames: readonly string[]): readonly string[] {
  const word = args[1];
  if (args[0] !== 'help' || word === undefined || word.startsWith('-')) return args;
  return commandNames.includes(word) ? [...args.slice(1), '--help'] : args.slice(1).filter((a) => a !== '--help' && a !== '-h');
}

/** Every rewrite, in order. `commandNames`: the words that name a command. */
export function rewriteArgs(args: readonly string[], commandNames: readonly string[]): readonly string[] {
  return helpAlias(versionAlias(args), commandNames);
}
