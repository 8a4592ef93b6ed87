import { type Command, Argument, Option } from 'commander';
import { addCatalogOptions, type CatalogOptions } from '../../config/catalog-options.js';
import { describeError } from '../../errors.js';
import { debug } from '../../ui/log.js';

// `k8s-auth __complete clusters|contexts` (hidden): the candidates the completion scripts ask for.

/** Completion waits on the user's keystroke: cluster names come within this or not at all. */
export const CLUSTER_LIST_BUDGET_MS = 1_000;

export function registerComplete(program: Command): void {
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

/** Context names of the kubeconfig files kubectl would read, merged in order (the narrow reader); [] on any failure. */
export async function listContexts(kubeconfig: string | undefined): Promise<string[]> {
  try {
    const { readKubeconfigNames } = await import('../../adapters/kubeconfig-contexts.js');
    return [...new Set((await readKubeconfigNames(kubeconfig)).contexts.map((c) => c.name))].sort();
  } catch (error) {
    debug(`cannot list contexts for completion: ${describeError(error)}`);
    return [];
  }
}
