import type { Command } from 'commander';
import { addFleetOptions, finishDex, type FleetFlags } from '../../config/fleet-options.js';
import { DATA_FORMATS, resolveOutput } from '../../config/output-options.js';
import { CliError, ExitCode } from '../../errors.js';

/** `k8s-auth clusters remove <name>`: the Dex client and the catalog entry, all versions (docs/fleet.md). */
export function register(clusters: Command): void {
  const command = clusters
    .command('remove')
    .argument('<cluster>', 'cluster name in the catalog')
    .summary('delete a cluster from Dex and the Vault catalog')
    .description("Delete the cluster's Dex client and its catalog entry with every version (KV v2 metadata); if the Vault delete fails, the Dex client is created again as it was.");
  addFleetOptions(command, { dryRun: true }).action(async (name: string, _flags: FleetFlags, self: Command) => {
    const flags = self.optsWithGlobals<FleetFlags>();
    const { format } = resolveOutput(flags.output, DATA_FORMATS, 'text');
    const { openFleet } = await import('../../config/fleet-options.js');
    const { dex, catalog } = await openFleet(flags, true);
    if (dex === undefined) throw new CliError(ExitCode.USAGE, '--dex-grpc is required');
    try {
      const { removeCluster } = await import('../../usecases/clusters/index.js');
      const result = await removeCluster({ dex, catalog }, name, flags.dryRun === true);
      const { printFleetOutcome } = await import('../../ui/fleet-output.js');
      printFleetOutcome(format, result);
    } finally {
      finishDex(dex);
    }
  });
}
