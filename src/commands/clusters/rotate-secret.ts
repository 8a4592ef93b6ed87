import type { Command } from 'commander';
import { addFleetOptions, type FleetFlags } from '../../config/fleet-options.js';
import { runClusterChange } from './change.js';

/** `k8s-auth clusters rotate-secret <name>`: a new client secret in Dex and in the catalog (docs/fleet.md). */
export function register(clusters: Command): void {
  const command = clusters
    .command('rotate-secret')
    .argument('<cluster>', 'cluster name in the catalog')
    .summary('replace the client secret of a cluster in Dex and the Vault catalog')
    .description('Give the Dex client of a cluster a new random secret and write it into the catalog entry with check-and-set; the old secret stops working at once. If the Vault write fails, Dex gets the old secret back.');
  addFleetOptions(command, { dryRun: true }).action(async (name: string, _flags: FleetFlags, self: Command) => {
    const { rotateSecret } = await import('../../usecases/clusters/index.js');
    await runClusterChange(name, self, rotateSecret);
  });
}
