import { type Command, Argument, Option } from 'commander';
import { addCatalogOptions, type CatalogOptions } from '../../config/catalog-options.js';
import { CliError, ExitCode, describeError } from '../../errors.js';
import { debug } from '../../ui/log.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** The command the scripts complete; also right when run as `kubectl k8s-auth`. */
const COMPLETED_COMMAND = 'k8s-auth';

/** Completion waits on the user's keystroke: cluster names come within this or not at all. */
export const CLUSTER_LIST_BUDGET_MS = 1_000;

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

export function register(program: Command): void {
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

  // Called by the scripts: prints candidates one per line, nothing on any failure, never waits long.
  addCatalogOptions(
    program
      .command('__complete', { hidden: true })
      .description('print completion candidates (used by the completion scripts)')
      .addArgument(new Argument('<what>').choices(['clusters', 'contexts']))
      .addOption(new Option('--kubeconfig <file>', 'kubeconfig whose contexts to list')),
  ).action(async (what: string, opts: CatalogOptions & { kubeconfig?: string }) => {
    const names = what === 'contexts' ? await listContexts(opts.kubeconfig) : await listClustersWithin(opts, CLUSTER_LIST_BUDGET_MS);
    if (names.length > 0) process.stdout.write(`${names.join('\n')}\n`);
    // a Vault request still in flight must not keep the shell waiting
    process.stdout.write('', () => process.exit(0));
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

/** Cluster names, or [] when the catalog fails or takes longer than `budgetMs`. */
export async function listClustersWithin(opts: CatalogOptions, budgetMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const { catalogFromOptions } = await import('../../config/catalog-options.js');
    const catalog = catalogFromOptions({ ...opts, httpTimeout: budgetMs / 1000 });
    const timeout = new Promise<string[]>((resolve) => {
      timer = setTimeout(() => {
        debug(`the catalog (${catalog.describe()}) did not list clusters within ${budgetMs} ms`);
        resolve([]);
      }, budgetMs);
    });
    return await Promise.race([catalog.list(), timeout]);
  } catch (error) {
    debug(`cannot list clusters for completion: ${describeError(error)}`);
    return [];
  } finally {
    clearTimeout(timer);
  }
}

/** Context names of the kubeconfig files kubectl would read, merged in order; [] on any failure. */
export async function listContexts(kubeconfig: string | undefined): Promise<string[]> {
  try {
    const [{ resolveKubeconfigPaths, readKubeconfig }, { namesIn }] = await Promise.all([
      import('../../adapters/kubeconfig-file.js'),
      import('../../core/kubeconfig-merge.js'),
    ]);
    const names = new Set<string>();
    for (const path of resolveKubeconfigPaths(kubeconfig)) {
      try {
        const file = readKubeconfig(path);
        if (file.exists) for (const name of namesIn(file.doc, 'contexts')) names.add(name);
      } catch (error) {
        debug(`cannot list contexts of ${path} for completion: ${describeError(error)}`);
      }
    }
    return [...names].sort();
  } catch (error) {
    debug(`cannot list contexts for completion: ${describeError(error)}`);
    return [];
  }
}
