import { type Command, Argument } from 'commander';
import { CliError, ExitCode } from '../../errors.js';

// `k8s-auth completion <shell>`: prints the bash, zsh or fish script built from the command tree.

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** The command the scripts complete; also right when run as `kubectl k8s-auth`. */
const COMPLETED_COMMAND = 'k8s-auth';

const SETUP = `
Load now:
  bash:  source <(k8s-auth completion bash)
  zsh:   source <(k8s-auth completion zsh)
  fish:  k8s-auth completion fish | source
Load in every new shell:
  bash:  k8s-auth completion bash > ~/.local/share/bash-completion/completions/k8s-auth
  zsh:   k8s-auth completion zsh > "\${fpath[1]}/_k8s-auth"
  fish:  k8s-auth completion fish > ~/.config/fish/completions/k8s-auth.fish
Subcommands, flags, flag values (grant names, output formats), cluster names (from the catalog,
within about a second) and kubeconfig context names (from --kubeconfig, $KUBECONFIG or
~/.kube/config) complete.`;

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

export function registerScript(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'the shell to complete in').choices(SHELLS))
    .addHelpText('after', SETUP)
    .action(async (shell: Shell, _opts: unknown, command: Command) => {
      const root = rootOf(command);
      const [{ completionTree }, script] = await Promise.all([import('../../core/completion/index.js'), loadGenerator(shell)]);
      const hidden = root.commands.find((c) => c.name() === '__complete');
      const forwardOptions = (hidden?.options ?? []).filter((o) => o.long && (o.required || o.optional)).map((o) => o.long as string);
      process.stdout.write(script(completionTree(root), { command: COMPLETED_COMMAND, forwardOptions }));
    });
}

async function loadGenerator(shell: Shell) {
  switch (shell) {
    case 'bash':
      return (await import('../../core/completion/bash.js')).bashCompletionScript;
    case 'zsh':
      return (await import('../../core/completion/zsh.js')).zshCompletionScript;
    case 'fish':
      return (await import('../../core/completion/fish.js')).fishCompletionScript;
    default:
      throw new CliError(ExitCode.USAGE, `unknown shell '${String(shell)}': use bash, zsh or fish`);
  }
}
