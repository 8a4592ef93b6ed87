import type { Command } from 'commander';
import { addFleetOptions, finishDex, type FleetFlags } from '../../config/fleet-options.js';
import { DATA_FORMATS, resolveOutput } from '../../config/output-options.js';
import { CliError, ExitCode } from '../../errors.js';

/** `k8s-auth clusters rotate-secret <name>`: a new client secret in Dex and in the catalog (docs/fleet.md). */
export function register(clusters: Command): void {
  const command = clusters
    .command('rotate-secret')
    .argument('<cluster>', 'cluster name in the catalog')
    .summary('replace the client secret of a cluster in Dex and the Vault catalog')
    .description('Give the Dex client of a cluster a new random secret and write it into the catalog entry with check-and-set; the old secret stops working at once. If the Vault write fails, Dex gets the old secret back.');
  addFleetOptions(command, { dryRun: true }).action(async (name: string, _flags: FleetFlags, self: Command) => {
    const flags = self.optsWithGlobals<FleetFlags>();
    const { format } = resolveOutput(flags.output, DATA_FORMATS, 'text');
    const { openFleet } = await import('../../config/fleet-options.js');
    const { dex, catalog } = await openFleet(flags, true);
    if (dex === undefined) throw new CliError(ExitCode.USAGE, '--dex-grpc is required');
    try {
      const { rotateSecret } = await import('../../usecases/clusters/index.js');
      const result = await rotateSecret({ dex, catalog }, name, flags.dryRun === true);
      const { printFleetOutcome } = await import('../../ui/fleet-output.js');
      printFleetOutcome(format, result);
    } finally {
      finishDex(dex);
    }
  });
}
