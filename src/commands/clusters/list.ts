import type { Command } from 'commander';
import type { CatalogOptions } from '../../config/catalog-options.js';
import { addFleetOptions, finishDex, type FleetFlags } from '../../config/fleet-options.js';
import { DATA_FORMATS, resolveOutput } from '../../config/output-options.js';
import { ExitCode } from '../../errors.js';

/**
 * `k8s-auth clusters list` (and bare `k8s-auth clusters`): the names in the catalog; with
 * --dex-grpc, what the catalog and Dex each hold and where they differ (docs/fleet.md).
 */
export async function listNames(flags: CatalogOptions & { output?: string }): Promise<void> {
  const { catalogFromOptions } = await import('../../config/catalog-options.js');
  const catalog = catalogFromOptions(flags);
  const { withSpinner } = await import('../../ui/spinner.js');
  const { format } = resolveOutput(flags.output, DATA_FORMATS, 'text');
  const names = await withSpinner(`listing ${catalog.describe()}…`, () => catalog.list());
  if (format === 'json' || format === 'yaml') {
    const { printData } = await import('../../ui/output.js');
    printData(format, { source: catalog.describe(), clusters: names });
    return;
  }
  if (names.length === 0) {
    const { info } = await import('../../ui/log.js');
    info(`no clusters in ${catalog.describe()}`);
    return;
  }
  process.stdout.write(names.map((n) => `${n}\n`).join(''));
}

export function register(clusters: Command): void {
  const command = clusters
    .command('list')
    .summary('list the catalog; with --dex-grpc, compare it with Dex')
    .description("List the cluster names of the catalog, one per line. With --dex-grpc (Vault catalog only), a table of each cluster's catalog entry and Dex client and any mismatch: missing-in-dex, missing-in-catalog, differs (public/confidential, secret, redirect URI), other-issuer, unreadable.");
  addFleetOptions(command, { dryRun: false }).action(async (_flags: FleetFlags, self: Command) => {
    const flags = self.optsWithGlobals<FleetFlags>();
    if (!flags.dexGrpc?.trim()) {
      await listNames(flags);
      return;
    }
    const { format } = resolveOutput(flags.output, DATA_FORMATS, 'text');
    const { openFleet } = await import('../../config/fleet-options.js');
    const { dex, catalog } = await openFleet(flags, true);
    if (dex === undefined) return;
    try {
      const { listFleet } = await import('../../usecases/clusters/list.js');
      const listing = await listFleet(dex, catalog);
      const { printFleetRows } = await import('../../ui/fleet-output.js');
      printFleetRows(format, listing);
      if (listing.rows.some((r) => r.status !== 'ok' && r.status !== 'other-issuer')) process.exitCode = ExitCode.CHECK_FAILED;
    } finally {
      finishDex(dex);
    }
  });
}
