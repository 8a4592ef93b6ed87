import type { Command } from 'commander';
import { addCatalogOptions, type CatalogOptions } from '../config/catalog-options.js';
import { httpTimeoutOption } from '../config/sign-in-flags.js';
import { DATA_FORMATS, outputOption, resolveOutput } from '../config/output-options.js';

/** `k8s-auth clusters`: the names in the catalog (docs/usage.md#clusters). */
interface ClustersFlags extends CatalogOptions {
  output?: string;
}

export function register(program: Command): void {
  const command = program
    .command('clusters')
    .summary('list the clusters of the catalog')
    .description('List the cluster names of the catalog (Vault: a KV v2 metadata LIST; file: its clusters mapping), one per line.');
  addCatalogOptions(command)
    .addOption(httpTimeoutOption())
    .addOption(outputOption(DATA_FORMATS, 'text'))
    .action(async (flags: ClustersFlags) => {
      const { catalogFromOptions } = await import('../config/catalog-options.js');
      const catalog = catalogFromOptions(flags);
      const { withSpinner } = await import('../ui/spinner.js');
      const { format } = resolveOutput(flags.output, DATA_FORMATS, 'text');
      const names = await withSpinner(`listing ${catalog.describe()}…`, () => catalog.list());
      if (format === 'json' || format === 'yaml') {
        const { printData } = await import('../ui/output.js');
        printData(format, { source: catalog.describe(), clusters: names });
        return;
      }
      if (names.length === 0) {
        const { info } = await import('../ui/log.js');
        info(`no clusters in ${catalog.describe()}`);
        return;
      }
      process.stdout.write(names.map((n) => `${n}\n`).join(''));
    });
}
