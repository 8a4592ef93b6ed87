import type { Command } from 'commander';
import { addCatalogOptions, type CatalogOptions } from '../../config/catalog-options.js';
import { httpTimeoutOption } from '../../config/sign-in-flags.js';
import { DATA_FORMATS, outputOption } from '../../config/output-options.js';
import { listNames, register as registerList } from './list.js';
import { register as registerAdd } from './add.js';
import { register as registerRemove } from './remove.js';
import { register as registerRotate } from './rotate-secret.js';

/**
 * `k8s-auth clusters`: the names in the catalog (docs/usage.md#clusters); its subcommands
 * add, remove, rotate-secret and list manage the fleet in Dex and Vault (docs/fleet.md).
 */
interface ClustersFlags extends CatalogOptions {
  output?: string;
}

export function register(program: Command): void {
  const command = program
    .command('clusters')
    .summary('list the clusters of the catalog; add, remove, rotate-secret')
    .description('List the cluster names of the catalog (Vault: a KV v2 metadata LIST; file: its clusters mapping), one per line. The subcommands register clusters with Dex and the Vault catalog (docs/fleet.md).');
  addCatalogOptions(command)
    .addOption(httpTimeoutOption())
    .addOption(outputOption(DATA_FORMATS, 'text'))
    .action(async (flags: ClustersFlags) => listNames(flags));
  registerAdd(command);
  registerRemove(command);
  registerRotate(command);
  registerList(command);
}
