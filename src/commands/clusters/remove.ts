import type { Command } from 'commander';
import { addFleetOptions, type FleetFlags } from '../../config/fleet-options.js';
import { runClusterChange } from './change.js';

/** `k8s-auth clusters remove <name>`: the Dex client and the catalog entry, all versions (docs/fleet.md). */
export function register(clusters: Command): void {
  const command = clusters
    .command('remove')
    .argument('<cluster>', 'cluster name in the catalog')
    .summary('delete a cluster from Dex and the Vault catalog')
    .description("Delete the cluster's Dex client and its catalog entry with every version (KV v2 metadata); if the Vault delete fails, the Dex client is created again as it was.");
  addFleetOptions(command, { dryRun: true }).action(async (name: string, _flags: FleetFlags, self: Command) => {
    const { removeCluster } = await import('../../usecases/clusters/index.js');
    await runClusterChange(name, self, removeCluster);
  });
}
