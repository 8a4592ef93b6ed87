import type { Command } from 'commander';
import { finishDex, type FleetFlags } from '../../config/fleet-options.js';
import { DATA_FORMATS, resolveOutput } from '../../config/output-options.js';
import { CliError, ExitCode } from '../../errors.js';
import type { FleetPorts, FleetResult } from '../../usecases/clusters/index.js';

/**
 * The action `clusters remove` and `clusters rotate-secret` share: open Dex and the Vault
 * catalog, run the use case's change (or plan it, with --dry-run), print the outcome, and let
 * go of the gRPC channel whatever happened.
 */
export async function runClusterChange(name: string, self: Command, change: (ports: FleetPorts, cluster: string, dryRun: boolean) => Promise<FleetResult>): Promise<void> {
  const flags = self.optsWithGlobals<FleetFlags>();
  const { format } = resolveOutput(flags.output, DATA_FORMATS, 'text');
  const { openFleet } = await import('../../config/fleet-options.js');
  const { dex, catalog } = await openFleet(flags, true);
  if (dex === undefined) throw new CliError(ExitCode.USAGE, '--dex-grpc is required');
  try {
    const result = await change({ dex, catalog }, name, flags.dryRun === true);
    const { printFleetOutcome } = await import('../../ui/fleet-output.js');
    printFleetOutcome(format, result);
  } finally {
    finishDex(dex);
  }
}
